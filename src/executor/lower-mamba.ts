// The Mamba2 block (docs/ir.md "mamba2") as kernels, reading slices of the in_proj output in place:
//   in_proj (matmul) -> depthwise causal conv over [x|B|C] (+bias) -> SiLU -> scan (softplus(dt + dt_bias) fused)
//   -> gated RMSNorm with z -> out_proj (matmul).
// A reversed block only reverses the two time-ordered kernels (conv, scan); the rest is pointwise in time.
// The backward walks the same chain in reverse; its three writers of d(in_proj output) each fill their own
// channels (z: the norm, x|B|C: the conv, dt: the scan), so together they write it whole.
import { matmul, matmulBackward } from '../kernels/matmul.ts';
import { depthwiseConv, depthwiseConvBackward } from '../kernels/depthwise-conv.ts';
import { unary, unaryBackward } from '../kernels/elementwise.ts';
import { scanBackward, scanFormFor, scanForward, statesShape, type ScanDims, type ScanInputs } from '../kernels/mamba-scan.ts';
import { gatedRmsNorm, gatedRmsNormBackward } from '../kernels/gated-rmsnorm.ts';
import { negExp, negExpBackward } from '../kernels/grad-plumbing.ts';
import { viewAs, numel } from '../kernels/layout.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import type { IrNode } from '../graph/ir.ts';
import { mambaDims } from '../graph/ops.ts';
import { attr, type OpRecord, type SavedTensor } from './lowering.ts';

function dims(node: IrNode, xShape: readonly number[]) {
  const md = mambaDims(node.attrs);
  if (md.G !== 1) throw new Error(`${node.id}: ngroups ${md.G}; the scan kernels take ngroups 1`);
  const L = xShape[xShape.length - 2]!;
  const seqs = numel(xShape) / (L * md.D);
  const scan: ScanDims = { seqs, T: L, heads: md.H, headDim: md.P, dState: md.N };
  return { md, L, seqs, rows: seqs * L, scan, reverse: attr<boolean>(node, 'reverse') };
}

function scanInputs(md: ReturnType<typeof mambaDims>, xbc: GpuTensor, zxbcdt: GpuTensor, param: (role: string) => GpuTensor): ScanInputs {
  return {
    x: { tensor: xbc, offset: 0 }, B: { tensor: xbc, offset: md.dInner }, C: { tensor: xbc, offset: md.dInner + md.N },
    dt: { tensor: zxbcdt, offset: 2 * md.dInner + 2 * md.N }, A: param('A'), D: param('D'), dtBias: param('dt_bias'),
  };
}

function saved(node: IrNode, xShape: readonly number[]): SavedTensor[] {
  const { md, seqs, L, rows, scan } = dims(node, xShape);
  return [
    { name: 'zxbcdt', shape: [seqs, L, md.dInProj] },
    { name: 'conv', shape: [seqs, L, md.convDim] },
    { name: 'xbc', shape: [seqs, L, md.convDim] },
    { name: 'scan', shape: [seqs, L, md.dInner] },
    // The chunked form's forward writes the chunk states whether or not a backward follows (its workspace).
    { name: 'states', shape: statesShape(scan), f32: true, backwardOnly: scanFormFor(scan) === 'sequential' },
    { name: 'norm', shape: [seqs, L, md.dInner] },
    { name: 'rstd', shape: [rows], f32: true },
  ];
}

export const MAMBA_RECORDS: Record<string, OpRecord> = {
  mamba2: {
    forward: async (c) => {
      const x = c.inputs[0]!;
      const { md, rows, scan, reverse } = dims(c.node, x.shape);
      const id = c.node.id;
      const zxbcdt = await c.save('zxbcdt');
      await matmul(c.s, viewAs(x, [rows, md.D]), c.param('in_proj.weight'), viewAs(zxbcdt, [rows, md.dInProj]), { transB: true, label: `${id}.in_proj` });
      const conv = await c.save('conv');
      await depthwiseConv(c.s, zxbcdt, viewAs(c.param('conv1d.weight'), [md.convDim, md.dConv]), c.param('conv1d.bias'), conv, { channelOffset: md.dInner, reverse, label: `${id}.conv` });
      const xbc = await c.save('xbc');
      await unary(c.s, 'silu', conv, xbc, `${id}.conv_silu`);
      const y = await c.save('scan');
      // Scan form per shape (mamba-scan.ts scanFormFor): chunked for few sequences, sequential for many.
      const states = c.keepForBackward || scanFormFor(scan) === 'chunked' ? await c.save('states') : undefined;
      await scanForward(c.s, scan, scanInputs(md, xbc, zxbcdt, c.param), { tensor: y }, { reverse, states, label: `${id}.scan` });
      const yn = await c.save('norm');
      await gatedRmsNorm(c.s, y, zxbcdt, c.param('norm.weight'), yn, await c.save('rstd'), { zOffset: 0, eps: attr<number>(c.node, 'norm_eps'), label: `${id}.norm` });
      await matmul(c.s, viewAs(yn, [rows, md.dInner]), c.param('out_proj.weight'), viewAs(c.output, [rows, md.D]), { transB: true, label: `${id}.out_proj` });
    },
    saves: (node, sh) => ({ inputs: [0], output: false, tensors: saved(node, sh.inputs[0]!) }),
    workspace: (node, sh) => {
      const { md, seqs, L } = dims(node, sh.inputs[0]!);
      return {
        forward: [],
        backward: [
          { name: 'dnorm', shape: [seqs, L, md.dInner] },
          { name: 'dscan', shape: [seqs, L, md.dInner] },
          { name: 'dzxbcdt', shape: [seqs, L, md.dInProj] },
          { name: 'dxbc', shape: [seqs, L, md.convDim] },
          { name: 'dconv', shape: [seqs, L, md.convDim] },
        ],
      };
    },
    backward: async (c) => {
      const x = c.input(0);
      const { md, rows, scan, reverse } = dims(c.node, x.shape);
      const id = c.node.id;
      const zxbcdt = c.saved('zxbcdt'), xbc = c.saved('xbc');
      const dyn = await c.scratch('dnorm');
      await matmulBackward(c.s, viewAs(c.saved('norm'), [rows, md.dInner]), c.param('out_proj.weight'), viewAs(c.dOutput, [rows, md.D]), {
        da: viewAs(dyn, [rows, md.dInner]), db: c.dParam('out_proj.weight'),
      }, { transB: true, label: `${id}.out_proj` });
      const dy = await c.scratch('dscan'), dzxbcdt = await c.scratch('dzxbcdt');
      await gatedRmsNormBackward(c.s, c.saved('scan'), zxbcdt, c.param('norm.weight'), dyn, c.saved('rstd'), { dx: dy, dz: dzxbcdt, dw: c.dParam('norm.weight') }, {
        zOffset: 0, eps: attr<number>(c.node, 'norm_eps'), label: `${id}.norm.bwd`,
      });
      const dxbc = await c.scratch('dxbc');
      await scanBackward(c.s, scan, scanInputs(md, xbc, zxbcdt, c.param), { tensor: dy }, c.saved('states'), {
        dxBC: { tensor: dxbc, xOffset: 0, bOffset: md.dInner, cOffset: md.dInner + md.N },
        ddt: { tensor: dzxbcdt, offset: 2 * md.dInner + 2 * md.N }, dA: c.dParam('A'), dD: c.dParam('D'), dDtBias: c.dParam('dt_bias'),
      }, { reverse, label: `${id}.scan` });
      const dconv = await c.scratch('dconv');
      await unaryBackward(c.s, 'silu', c.saved('conv'), dxbc, dconv, `${id}.conv_silu.bwd`);
      await depthwiseConvBackward(c.s, zxbcdt, viewAs(c.param('conv1d.weight'), [md.convDim, md.dConv]), dconv, {
        dx: dzxbcdt, dw: viewAs(c.dParam('conv1d.weight'), [md.convDim, md.dConv]), db: c.dParam('conv1d.bias'),
      }, { channelOffset: md.dInner, reverse, label: `${id}.conv` });
      const dx = c.dInput(0);
      await matmulBackward(c.s, viewAs(x, [rows, md.D]), c.param('in_proj.weight'), viewAs(dzxbcdt, [rows, md.dInProj]), {
        da: dx ? viewAs(dx, [rows, md.D]) : undefined, db: c.dParam('in_proj.weight'),
      }, { transB: true, label: `${id}.in_proj` });
    },
    derived: [{
      role: 'A',
      from: ['A_log'],
      applies: () => true,
      forward: (s, node, [aLog], a) => negExp(s, aLog!, a, `${node.id}.A`),
      backward: (s, node, _from, a, _aux, dA, [dALog]) => negExpBackward(s, a, dA, dALog!, `${node.id}.A.bwd`),
    }],
  },
};
