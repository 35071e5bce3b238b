// Records of the TCN and head ops: conv1d (its weight-normalised weight derived on the GPU, with a backward, so
// weight_v and weight_g get gradients), sanitize, clamp, nearest upsample.
import { conv1d, conv1dBackward } from '../kernels/conv1d.ts';
import { weightNorm, weightNormBackward } from '../kernels/weight-norm.ts';
import { clamp, clampBackward, sanitize, upsampleNearest, upsampleNearestBackward } from '../kernels/head.ts';
import { attr, type OpRecord } from './lowering.ts';

function geometry(node: Parameters<OpRecord['forward']>[0]['node']) {
  const [left, right] = attr<number[]>(node, 'padding');
  if (left !== right) throw new Error(`${node.id}: conv1d padding [${left}, ${right}] is asymmetric; the kernel pads both sides equally`);
  return { stride: attr<number>(node, 'stride'), dilation: attr<number>(node, 'dilation'), padding: left! };
}

export const CONV_RECORDS: Record<string, OpRecord> = {
  conv1d: {
    forward: (c) => conv1d(c.s, c.inputs[0]!, c.param('weight'), attr<boolean>(c.node, 'bias') ? c.param('bias') : undefined, c.output, { ...geometry(c.node), label: c.node.id }),
    saves: () => ({ inputs: [0], output: false, tensors: [] }),
    backward: (c) => conv1dBackward(c.s, c.input(0), c.param('weight'), c.dOutput, {
      dx: c.dInput(0), dw: c.dParam('weight'), db: attr<boolean>(c.node, 'bias') ? c.dParam('bias') : undefined,
    }, { ...geometry(c.node), label: c.node.id }),
    // Weight-norm gains [Cout, 1, 1] go to the kernels as [Cout] (same element order): in f16-storage a row of
    // length 1 would be padded to 2.
    paramShape: (role, shape) => (role === 'weight_g' ? [shape[0]!] : [...shape]),
    derived: [{
      role: 'weight',
      from: ['weight_v', 'weight_g'],
      applies: (node) => attr<boolean>(node, 'weight_norm'),
      aux: (_node, shape) => [{ name: 'norm', shape: [shape[0]!], f32: true }],
      forward: (s, node, [v, g], w, [norm]) => weightNorm(s, v!, g!, w, norm!, `${node.id}.weight_norm`),
      backward: (s, node, [v, g], _w, [norm], dw, [dv, dg]) => weightNormBackward(s, v!, g!, norm!, dw, dv!, dg!, `${node.id}.weight_norm.bwd`),
    }],
  },
  // The input guard: its input is the data, so no gradient passes through it.
  sanitize: {
    forward: async (c) => {
      const min = attr<number>(c.node, 'min'), max = attr<number>(c.node, 'max');
      if (attr<number>(c.node, 'nan') !== 0 || min !== -max) throw new Error(`${c.node.id}: the sanitize kernel maps NaN to 0 and clamps to a symmetric range; got nan ${c.node.attrs.nan}, [${min}, ${max}]`);
      await sanitize(c.s, c.inputs[0]!, c.output, max, c.node.id);
    },
  },
  clamp: {
    forward: (c) => clamp(c.s, c.inputs[0]!, c.output, attr<number>(c.node, 'min'), attr<number>(c.node, 'max'), c.node.id),
    saves: () => ({ inputs: [0], output: false, tensors: [] }),
    backward: async (c) => {
      const dx = c.dInput(0);
      if (dx) await clampBackward(c.s, c.input(0), c.dOutput, dx, attr<number>(c.node, 'min'), attr<number>(c.node, 'max'), `${c.node.id}.bwd`);
    },
  },
  upsample_nearest: {
    forward: (c) => upsampleNearest(c.s, c.inputs[0]!, c.output, attr<number>(c.node, 'scale'), c.node.id),
    backward: async (c) => {
      const dx = c.dInput(0);
      if (dx) await upsampleNearestBackward(c.s, c.dOutput, dx, attr<number>(c.node, 'scale'), `${c.node.id}.bwd`);
    },
  },
};
