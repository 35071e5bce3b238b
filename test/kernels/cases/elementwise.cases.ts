import type { KernelCase } from '../../harness/kernel-harness.ts';
import {
  BINARY_OPS, UNARY_OPS, binary, binaryReference, unary, unaryBackward, unaryBackwardReference, unaryReference,
} from '../../../src/kernels/elementwise.ts';

/**
 * Awkward shapes: a single element, odd rows, a row of 1000, more pairs than one workgroup row. For the 16-byte
 * chunks (4 f32 or 8 halves over unpadded rows; test/kernels/elementwise-parts.test.ts checks the reach): counts
 * that leave a tail of pairs after the chunks ([3, 5], [5, 34], [3, 1030] in some precisions), none ([1000],
 * [4, 6] ...), fewer elements than a chunk ([1], [7]), and padded f16-storage rows (odd lengths) on pairs alone.
 */
export const ELEMENTWISE_SHAPES: number[][] = [[1], [7], [1000], [3, 5], [13, 257], [2, 3, 999], [4, 6], [5, 34], [3, 1030]];

/** 65,537 workgroups of 64 chunks of 4 f32: the VEC grid spreads over two dimensions (f16 modes: half of it). */
export const ELEMENTWISE_GRID_SPLIT = [65537 * 64 * 4];

export function elementwiseCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const shape of ELEMENTWISE_SHAPES) {
    for (const op of UNARY_OPS) {
      // gelu(x) for x < -4 is below 1e-5: a lone such element, stored as a half, cannot meet a relative bound.
      const range: [number, number] = op === 'gelu' ? [-4, 6] : [-6, 6];
      cases.push({
        name: `${op} [${shape}]`,
        inputs: [{ name: 'x', shape, range }],
        outputs: [{ name: 'y', shape }],
        run: (s, t) => unary(s, op, t.x!, t.y!),
        reference: (i) => ({ y: unaryReference(op, i.x!) }),
      });
      cases.push({
        name: `${op}.bwd [${shape}]`,
        inputs: [{ name: 'x', shape, range }, { name: 'dy', shape }],
        outputs: [{ name: 'dx', shape }],
        run: (s, t) => unaryBackward(s, op, t.x!, t.dy!, t.dx!),
        reference: (i) => ({ dx: unaryBackwardReference(op, i.x!, i.dy!) }),
      });
    }
    for (const op of BINARY_OPS) {
      cases.push({
        name: `${op} [${shape}]`,
        inputs: [{ name: 'a', shape }, { name: 'b', shape }],
        outputs: [{ name: 'y', shape }],
        run: (s, t) => binary(s, op, t.a!, t.b!, t.y!),
        reference: (i) => ({ y: binaryReference(op, i.a!, i.b!) }),
      });
    }
  }
  cases.push({
    name: `relu [${ELEMENTWISE_GRID_SPLIT}] (split grid)`,
    inputs: [{ name: 'x', shape: ELEMENTWISE_GRID_SPLIT }],
    outputs: [{ name: 'y', shape: ELEMENTWISE_GRID_SPLIT }],
    run: (s, t) => unary(s, 'relu', t.x!, t.y!),
    reference: (i) => ({ y: unaryReference('relu', i.x!) }),
  });
  return cases;
}
