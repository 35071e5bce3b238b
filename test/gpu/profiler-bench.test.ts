// The kernel benchmark on a real adapter: every family asked for, in every precision, and a family that fails
// is reported while the others still run.
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import { BENCH_FAMILIES, benchKernels } from '../../src/engine/kernel-bench.ts';

const gpu = await testGpu();

describe.skipIf(!gpu.session)('benchKernels', () => {
  it('reports a failing family by name and still profiles the others', async () => {
    const s = gpu.session!;
    BENCH_FAMILIES.push({ family: 'refused', prepare: async () => { throw new Error('this adapter refuses the pipeline'); } });
    try {
      const progress: string[] = [];
      const { result, failures } = await benchKernels(s, {
        precisions: gpu.precisions, elements: 999, repeats: 1, families: ['elementwise', 'refused'], onProgress: (p) => progress.push(p.message),
      });
      expect(failures).toEqual(gpu.precisions.map((precision) => ({ family: 'refused', precision, message: 'this adapter refuses the pipeline' })));
      expect(new Set(result.entries.map((e) => e.precision))).toEqual(new Set(gpu.precisions));
      expect(result.entries.every((e) => e.kernel.startsWith('elementwise.wgsl:'))).toBe(true);
      // 4 unary, 4 backward, 2 binary, and relu and add on pairs alone each; at 999 elements the chunked ops
      // add a '.tail' dispatch (the pairs after the last 16-byte chunk) under their own label.
      const ops = new Set(result.entries.map((e) => `${e.precision} ${e.label.replace(/\.tail$/, '')}`));
      expect(ops.size).toBe(12 * gpu.precisions.length);
      expect(progress).toContain(`refused (${gpu.precisions[0]}): failed`);
      expect(s.arena.liveBytes).toBe(0);
    } finally {
      BENCH_FAMILIES.pop();
    }
  });

  it('names an unknown family', async () => {
    await expect(benchKernels(gpu.session!, { precisions: ['f32'], families: ['nope'] })).rejects.toThrow(/unknown kernel family nope \(known: elementwise, /);
  });
});
