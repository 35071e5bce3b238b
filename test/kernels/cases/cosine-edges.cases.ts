import type { KernelCase } from '../../harness/kernel-harness.ts';
import {
  type ElectrodeDims, type ElectrodeLayout, cosineEdges, cosineEdgesBackward, cosineEdgesBackwardReference, cosineEdgesReference, pairCount,
} from '../../../src/kernels/cosine-edges.ts';

interface CosineCase extends ElectrodeDims {
  layout: ElectrodeLayout;
  /** The tensor's own shape (axes of the layout, some merged). */
  shape: number[];
}

/**
 * 19 electrodes x 64 features in the three layouts, odd D and T, T 1, two electrodes, two features (D 1 is
 * degenerate: s = sign products, a gradient of order 1e-8 that no relative bound can judge).
 */
export const COSINE_SHAPES: CosineCase[] = [
  { B: 1, E: 19, T: 7, D: 64, layout: 'BETD', shape: [1, 19, 7, 64] },
  { B: 2, E: 19, T: 4, D: 64, layout: 'BEDT', shape: [2, 19 * 64, 4] },
  { B: 1, E: 19, T: 3, D: 5, layout: 'BTED', shape: [1, 3, 19, 5] },
  { B: 2, E: 19, T: 2, D: 8, layout: 'BTED', shape: [2, 2, 19 * 8] },
  { B: 3, E: 3, T: 1, D: 2, layout: 'BETD', shape: [9, 1, 2] },
  { B: 2, E: 2, T: 9, D: 7, layout: 'BEDT', shape: [2, 2, 7, 9] },
];

function describe(c: CosineCase): string {
  return `B ${c.B} E ${c.E} T ${c.T} D ${c.D} ${c.layout} [${c.shape}]`;
}

export function cosineEdgesCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const c of COSINE_SHAPES) {
    const edges = [c.B, pairCount(c.E), c.T];
    cases.push({
      name: `cosine edges ${describe(c)}`,
      inputs: [{ name: 'u', shape: c.shape }],
      outputs: [{ name: 's', shape: edges }],
      run: (s, t) => cosineEdges(s, c, t.u!, c.layout, t.s!),
      reference: (i) => ({ s: cosineEdgesReference(c, c.layout, i.u!) }),
    });
    cases.push({
      name: `cosine edges.bwd ${describe(c)}`,
      inputs: [{ name: 'u', shape: c.shape }, { name: 'g', shape: edges }],
      outputs: [{ name: 'du', shape: c.shape }],
      run: (s, t) => cosineEdgesBackward(s, c, t.u!, c.layout, t.g!, t.du!),
      reference: (i) => ({ du: cosineEdgesBackwardReference(c, c.layout, i.u!, i.g!) }),
    });
  }
  return cases;
}
