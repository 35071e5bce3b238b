/**
 * Gated RMSNorm of the Mamba2 block (KERNELS.md): y = (x silu(z)) / rms(x silu(z)) * w over the last dimension
 * D, eps 1e-5. z may be a channel slice of a wider tensor (the in_proj output) at zOffset: no copy. Forward saves
 * rstd per row (f32); backward gives dx, dz (into the same slice of a tensor shaped like z, other channels
 * untouched) and dw (fixed-order two-pass partial sums over rows, no atomics).
 *
 * Shapes: x, y, dy, dx [..., D]; z, dz [..., Wz] with the same leading dimensions; w, dw [D]; rstd [rows] f32.
 * Geometry: a workgroup of 64 per row; partials one invocation per (block of rows, channel). Packed halves: the z
 * slice must start on an even channel and hold an even count unless it ends the row. Sizes: each tensor must
 * fit one storage binding (the node stream's in_proj output, B*19 x 960 x 290 values, is 21 MB per batch item
 * in f32: lavapipe's 128 MiB is exceeded from batch 7, the H200's 2 GiB from batch 103; split over rows beyond).
 */
import source from '../../shaders/gated_rmsnorm.wgsl?raw';
import workgroupSumSource from '../../shaders/workgroup_sum.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { elementBytes } from '../gpu/precision.ts';
import { expectBindable, expectF32, expectPositiveInt, expectShape, innermost, numel, packParams, physicalRow, samePrecision } from './layout.ts';
import { NORM_WG, rowLaneWorkgroups, rowLanes } from './row-lanes.ts';
import { rowBlocks } from './row-blocks.ts';

export const GATED_RMSNORM_SHADER = { name: 'gated_rmsnorm.wgsl', source: `${source}\n${workgroupSumSource}` };
export const GATED_RMSNORM_EPS = 1e-5;
const WG = NORM_WG;
/**
 * On a CPU adapter rows up to this length go one per invocation (one lane, no barrier); elsewhere rowLanes(cols)
 * invocations each (row-lanes.ts): on the H200 one invocation per row took 152 us a call against 43 us for a
 * workgroup per row (v3, 128 columns).
 */
export const SHORT_ROW = 128;

export interface GatedRmsNormOptions {
  /** First channel of z's slice (default 0). */
  zOffset?: number;
  eps?: number;
  label?: string;
}

interface Dims {
  rows: number;
  cols: number;
  zWidth: number;
  zOffset: number;
}

function dims(op: string, x: GpuTensor, z: GpuTensor, opts: GatedRmsNormOptions): Dims {
  const cols = innermost(x);
  const rows = cols === 0 ? 0 : numel(x.shape) / cols;
  const zWidth = innermost(z);
  const zOffset = opts.zOffset ?? 0;
  expectPositiveInt(op, 'zOffset', zOffset, 0);
  const lead = x.shape.slice(0, -1), zLead = z.shape.slice(0, -1);
  if (lead.length !== zLead.length || lead.some((d, i) => d !== zLead[i])) {
    throw new Error(`${op}: ${z.label} [${z.shape.join(', ')}] must have the leading dimensions of ${x.label} [${x.shape.join(', ')}]`);
  }
  if (zOffset + cols > zWidth) {
    throw new Error(`${op}: z channels ${zOffset}..${zOffset + cols} (D = ${cols} from zOffset ${zOffset}) exceed ${z.label}'s last dimension ${zWidth}`);
  }
  if (z.precision === 'f16-storage' && (zOffset % 2 || (cols % 2 && zOffset + cols !== zWidth))) {
    throw new Error(`${op}: in f16-storage the z slice must start on an even channel and hold an even count unless it ends the row; got zOffset ${zOffset}, D ${cols} of ${zWidth}`);
  }
  return { rows, cols, zWidth, zOffset };
}

function params(d: Dims, x: GpuTensor, z: GpuTensor, eps: number, blocks = 0, blockLen = 0): Uint32Array {
  return packParams([d.rows, d.cols, physicalRow(x), physicalRow(z), d.zOffset, { f32: eps }, blocks, blockLen]);
}

export async function gatedRmsNorm(s: ComputeSession, x: GpuTensor, z: GpuTensor, w: GpuTensor, y: GpuTensor, rstd?: GpuTensor, opts: GatedRmsNormOptions = {}): Promise<void> {
  const op = 'gatedRmsNorm';
  const label = opts.label ?? 'gated_rmsnorm';
  const d = dims(op, x, z, opts);
  samePrecision(op, x, z, w, y);
  expectShape(op, w, [d.cols], 'one weight per channel');
  expectShape(op, y, x.shape, `the shape of ${x.label}`);
  const r = rstd ?? await s.scratch([d.rows], 'f32', `${label} rstd`);
  expectF32(op, r);
  expectShape(op, r, [d.rows], 'one value per row');
  expectBindable(op, s, x, z, y);
  if (d.rows === 0) return;
  const n = d.rows * d.cols;
  const lanes = rowLanes(d.cols, s.gpu.info.cpuAdapter && d.cols <= SHORT_ROW);
  await s.dispatch({
    shader: GATED_RMSNORM_SHADER, entry: 'gated_rmsnorm', precision: x.precision, defines: { FWD: true },
    constants: { ROW_LANES: lanes }, params: params(d, x, z, opts.eps ?? GATED_RMSNORM_EPS), tensors: [x, z, w, y, r],
    workgroups: rowLaneWorkgroups(d.rows, lanes), label,
    shapes: `[${x.shape}] z [${z.shape}]@${d.zOffset} lanes ${lanes}`, flops: 14 * n, bytes: 5 * n * elementBytes(x.precision),
  });
}

export interface GatedRmsNormGrads {
  dx: GpuTensor;
  /** Shaped like z: only the slice's channels are written. */
  dz: GpuTensor;
  dw: GpuTensor;
}

export async function gatedRmsNormBackward(s: ComputeSession, x: GpuTensor, z: GpuTensor, w: GpuTensor, dy: GpuTensor, rstd: GpuTensor, grads: GatedRmsNormGrads, opts: GatedRmsNormOptions = {}): Promise<void> {
  const op = 'gatedRmsNormBackward';
  const label = opts.label ?? 'gated_rmsnorm.bwd';
  const d = dims(op, x, z, opts);
  samePrecision(op, x, z, w, dy, grads.dx, grads.dz, grads.dw);
  expectShape(op, w, [d.cols], 'one weight per channel');
  expectShape(op, grads.dw, [d.cols], 'one weight per channel');
  expectShape(op, dy, x.shape, `the shape of ${x.label}`);
  expectShape(op, grads.dx, x.shape, `the shape of ${x.label}`);
  expectShape(op, grads.dz, z.shape, `dL/dz is shaped like ${z.label} (only the slice is written)`);
  expectF32(op, rstd);
  expectShape(op, rstd, [d.rows], 'one value per row');
  expectBindable(op, s, x, z, dy, grads.dx, grads.dz);
  const n = d.rows * d.cols;
  const eb = elementBytes(x.precision);
  const lanes = rowLanes(d.cols, s.gpu.info.cpuAdapter && d.cols <= SHORT_ROW);
  await s.dispatch({
    shader: GATED_RMSNORM_SHADER, entry: 'gated_rmsnorm_bwd_dx', precision: x.precision, defines: { BWD_DX: true }, constants: { ROW_LANES: lanes },
    params: params(d, x, z, 0), tensors: [x, z, w, dy, rstd, grads.dx, grads.dz], workgroups: rowLaneWorkgroups(d.rows, lanes), label: `${label}.dx`,
    shapes: `[${x.shape}] z [${z.shape}]@${d.zOffset} lanes ${lanes}`, flops: 30 * n, bytes: 8 * n * eb,
  });
  const { blocks, blockLen } = rowBlocks(d.rows, d.cols, 16);
  const p = params(d, x, z, 0, blocks, blockLen);
  const partial = await s.scratch([blocks * d.cols], 'f32', `${label} partials`);
  await s.dispatch({
    shader: GATED_RMSNORM_SHADER, entry: 'gated_rmsnorm_bwd_partial', precision: x.precision, defines: { PARTIAL: true },
    params: p, tensors: [x, z, dy, rstd, partial], workgroups: Math.ceil((blocks * d.cols) / WG), label: `${label}.dw.partial`,
    shapes: `[${x.shape}]`, flops: 8 * n, bytes: 3 * n * eb,
  });
  await s.dispatch({
    shader: GATED_RMSNORM_SHADER, entry: 'gated_rmsnorm_bwd_final', precision: x.precision, defines: { FINAL: true },
    params: p, tensors: [partial, grads.dw], workgroups: Math.ceil(d.cols / 2), label: `${label}.dw.final`,
    shapes: `[${d.cols}]`, flops: blocks * d.cols, bytes: 4 * blocks * d.cols,
  });
}

// ---- float64 CPU references (z given as the full-width tensor) ----

export interface GatedRmsNormRefDims {
  rows: number;
  cols: number;
  zWidth: number;
  zOffset: number;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

export function gatedRmsNormReference(x: ArrayLike<number>, z: ArrayLike<number>, w: ArrayLike<number>, d: GatedRmsNormRefDims, eps = GATED_RMSNORM_EPS): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(d.rows * d.cols), rstd = new Float64Array(d.rows);
  for (let r = 0; r < d.rows; r++) {
    const g = Array.from({ length: d.cols }, (_, c) => { const zv = z[r * d.zWidth + d.zOffset + c]!; return x[r * d.cols + c]! * zv * sigmoid(zv); });
    const rs = 1 / Math.sqrt(g.reduce((a, v) => a + v * v, 0) / d.cols + eps);
    g.forEach((v, c) => { y[r * d.cols + c] = v * rs * w[c]!; });
    rstd[r] = rs;
  }
  return { y, rstd };
}

/** dz covers z's full width (zero outside the slice). */
export function gatedRmsNormBackwardReference(x: ArrayLike<number>, z: ArrayLike<number>, w: ArrayLike<number>, dy: ArrayLike<number>, d: GatedRmsNormRefDims, eps = GATED_RMSNORM_EPS): { dx: Float64Array; dz: Float64Array; dw: Float64Array } {
  const { rstd } = gatedRmsNormReference(x, z, w, d, eps);
  const dx = new Float64Array(d.rows * d.cols), dz = new Float64Array(d.rows * d.zWidth), dw = new Float64Array(d.cols);
  for (let r = 0; r < d.rows; r++) {
    const rs = rstd[r]!;
    let m = 0;
    const n: number[] = [];
    for (let c = 0; c < d.cols; c++) {
      const zv = z[r * d.zWidth + d.zOffset + c]!;
      n.push(x[r * d.cols + c]! * zv * sigmoid(zv) * rs);
      m += dy[r * d.cols + c]! * w[c]! * n[c]!;
      dw[c]! += dy[r * d.cols + c]! * n[c]!;
    }
    m /= d.cols;
    for (let c = 0; c < d.cols; c++) {
      const zv = z[r * d.zWidth + d.zOffset + c]!, xv = x[r * d.cols + c]!, s = sigmoid(zv);
      const dg = rs * (dy[r * d.cols + c]! * w[c]! - n[c]! * m);
      dx[r * d.cols + c] = dg * zv * s;
      dz[r * d.zWidth + d.zOffset + c] = dg * xv * s * (1 + zv * (1 - s));
    }
  }
  return { dx, dz, dw };
}
