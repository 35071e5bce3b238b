/**
 * Depthwise causal conv1d over time, channels last (Mamba2's short conv): x [seqs, T, width] read at channels
 * channelOffset .. channelOffset + C (the [x, B, C] slice of the in_proj output, no copy), w [C, k] (k <= 8),
 * bias [C], y [seqs, T, C]; zero left padding. `reverse` reads each sequence backwards and stores in forward
 * order (the backward direction of a Bi-Mamba2 layer, no flipped copies). Backward: dx into the same slice of a
 * tensor shaped like x (other channels untouched), dw and db from fixed-order two-pass partial sums.
 *
 * Geometry: an invocation per (row, channel pair), 64 per workgroup; partials one invocation per (block of rows,
 * channel). Packed halves: a slice must start on an even channel and hold an even count unless it runs to the
 * row's end (stores are whole words). Sizes: x, y, dy, dx must each fit one storage binding; the edge stream's
 * in_proj output at batch 48 (48 x 171 x 960 x 88 values, 2.8 GB in f32) exceeds every binding limit and must be
 * split over sequences by the caller.
 */
import source from '../../shaders/depthwise_conv.wgsl?raw';
import workgroupSumSource from '../../shaders/workgroup_sum.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { elementBytes } from '../gpu/precision.ts';
import { expectBindable, expectDim, expectPositiveInt, expectRank, expectShape, packParams, physicalRow, samePrecision } from './layout.ts';
import { rowBlocks } from './row-blocks.ts';

export const DEPTHWISE_CONV_SHADER = { name: 'depthwise_conv.wgsl', source: `${source}\n${workgroupSumSource}` };
export const DEPTHWISE_MAX_TAPS = 8;
const WG = 64;

export interface DepthwiseConvOptions {
  /** First channel of the slice of x (default 0). */
  channelOffset?: number;
  /** Read time backwards, store forwards. */
  reverse?: boolean;
  label?: string;
}

interface Dims {
  seqs: number;
  steps: number;
  channels: number;
  taps: number;
  width: number;
  offset: number;
}

function dims(op: string, x: GpuTensor, w: GpuTensor, opts: DepthwiseConvOptions): Dims {
  expectRank(op, x, ['sequences', 'steps', 'channels']);
  expectRank(op, w, ['channels', 'taps']);
  const [seqs, steps, width] = x.shape as [number, number, number];
  const [channels, taps] = w.shape as [number, number];
  const offset = opts.channelOffset ?? 0;
  expectPositiveInt(op, 'channelOffset', offset, 0);
  if (taps < 1 || taps > DEPTHWISE_MAX_TAPS) throw new Error(`${op}: ${w.label} dimension 1 (taps) is ${taps}, supported 1..${DEPTHWISE_MAX_TAPS}`);
  if (offset + channels > width) {
    throw new Error(`${op}: channels ${offset}..${offset + channels} (${w.label} dimension 0 = ${channels} from channelOffset ${offset}) exceed ${x.label} dimension 2 (channels) = ${width}`);
  }
  if (x.precision === 'f16-storage' && (offset % 2 || (channels % 2 && offset + channels !== width))) {
    throw new Error(`${op}: in f16-storage a channel slice must start on an even channel and hold an even count unless it ends the row (stores are whole words); got offset ${offset}, ${channels} channels of ${width}`);
  }
  return { seqs, steps, channels, taps, width, offset };
}

function params(d: Dims, x: GpuTensor, w: GpuTensor, reverse: boolean, blocks = 0, blockLen = 0): Uint32Array {
  return packParams([
    d.seqs, d.steps, d.channels, d.taps, physicalRow(x), d.offset, rowStrideOf(d.channels, x), physicalRow(w),
    reverse ? 1 : 0, Math.ceil(d.channels / 2), blocks, blockLen,
  ]);
}

function rowStrideOf(channels: number, like: GpuTensor): number {
  return physicalRow({ shape: [channels], precision: like.precision });
}

function describe(d: Dims, reverse: boolean): string {
  return `[${d.seqs},${d.steps},${d.width}] ch ${d.offset}+${d.channels} k${d.taps}${reverse ? ' reversed' : ''}`;
}

export async function depthwiseConv(s: ComputeSession, x: GpuTensor, w: GpuTensor, bias: GpuTensor, y: GpuTensor, opts: DepthwiseConvOptions = {}): Promise<void> {
  const op = 'depthwiseConv';
  const d = dims(op, x, w, opts);
  samePrecision(op, x, w, bias, y);
  expectShape(op, bias, [d.channels], 'one bias per channel');
  expectShape(op, y, [d.seqs, d.steps, d.channels], 'sequences, steps, channels of the slice');
  expectBindable(op, s, x, y);
  const outs = d.seqs * d.steps * d.channels;
  await s.dispatch({
    shader: DEPTHWISE_CONV_SHADER, entry: 'depthwise_conv', precision: x.precision, defines: { FWD: true },
    params: params(d, x, w, opts.reverse ?? false), tensors: [x, w, bias, y],
    workgroups: Math.ceil((d.seqs * d.steps * Math.ceil(d.channels / 2)) / WG), label: opts.label ?? 'depthwise_conv',
    shapes: describe(d, opts.reverse ?? false), flops: 2 * outs * d.taps, bytes: 2 * outs * elementBytes(x.precision) + w.bytes + bias.bytes,
  });
}

export interface DepthwiseConvGrads {
  /** Shaped like x: only the slice's channels are written. */
  dx?: GpuTensor;
  dw?: GpuTensor;
  db?: GpuTensor;
}

export async function depthwiseConvBackward(s: ComputeSession, x: GpuTensor, w: GpuTensor, dy: GpuTensor, grads: DepthwiseConvGrads, opts: DepthwiseConvOptions = {}): Promise<void> {
  const op = 'depthwiseConvBackward';
  const label = opts.label ?? 'depthwise_conv';
  const reverse = opts.reverse ?? false;
  const d = dims(op, x, w, opts);
  const given = [grads.dx, grads.dw, grads.db].filter((t): t is GpuTensor => Boolean(t));
  samePrecision(op, x, w, dy, ...given);
  expectShape(op, dy, [d.seqs, d.steps, d.channels], 'dL/dy has the shape of y');
  if (grads.dx) expectShape(op, grads.dx, x.shape, `dL/dx is shaped like ${x.label} (only the slice is written)`);
  if (grads.dw) expectShape(op, grads.dw, w.shape, `the shape of ${w.label}`);
  if (grads.db) expectDim(op, grads.db, 0, 'channels', d.channels);
  expectBindable(op, s, x, dy, ...given);
  const outs = d.seqs * d.steps * d.channels;
  const eb = elementBytes(x.precision);
  if (grads.dx) {
    await s.dispatch({
      shader: DEPTHWISE_CONV_SHADER, entry: 'depthwise_conv_bwd_dx', precision: x.precision, defines: { BWD_DX: true },
      params: params(d, x, w, reverse), tensors: [dy, w, grads.dx],
      workgroups: Math.ceil((d.seqs * d.steps * Math.ceil(d.channels / 2)) / WG), label: `${label}.bwd.dx`,
      shapes: describe(d, reverse), flops: 2 * outs * d.taps, bytes: 2 * outs * eb + w.bytes,
    });
  }
  if (grads.dw || grads.db) {
    if (!grads.dw || !grads.db) throw new Error(`${op}: dw and db are computed together: give both or neither`);
    expectShape(op, grads.db, [d.channels], 'one bias per channel');
    const rows = d.seqs * d.steps;
    const { blocks, blockLen } = rowBlocks(rows, d.channels, 32);
    const p = params(d, x, w, reverse, blocks, blockLen);
    const partial = await s.scratch([blocks * d.channels * (d.taps + 1)], 'f32', `${label} partials`);
    await s.dispatch({
      shader: DEPTHWISE_CONV_SHADER, entry: 'depthwise_conv_bwd_partial', precision: x.precision, defines: { PARTIAL: true },
      params: p, tensors: [dy, x, partial], workgroups: Math.ceil((blocks * d.channels) / WG), label: `${label}.bwd.dw.partial`,
      shapes: describe(d, reverse), flops: 2 * outs * (d.taps + 1), bytes: 2 * outs * eb,
    });
    await s.dispatch({
      shader: DEPTHWISE_CONV_SHADER, entry: 'depthwise_conv_bwd_final', precision: x.precision, defines: { FINAL: true },
      params: p, tensors: [partial, grads.dw, grads.db], workgroups: Math.ceil(d.channels / 2),
      label: `${label}.bwd.dw.final`, shapes: describe(d, reverse), flops: partial.shape[0]!, bytes: 4 * partial.shape[0]!,
    });
  }
}

// ---- float64 CPU references (x given as the full-width tensor) ----

export interface DepthwiseRefDims {
  seqs: number;
  steps: number;
  width: number;
  offset: number;
  channels: number;
  taps: number;
  reverse: boolean;
}

function sourceStep(d: DepthwiseRefDims, t: number, j: number): number {
  const u = d.reverse ? t + (d.taps - 1 - j) : t - (d.taps - 1 - j);
  return u >= 0 && u < d.steps ? u : -1;
}

export function depthwiseConvReference(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number>, d: DepthwiseRefDims): Float64Array {
  const y = new Float64Array(d.seqs * d.steps * d.channels);
  for (let s = 0; s < d.seqs; s++) {
    for (let t = 0; t < d.steps; t++) {
      for (let c = 0; c < d.channels; c++) {
        let a = bias[c]!;
        for (let j = 0; j < d.taps; j++) {
          const u = sourceStep(d, t, j);
          if (u >= 0) a += w[c * d.taps + j]! * x[(s * d.steps + u) * d.width + d.offset + c]!;
        }
        y[(s * d.steps + t) * d.channels + c] = a;
      }
    }
  }
  return y;
}

/** dx covers x's full width (zero outside the slice), by scattering every product's gradient. */
export function depthwiseConvBackwardReference(x: ArrayLike<number>, w: ArrayLike<number>, dy: ArrayLike<number>, d: DepthwiseRefDims): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const dx = new Float64Array(d.seqs * d.steps * d.width);
  const dw = new Float64Array(d.channels * d.taps);
  const db = new Float64Array(d.channels);
  for (let s = 0; s < d.seqs; s++) {
    for (let t = 0; t < d.steps; t++) {
      for (let c = 0; c < d.channels; c++) {
        const g = dy[(s * d.steps + t) * d.channels + c]!;
        db[c]! += g;
        for (let j = 0; j < d.taps; j++) {
          const u = sourceStep(d, t, j);
          if (u < 0) continue;
          const xi = (s * d.steps + u) * d.width + d.offset + c;
          dx[xi]! += g * w[c * d.taps + j]!;
          dw[c * d.taps + j]! += g * x[xi]!;
        }
      }
    }
  }
  return { dx, dw, db };
}
