// The UI's handle on the engine: a Web Worker running src/engine/worker.ts, wrapped with comlink.
import { wrap, type Remote } from 'comlink';
import type { Engine } from '../engine/engine.ts';

export type EngineHandle = Remote<Engine>;

export function startEngine(onCrash: (message: string) => void): EngineHandle {
  const worker = new Worker(new URL('../engine/worker.ts', import.meta.url), { type: 'module', name: 'ictal-engine' });
  worker.addEventListener('error', (e) => onCrash(`the engine worker failed: ${e.message || 'it could not be loaded'}`));
  return wrap<Engine>(worker);
}
