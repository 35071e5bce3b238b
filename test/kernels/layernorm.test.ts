import { describe, expect, it } from 'vitest';
import { testGpu, logCaseResult } from '../harness/node-gpu-session.ts';
import { describeResult, runKernelCase } from '../harness/kernel-harness.ts';
import { layerNormCases } from './cases/layernorm.cases.ts';
import { PRECISIONS } from '../../src/gpu/precision.ts';

const gpu = await testGpu();

describe.each(PRECISIONS)('layernorm (%s)', (precision) => {
  const available = gpu.precisions.includes(precision);
  for (const c of layerNormCases()) {
    it.skipIf(!available)(c.name, async () => {
      const r = await runKernelCase(gpu.session!, c, precision);
      logCaseResult(r, gpu.session!);
      expect(r.pass, describeResult(r)).toBe(true);
    });
  }
});
