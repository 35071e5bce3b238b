// The GPU for Node test files: Dawn on the first usable Vulkan driver. Without one, tests are skipped with a
// loud reason locally and fail under CI=true (CI must run the kernels, f16 included, for real).
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { acquireGpu, useNodeGpu, type GpuContext } from '../../src/gpu/device.ts';
import { nodeGpu } from '../../src/gpu/node-gpu.ts';
import { ComputeSession } from '../../src/gpu/session.ts';
import type { Precision } from '../../src/gpu/precision.ts';
import type { CaseResult } from './kernel-harness.ts';

const inCI = Boolean(process.env.CI) && process.env.CI !== 'false';

export interface TestGpu {
  session: ComputeSession | undefined;
  skipReason: string;
  precisions: Precision[];
}

let shared: Promise<TestGpu> | undefined;

export function testGpu(): Promise<TestGpu> {
  shared ??= (async () => {
    useNodeGpu(nodeGpu);
    let gpu: GpuContext;
    try {
      gpu = await acquireGpu();
    } catch (e) {
      const why = `NO GPU: ${(e as Error).message}`;
      if (inCI) throw new Error(`CI=true requires a WebGPU adapter. ${why}`);
      console.warn(`\n${'!'.repeat(78)}\n!! GPU TESTS SKIPPED. ${why}\n${'!'.repeat(78)}\n`);
      return { session: undefined, skipReason: why, precisions: [] };
    }
    const precisions: Precision[] = ['f32', 'f16-storage'];
    if (gpu.has('shader-f16')) precisions.push('f16');
    else if (inCI) throw new Error(`CI=true requires shader-f16 (Mesa lavapipe >= 25); adapter "${gpu.info.description || gpu.info.device}" lacks it`);
    else console.warn(`!! f16-native kernel tests skipped: adapter "${gpu.info.description}" has no shader-f16`);
    return { session: new ComputeSession(gpu), skipReason: '', precisions };
  })();
  return shared;
}

/** One line per kernel case run, so the test script can report how many ran in f16 native and where. */
export function logCaseResult(r: CaseResult, session: ComputeSession): void {
  const file = process.env.ICTAL_KERNEL_LOG;
  if (!file) return;
  mkdirSync(dirname(file), { recursive: true });
  const i = session.gpu.info;
  appendFileSync(file, JSON.stringify({ name: r.name, precision: r.precision, pass: r.pass, adapter: i.description || i.device, driver: i.driver }) + '\n');
}
