// The lab's state (zustand, no framework): what the engine said, and the actions that ask it.
import { createStore, type StoreApi } from 'zustand/vanilla';
import { proxy } from 'comlink';
import type { Calibration, GpuInfo, KernelProfile } from '../engine/engine.ts';
import type { EngineHandle } from './engine-client.ts';

export type AdapterState =
  | { status: 'connecting' }
  | { status: 'ready'; info: GpuInfo }
  /** No WebGPU here: the message says what is missing. */
  | { status: 'unavailable'; message: string }
  | { status: 'failed'; message: string };

export interface Progress {
  done: number;
  total: number;
  message: string;
}

export interface Task<T> {
  running: boolean;
  progress?: Progress;
  result?: T;
  error?: string;
}

export interface LabState {
  adapter: AdapterState;
  calibration: Task<Calibration>;
  profile: Task<KernelProfile>;
  connect(): Promise<void>;
  calibrate(): Promise<void>;
  profileKernels(): Promise<void>;
  /** The page cannot go on (the engine worker died, or the URL asked for something invalid). */
  fail(message: string): void;
}

export type LabStore = StoreApi<LabState>;

/** What the lab measures and how big (URL parameters `copy-mib`, `elements`, `families`; see main.ts). */
export interface LabOptions {
  /** Each calibration copy buffer; default: calibrate()'s (256 MiB, within the adapter's limits). */
  copyBytes?: number;
  /** Main tensor of each kernel family in a profile; default 1M elements (seconds on a software adapter). */
  profileElements?: number;
  /** Only these kernel families in a profile (default: all). */
  families?: string[];
}

/** A thrown value as the one line a person should read (comlink carries an Error's name and message). */
function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function createLabStore(engine: EngineHandle, options: LabOptions = {}): LabStore {
  return createStore<LabState>()((set, get) => {
    /** Runs one engine task, keeping its progress, result or error in `key`. */
    async function runTask<K extends 'calibration' | 'profile'>(key: K, work: (onProgress: (p: Progress) => void) => Promise<LabState[K]['result']>) {
      if (get()[key].running || get().adapter.status !== 'ready') return;
      set({ [key]: { ...get()[key], running: true, progress: undefined, error: undefined } } as Partial<LabState>);
      try {
        const result = await work((progress) => set({ [key]: { ...get()[key], progress } } as Partial<LabState>));
        set({ [key]: { running: false, result } } as Partial<LabState>);
      } catch (e) {
        set({ [key]: { ...get()[key], running: false, error: messageOf(e) } } as Partial<LabState>);
      }
    }

    return {
      adapter: { status: 'connecting' },
      calibration: { running: false },
      profile: { running: false },

      async connect() {
        try {
          set({ adapter: { status: 'ready', info: await engine.gpuInfo() } });
        } catch (e) {
          const unavailable = e instanceof Error && e.name === 'NoWebGpuError';
          set({ adapter: { status: unavailable ? 'unavailable' : 'failed', message: messageOf(e) } });
        }
      },

      calibrate: () => runTask('calibration', (onProgress) => engine.calibrate(proxy(onProgress), { copyBytes: options.copyBytes })),

      profileKernels: () => runTask('profile', (onProgress) => engine.profileKernels(proxy(onProgress), { elements: options.profileElements ?? 2 ** 20, families: options.families })),

      fail(message) {
        set({ adapter: { status: 'failed', message } });
      },
    };
  });
}
