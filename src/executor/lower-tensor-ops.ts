// Records of the data-movement and pointwise ops: relu, softplus, add, reshape, permute, concat, dropout,
// laplacian_pe.
import { binary, unary, unaryBackward } from '../kernels/elementwise.ts';
import { concatLast, permute, repack } from '../kernels/layout-ops.ts';
import { sliceColumns } from '../kernels/grad-plumbing.ts';
import { dropout, dropoutKey } from '../kernels/dropout.ts';
import { numel } from '../kernels/layout.ts';
import { attr, type BackwardContext, type LowerContext, type OpRecord } from './lowering.ts';

/** Copies the output gradient into every input that needs one. */
async function passThrough(c: BackwardContext, inputs: number): Promise<void> {
  for (let i = 0; i < inputs; i++) {
    const dx = c.dInput(i);
    if (dx) await repack(c.s, c.dOutput, dx, `${c.node.id}.bwd.${i}`);
  }
}

/** Dropout's mask for this node, pass and micro-batch; p = 0 outside training (the identity). */
function dropoutOptions(c: LowerContext | BackwardContext, like: { shape: readonly number[] }) {
  const p = c.mode.training ? attr<number>(c.node, 'p') : 0;
  const perSample = numel(like.shape) / like.shape[0]!;
  return { p, key: dropoutKey(c.mode.seed, c.mode.step, c.index), base: c.mode.sampleOffset * perSample };
}

export const TENSOR_OP_RECORDS: Record<string, OpRecord> = {
  relu: {
    forward: (c) => unary(c.s, 'relu', c.inputs[0]!, c.output, c.node.id),
    // relu'(x) = [x > 0] = [relu(x) > 0]: the output serves as well as the input
    saves: () => ({ inputs: [], output: true, tensors: [] }),
    backward: async (c) => {
      const dx = c.dInput(0);
      if (dx) await unaryBackward(c.s, 'relu', c.output(), c.dOutput, dx, `${c.node.id}.bwd`);
    },
  },
  softplus: {
    forward: (c) => unary(c.s, 'softplus', c.inputs[0]!, c.output, c.node.id),
    saves: () => ({ inputs: [0], output: false, tensors: [] }),
    backward: async (c) => {
      const dx = c.dInput(0);
      if (dx) await unaryBackward(c.s, 'softplus', c.input(0), c.dOutput, dx, `${c.node.id}.bwd`);
    },
  },
  add: {
    forward: (c) => binary(c.s, 'add', c.inputs[0]!, c.inputs[1]!, c.output, c.node.id),
    backward: (c) => passThrough(c, 2),
  },
  // Layout-preserving reshapes (and dropout at inference) are views (plan.ts) and never reach these.
  reshape: {
    forward: (c) => repack(c.s, c.inputs[0]!, c.output, c.node.id),
    backward: (c) => passThrough(c, 1),
  },
  permute: {
    forward: (c) => permute(c.s, c.inputs[0]!, attr<number[]>(c.node, 'perm'), c.output, c.node.id),
    backward: async (c) => {
      const dx = c.dInput(0);
      if (!dx) return;
      const perm = attr<number[]>(c.node, 'perm');
      const inverse = perm.map((_, i) => perm.indexOf(i));
      await permute(c.s, c.dOutput, inverse, dx, `${c.node.id}.bwd`);
    },
  },
  concat: {
    forward: async (c) => {
      if (attr<number>(c.node, 'axis') !== -1) throw new Error(`${c.node.id}: concat supports axis -1 only`);
      if (c.inputs.length !== 2) throw new Error(`${c.node.id}: concat of ${c.inputs.length} inputs; the kernel takes 2`);
      await concatLast(c.s, c.inputs[0]!, c.inputs[1]!, c.output, c.node.id);
    },
    backward: async (c) => {
      let offset = 0;
      for (let i = 0; i < c.node.inputs.length; i++) {
        const dx = c.dInput(i);
        if (dx) {
          const lead = c.dOutput.shape.slice(0, -1).join(',');
          if (dx.shape.slice(0, -1).join(',') !== lead) {
            throw new Error(`${c.node.id}: concat input ${i} [${dx.shape}] was broadcast to [${c.dOutput.shape}]; its gradient would need a sum over the broadcast axes, which the backward does not implement`);
          }
          await sliceColumns(c.s, c.dOutput, offset, dx, `${c.node.id}.bwd.${i}`);
        }
        offset += c.shapes.inputs[i]!.at(-1)!;
      }
    },
  },
  dropout: {
    forward: (c) => dropout(c.s, c.inputs[0]!, c.output, { ...dropoutOptions(c, c.output), label: c.node.id }),
    // the mask is recomputed from its key: nothing kept
    backward: async (c) => {
      const dx = c.dInput(0);
      if (dx) await dropout(c.s, c.dOutput, dx, { ...dropoutOptions(c, dx), label: `${c.node.id}.bwd` });
    },
  },
  // The PE buffer is uploaded with the weights; copying it keeps the output a buffer of its own. No backward:
  // a buffer is a constant.
  laplacian_pe: { forward: (c) => repack(c.s, c.param('value'), c.output, c.node.id) },
};
