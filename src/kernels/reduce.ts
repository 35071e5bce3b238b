/**
 * Reductions: sum, mean or max along one axis of an N-d tensor, and `sumKeep`, the sum over every axis but one
 * (bias and norm-weight gradients).
 *
 * Geometry: the input is viewed as [outer, n, inner].
 * - axis innermost (the last axis): one workgroup of 64 per output pair, a tree reduction in workgroup memory;
 * - otherwise reduce_cols.wgsl: workgroups of 32 column groups (16-byte loads where the row stride allows) x 8
 *   row slices, each tile of rows writing f32 partials that a second pass sums over the tiles (one pass when a
 *   single tile fills the GPU). Tiles are sized so that about TARGET_TILE_COLUMNS (tile, column) pairs run.
 * sumKeep: of the last axis, the same column kernel; else a workgroup per contiguous row when the extent after
 * the kept axis is long, else an invocation per (block, kept index); then a fixed-order combine.
 * No float atomics anywhere: the same input gives the same bits.
 *
 * Sizes: x and y must each fit one storage binding (maxStorageBufferBindingSize: 128 MiB on lavapipe, i.e.
 * 33.5M f32 or 67M half elements; 2 GiB - 4 on the H200, 536M f32 elements): larger tensors must be split by
 * the caller (expectBindable says which). Offsets are u32. The two-pass paths take f32 partials from
 * `ComputeSession.scratch`: `reducePlan(...).partialElements` values for reduce and `sumKeepPlan(...)`'s for
 * sumKeep (whatever the precision: the plans do not depend on it).
 */
import source from '../../shaders/reduce.wgsl?raw';
import colsSource from '../../shaders/reduce_cols.wgsl?raw';
import type { ComputeSession, DispatchSpec } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { elementBytes, type Precision } from '../gpu/precision.ts';
import { expectBindable, expectShape, innermost, numel, packParams, physicalRow, samePrecision } from './layout.ts';

export const REDUCE_SHADER = { name: 'reduce.wgsl', source };
export const REDUCE_COLS_SHADER = { name: 'reduce_cols.wgsl', source: colsSource };
export const REDUCE_OPS = ['sum', 'mean', 'max'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

const WG = 64;
const OP_CODE: Record<ReduceOp, number> = { sum: 0, mean: 1, max: 2 };
/** sum_keep_partial aims at TARGET_INVOCATIONS partial sums of at least MIN_BLOCK elements. */
const TARGET_INVOCATIONS = 131072;
const MIN_BLOCK = 16;
/**
 * Column reductions (reduce_cols.wgsl): a workgroup covers COL_GROUPS column groups x COL_SLICES row slices.
 * Rows are split into tiles until about TARGET_TILE_COLUMNS (tile, output column) pairs exist, i.e. ~2^17 - 2^18
 * invocations each with 4 rows of 16 bytes in flight: what an H100 (132 SMs x 2,048 invocations) needs to cover
 * its memory latency. A tile keeps at least MIN_TILE_ROWS rows (8 per slice), so partials stay small beside x.
 */
const COL_GROUPS = 32;
const TARGET_TILE_COLUMNS = 131072;
const MIN_TILE_ROWS = 64;
/** sumKeep reads rows of at least this many contiguous elements with a workgroup each (coalesced). */
const ROWS_FIRST_INNER = 32;

/** The output shape of a reduction of `shape` along `axis`: the axis removed. */
export function reducedShape(shape: readonly number[], axis: number): number[] {
  return shape.filter((_, i) => i !== axis);
}

function checkAxis(op: string, t: GpuTensor, axis: number): void {
  if (!Number.isInteger(axis) || axis < 0 || axis >= t.shape.length) {
    throw new Error(`${op}: axis ${axis} is outside ${t.label} of rank ${t.shape.length} (shape [${t.shape.join(', ')}])`);
  }
  if (t.shape[axis]! < 1) throw new Error(`${op}: axis ${axis} of ${t.label} is empty (shape [${t.shape.join(', ')}])`);
}

function split(shape: readonly number[], axis: number): { outer: number; n: number; inner: number } {
  return { outer: numel(shape.slice(0, axis)), n: shape[axis]!, inner: numel(shape.slice(axis + 1)) };
}

export interface ReduceCost {
  flops: number;
  bytes: number;
}

/** One FLOP per input element; bytes of input read plus output written (partials not counted). */
export function reduceCost(x: GpuTensor, y: GpuTensor): ReduceCost {
  return { flops: numel(x.shape), bytes: numel(x.shape) * elementBytes(x.precision) + numel(y.shape) * elementBytes(y.precision) };
}

/**
 * How a reduction will run: which entries, and the partial-sum workspace (in f32 elements) it needs.
 * 'rows': reduce_rows, one pass. 'cols' / 'cols-two-pass': reduce_cols.wgsl in one pass or in `blocks` tiles of
 * `blockLen` rows plus a combine. 'keep-rows' / 'keep-blocks': sumKeep's sum_rows_partial / sum_keep_partial
 * over `blocks` blocks, then sum_keep_final.
 */
export interface ReducePlan {
  path: 'rows' | 'cols' | 'cols-two-pass' | 'keep-rows' | 'keep-blocks';
  blocks: number;
  blockLen: number;
  partialElements: number;
}

/** `len` rounded up to 8: a partial row holds any column group of up to 8 lanes. */
function partialWidth(len: number): number {
  return Math.ceil(len / 8) * 8;
}

/** The column kernel's tiles over n for outputs [outer, inner] (rows of `len`); precision-free on purpose. */
function colsPlan(outer: number, n: number, inner: number, len: number): ReducePlan {
  let tiles = Math.max(1, Math.min(Math.ceil(TARGET_TILE_COLUMNS / (outer * inner)), Math.ceil(n / MIN_TILE_ROWS)));
  const blockLen = Math.ceil(n / tiles);
  tiles = Math.ceil(n / blockLen);
  if (tiles === 1) return { path: 'cols', blocks: 1, blockLen: n, partialElements: 0 };
  return { path: 'cols-two-pass', blocks: tiles, blockLen, partialElements: tiles * ((outer * inner) / len) * partialWidth(len) };
}

export function reducePlan(shape: readonly number[], axis: number): ReducePlan {
  const { outer, n, inner } = split(shape, axis);
  // Only the last axis has contiguous rows (a trailing axis of length 1 still leaves padded rows in f16-storage).
  if (axis === shape.length - 1) return { path: 'rows', blocks: 1, blockLen: n, partialElements: 0 };
  return colsPlan(outer, n, inner, shape[shape.length - 1]!);
}

/** How sumKeep(x of `shape`, keepAxis) will run, and its f32 partial-sum workspace. */
export function sumKeepPlan(shape: readonly number[], keepAxis: number): ReducePlan {
  const { outer, n, inner } = split(shape, keepAxis);
  if (keepAxis === shape.length - 1) return colsPlan(1, outer, n, n);
  // Long contiguous rows (a conv's [B, C, L] keeping C): a workgroup per (outer, kept) row, partials [outer, n].
  // Otherwise an invocation per (block, kept index): neighbours read neighbouring kept indices.
  if (inner >= ROWS_FIRST_INNER) return { path: 'keep-rows', blocks: outer, blockLen: inner, partialElements: outer * n };
  const reduced = outer * inner;
  let blocks = Math.max(1, Math.min(Math.ceil(TARGET_INVOCATIONS / n), Math.ceil(reduced / MIN_BLOCK)));
  const blockLen = Math.ceil(reduced / blocks);
  blocks = Math.ceil(reduced / blockLen);
  return { path: 'keep-blocks', blocks, blockLen, partialElements: blocks * n };
}

/**
 * sumKeep's rows path reads 16-byte chunks (sum_rows_partial_vec) when each (outer, kept) row is one stored row
 * (the kept axis is second to last) whose stride is a whole number of chunks.
 */
export function keepRowsVectorised(x: { shape: readonly number[]; precision: Precision }, keepAxis: number): boolean {
  return keepAxis === x.shape.length - 2 && colLanes(x.precision, physicalRow(x)) > 2;
}

/** Lanes per load of the column kernel: a 16-byte vector where every stored row starts 16-byte aligned. */
function colLanes(p: Precision, stride: number): 2 | 4 | 8 {
  const v = p === 'f32' ? 4 : 8;
  return stride % v === 0 ? v : 2;
}

/** How reduce_cols.wgsl runs on x viewed as [outer, n, inner]: its plan, lanes per load and workgroups. */
export interface ColsGeometry {
  plan: ReducePlan;
  lanes: 2 | 4 | 8;
  len: number;
  stride: number;
  outRows: number;
  /** Column groups per output row, and in all. */
  gpr: number;
  groups: number;
  /** Workgroups across the columns; the first pass runs colWgs x plan.blocks. */
  colWgs: number;
  /** Partial values the first pass writes (two passes only): at most plan.partialElements. */
  written: number;
}

export function colsGeometry(x: { shape: readonly number[]; precision: Precision }, dims: { outer: number; n: number; inner: number }): ColsGeometry {
  const { outer, n, inner } = dims;
  const len = innermost(x);
  const stride = physicalRow(x);
  const plan = colsPlan(outer, n, inner, len);
  const lanes = colLanes(x.precision, stride);
  const outRows = (outer * inner) / len;
  const gpr = Math.ceil(len / lanes);
  const groups = outRows * gpr;
  const written = plan.path === 'cols' ? 0 : plan.blocks * groups * lanes;
  return { plan, lanes, len, stride, outRows, gpr, groups, colWgs: Math.ceil(groups / COL_GROUPS), written };
}

/**
 * reduce_cols.wgsl over x viewed as [outer, n, inner] (inner a whole number of x's rows), y = [outer, inner]
 * stored with x's row stride; `scale` multiplies the result.
 */
async function reduceColumns(
  s: ComputeSession, op: ReduceOp, x: GpuTensor, y: GpuTensor, dims: { outer: number; n: number; inner: number }, scale: number, label: string, shapes: string,
): Promise<void> {
  const { n, inner } = dims;
  const { plan, lanes, len, stride, outRows, gpr, groups, colWgs, written } = colsGeometry(x, dims);
  const params = (rows: number, tileRows: number) =>
    packParams([groups, gpr, inner / len, stride, len, n, rows, tileRows, colWgs, OP_CODE[op], partialWidth(len), outRows, { f32: scale }]);
  const eb = elementBytes(x.precision);
  const common = { shader: REDUCE_COLS_SHADER, entry: 'reduce_cols', precision: x.precision, shapes };
  if (plan.path === 'cols') {
    await s.dispatch({
      ...common, defines: { COLS_DIRECT: true, VEC: lanes > 2 }, params: params(n, n), tensors: [x, y], workgroups: colWgs, label,
      flops: numel(x.shape), bytes: numel(x.shape) * eb + numel(y.shape) * eb,
    });
    return;
  }
  const partial = await s.scratch([plan.partialElements], 'f32', `${label} partials`);
  await s.dispatch({
    ...common, defines: { COLS_PARTIAL: true, VEC: lanes > 2 }, params: params(n, plan.blockLen), tensors: [x, partial],
    workgroups: colWgs * plan.blocks, label: `${label}.partial`, flops: numel(x.shape), bytes: numel(x.shape) * eb + written * 4,
  });
  await s.dispatch({
    ...common, defines: { COLS_FINAL: true, VEC: lanes > 2 }, params: params(plan.blocks, plan.blocks), tensors: [partial, y],
    workgroups: colWgs, label: `${label}.final`, flops: written, bytes: written * 4 + numel(y.shape) * eb,
  });
}

/** y = op over `axis` of x; y's shape is x's with that axis removed ([] for a 1-D x). */
export async function reduce(s: ComputeSession, op: ReduceOp, x: GpuTensor, y: GpuTensor, axis: number, label = `reduce.${op}`): Promise<void> {
  const name = `reduce ${op}`;
  checkAxis(name, x, axis);
  samePrecision(name, x, y);
  expectShape(name, y, reducedShape(x.shape, axis), `${x.label} reduced along axis ${axis}`);
  expectBindable(name, s, x, y);
  const { outer, n, inner } = split(x.shape, axis);
  const scale = op === 'mean' ? 1 / n : 1;
  const shapes = `[${x.shape}] axis ${axis}`;
  if (reducePlan(x.shape, axis).path !== 'rows') {
    await reduceColumns(s, op, x, y, { outer, n, inner }, scale, label, shapes);
    return;
  }
  // The last axis: input row o gives output element o (inner is 1); y's rows are outer / outLen long.
  const outLen = y.shape.length ? y.shape[y.shape.length - 1]! : 1;
  const pairsPerRow = Math.ceil(outLen / 2);
  const pairs = (outer / outLen) * pairsPerRow;
  const params = packParams([
    outer, n, inner, OP_CODE[op], x.shape[x.shape.length - 1]!, physicalRow(x), outLen, physicalRow(y),
    pairs, pairsPerRow, 1, n, { f32: scale },
  ]);
  // 16-byte chunks where every stored row starts on one (reduce_rows_vec), else element by element.
  const vec = colLanes(x.precision, physicalRow(x)) > 2;
  const spec: DispatchSpec = {
    shader: REDUCE_SHADER, precision: x.precision, params, shapes, tensors: [x, y],
    defines: vec ? { CHUNKS: true, RED_ROWS: true } : { ONE_PASS: true }, entry: vec ? 'reduce_rows_vec' : 'reduce_rows',
    workgroups: pairs, label, ...reduceCost(x, y),
  };
  await s.dispatch(spec);
}

/**
 * y[c] = scale * sum of x over every axis but `keepAxis` (y is 1-D, [x.shape[keepAxis]]). Two passes, fixed order.
 * E.g. a conv bias gradient: sumKeep(dy [B, C, L], db [C], 1).
 */
export async function sumKeep(s: ComputeSession, x: GpuTensor, y: GpuTensor, keepAxis: number, label = 'sum_keep', scale = 1): Promise<void> {
  const name = 'sumKeep';
  checkAxis(name, x, keepAxis);
  samePrecision(name, x, y);
  expectShape(name, y, [x.shape[keepAxis]!], `${x.label} summed over every axis but ${keepAxis}`);
  expectBindable(name, s, x, y);
  const { outer, n, inner } = split(x.shape, keepAxis);
  const shapes = `[${x.shape}] keep ${keepAxis}`;
  const plan = sumKeepPlan(x.shape, keepAxis);
  // Keeping the last axis is a column reduction of x seen as [rows, n] (a dense layer's bias gradient).
  if (plan.path === 'cols' || plan.path === 'cols-two-pass') {
    await reduceColumns(s, 'sum', x, y, { outer: 1, n: outer, inner: n }, scale, label, shapes);
    return;
  }
  const { blocks, blockLen } = plan;
  const pairs = Math.ceil(n / 2);
  const params = packParams([
    outer, n, inner, 0, x.shape[x.shape.length - 1]!, physicalRow(x), n, physicalRow(y), pairs, pairs, blocks, blockLen, { f32: scale },
  ]);
  const cost = reduceCost(x, y);
  const common = { shader: REDUCE_SHADER, precision: x.precision, params, shapes };
  const partial = await s.scratch([plan.partialElements], 'f32', `${label} partials`);
  const vec = plan.path === 'keep-rows' && keepRowsVectorised(x, keepAxis);
  await s.dispatch({
    ...common, defines: vec ? { CHUNKS: true, ROWS_VEC: true } : { PARTIAL: true }, tensors: [x, partial],
    entry: vec ? 'sum_rows_partial_vec' : plan.path === 'keep-rows' ? 'sum_rows_partial' : 'sum_keep_partial',
    workgroups: plan.path === 'keep-rows' ? outer * n : Math.ceil((blocks * n) / WG), label: `${label}.partial`, ...cost,
  });
  await s.dispatch({
    ...common, defines: { FINAL: true }, entry: 'sum_keep_final', tensors: [partial, y],
    workgroups: pairs, label: `${label}.final`, flops: blocks * n, bytes: blocks * n * 4 + numel(y.shape) * elementBytes(y.precision),
  });
}

// ---- float64 CPU references ----

export function reduceReference(op: ReduceOp, x: ArrayLike<number>, shape: readonly number[], axis: number): Float64Array {
  const { outer, n, inner } = split(shape, axis);
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let a = op === 'max' ? -Infinity : 0;
      for (let k = 0; k < n; k++) {
        const v = x[(o * n + k) * inner + i]!;
        a = op === 'max' ? Math.max(a, v) : a + v;
      }
      out[o * inner + i] = op === 'mean' ? a / n : a;
    }
  }
  return out;
}

export function sumKeepReference(x: ArrayLike<number>, shape: readonly number[], keepAxis: number, scale = 1): Float64Array {
  const { outer, n, inner } = split(shape, keepAxis);
  const out = new Float64Array(n);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < n; c++) {
      for (let i = 0; i < inner; i++) out[c]! += x[(o * n + c) * inner + i]!;
    }
  }
  return out.map((v) => v * scale);
}
