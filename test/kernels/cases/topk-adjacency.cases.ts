import type { KernelCase } from '../../harness/kernel-harness.ts';
import { pairCount } from '../../../src/kernels/cosine-edges.ts';
import {
  type GraphDims, adjacencyShape, topkAdjacency, topkAdjacencyBackward, topkAdjacencyBackwardReference, topkAdjacencyReference,
} from '../../../src/kernels/topk-adjacency.ts';

interface TopkCase extends GraphDims {
  k?: number;
  /** Range of the weights: narrow ranges make ties (only a few distinct f32 values; all equal in f16). */
  range: [number, number];
  why: string;
}

const ULP1 = 2 ** -23; // f32 spacing just above 1

export const TOPK_SHAPES: TopkCase[] = [
  { B: 2, T: 5, E: 19, range: [0, 1], why: 'random' },
  { B: 1, T: 7, E: 19, range: [0, 3e-4], why: 'around the 1e-4 threshold: empty rows get self-loops' },
  { B: 1, T: 3, E: 19, range: [1, 1 + 8 * ULP1], why: 'ties: 9 distinct values in f32, one in f16' },
  { B: 2, T: 2, E: 19, range: [0.5, 0.5], why: 'ties: all equal' },
  { B: 3, T: 1, E: 2, range: [0, 1], why: 'one pair, k above the row length' },
  { B: 2, T: 9, E: 5, k: 1, range: [0, 1], why: 'k 1, odd T' },
];

function describe(c: TopkCase): string {
  return `B ${c.B} T ${c.T} E ${c.E} k ${c.k ?? 3}, ${c.why}`;
}

export function topkAdjacencyCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const c of TOPK_SHAPES) {
    const w = { name: 'w', shape: [c.B, pairCount(c.E), c.T], range: c.range };
    const opts = { k: c.k };
    cases.push({
      name: `topk adjacency ${describe(c)}`,
      inputs: [w],
      outputs: [{ name: 'adj', shape: adjacencyShape(c) }],
      run: (s, t) => topkAdjacency(s, c, t.w!, t.adj!, opts),
      reference: (i) => ({ adj: topkAdjacencyReference(c, i.w!, c.k) }),
    });
    cases.push({
      name: `topk adjacency.bwd ${describe(c)}`,
      inputs: [w, { name: 'dadj', shape: adjacencyShape(c), range: [-1, 1] }],
      outputs: [{ name: 'dw', shape: w.shape }],
      run: (s, t) => topkAdjacencyBackward(s, c, t.w!, t.dadj!, t.dw!, opts),
      reference: (i) => ({ dw: topkAdjacencyBackwardReference(c, i.w!, i.dadj!, c.k) }),
    });
  }
  return cases;
}
