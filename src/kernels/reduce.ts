/**
 * Reductions: sum, mean or max along one axis of an N-d tensor, and `sumKeep`, the sum over every axis but one
 * (bias and norm-weight gradients).
 *
 * Geometry: the input is viewed as [outer, n, inner].
 * - axis innermost (the last axis): one workgroup of 64 per output pair, a tree reduction in workgroup memory;
 * - otherwise one invocation per output pair looping over n, or, when that leaves fewer than 65,536 invocations
 *   busy with a long axis, two passes: f32 partials per block of the axis, then a fixed-order combine.
 * sumKeep: a workgroup per contiguous row when the extent after the kept axis is long, else an invocation per
 * (block, kept index); then a fixed-order combine.
 * No float atomics anywhere: the same input gives the same bits.
 *
 * Sizes: x and y must each fit one storage binding (maxStorageBufferBindingSize: 128 MiB on lavapipe, i.e.
 * 33.5M f32 or 67M half elements; 2 GiB - 4 on the H200, 536M f32 elements): larger tensors must be split by
 * the caller (expectBindable says which). Offsets are u32. The two-pass paths take f32 partials from
 * `ComputeSession.scratch`: `reducePlan(...).partialElements` values for reduce (about 131,072 x 2 at most),
 * and for sumKeep outer x n values (long inner extent) or about 131,072 + n values.
 */
import source from '../../shaders/reduce.wgsl?raw';
import type { ComputeSession, DispatchSpec } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { elementBytes } from '../gpu/precision.ts';
import { expectBindable, expectShape, numel, packParams, physicalRow, samePrecision } from './layout.ts';

export const REDUCE_SHADER = { name: 'reduce.wgsl', source };
export const REDUCE_OPS = ['sum', 'mean', 'max'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

const WG = 64;
const OP_CODE: Record<ReduceOp, number> = { sum: 0, mean: 1, max: 2 };
/**
 * Below this many busy invocations a long non-innermost axis is split into blocks (two passes), aiming at
 * TARGET_INVOCATIONS partial sums of at least MIN_BLOCK elements: a large GPU needs ~10^5 loads in flight.
 */
const MIN_BUSY_INVOCATIONS = 65536;
const TARGET_INVOCATIONS = 131072;
const MIN_BLOCK = 16;
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

/** How a reduction will run: which entries, and the partial-sum workspace (in f32 elements) it needs. */
export interface ReducePlan {
  path: 'rows' | 'cols' | 'cols-two-pass';
  blocks: number;
  blockLen: number;
  partialElements: number;
}

export function reducePlan(shape: readonly number[], axis: number): ReducePlan {
  const { outer, n, inner } = split(shape, axis);
  // Only the last axis has contiguous rows (a trailing axis of length 1 still leaves padded rows in f16-storage).
  if (axis === shape.length - 1) return { path: 'rows', blocks: 1, blockLen: n, partialElements: 0 };
  const outLen = shape[shape.length - 1]!;
  const pairs = (outer * inner / outLen) * Math.ceil(outLen / 2);
  if (pairs >= MIN_BUSY_INVOCATIONS || n <= 2 * MIN_BLOCK) return { path: 'cols', blocks: 1, blockLen: n, partialElements: 0 };
  let blocks = Math.min(Math.ceil(n / MIN_BLOCK), Math.ceil(TARGET_INVOCATIONS / pairs));
  const blockLen = Math.ceil(n / blocks);
  blocks = Math.ceil(n / blockLen);
  return { path: 'cols-two-pass', blocks, blockLen, partialElements: blocks * outer * inner };
}

/** y = op over `axis` of x; y's shape is x's with that axis removed ([] for a 1-D x). */
export async function reduce(s: ComputeSession, op: ReduceOp, x: GpuTensor, y: GpuTensor, axis: number, label = `reduce.${op}`): Promise<void> {
  const name = `reduce ${op}`;
  checkAxis(name, x, axis);
  samePrecision(name, x, y);
  expectShape(name, y, reducedShape(x.shape, axis), `${x.label} reduced along axis ${axis}`);
  expectBindable(name, s, x, y);
  const { outer, n, inner } = split(x.shape, axis);
  const plan = reducePlan(x.shape, axis);
  const outLen = y.shape.length ? y.shape[y.shape.length - 1]! : 1;
  const outRows = (outer * inner) / outLen;
  const pairsPerRow = Math.ceil(outLen / 2);
  const pairs = outRows * pairsPerRow;
  const params = packParams([
    outer, n, inner, OP_CODE[op], x.shape[x.shape.length - 1]!, physicalRow(x), outLen, physicalRow(y),
    pairs, pairsPerRow, plan.blocks, plan.blockLen, { f32: op === 'mean' ? 1 / n : 1 },
  ]);
  const cost = reduceCost(x, y);
  const common = { shader: REDUCE_SHADER, precision: x.precision, params, shapes: `[${x.shape}] axis ${axis}` };
  if (plan.path !== 'cols-two-pass') {
    const spec: DispatchSpec = {
      ...common, defines: { ONE_PASS: true }, entry: plan.path === 'rows' ? 'reduce_rows' : 'reduce_cols', tensors: [x, y],
      workgroups: plan.path === 'rows' ? pairs : Math.ceil(pairs / WG), label, ...cost,
    };
    await s.dispatch(spec);
    return;
  }
  const partial = await s.scratch([plan.partialElements], 'f32', `${label} partials`);
  await s.dispatch({
    ...common, defines: { PARTIAL: true }, entry: 'reduce_cols_partial', tensors: [x, partial],
    workgroups: Math.ceil((pairs * plan.blocks) / WG), label: `${label}.partial`, ...cost,
  });
  await s.dispatch({
    ...common, defines: { FINAL: true }, entry: 'reduce_cols_final', tensors: [partial, y],
    workgroups: pairs, label: `${label}.final`, flops: plan.partialElements, bytes: plan.partialElements * 4 + numel(y.shape) * elementBytes(y.precision),
  });
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
  const reduced = outer * inner;
  // Long contiguous rows (a conv's [B, C, L] keeping C): a workgroup per (outer, kept) row, partials [outer, n].
  // Otherwise an invocation per (block, kept index): neighbours read neighbouring kept indices.
  const rowsFirst = inner >= ROWS_FIRST_INNER;
  let blocks = rowsFirst ? outer : Math.max(1, Math.min(Math.ceil(TARGET_INVOCATIONS / n), Math.ceil(reduced / MIN_BLOCK)));
  const blockLen = Math.ceil(reduced / blocks);
  if (!rowsFirst) blocks = Math.ceil(reduced / blockLen);
  const pairs = Math.ceil(n / 2);
  const params = packParams([
    outer, n, inner, 0, x.shape[x.shape.length - 1]!, physicalRow(x), n, physicalRow(y), pairs, pairs, blocks, blockLen, { f32: scale },
  ]);
  const cost = reduceCost(x, y);
  const common = { shader: REDUCE_SHADER, precision: x.precision, params, shapes: `[${x.shape}] keep ${keepAxis}` };
  const partial = await s.scratch([blocks * n], 'f32', `${label} partials`);
  await s.dispatch({
    ...common, defines: { PARTIAL: true }, entry: rowsFirst ? 'sum_rows_partial' : 'sum_keep_partial', tensors: [x, partial],
    workgroups: rowsFirst ? outer * n : Math.ceil((blocks * n) / WG), label: `${label}.partial`, ...cost,
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
