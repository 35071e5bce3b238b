// One vitest suite per kernel family: every case in every precision the adapter offers, each result logged
// for the test summary (how many ran in f16 native, on which adapter).
import { describe, expect, it } from 'vitest';
import { PRECISIONS } from '../../src/gpu/precision.ts';
import { describeResult, runKernelCase, type KernelCase } from './kernel-harness.ts';
import { logCaseResult, testGpu } from './node-gpu-session.ts';

export async function kernelSuite(family: string, cases: () => KernelCase[]): Promise<void> {
  const gpu = await testGpu();
  describe.each(PRECISIONS)(`${family} (%s)`, (precision) => {
    for (const c of cases()) {
      it.skipIf(!gpu.precisions.includes(precision))(c.name, async () => {
        const r = await runKernelCase(gpu.session!, c, precision);
        logCaseResult(r, gpu.session!);
        expect(r.pass, describeResult(r)).toBe(true);
      });
    }
  });
}
