import { describe, expect, it } from 'vitest';
import { kernelSuite } from '../harness/kernel-suite.ts';
import { expectFiniteDifferences } from '../harness/finite-difference.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { makeRng } from '../harness/kernel-harness.ts';
import { mambaScanCases } from './cases/mamba-scan.cases.ts';
import { type ScanDims, scanBackwardReference, scanReference, scanSequential } from '../../src/kernels/mamba-scan.ts';

const gpu = await testGpu();

await kernelSuite('mamba scan', mambaScanCases);

describe('mamba scan CPU reference', () => {
  // The backward reference against central differences of L = sum(dy * y), in float64.
  for (const [fused, reverse] of [[false, false], [true, true]] as const) {
    it(`backward matches finite differences (${fused ? 'fused softplus' : 'raw dt'}, ${reverse ? 'reverse' : 'forward'})`, () => {
      const d: ScanDims = { seqs: 2, T: 5, heads: 2, headDim: 3, dState: 4 };
      const rng = makeRng(Math.floor(Math.random() * 2 ** 31));
      const u = (n: number, lo: number, hi: number) => Float64Array.from({ length: n }, () => lo + (hi - lo) * rng());
      const CH = d.heads * d.headDim;
      const rows = d.seqs * d.T;
      const inp = {
        x: u(rows * CH, -1, 1), B: u(rows * d.dState, -1, 1), C: u(rows * d.dState, -1, 1),
        dt: fused ? u(rows * d.heads, -2, 1) : u(rows * d.heads, 0.05, 0.6),
        A: u(d.heads, -2, -0.3), D: u(d.heads, 0.5, 1.5), dtBias: fused ? u(d.heads, -1, 0) : undefined,
      };
      const dy = u(rows * CH, -1, 1);
      const loss = () => scanReference(d, inp, reverse).y.reduce((a, v, i) => a + v * dy[i]!, 0);
      const g = scanBackwardReference(d, inp, dy, reverse);
      const checks: [string, Float64Array, Float64Array][] = [
        ['x', inp.x, g.dx], ['B', inp.B, g.dB], ['C', inp.C, g.dC], ['dt', inp.dt, g.ddt], ['A', inp.A, g.dA], ['D', inp.D, g.dD],
      ];
      if (inp.dtBias) checks.push(['dtBias', inp.dtBias, g.dDtBias]);
      for (const [name, v, grad] of checks) expectFiniteDifferences(name, v, grad, loss);
    });
  }
});

describe.skipIf(!gpu.session)('mamba scan input errors', () => {
  it('names the dimension or slice that is wrong', async () => {
    const s = gpu.session!;
    const d: ScanDims = { seqs: 2, T: 5, heads: 2, headDim: 2, dState: 4 };
    const t = (shape: number[], label: string) => s.arena.tensor(shape, 'f16-storage', label);
    const xbc = await t([2, 5, 12], 'xbc'), other = await t([2, 5, 8], 'other'), dt = await t([2, 5, 2], 'dt');
    const A = await t([2], 'A'), D = await t([2], 'D'), y = await t([2, 5, 6], 'y'), short = await t([2, 4, 12], 'short');
    const inp = { x: { tensor: xbc }, B: { tensor: xbc, offset: 4 }, C: { tensor: xbc, offset: 8 }, dt: { tensor: dt }, A, D };
    const shortInp = { ...inp, x: { tensor: short }, B: { tensor: short, offset: 4 }, C: { tensor: short, offset: 8 } };
    try {
      await expect(scanSequential(s, d, shortInp, { tensor: y })).rejects.toThrow(/x \(short\) dimension 1 \(T\) is 4, expected 5/);
      await expect(scanSequential(s, d, inp, { tensor: y, offset: 1 })).rejects.toThrow(/y \(y\) channels \[1, 5\) split a packed pair/);
      await expect(scanSequential(s, d, { ...inp, C: { tensor: xbc, offset: 9 } }, { tensor: y })).rejects.toThrow(/C \(xbc\) channels \[9, 13\) do not fit its 12 channels/);
      await expect(scanSequential(s, d, { ...inp, B: { tensor: other } }, { tensor: y })).rejects.toThrow(/x, B and C must be channel slices of one tensor/);
      await expect(scanSequential(s, { ...d, dState: 17 }, inp, { tensor: y })).rejects.toThrow(/dState \(N\) is 17/);
      await expect(scanSequential(s, d, { ...inp, A: D, D: y }, { tensor: y })).rejects.toThrow(/D: one value per head/);
    } finally {
      for (const v of [xbc, other, dt, A, D, y, short]) s.arena.release(v);
    }
  });
});
