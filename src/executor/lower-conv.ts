// Lowerings of the TCN and head ops: conv1d (weight normalisation on the GPU each pass, as training needs it),
// sanitize, clamp, nearest upsample.
import { conv1d } from '../kernels/conv1d.ts';
import { weightNorm } from '../kernels/weight-norm.ts';
import { clamp, sanitize, upsampleNearest } from '../kernels/head.ts';
import { attr, type Lowering } from './lowering.ts';

export const CONV_LOWERINGS: Record<string, Lowering> = {
  conv1d: async (c) => {
    const [left, right] = attr<number[]>(c.node, 'padding');
    if (left !== right) throw new Error(`${c.node.id}: conv1d padding [${left}, ${right}] is asymmetric; the kernel pads both sides equally`);
    let weight = c.param(attr<boolean>(c.node, 'weight_norm') ? 'weight_v' : 'weight');
    if (attr<boolean>(c.node, 'weight_norm')) {
      const v = weight;
      weight = await c.scratch(v.shape, 'weight');
      const norm = await c.scratch([v.shape[0]!], 'weight_norm', 'f32');
      await weightNorm(c.s, v, c.param('weight_g'), weight, norm, `${c.node.id}.weight_norm`);
    }
    await conv1d(c.s, c.inputs[0]!, weight, attr<boolean>(c.node, 'bias') ? c.param('bias') : undefined, c.output, {
      stride: attr<number>(c.node, 'stride'), dilation: attr<number>(c.node, 'dilation'), padding: left, label: c.node.id,
    });
  },
  sanitize: async (c) => {
    const min = attr<number>(c.node, 'min'), max = attr<number>(c.node, 'max');
    if (attr<number>(c.node, 'nan') !== 0 || min !== -max) throw new Error(`${c.node.id}: the sanitize kernel maps NaN to 0 and clamps to a symmetric range; got nan ${c.node.attrs.nan}, [${min}, ${max}]`);
    await sanitize(c.s, c.inputs[0]!, c.output, max, c.node.id);
  },
  clamp: (c) => clamp(c.s, c.inputs[0]!, c.output, attr<number>(c.node, 'min'), attr<number>(c.node, 'max'), c.node.id),
  upsample_nearest: (c) => upsampleNearest(c.s, c.inputs[0]!, c.output, attr<number>(c.node, 'scale'), c.node.id),
};
