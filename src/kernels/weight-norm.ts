/**
 * Weight normalisation for the TCN convs (KERNELS.md): w = g v / |v|, the norm over everything but the output
 * channel. Forward saves |v| per output channel (f32) for the backward:
 *   dg = <dw, v> / |v|;  dv = (g / |v|) (dw - (<dw, v> / |v|^2) v).
 * Shapes: v, w, dw, dv [Cout, Cin, k]; g, dg [Cout]; norm [Cout] f32. A v row of zeros has no direction: its
 * norm is 0 and w is NaN, as in PyTorch.
 * Geometry: a workgroup of 64 per output channel (forward) or per pair of them (backward, so dg goes out as whole
 * packed words). Sizes: the largest v3 weight, 512 x 512 x 16, is 16 MiB in f32: far under every binding limit.
 */
import source from '../../shaders/weight_norm.wgsl?raw';
import workgroupSumSource from '../../shaders/workgroup_sum.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { expectBindable, expectF32, expectRank, expectShape, numel, packParams, physicalRow, samePrecision } from './layout.ts';

export const WEIGHT_NORM_SHADER = { name: 'weight_norm.wgsl', source: `${source}\n${workgroupSumSource}` };

function dims(op: string, v: GpuTensor): { cOut: number; cIn: number; taps: number } {
  expectRank(op, v, ['out channels', 'in channels', 'taps']);
  const [cOut, cIn, taps] = v.shape as [number, number, number];
  return { cOut, cIn, taps };
}

export async function weightNorm(s: ComputeSession, v: GpuTensor, g: GpuTensor, w: GpuTensor, norm: GpuTensor, label = 'weight_norm'): Promise<void> {
  const op = 'weightNorm';
  const d = dims(op, v);
  samePrecision(op, v, g, w);
  expectShape(op, g, [d.cOut], 'one gain per out channel');
  expectShape(op, w, v.shape, `the shape of ${v.label}`);
  expectF32(op, norm);
  expectShape(op, norm, [d.cOut], 'one norm per out channel');
  expectBindable(op, s, v, w);
  const n = numel(v.shape);
  await s.dispatch({
    shader: WEIGHT_NORM_SHADER, entry: 'weight_norm', precision: v.precision, defines: { FWD: true },
    params: packParams([d.cOut, d.cIn, d.taps, physicalRow(v)]), tensors: [v, g, w, norm],
    workgroups: d.cOut, label, shapes: `[${v.shape}]`, flops: 3 * n, bytes: 2 * v.bytes + w.bytes,
  });
}

export async function weightNormBackward(s: ComputeSession, v: GpuTensor, g: GpuTensor, norm: GpuTensor, dw: GpuTensor, dv: GpuTensor, dg: GpuTensor, label = 'weight_norm.bwd'): Promise<void> {
  const op = 'weightNormBackward';
  const d = dims(op, v);
  samePrecision(op, v, g, dw, dv, dg);
  expectShape(op, g, [d.cOut], 'one gain per out channel');
  expectShape(op, dg, [d.cOut], 'one gain per out channel');
  expectShape(op, dw, v.shape, `the shape of ${v.label}`);
  expectShape(op, dv, v.shape, `the shape of ${v.label}`);
  expectF32(op, norm);
  expectShape(op, norm, [d.cOut], 'one norm per out channel');
  expectBindable(op, s, v, dw, dv);
  const n = numel(v.shape);
  await s.dispatch({
    shader: WEIGHT_NORM_SHADER, entry: 'weight_norm_bwd', precision: v.precision, defines: { BWD: true },
    params: packParams([d.cOut, d.cIn, d.taps, physicalRow(v)]), tensors: [v, g, norm, dw, dv, dg],
    workgroups: Math.ceil(d.cOut / 2), label, shapes: `[${v.shape}]`, flops: 6 * n, bytes: 2 * (v.bytes + dw.bytes) + dv.bytes,
  });
}

// ---- float64 CPU references ----

export function weightNormReference(v: ArrayLike<number>, g: ArrayLike<number>, cOut: number): { w: Float64Array; norm: Float64Array } {
  const row = v.length / cOut;
  const w = new Float64Array(v.length), norm = new Float64Array(cOut);
  for (let co = 0; co < cOut; co++) {
    let q = 0;
    for (let e = 0; e < row; e++) q += v[co * row + e]! ** 2;
    norm[co] = Math.sqrt(q);
    for (let e = 0; e < row; e++) w[co * row + e] = (g[co]! * v[co * row + e]!) / norm[co]!;
  }
  return { w, norm };
}

export function weightNormBackwardReference(v: ArrayLike<number>, g: ArrayLike<number>, dw: ArrayLike<number>, cOut: number): { dv: Float64Array; dg: Float64Array } {
  const row = v.length / cOut;
  const { norm } = weightNormReference(v, g, cOut);
  const dv = new Float64Array(v.length), dg = new Float64Array(cOut);
  for (let co = 0; co < cOut; co++) {
    let dot = 0;
    for (let e = 0; e < row; e++) dot += dw[co * row + e]! * v[co * row + e]!;
    const nrm = norm[co]!;
    dg[co] = dot / nrm;
    for (let e = 0; e < row; e++) dv[co * row + e] = (g[co]! / nrm) * (dw[co * row + e]! - (dot / (nrm * nrm)) * v[co * row + e]!);
  }
  return { dv, dg };
}
