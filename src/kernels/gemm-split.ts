/**
 * Split-K for the tiled GEMM core (gemm_tile.wgsl) shared by matmul and conv1d: when a product has few output
 * tiles but a long contraction (weight gradients: [64 x 290] summed over 18,240 rows at v3 batch 1), the K
 * slices are cut into ranges, each workgroup writes f32 partial sums, and gemm_splitk.wgsl adds them in a fixed
 * order and applies bias and activation. The plan depends on the shapes only: the same bits on every run.
 * Measured on the H200 before split-K: that [64 x 290] gradient took 4.8 ms at 0.14 TFLOP/s on 20 workgroups.
 */
import splitSource from '../../shaders/gemm_splitk.wgsl?raw';
import activationSource from '../../shaders/activation.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { packParams } from './layout.ts';

export const GEMM_SPLITK_SHADER = { name: 'gemm_splitk.wgsl', source: `${splitSource}\n${activationSource}` };
export const GEMM_TILE = 32;
export const GEMM_TILE_K = 16;
/** Enough workgroups to fill a large GPU (the H200 has 132 SMs); split only below this. */
const TARGET_WORKGROUPS = 2048;
/** Each split covers at least this many K slices (256 products per output). */
const MIN_SPLIT_TILES = 16;
/** The partials' size cap (also kept under the storage binding limit). */
const MAX_PARTIAL_BYTES = 64 * 1024 * 1024;

export interface GemmShape {
  M: number;
  N: number;
  K: number;
  batches: number;
  sumBatches: number;
}

export interface SplitPlan {
  splits: number;
  /** K slices per split, counted over all sumBatches. */
  splitTiles: number;
  tilesM: number;
  tilesN: number;
  /** Workgroups of the GEMM dispatch. */
  workgroups: number;
  /** f32 partial values (0 without split). */
  partialElements: number;
}

export function splitPlan(g: GemmShape, maxBindingBytes: number, allowSplit = true): SplitPlan {
  const tilesM = Math.ceil(g.M / GEMM_TILE), tilesN = Math.ceil(g.N / GEMM_TILE);
  const tiles = g.batches * tilesM * tilesN;
  const kTiles = g.sumBatches * Math.ceil(g.K / GEMM_TILE_K);
  const cap = Math.floor(Math.min(MAX_PARTIAL_BYTES, maxBindingBytes) / (4 * g.batches * g.M * g.N));
  let splits = allowSplit ? Math.max(1, Math.min(Math.floor(TARGET_WORKGROUPS / Math.max(1, tiles)), Math.floor(kTiles / MIN_SPLIT_TILES), cap)) : 1;
  const splitTiles = Math.max(1, Math.ceil(kTiles / splits));
  splits = Math.max(1, Math.ceil(kTiles / splitTiles));
  return { splits, splitTiles, tilesM, tilesN, workgroups: tiles * splits, partialElements: splits > 1 ? splits * g.batches * g.M * g.N : 0 };
}

export interface SplitCombine {
  shape: GemmShape;
  plan: SplitPlan;
  partial: GpuTensor;
  out: GpuTensor;
  /** Stored row length and batch stride of out. */
  outStride: number;
  outBatch: number;
  bias?: { t: GpuTensor; per: 'column' | 'row' };
  activation: number;
  label: string;
}

/** out = act(sum of the splits + bias), an invocation per output pair. */
export async function combineSplits(s: ComputeSession, c: SplitCombine): Promise<void> {
  const { M, N, batches } = c.shape;
  const pairsPerRow = Math.ceil(N / 2);
  const tensors = c.bias ? [c.partial, c.out, c.bias.t] : [c.partial, c.out];
  await s.dispatch({
    shader: GEMM_SPLITK_SHADER, entry: 'gemm_splitk_final', precision: c.out.precision,
    defines: { BIAS_N: c.bias?.per === 'column', BIAS_M: c.bias?.per === 'row' },
    params: packParams([M, N, batches, c.plan.splits, c.outStride, c.outBatch, pairsPerRow, c.activation]),
    tensors, workgroups: Math.ceil((batches * M * pairsPerRow) / 64), label: `${c.label}.splitk`,
    shapes: `${c.plan.splits} splits of [${batches}x${M}x${N}]`, flops: c.plan.partialElements, bytes: c.plan.partialElements * 4 + c.out.bytes,
  });
}
