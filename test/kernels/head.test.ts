import { describe, expect, it } from 'vitest';
import { testGpu, logCaseResult } from '../harness/node-gpu-session.ts';
import { describeResult, runKernelCase } from '../harness/kernel-harness.ts';
import { headCases } from './cases/head.cases.ts';
import { PRECISIONS } from '../../src/gpu/precision.ts';

const gpu = await testGpu();

describe.each(PRECISIONS)('head (%s)', (precision) => {
  const available = gpu.precisions.includes(precision);
  for (const c of headCases()) {
    it.skipIf(!available)(c.name, async () => {
      const r = await runKernelCase(gpu.session!, c, precision);
      logCaseResult(r, gpu.session!);
      expect(r.pass, describeResult(r)).toBe(true);
    });
  }
});
