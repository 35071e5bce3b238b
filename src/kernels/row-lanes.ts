// How the row-wise norms (LayerNorm, gated RMSNorm: forward and dx) spread a row over invocations on a GPU:
// ROW_LANES invocations per row, 64 / ROW_LANES rows per workgroup, the row's sums reduced within its lanes.

/** The norms' workgroup size (WG in shaders/layernorm.wgsl and shaders/gated_rmsnorm.wgsl). */
export const NORM_WG = 64;

let forced: number | undefined;

/**
 * Lanes per row. `oneLane` (the caller's short rows on a CPU adapter): 1, a row per invocation with no barrier;
 * on lavapipe that ran as fast as a dedicated per-row kernel and 2 - 2.4x faster than 4 lanes (2026-12-06).
 * Else about 4 columns a lane, a power of two from 4 to NORM_WG: a workgroup per row (64 lanes) left most of its
 * invocations idle on v3's short rows (H100, batch 16: the edge stream's LayerNorm over 16 columns at 155 GB/s, its
 * gated RMSNorm over 32 at 528 GB/s, the node stream's LayerNorm over 64 at 599 GB/s, against 1,750 GB/s for
 * 128-column rows); these lanes ran them 2.5 - 6x faster (2026-12-06, docs/PERFORMANCE.md).
 */
export function rowLanes(cols: number, oneLane = false): number {
  if (forced !== undefined) return forced;
  if (oneLane) return 1;
  let lanes = 4;
  while (lanes < NORM_WG && lanes * 4 < cols) lanes *= 2;
  return lanes;
}

/** Tests: every later norm dispatch runs this many lanes per row (a power of two <= NORM_WG); undefined: the rule. */
export function forceRowLanes(lanes: number | undefined): void {
  if (lanes !== undefined && !(Number.isInteger(Math.log2(lanes)) && lanes >= 1 && lanes <= NORM_WG)) {
    throw new Error(`forceRowLanes: lanes must be a power of two from 1 to ${NORM_WG}, got ${lanes}`);
  }
  forced = lanes;
}

/** Workgroups for `rows` rows at `lanes` lanes each. */
export function rowLaneWorkgroups(rows: number, lanes: number): number {
  return Math.ceil(rows / (NORM_WG / lanes));
}
