// The Mamba2 block (docs/ir.md "mamba2") as kernels, reading slices of the in_proj output in place:
//   in_proj (matmul) -> depthwise causal conv over [x|B|C] (+bias) -> SiLU -> scan (softplus(dt + dt_bias) fused)
//   -> gated RMSNorm with z -> out_proj (matmul).
// A reversed block only reverses the two time-ordered kernels (conv, scan); the rest is pointwise in time.
import { matmul } from '../kernels/matmul.ts';
import { depthwiseConv } from '../kernels/depthwise-conv.ts';
import { unary } from '../kernels/elementwise.ts';
import { scanSequential } from '../kernels/mamba-scan.ts';
import { gatedRmsNorm } from '../kernels/gated-rmsnorm.ts';
import { viewAs, numel } from '../kernels/layout.ts';
import { mambaDims } from '../graph/ops.ts';
import { attr, type Lowering } from './lowering.ts';

export const MAMBA_LOWERINGS: Record<string, Lowering> = {
  mamba2: async (c) => {
    const x = c.inputs[0]!;
    const md = mambaDims(c.node.attrs);
    if (md.G !== 1) throw new Error(`${c.node.id}: ngroups ${md.G}; the scan kernels take ngroups 1`);
    const reverse = attr<boolean>(c.node, 'reverse');
    const L = x.shape[x.shape.length - 2]!;
    const seqs = numel(x.shape) / (L * md.D);
    const id = c.node.id;

    const zxbcdt = await c.scratch([seqs, L, md.dInProj], 'zxbcdt');
    await matmul(c.s, viewAs(x, [seqs * L, md.D]), c.param('in_proj.weight'), viewAs(zxbcdt, [seqs * L, md.dInProj]), { transB: true, label: `${id}.in_proj` });

    const conv = await c.scratch([seqs, L, md.convDim], 'conv');
    const w = c.param('conv1d.weight');
    await depthwiseConv(c.s, zxbcdt, viewAs(w, [md.convDim, md.dConv]), c.param('conv1d.bias'), conv, { channelOffset: md.dInner, reverse, label: `${id}.conv` });
    const xbc = await c.scratch([seqs, L, md.convDim], 'xbc');
    await unary(c.s, 'silu', conv, xbc, `${id}.conv_silu`);

    const y = await c.scratch([seqs, L, md.dInner], 'scan');
    await scanSequential(c.s, { seqs, T: L, heads: md.H, headDim: md.P, dState: md.N }, {
      x: { tensor: xbc, offset: 0 }, B: { tensor: xbc, offset: md.dInner }, C: { tensor: xbc, offset: md.dInner + md.N },
      dt: { tensor: zxbcdt, offset: 2 * md.dInner + 2 * md.N }, A: c.param('A'), D: c.param('D'), dtBias: c.param('dt_bias'),
    }, { tensor: y }, { reverse, label: `${id}.scan` });

    const yn = await c.scratch([seqs, L, md.dInner], 'norm');
    await gatedRmsNorm(c.s, y, zxbcdt, c.param('norm.weight'), yn, undefined, { zOffset: 0, eps: attr<number>(c.node, 'norm_eps'), label: `${id}.norm` });
    await matmul(c.s, viewAs(yn, [seqs * L, md.dInner]), c.param('out_proj.weight'), viewAs(c.output, [seqs * L, md.D]), { transB: true, label: `${id}.out_proj` });
  },
};
