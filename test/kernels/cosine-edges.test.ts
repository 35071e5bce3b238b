import { describe, expect, it } from 'vitest';
import { kernelSuite } from '../harness/kernel-suite.ts';
import { expectFiniteDifferences } from '../harness/finite-difference.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { makeRng } from '../harness/kernel-harness.ts';
import { cosineEdgesCases } from './cases/cosine-edges.cases.ts';
import { type ElectrodeDims, cosineEdges, cosineEdgesBackward, cosineEdgesBackwardReference, cosineEdgesReference, layoutStrides } from '../../src/kernels/cosine-edges.ts';

const gpu = await testGpu();

await kernelSuite('cosine edges', cosineEdgesCases);

describe('cosine edges CPU reference', () => {
  it('backward matches finite differences, a zero vector included', () => {
    const d: ElectrodeDims = { B: 2, E: 4, T: 3, D: 5 };
    const rng = makeRng(Math.floor(Math.random() * 2 ** 31));
    const u = Float64Array.from({ length: d.B * d.E * d.T * d.D }, () => rng() * 4 - 2);
    u.fill(0, 0, d.D); // electrode 0 at (b 0, t 0) in BETD order: the 0/0 guard
    const g = Float64Array.from({ length: d.B * 6 * d.T }, () => rng() * 2 - 1);
    const loss = () => cosineEdgesReference(d, 'BETD', u).reduce((a, v, i) => a + v * g[i]!, 0);
    const du = cosineEdgesBackwardReference(d, 'BETD', u, g);
    expectFiniteDifferences('u', u, du, loss, (i) => i < d.D); // the zero vector: no derivative there
  });

  it('maps each layout (with merged axes) to the right strides', () => {
    const d: ElectrodeDims = { B: 2, E: 3, T: 5, D: 7 };
    expect(layoutStrides('t', [2, 3, 5, 7], d, 'BETD', 'logical')).toEqual({ b: 105, e: 35, t: 7, d: 1 });
    expect(layoutStrides('t', [2, 21, 5], d, 'BEDT', 'f16-storage')).toEqual({ b: 126, e: 42, d: 6, t: 1 });
    expect(layoutStrides('t', [2, 5, 21], d, 'BTED', 'f16-storage')).toEqual({ b: 110, t: 22, e: 7, d: 1 });
    expect(() => layoutStrides('op', [2, 7, 15], d, 'BEDT', 'f32')).toThrow(/last dimension of \[2,7,15\] is 15, not a product of trailing BEDT axes/);
  });
});

describe.skipIf(!gpu.session)('cosine edges input errors', () => {
  it('names what is wrong', async () => {
    const s = gpu.session!;
    const d: ElectrodeDims = { B: 1, E: 4, T: 3, D: 5 };
    const u = await s.arena.tensor([1, 3, 20], 'f16-storage', 'u');
    const out = await s.arena.tensor([1, 6, 3], 'f16-storage', 'edges');
    const bad = await s.arena.tensor([1, 6, 4], 'f16-storage', 'bad');
    try {
      await expect(cosineEdges(s, d, u, 'BTED', bad)).rejects.toThrow(/bad must be \(B, pairs, T\) = \(1, 6, 3\)/);
      await expect(cosineEdges(s, { ...d, E: 33 }, u, 'BTED', out)).rejects.toThrow(/E \(electrodes\) is 33/);
      await expect(cosineEdgesBackward(s, d, u, 'BTED', out, u)).rejects.toThrow(/odd e strides/);
    } finally {
      for (const t of [u, out, bad]) s.arena.release(t);
    }
  });
});
