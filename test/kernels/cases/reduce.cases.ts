import type { KernelCase } from '../../harness/kernel-harness.ts';
import { REDUCE_OPS, reduce, reduceReference, reducedShape, sumKeep, sumKeepReference } from '../../../src/kernels/reduce.ts';

/**
 * Shapes and axes covering every path: a single element, 7, 1000 and a 20000-long innermost axis (rows path: in
 * 16-byte chunks where the row stride is a multiple of 4 f32 or 8 halves, e.g. 1000 everywhere and 7 in
 * f16-storage, whose stride 8 holds a pad half; element by element for 1 and for 7 in f32 and f16),
 * a trailing axis of 1 and a reduced axis of 1 (columns path on padded rows), and long non-innermost axes with
 * few outputs (two-pass path), and a grid split over two dimensions.
 * The column kernel (reduce_cols.wgsl; test/kernels/reduce-plan.test.ts checks that these reach each variant):
 * row lengths whose stride allows 16-byte loads in f32 only (12), in every precision (64, 24, 16) or in none (3, 5,
 * 9, 1030: pairs), one pass ([2, 40, 16]) and tiles of rows that do not divide n, nor the unrolled 4 x 8 rows
 * ([2000, 64]: 32 tiles of 63 rows), column groups that do not fill a workgroup (1030 columns), several stored rows
 * per output row ([3, 517, 2, 24] axis 1) and outer > 1.
 */
export const REDUCE_SHAPES: [number[], number][] = [
  [[1], 0], [[7], 0], [[1000], 0], [[20000], 0],
  [[3, 7], 0], [[3, 7], 1], [[4, 1000], 1], [[7, 1], 0], [[2, 1, 9], 1],
  [[2, 5, 7], 1], [[5, 3, 2, 9], 2], [[1000, 3], 0], [[3, 2000, 5], 1],
  [[2000, 64], 0], [[3, 517, 2, 24], 1], [[300, 12], 0], [[777, 1030], 0], [[2, 40, 16], 1],
];

/** 70,000 output pairs, a workgroup each: more than one grid dimension holds (65,535), so the grid is split. */
const GRID_SPLIT: [number[], number] = [[140000, 1], 1];
/** The column kernel's grid split: 4,194,305 outputs in pairs (an odd row) = 65,537 workgroups of 32 groups. */
export const COLS_GRID_SPLIT: [number[], number] = [[1, 4194305], 0];

/**
 * Keeping the last axis runs the column kernel: [1000, 7] and [3, 700, 64] in two passes, [5, 24] in one.
 * Rows of 16-byte chunks (sum_rows_partial_vec): [3, 5, 64] in every precision, [2, 5, 36] in f32 only, [3, 4, 47]
 * in f16-storage only (stride 48: the last chunk holds the pad half, which must not count).
 */
export const SUM_KEEP_SHAPES: [number[], number][] = [
  [[1], 0], [[7], 0], [[3, 5, 7], 1], [[1000, 7], 1], [[2, 9, 33], 1], [[7, 1], 0], [[4, 3, 1000], 0],
  [[3, 700, 64], 2], [[5, 24], 1], [[3, 5, 64], 1], [[2, 5, 36], 1], [[3, 4, 47], 1],
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
  for (const [shape, axis] of [GRID_SPLIT, COLS_GRID_SPLIT]) {
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
  cases.push({
    name: 'sumKeep [3, 700, 64] keep 2, scale -0.375',
    inputs: [{ name: 'x', shape: [3, 700, 64] }],
    outputs: [{ name: 'y', shape: [64] }],
    run: (s, t) => sumKeep(s, t.x!, t.y!, 2, 'sum_keep', -0.375),
    reference: (i) => ({ y: sumKeepReference(i.x!, [3, 700, 64], 2, -0.375) }),
  });
  return cases;
}
