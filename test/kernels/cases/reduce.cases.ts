import type { KernelCase } from '../../harness/kernel-harness.ts';
import { REDUCE_OPS, reduce, reduceReference, reducedShape, sumKeep, sumKeepReference } from '../../../src/kernels/reduce.ts';

/**
 * Shapes and axes covering every path: a single element, 7, 1000 and a 20000-long innermost axis (rows path),
 * a trailing axis of 1 and a reduced axis of 1 (columns path on padded rows), and long non-innermost axes with
 * few outputs (two-pass path), and a grid split over two dimensions.
 */
export const REDUCE_SHAPES: [number[], number][] = [
  [[1], 0], [[7], 0], [[1000], 0], [[20000], 0],
  [[3, 7], 0], [[3, 7], 1], [[4, 1000], 1], [[7, 1], 0], [[2, 1, 9], 1],
  [[2, 5, 7], 1], [[5, 3, 2, 9], 2], [[1000, 3], 0], [[3, 2000, 5], 1],
];

/** 70,000 output pairs, a workgroup each: more than one grid dimension holds (65,535), so the grid is split. */
const GRID_SPLIT: [number[], number] = [[140000, 1], 1];

export const SUM_KEEP_SHAPES: [number[], number][] = [
  [[1], 0], [[7], 0], [[3, 5, 7], 1], [[1000, 7], 1], [[2, 9, 33], 1], [[7, 1], 0], [[4, 3, 1000], 0],
];

export function reduceCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const [shape, axis] of REDUCE_SHAPES) {
    for (const op of REDUCE_OPS) {
      cases.push({
        name: `reduce ${op} [${shape}] axis ${axis}`,
        inputs: [{ name: 'x', shape }],
        outputs: [{ name: 'y', shape: reducedShape(shape, axis) }],
        run: (s, t) => reduce(s, op, t.x!, t.y!, axis),
        reference: (i) => ({ y: reduceReference(op, i.x!, shape, axis) }),
      });
    }
  }
  {
    const [shape, axis] = GRID_SPLIT;
    cases.push({
      name: `reduce sum [${shape}] axis ${axis} (split grid)`,
      inputs: [{ name: 'x', shape }],
      outputs: [{ name: 'y', shape: reducedShape(shape, axis) }],
      run: (s, t) => reduce(s, 'sum', t.x!, t.y!, axis),
      reference: (i) => ({ y: reduceReference('sum', i.x!, shape, axis) }),
    });
  }
  for (const [shape, keep] of SUM_KEEP_SHAPES) {
    cases.push({
      name: `sumKeep [${shape}] keep ${keep}`,
      inputs: [{ name: 'x', shape }],
      outputs: [{ name: 'y', shape: [shape[keep]!] }],
      run: (s, t) => sumKeep(s, t.x!, t.y!, keep),
      reference: (i) => ({ y: sumKeepReference(i.x!, shape, keep) }),
    });
  }
  return cases;
}
