// Records of the dense ops: linear and layer_norm (conv1d and the TCN pieces live in lower-conv.ts).
import { matmul, matmulBackward } from '../kernels/matmul.ts';
import { layerNorm, layerNormBackward } from '../kernels/layernorm.ts';
import { viewAs, innermost, numel } from '../kernels/layout.ts';
import { attr, type OpRecord } from './lowering.ts';

const rowsOf = (shape: readonly number[]) => numel(shape) / shape[shape.length - 1]!;

export const DENSE_RECORDS: Record<string, OpRecord> = {
  linear: {
    forward: async (c) => {
      const x = c.inputs[0]!;
      const inF = attr<number>(c.node, 'in_features'), outF = attr<number>(c.node, 'out_features');
      const rows = numel(x.shape) / inF;
      await matmul(c.s, viewAs(x, [rows, inF]), c.param('weight'), viewAs(c.output, [rows, outF]), { transB: true, bias: attr<boolean>(c.node, 'bias') ? c.param('bias') : undefined, label: c.node.id });
    },
    saves: () => ({ inputs: [0], output: false, tensors: [] }),
    backward: async (c) => {
      const inF = attr<number>(c.node, 'in_features'), outF = attr<number>(c.node, 'out_features');
      const x = c.input(0), rows = numel(x.shape) / inF, dx = c.dInput(0);
      await matmulBackward(c.s, viewAs(x, [rows, inF]), c.param('weight'), viewAs(c.dOutput, [rows, outF]), {
        da: dx ? viewAs(dx, [rows, inF]) : undefined, db: c.dParam('weight'), dbias: attr<boolean>(c.node, 'bias') ? c.dParam('bias') : undefined,
      }, { transB: true, label: c.node.id });
    },
  },
  layer_norm: {
    forward: async (c) => {
      const x = c.inputs[0]!;
      if (innermost(x) !== attr<number>(c.node, 'normalized_shape')) throw new Error(`${c.node.id}: normalized_shape differs from the last axis of [${x.shape}]`);
      const stats = { mean: await c.save('mean'), rstd: await c.save('rstd') };
      await layerNorm(c.s, x, c.param('weight'), c.param('bias'), c.output, stats, attr<number>(c.node, 'eps'), c.node.id);
    },
    saves: (_n, sh) => ({ inputs: [0], output: false, tensors: [{ name: 'mean', shape: [rowsOf(sh.output)], f32: true }, { name: 'rstd', shape: [rowsOf(sh.output)], f32: true }] }),
    // layer_norm's backward writes dx whatever: a first layer norm on the data still needs somewhere to put it
    workspace: (_n, sh) => ({ forward: [], backward: [{ name: 'dx_unused', shape: [...sh.inputs[0]!] }] }),
    backward: async (c) => {
      const x = c.input(0);
      const dx = c.dInput(0) ?? await c.scratch('dx_unused');
      await layerNormBackward(c.s, x, c.param('weight'), c.dOutput, { mean: c.saved('mean'), rstd: c.saved('rstd') }, { dx, dgamma: c.dParam('weight'), dbeta: c.dParam('bias') }, `${c.node.id}.bwd`);
    },
  },
};
