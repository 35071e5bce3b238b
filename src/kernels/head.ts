/**
 * The v3 head's small ops and the input guard (V3_MODEL.md): nearest upsampling along the last dimension (x16
 * from 960 steps to 15360 samples) and its backward (sum over each group), clamp (the fp16 guards [-50, 50] and
 * [-100, 100]) whose backward passes the gradient where lo <= x <= hi (PyTorch's rule, bounds included), and the
 * input sanitiser: NaN -> 0, then clamp to [-10, 10] (no backward: it guards the data).
 *
 * Shapes: any [..., L] (rows = the leading dimensions). Geometry: an invocation per pair of output elements.
 * Sizes: each tensor must fit one storage binding; [B, 19, 15360] is 1.2 MB per batch item in f32, far below.
 */
import source from '../../shaders/head.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { expectBindable, expectPositiveInt, expectShape, innermost, numel, packParams, physicalRow, samePrecision } from './layout.ts';

export const HEAD_SHADER = { name: 'head.wgsl', source };
export const INPUT_LIMIT = 10;
const WG = 64;

interface Run {
  entry: string;
  src: GpuTensor;
  dst: GpuTensor;
  aux?: GpuTensor;
  factor?: number;
  lo?: number;
  hi?: number;
  label: string;
  flopsPerOut: number;
}

async function run(s: ComputeSession, r: Run): Promise<void> {
  const outCols = innermost(r.dst);
  const rows = outCols === 0 ? 0 : numel(r.dst.shape) / outCols;
  const pairs = Math.ceil(outCols / 2);
  const tensors = r.aux ? [r.src, r.dst, r.aux] : [r.src, r.dst];
  expectBindable(r.entry, s, ...tensors);
  if (rows * pairs === 0) return;
  await s.dispatch({
    shader: HEAD_SHADER, entry: r.entry, precision: r.dst.precision,
    params: packParams([rows, outCols, physicalRow(r.src), physicalRow(r.dst), pairs, r.factor ?? 1, { f32: r.lo ?? 0 }, { f32: r.hi ?? 0 }]),
    tensors, workgroups: Math.ceil((rows * pairs) / WG), label: r.label, shapes: `[${r.src.shape}] -> [${r.dst.shape}]`,
    flops: numel(r.dst.shape) * r.flopsPerOut, bytes: tensors.reduce((a, t) => a + t.bytes, 0),
  });
}

function checkRange(op: string, lo: number, hi: number): void {
  if (!(lo <= hi)) throw new Error(`${op}: the range [${lo}, ${hi}] is empty (lo must be <= hi)`);
}

function upsampledShape(op: string, x: GpuTensor, factor: number): number[] {
  expectPositiveInt(op, 'factor', factor);
  if (x.shape.length === 0) throw new Error(`${op}: ${x.label} must have at least one dimension`);
  return [...x.shape.slice(0, -1), innermost(x) * factor];
}

/** y [..., L factor] = x [..., L] repeated `factor` times along the last dimension. */
export async function upsampleNearest(s: ComputeSession, x: GpuTensor, y: GpuTensor, factor: number, label = 'upsample'): Promise<void> {
  samePrecision('upsampleNearest', x, y);
  expectShape('upsampleNearest', y, upsampledShape('upsampleNearest', x, factor), `${x.label} upsampled x${factor}`);
  await run(s, { entry: 'upsample', src: x, dst: y, factor, label, flopsPerOut: 0 });
}

/** dx [..., L] = dy [..., L factor] summed over each group of `factor`. */
export async function upsampleNearestBackward(s: ComputeSession, dy: GpuTensor, dx: GpuTensor, factor: number, label = 'upsample.bwd'): Promise<void> {
  samePrecision('upsampleNearestBackward', dy, dx);
  expectShape('upsampleNearestBackward', dy, upsampledShape('upsampleNearestBackward', dx, factor), `${dx.label} upsampled x${factor}`);
  await run(s, { entry: 'upsample_bwd', src: dy, dst: dx, factor, label, flopsPerOut: factor });
}

export async function clamp(s: ComputeSession, x: GpuTensor, y: GpuTensor, lo: number, hi: number, label = 'clamp'): Promise<void> {
  checkRange('clamp', lo, hi);
  samePrecision('clamp', x, y);
  expectShape('clamp', y, x.shape, `the shape of ${x.label}`);
  await run(s, { entry: 'clamp_fwd', src: x, dst: y, lo, hi, label, flopsPerOut: 2 });
}

/** dx = dy where lo <= x <= hi, else 0. */
export async function clampBackward(s: ComputeSession, x: GpuTensor, dy: GpuTensor, dx: GpuTensor, lo: number, hi: number, label = 'clamp.bwd'): Promise<void> {
  checkRange('clampBackward', lo, hi);
  samePrecision('clampBackward', x, dy, dx);
  expectShape('clampBackward', dy, x.shape, `the shape of ${x.label}`);
  expectShape('clampBackward', dx, x.shape, `the shape of ${x.label}`);
  await run(s, { entry: 'clamp_bwd', src: x, dst: dx, aux: dy, lo, hi, label, flopsPerOut: 2 });
}

/** y = clamp(NaN -> 0 of x, -limit, limit). */
export async function sanitize(s: ComputeSession, x: GpuTensor, y: GpuTensor, limit = INPUT_LIMIT, label = 'sanitize'): Promise<void> {
  if (!(limit >= 0)) throw new Error(`sanitize: limit must be >= 0, got ${limit}`);
  samePrecision('sanitize', x, y);
  expectShape('sanitize', y, x.shape, `the shape of ${x.label}`);
  await run(s, { entry: 'sanitize', src: x, dst: y, lo: -limit, hi: limit, label, flopsPerOut: 3 });
}

// ---- float64 CPU references ----

export function upsampleReference(x: ArrayLike<number>, cols: number, factor: number): Float64Array {
  return Float64Array.from({ length: x.length * factor }, (_, i) => x[Math.floor(i / (cols * factor)) * cols + Math.floor((i % (cols * factor)) / factor)]!);
}

export function upsampleBackwardReference(dy: ArrayLike<number>, cols: number, factor: number): Float64Array {
  const dx = new Float64Array(dy.length / factor);
  for (let i = 0; i < dy.length; i++) dx[Math.floor(i / (cols * factor)) * cols + Math.floor((i % (cols * factor)) / factor)]! += dy[i]!;
  return dx;
}

export function clampReference(x: ArrayLike<number>, lo: number, hi: number): Float64Array {
  return Float64Array.from(x, (v) => Math.min(Math.max(v, lo), hi));
}

export function clampBackwardReference(x: ArrayLike<number>, dy: ArrayLike<number>, lo: number, hi: number): Float64Array {
  return Float64Array.from(x, (v, i) => (v >= lo && v <= hi ? dy[i]! : 0));
}

export function sanitizeReference(x: ArrayLike<number>, limit = INPUT_LIMIT): Float64Array {
  return Float64Array.from(x, (v) => (Number.isNaN(v) ? 0 : Math.min(Math.max(v, -limit), limit)));
}
