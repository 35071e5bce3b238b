import type { KernelCase } from '../../harness/kernel-harness.ts';
import { pairCount } from '../../../src/kernels/cosine-edges.ts';
import {
  adjacencyShape, topkAdjacency, topkAdjacencyBackward, topkAdjacencyBackwardReference, topkAdjacencyReference,
} from '../../../src/kernels/topk-adjacency.ts';
import {
  type NodeDims, type NodeLayout, type SsgOptions, ssgconvBackwardReference, ssgconvPropagate, ssgconvPropagateBackward, ssgconvReference,
} from '../../../src/kernels/ssgconv.ts';

interface SsgCase extends NodeDims {
  layout: NodeLayout;
  shape: number[];
  opts?: SsgOptions;
}

/**
 * Layer 1 (F 80) and 2 (F 64) widths in both layouts, a one-node graph, odd F and E with K 3, and the largest E
 * (32: the kernels size their workgroup arrays and unroll their node loops for each E).
 */
export const SSG_SHAPES: SsgCase[] = [
  { B: 1, T: 5, E: 19, F: 80, layout: 'sequence-major', shape: [1, 19, 5, 80] },
  { B: 2, T: 3, E: 19, F: 64, layout: 'graph-major', shape: [6, 19, 64] },
  { B: 1, T: 1, E: 1, F: 1, layout: 'graph-major', shape: [1, 1, 1] },
  { B: 3, T: 2, E: 7, F: 9, layout: 'sequence-major', shape: [21, 2, 9], opts: { K: 3, alpha: 0.2 } },
  { B: 1, T: 2, E: 32, F: 70, layout: 'graph-major', shape: [2, 32, 70] },
];

/**
 * The adjacency from top-k of edge weights: self-loops added by SSGConv (rows with edges) and given by top-k (empty
 * rows, about 40% of them when weights are uniform in [0, 1.05e-4], the threshold being 1e-4).
 */
export const CHAIN_SHAPES: (SsgCase & { range: [number, number] })[] = [
  { B: 1, T: 4, E: 19, F: 12, layout: 'sequence-major', shape: [19, 4, 12], range: [0, 1] },
  { B: 2, T: 3, E: 19, F: 6, layout: 'graph-major', shape: [6, 19, 6], range: [0, 1.05e-4] },
];

function describe(c: SsgCase): string {
  return `B ${c.B} T ${c.T} E ${c.E} F ${c.F} ${c.layout} [${c.shape}]${c.opts ? ` K ${c.opts.K} alpha ${c.opts.alpha}` : ''}`;
}

export function ssgconvCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const c of SSG_SHAPES) {
    const adj = { name: 'adj', shape: adjacencyShape(c), range: [0, 1] as [number, number] };
    cases.push({
      name: `ssgconv propagate ${describe(c)}`,
      inputs: [{ name: 'x', shape: c.shape }, adj],
      outputs: [{ name: 'h', shape: c.shape }],
      run: (s, t) => ssgconvPropagate(s, c, c.layout, t.x!, t.adj!, t.h!, c.opts),
      reference: (i) => ({ h: ssgconvReference(c, c.layout, i.x!, i.adj!, c.opts) }),
    });
    cases.push({
      name: `ssgconv propagate.bwd ${describe(c)}`,
      inputs: [{ name: 'x', shape: c.shape }, adj, { name: 'dh', shape: c.shape }],
      outputs: [{ name: 'dx', shape: c.shape }, { name: 'dadj', shape: adjacencyShape(c) }],
      run: (s, t) => ssgconvPropagateBackward(s, c, c.layout, t.x!, t.adj!, t.dh!, t.dx!, t.dadj!, c.opts),
      reference: (i) => {
        const r = ssgconvBackwardReference(c, c.layout, i.x!, i.adj!, i.dh!, c.opts);
        return { dx: r.dx, dadj: r.dA };
      },
    });
  }
  for (const c of CHAIN_SHAPES) {
    const w = { name: 'w', shape: [c.B, pairCount(c.E), c.T], range: c.range };
    cases.push({
      name: `topk -> ssgconv ${describe(c)} w in [${c.range}]`,
      inputs: [w, { name: 'x', shape: c.shape }],
      outputs: [{ name: 'h', shape: c.shape }],
      run: async (s, t) => {
        const adj = await s.scratch(adjacencyShape(c), t.x!.precision, 'adj');
        await topkAdjacency(s, c, t.w!, adj);
        await ssgconvPropagate(s, c, c.layout, t.x!, adj, t.h!);
      },
      reference: (i) => ({ h: ssgconvReference(c, c.layout, i.x!, topkAdjacencyReference(c, i.w!)) }),
    });
    cases.push({
      name: `topk -> ssgconv.bwd ${describe(c)} w in [${c.range}]`,
      inputs: [w, { name: 'x', shape: c.shape }, { name: 'dh', shape: c.shape }],
      outputs: [{ name: 'dx', shape: c.shape }, { name: 'dw', shape: w.shape }],
      run: async (s, t) => {
        const p = t.x!.precision;
        const adj = await s.scratch(adjacencyShape(c), p, 'adj');
        const dadj = await s.scratch(adjacencyShape(c), p, 'dadj');
        await topkAdjacency(s, c, t.w!, adj);
        await ssgconvPropagateBackward(s, c, c.layout, t.x!, adj, t.dh!, t.dx!, dadj);
        await topkAdjacencyBackward(s, c, t.w!, dadj, t.dw!);
      },
      reference: (i) => {
        const r = ssgconvBackwardReference(c, c.layout, i.x!, topkAdjacencyReference(c, i.w!), i.dh!);
        return { dx: r.dx, dw: topkAdjacencyBackwardReference(c, i.w!, r.dA) };
      },
    });
  }
  return cases;
}
