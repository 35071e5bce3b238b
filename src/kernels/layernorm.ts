/**
 * LayerNorm over the last dimension with affine (gamma, beta): forward saving mean and rstd per row (f32), and
 * backward giving dx, dgamma, dbeta. dgamma/dbeta are sums over rows taken in two passes (f32 partials per block
 * of rows, then a fixed-order combine): deterministic, no float atomics.
 *
 * Shapes: x, y, dy, dx [..., C] (rows = product of the leading dimensions), gamma, beta, dgamma, dbeta [C],
 * mean, rstd [rows] f32. Geometry: a workgroup of 64 per row (forward, dx); an invocation per (block, column)
 * for the partials. Sizes: each tensor must fit one storage binding (maxStorageBufferBindingSize: 128 MiB on
 * lavapipe, 2 GiB - 4 on the H200); at C = 64 an f32 x of 524,288 rows (B*19*960 rows at batch 28) is 128 MiB.
 */
import source from '../../shaders/layernorm.wgsl?raw';
import workgroupSumSource from '../../shaders/workgroup_sum.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { elementBytes } from '../gpu/precision.ts';
import { expectBindable, expectF32, expectShape, innermost, numel, packParams, physicalRow, samePrecision } from './layout.ts';
import { rowBlocks } from './row-blocks.ts';
import { NORM_WG, rowLaneWorkgroups, rowLanes } from './row-lanes.ts';

export const LAYERNORM_SHADER = { name: 'layernorm.wgsl', source: `${source}\n${workgroupSumSource}` };
export const LAYERNORM_EPS = 1e-5;
const WG = NORM_WG;
/**
 * On a CPU adapter, rows up to this length are normalised by one invocation each (one lane, no barrier): there
 * the per-row workgroup's barriers made v3-tiny's LayerNorms 26 % of its forward. Elsewhere rows share
 * workgroups, rowLanes(cols) invocations each (row-lanes.ts).
 */
export const SHORT_ROW = 64;

export interface LayerNormStats {
  /** [rows] f32. */
  mean: GpuTensor;
  /** [rows] f32: 1 / sqrt(var + eps). */
  rstd: GpuTensor;
}

function rowsOf(x: GpuTensor): { rows: number; cols: number } {
  const cols = innermost(x);
  return { rows: cols === 0 ? 0 : numel(x.shape) / cols, cols };
}

function checkStats(op: string, stats: LayerNormStats, rows: number): void {
  for (const t of [stats.mean, stats.rstd]) {
    expectF32(op, t);
    expectShape(op, t, [rows], 'one value per row');
  }
}

/** Forward: ~8 FLOPs per element; x read twice (mean, variance) and once more for y. */
export function layerNormCost(x: GpuTensor): { flops: number; bytes: number } {
  const n = numel(x.shape);
  return { flops: 8 * n, bytes: 4 * n * elementBytes(x.precision) };
}

export async function layerNorm(s: ComputeSession, x: GpuTensor, gamma: GpuTensor, beta: GpuTensor, y: GpuTensor, stats?: LayerNormStats, eps = LAYERNORM_EPS, label = 'layernorm'): Promise<void> {
  const op = 'layerNorm';
  samePrecision(op, x, gamma, beta, y);
  const { rows, cols } = rowsOf(x);
  expectShape(op, y, x.shape, `the shape of ${x.label}`);
  expectShape(op, gamma, [cols], 'one weight per element of the last dimension');
  expectShape(op, beta, [cols], 'one bias per element of the last dimension');
  const st = stats ?? { mean: await s.scratch([rows], 'f32', `${label} mean`), rstd: await s.scratch([rows], 'f32', `${label} rstd`) };
  checkStats(op, st, rows);
  expectBindable(op, s, x, y);
  if (rows === 0) return;
  const lanes = rowLanes(cols, s.gpu.info.cpuAdapter && cols <= SHORT_ROW);
  await s.dispatch({
    shader: LAYERNORM_SHADER, entry: 'layernorm', precision: x.precision, defines: { FWD: true },
    constants: { ROW_LANES: lanes },
    params: packParams([rows, cols, physicalRow(x), { f32: eps }, 0, 0]), tensors: [x, gamma, beta, y, st.mean, st.rstd],
    workgroups: rowLaneWorkgroups(rows, lanes), label, shapes: `[${x.shape}] lanes ${lanes}`, ...layerNormCost(x),
  });
}

export interface LayerNormGrads {
  dx: GpuTensor;
  dgamma: GpuTensor;
  dbeta: GpuTensor;
}


export async function layerNormBackward(s: ComputeSession, x: GpuTensor, gamma: GpuTensor, dy: GpuTensor, stats: LayerNormStats, grads: LayerNormGrads, label = 'layernorm.bwd'): Promise<void> {
  const op = 'layerNormBackward';
  samePrecision(op, x, gamma, dy, grads.dx, grads.dgamma, grads.dbeta);
  const { rows, cols } = rowsOf(x);
  expectShape(op, dy, x.shape, `the shape of ${x.label}`);
  expectShape(op, grads.dx, x.shape, `the shape of ${x.label}`);
  for (const t of [gamma, grads.dgamma, grads.dbeta]) expectShape(op, t, [cols], 'one value per element of the last dimension');
  checkStats(op, stats, rows);
  expectBindable(op, s, x, dy, grads.dx);
  const n = numel(x.shape);
  const eb = elementBytes(x.precision);
  const stride = physicalRow(x);
  const lanes = rowLanes(cols, s.gpu.info.cpuAdapter && cols <= SHORT_ROW);
  await s.dispatch({
    shader: LAYERNORM_SHADER, entry: 'layernorm_bwd_dx', precision: x.precision, defines: { BWD_DX: true }, constants: { ROW_LANES: lanes },
    params: packParams([rows, cols, stride, { f32: 0 }, 0, 0]), tensors: [x, gamma, dy, stats.mean, stats.rstd, grads.dx],
    workgroups: rowLaneWorkgroups(rows, lanes), label: `${label}.dx`, shapes: `[${x.shape}] lanes ${lanes}`, flops: 12 * n, bytes: 5 * n * eb,
  });
  const { blocks, blockLen } = rowBlocks(rows, cols, 16);
  const params = packParams([rows, cols, stride, { f32: 0 }, blocks, blockLen]);
  const partial = await s.scratch([blocks * 2 * cols], 'f32', `${label} partials`);
  await s.dispatch({
    shader: LAYERNORM_SHADER, entry: 'layernorm_bwd_partial', precision: x.precision, defines: { PARTIAL: true },
    params, tensors: [x, dy, stats.mean, stats.rstd, partial],
    workgroups: Math.ceil((blocks * cols) / WG), label: `${label}.dparams.partial`, shapes: `[${x.shape}]`, flops: 5 * n, bytes: 2 * n * eb,
  });
  await s.dispatch({
    shader: LAYERNORM_SHADER, entry: 'layernorm_bwd_final', precision: x.precision, defines: { FINAL: true },
    params, tensors: [partial, grads.dgamma, grads.dbeta],
    workgroups: Math.ceil(cols / 2), label: `${label}.dparams.final`, shapes: `[${cols}]`,
    flops: 2 * blocks * cols, bytes: 8 * blocks * cols,
  });
}

// ---- float64 CPU references ----

export function layerNormReference(x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, cols: number, eps = LAYERNORM_EPS): { y: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const rows = x.length / cols;
  const y = new Float64Array(x.length), mean = new Float64Array(rows), rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let mu = 0;
    for (let c = 0; c < cols; c++) mu += x[r * cols + c]!;
    mu /= cols;
    let v = 0;
    for (let c = 0; c < cols; c++) v += (x[r * cols + c]! - mu) ** 2;
    const rs = 1 / Math.sqrt(v / cols + eps);
    for (let c = 0; c < cols; c++) y[r * cols + c] = (x[r * cols + c]! - mu) * rs * gamma[c]! + beta[c]!;
    mean[r] = mu;
    rstd[r] = rs;
  }
  return { y, mean, rstd };
}

export function layerNormBackwardReference(x: ArrayLike<number>, gamma: ArrayLike<number>, dy: ArrayLike<number>, cols: number, eps = LAYERNORM_EPS): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const { mean, rstd } = layerNormReference(x, gamma, gamma, cols, eps);
  const rows = x.length / cols;
  const dx = new Float64Array(x.length), dgamma = new Float64Array(cols), dbeta = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    let m1 = 0, m2 = 0;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const xhat = (x[i]! - mean[r]!) * rstd[r]!;
      const g = dy[i]! * gamma[c]!;
      m1 += g;
      m2 += g * xhat;
      dgamma[c]! += dy[i]! * xhat;
      dbeta[c]! += dy[i]!;
    }
    m1 /= cols;
    m2 /= cols;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const xhat = (x[i]! - mean[r]!) * rstd[r]!;
      dx[i] = rstd[r]! * (dy[i]! * gamma[c]! - m1 - xhat * m2);
    }
  }
  return { dx, dgamma, dbeta };
}
