import { describe, expect, it } from 'vitest';
import { kernelSuite } from '../harness/kernel-suite.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { topkAdjacencyCases } from './cases/topk-adjacency.cases.ts';
import { pairCount, pairIndex } from '../../src/kernels/cosine-edges.ts';
import { topkAdjacency, topkAdjacencyReference, topkSelection } from '../../src/kernels/topk-adjacency.ts';

const gpu = await testGpu();

await kernelSuite('topk adjacency', topkAdjacencyCases);

describe('topk adjacency CPU reference', () => {
  // A hand-made graph of 4 nodes, k 2: the rule written out, so the reference itself is checked.
  it('keeps the top k per row with ties to the lower column, drops small weights, adds self-loops', () => {
    const d = { B: 1, T: 1, E: 5 };
    const w = new Float64Array(pairCount(5));
    const set = (i: number, j: number, v: number) => { w[pairIndex(5, i, j)] = v; };
    set(0, 1, 0.5); set(0, 2, 0.5); set(0, 3, 0.5); // row 0: a three-way tie, keeps columns 1 and 2
    set(1, 2, 0.9);
    set(3, 4, 5e-5); // below the threshold: nodes 4 (and 3's choice of 4) dropped
    const kept = topkSelection(d, w, 2);
    const K = (i: number, j: number) => kept[i * 5 + j];
    expect([K(0, 1), K(0, 2), K(0, 3)]).toEqual([1, 1, 0]);
    expect([K(3, 0), K(3, 4), K(4, 3)]).toEqual([1, 0, 0]);
    const A = topkAdjacencyReference(d, w, 2);
    const a = (i: number, j: number) => A[i * 5 + j];
    expect(a(0, 3)).toBe(0.25); // kept by row 3 only
    expect(a(0, 1)).toBe(0.5);
    expect(a(4, 4)).toBe(1); // empty row: self-loop
    expect(a(0, 0)).toBe(0);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(a(i, j)).toBe(a(j, i));
  });
});

describe.skipIf(!gpu.session)('topk adjacency input errors', () => {
  it('names what is wrong', async () => {
    const s = gpu.session!;
    const w = await s.arena.tensor([1, 171, 4], 'f32', 'w');
    const adj = await s.arena.tensor([4, 19, 19], 'f32', 'adj');
    try {
      await expect(topkAdjacency(s, { B: 1, T: 5, E: 19 }, w, adj)).rejects.toThrow(/w must be \(B, pairs, T\) = \(1, 171, 5\)/);
      await expect(topkAdjacency(s, { B: 1, T: 4, E: 19 }, w, adj, { k: 32 })).rejects.toThrow(/k is 32, over the 31/);
      await expect(topkAdjacency(s, { B: 2, T: 2, E: 19 }, w, adj)).rejects.toThrow(/w must be|adj has shape/);
    } finally {
      s.arena.release(w);
      s.arena.release(adj);
    }
  });
});
