/**
 * Split-K for the GEMM cores (gemm_tile.wgsl, gemm_subgroup_matrix.wgsl) shared by matmul and conv1d, and the
 * rule that picks their tile per shape (pickGemmTile): when a product has few output
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

/** The GEMM cores' two tiles of C (gemm_tile.wgsl, gemm_subgroup_matrix.wgsl: GEMM_LARGE) and their K slices. */
export type GemmTile = 'small' | 'large';
export const GEMM_TILES: Record<GemmTile, { M: number; N: number; K: number }> = {
  small: { M: 32, N: 32, K: 16 },
  large: { M: 64, N: 64, K: 32 },
};
/** Enough small-tile workgroups to fill a large GPU (the H200 has 132 SMs); split only below this much work. */
const TARGET_WORKGROUPS = 2048;
/** Each split covers at least this many products per output. */
const MIN_SPLIT_PRODUCTS = 256;
/**
 * The large tile needs at least this many workgroups (output tiles times K splits; two per SM on the H100's and
 * H200's 132): below it the small tile's 4x as many workgroups keep more SMs busy. Not measured: the lead's
 * bench sets it.
 */
export const LARGE_TILE_MIN_WORKGROUPS = 264;
/** The partials' size cap (also kept under the storage binding limit). */
const MAX_PARTIAL_BYTES = 64 * 1024 * 1024;
/** ... and may pad M x N to at most this multiple of the small tile's padded area. */
const LARGE_TILE_MAX_PADDING = 1.25;

/**
 * The tile for a GEMM, by a written rule: large where M and N are both at least 64, the large tile's plan (with
 * split-K where the caller allows it) has at least LARGE_TILE_MIN_WORKGROUPS workgroups, and rounding M and N up
 * to 64 instead of 32 adds at most a quarter; else small (Mamba projections with a small N, the head, short
 * sequences at batch 1).
 */
export function pickGemmTile(g: GemmShape, allowSplit = false, maxBindingBytes = 2 ** 31): GemmTile {
  const L = GEMM_TILES.large, S = GEMM_TILES.small;
  if (g.M < L.M || g.N < L.N) return 'small';
  if (splitPlan(g, maxBindingBytes, allowSplit, 'large').workgroups < LARGE_TILE_MIN_WORKGROUPS) return 'small';
  const up = (v: number, t: number) => Math.ceil(v / t) * t;
  return up(g.M, L.M) * up(g.N, L.N) <= LARGE_TILE_MAX_PADDING * up(g.M, S.M) * up(g.N, S.N) ? 'large' : 'small';
}

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

/** Workgroups of `tile` over the output and the K slices cut into splits (the same numbers the cores use). */
export function splitPlan(g: GemmShape, maxBindingBytes: number, allowSplit = true, tile: GemmTile = 'small'): SplitPlan {
  const T = GEMM_TILES[tile];
  const tilesM = Math.ceil(g.M / T.M), tilesN = Math.ceil(g.N / T.N);
  const tiles = g.batches * tilesM * tilesN;
  const kTiles = g.sumBatches * Math.ceil(g.K / T.K);
  const cap = Math.floor(Math.min(MAX_PARTIAL_BYTES, maxBindingBytes) / (4 * g.batches * g.M * g.N));
  // A large tile is 4 small ones' work: it needs a quarter as many workgroups to fill the GPU.
  const target = (TARGET_WORKGROUPS * GEMM_TILES.small.M * GEMM_TILES.small.N) / (T.M * T.N);
  let splits = allowSplit ? Math.max(1, Math.min(Math.floor(target / Math.max(1, tiles)), Math.floor(kTiles / (MIN_SPLIT_PRODUCTS / T.K)), cap)) : 1;
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
