import { describe, expect, it } from 'vitest';
import { kernelSuite } from '../harness/kernel-suite.ts';
import { expectFiniteDifferences } from '../harness/finite-difference.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { describeResult, makeRng, runKernelCase } from '../harness/kernel-harness.ts';
import { ssgconvCases } from './cases/ssgconv.cases.ts';
import { asGpuAdapter } from './gpu-adapter-view.ts';
import { type NodeDims, ssgconvBackwardReference, ssgconvPropagate, ssgconvReference, unrollNodes } from '../../src/kernels/ssgconv.ts';

const gpu = await testGpu();

await kernelSuite('ssgconv', ssgconvCases);

// GPU adapters run the kernels with their node loops bounded by the pipeline constant E (UNROLL); CPU adapters
// loop to the uniform. Here the GPU variant runs too, at E 7 and 1 only: lavapipe compiles the unrolled kernels
// slowly (minutes at E 19). The GPU machine runs every case in it (test/kernels/run-cases.ts).
describe.skipIf(!gpu.session?.gpu.info.cpuAdapter)('ssgconv, the GPU adapters\' variant (unrolled node loops)', () => {
  const small = ssgconvCases().filter((c) => / E [17] /.test(c.name) && c.name.startsWith('ssgconv'));
  it('covers the small cases, forward and backward', () => {
    expect(small.map((c) => c.name.split(' B ')[0])).toEqual(['ssgconv propagate', 'ssgconv propagate.bwd', 'ssgconv propagate', 'ssgconv propagate.bwd']);
    expect(unrollNodes(asGpuAdapter(gpu.session!))).toBe(true);
    expect(unrollNodes(gpu.session!)).toBe(false);
  });
  for (const c of small) {
    it(`${c.name} (f32)`, async () => {
      const r = await runKernelCase(gpu.session!, { ...c, run: (s, t, p) => c.run(asGpuAdapter(s), t, p) }, 'f32');
      expect(r.pass, describeResult(r)).toBe(true);
    });
  }
});

describe('ssgconv CPU reference', () => {
  it('backward (the dÃ formula included) matches finite differences', () => {
    const d: NodeDims = { B: 2, T: 1, E: 5, F: 3 };
    const opts = { K: 3, alpha: 0.1 };
    const rng = makeRng(Math.floor(Math.random() * 2 ** 31));
    const x = Float64Array.from({ length: d.B * d.E * d.F }, () => rng() * 4 - 2);
    const A = Float64Array.from({ length: d.B * d.E * d.E }, () => rng());
    // Sparse rows and missing self-loops (which the kernel adds as constants) in the first graph.
    for (const [i, j] of [[0, 0], [1, 1], [0, 3], [3, 0], [2, 4]]) A[i! * d.E + j!] = 0;
    const dh = Float64Array.from({ length: x.length }, () => rng() * 2 - 1);
    const loss = () => ssgconvReference(d, 'graph-major', x, A, opts).reduce((a, v, i) => a + v * dh[i]!, 0);
    const g = ssgconvBackwardReference(d, 'graph-major', x, A, dh, opts);
    expectFiniteDifferences('x', x, g.dx, loss);
    // An added self-loop is a constant (the function jumps there): those entries have gradient 0 by definition.
    expectFiniteDifferences('A', A, g.dA, loss, (i) => i < d.E * d.E && (i === 0 || i === d.E + 1));
    expect([g.dA[0], g.dA[d.E + 1]]).toEqual([0, 0]);
  });
});

describe.skipIf(!gpu.session)('ssgconv input errors', () => {
  it('names what is wrong', async () => {
    const s = gpu.session!;
    const d: NodeDims = { B: 1, T: 2, E: 19, F: 8 };
    const x = await s.arena.tensor([19, 2, 8], 'f32', 'x');
    const adj = await s.arena.tensor([2, 19, 19], 'f32', 'adj');
    const h = await s.arena.tensor([19, 2, 7], 'f32', 'h');
    try {
      await expect(ssgconvPropagate(s, d, 'graph-major', x, adj, h)).rejects.toThrow(/x has shape \[19,2,8\], expected \[2,19,8\] \(graph-major\)/);
      await expect(ssgconvPropagate(s, d, 'sequence-major', x, adj, h)).rejects.toThrow(/h has shape \[19, 2, 7\], expected \[19, 2, 8\] \(h has the shape of x\)/);
      await expect(ssgconvPropagate(s, d, 'sequence-major', x, adj, x, { K: 9 })).rejects.toThrow(/K is 9, over 8/);
    } finally {
      for (const t of [x, adj, h]) s.arena.release(t);
    }
  });
});
