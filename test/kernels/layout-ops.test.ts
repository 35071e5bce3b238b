import { describe, expect, it } from 'vitest';
import { testGpu, logCaseResult } from '../harness/node-gpu-session.ts';
import { describeResult, runKernelCase } from '../harness/kernel-harness.ts';
import { layoutOpsCases } from './cases/layout-ops.cases.ts';
import { PRECISIONS } from '../../src/gpu/precision.ts';

const gpu = await testGpu();

describe.each(PRECISIONS)('layout ops (%s)', (precision) => {
  for (const c of layoutOpsCases()) {
    it.skipIf(!gpu.precisions.includes(precision))(c.name, async () => {
      const r = await runKernelCase(gpu.session!, c, precision);
      logCaseResult(r, gpu.session!);
      expect(r.pass, describeResult(r)).toBe(true);
    });
  }
});
