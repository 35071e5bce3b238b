// Training plumbing (shaders/grad_plumbing.wgsl): f32 master weights cast to the run precision, gradients
// summed into f32, a second gradient contribution added in place, concat's backward (a column slice), and
// Mamba2's A = -exp(A_log) with its backward. Every entry works on [rows, cols] views of the last dimension.
import source from '../../shaders/grad_plumbing.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { expectBindable, expectF32, innermost, numel, packParams, physicalRow, samePrecision } from './layout.ts';

export const GRAD_PLUMBING_SHADER = { name: 'grad_plumbing.wgsl', source };
const WG = 64;

function sameCount(op: string, a: GpuTensor, b: GpuTensor): void {
  if (numel(a.shape) !== numel(b.shape) || innermost(a) !== innermost(b)) {
    throw new Error(`${op}: ${a.label} [${a.shape}] and ${b.label} [${b.shape}] must hold the same rows of the same length`);
  }
}

interface Run {
  entry: string;
  define: string;
  y: GpuTensor;
  src: GpuTensor;
  aux?: GpuTensor;
  cols: number;
  yStride: number;
  srcStride: number;
  offset?: number;
  keep?: number;
  scale?: number;
  perElement?: boolean;
  precision: GpuTensor['precision'];
  label: string;
}

async function run(s: ComputeSession, r: Run): Promise<void> {
  const rows = r.cols === 0 ? 0 : numel(r.y.shape) / innermost(r.y);
  const pairs = Math.ceil(r.cols / 2);
  const items = r.perElement ? rows * r.cols : rows * pairs;
  const tensors = r.aux ? [r.src, r.y, r.aux] : [r.src, r.y];
  expectBindable(r.entry, s, ...tensors);
  if (items === 0) return;
  await s.dispatch({
    shader: GRAD_PLUMBING_SHADER, entry: r.entry, precision: r.precision, defines: { [r.define]: true },
    params: packParams([rows, r.cols, r.yStride, r.srcStride, pairs, r.offset ?? 0, { f32: r.keep ?? 0 }, { f32: r.scale ?? 1 }]),
    tensors, workgroups: Math.ceil(items / WG), label: r.label, shapes: `[${r.src.shape}] -> [${r.y.shape}]`,
    flops: numel(r.y.shape), bytes: tensors.reduce((a, t) => a + t.bytes, 0),
  });
}

/**
 * y (run precision) = the f32 tensor `src` read flat from element `offset`, in y's logical order (shapes may
 * differ: a master weight [Cout, 1, 1] into [Cout], or one micro-batch of the step's input).
 */
export async function castFromF32(s: ComputeSession, src: GpuTensor, y: GpuTensor, label = 'cast', offset = 0): Promise<void> {
  expectF32('castFromF32', src);
  if (!Number.isInteger(offset) || offset < 0 || offset + numel(y.shape) > numel(src.shape)) {
    throw new Error(`castFromF32: ${numel(y.shape)} values of ${y.label} [${y.shape}] from element ${offset} do not fit ${src.label} [${src.shape}]`);
  }
  await run(s, { entry: 'cast_f32', define: 'CAST', y, src, cols: innermost(y), yStride: physicalRow(y), srcStride: innermost(y), offset, precision: y.precision, label });
}

/** dst (f32) = keep * dst + scale * g, where g is a gradient in the run precision (keep 0 or 1). */
export async function accumulateF32(s: ComputeSession, g: GpuTensor, dst: GpuTensor, opts: { keep: 0 | 1; scale?: number | undefined; label?: string }): Promise<void> {
  expectF32('accumulateF32', dst);
  if (numel(g.shape) !== numel(dst.shape)) throw new Error(`accumulateF32: ${g.label} [${g.shape}] and ${dst.label} [${dst.shape}] hold different element counts`);
  // dst is written flat (f32, no padding); g may be padded per row in f16-storage
  await run(s, {
    entry: 'accumulate', define: 'ACCUMULATE', y: { ...dst, shape: g.shape }, src: g, cols: innermost(g), yStride: innermost(g), srcStride: physicalRow(g),
    keep: opts.keep, scale: opts.scale ?? 1, perElement: true, precision: g.precision, label: opts.label ?? 'grad.accumulate',
  });
}

/** y += g (same shape and precision): the second and later gradient contributions to one tensor. */
export async function addInto(s: ComputeSession, g: GpuTensor, y: GpuTensor, label = 'grad.add'): Promise<void> {
  samePrecision('addInto', g, y);
  if (g.shape.join(',') !== y.shape.join(',')) throw new Error(`addInto: ${g.label} [${g.shape}] and ${y.label} [${y.shape}] differ in shape`);
  await run(s, { entry: 'add_into', define: 'ADD_INTO', y, src: g, cols: innermost(y), yStride: physicalRow(y), srcStride: physicalRow(g), precision: y.precision, label });
}

/** y [..., n] = src [..., offset : offset + n] (same leading dimensions). */
export async function sliceColumns(s: ComputeSession, src: GpuTensor, offset: number, y: GpuTensor, label = 'slice'): Promise<void> {
  samePrecision('sliceColumns', src, y);
  const n = innermost(y);
  if (src.shape.slice(0, -1).join(',') !== y.shape.slice(0, -1).join(',')) throw new Error(`sliceColumns: ${y.label} [${y.shape}] must have the leading dimensions of ${src.label} [${src.shape}]`);
  if (!Number.isInteger(offset) || offset < 0 || offset + n > innermost(src)) throw new Error(`sliceColumns: columns [${offset}, ${offset + n}) do not fit ${src.label}'s ${innermost(src)}`);
  await run(s, { entry: 'slice_cols', define: 'SLICE', y, src, cols: n, yStride: physicalRow(y), srcStride: physicalRow(src), offset, precision: y.precision, label });
}

/** a = -exp(aLog), elementwise (Mamba2's A from its stored parameter). */
export async function negExp(s: ComputeSession, aLog: GpuTensor, a: GpuTensor, label = 'neg_exp'): Promise<void> {
  samePrecision('negExp', aLog, a);
  sameCount('negExp', aLog, a);
  await run(s, { entry: 'neg_exp', define: 'NEG_EXP', y: a, src: aLog, cols: innermost(a), yStride: physicalRow(a), srcStride: physicalRow(aLog), precision: a.precision, label });
}

/** dALog = dA * a (the derivative of -exp is itself). */
export async function negExpBackward(s: ComputeSession, a: GpuTensor, dA: GpuTensor, dALog: GpuTensor, label = 'neg_exp.bwd'): Promise<void> {
  samePrecision('negExpBackward', a, dA, dALog);
  sameCount('negExpBackward', a, dA);
  sameCount('negExpBackward', a, dALog);
  await run(s, { entry: 'neg_exp_bwd', define: 'NEG_EXP_BWD', y: dALog, src: dA, aux: a, cols: innermost(a), yStride: physicalRow(a), srcStride: physicalRow(a), precision: a.precision, label });
}
