// Lowerings of the data-movement and pointwise ops: relu, softplus, add, reshape, permute, concat, laplacian_pe.
import { binary, unary } from '../kernels/elementwise.ts';
import { concatLast, permute, repack } from '../kernels/layout-ops.ts';
import { attr, type Lowering } from './lowering.ts';

export const TENSOR_OP_LOWERINGS: Record<string, Lowering> = {
  relu: (c) => unary(c.s, 'relu', c.inputs[0]!, c.output, c.node.id),
  softplus: (c) => unary(c.s, 'softplus', c.inputs[0]!, c.output, c.node.id),
  add: (c) => binary(c.s, 'add', c.inputs[0]!, c.inputs[1]!, c.output, c.node.id),
  // Layout-preserving reshapes and inference dropout are views (plan.ts) and never reach here.
  reshape: (c) => repack(c.s, c.inputs[0]!, c.output, c.node.id),
  permute: (c) => permute(c.s, c.inputs[0]!, attr<number[]>(c.node, 'perm'), c.output, c.node.id),
  concat: async (c) => {
    if (attr<number>(c.node, 'axis') !== -1) throw new Error(`${c.node.id}: concat supports axis -1 only`);
    if (c.inputs.length !== 2) throw new Error(`${c.node.id}: concat of ${c.inputs.length} inputs; the kernel takes 2`);
    await concatLast(c.s, c.inputs[0]!, c.inputs[1]!, c.output, c.node.id);
  },
  // The PE buffer is uploaded with the weights; copying it keeps the output a buffer of its own.
  laplacian_pe: (c) => repack(c.s, c.param('value'), c.output, c.node.id),
};
