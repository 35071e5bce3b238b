// Lowerings of the dense ops: linear and layer_norm (conv1d and the TCN pieces live in lower-conv.ts).
import { matmul } from '../kernels/matmul.ts';
import { layerNorm } from '../kernels/layernorm.ts';
import { viewAs, innermost, numel } from '../kernels/layout.ts';
import { attr, type Lowering } from './lowering.ts';

export const DENSE_LOWERINGS: Record<string, Lowering> = {
  linear: async (c) => {
    const x = c.inputs[0]!;
    const inF = attr<number>(c.node, 'in_features'), outF = attr<number>(c.node, 'out_features');
    const rows = numel(x.shape) / inF;
    const x2 = viewAs(x, [rows, inF]);
    const y2 = viewAs(c.output, [rows, outF]);
    await matmul(c.s, x2, c.param('weight'), y2, { transB: true, bias: attr<boolean>(c.node, 'bias') ? c.param('bias') : undefined, label: c.node.id });
  },
  layer_norm: async (c) => {
    const x = c.inputs[0]!;
    if (innermost(x) !== attr<number>(c.node, 'normalized_shape')) throw new Error(`${c.node.id}: normalized_shape differs from the last axis of [${x.shape}]`);
    await layerNorm(c.s, x, c.param('weight'), c.param('bias'), c.output, undefined, attr<number>(c.node, 'eps'), c.node.id);
  },
};
