// How the row-wise norms (LayerNorm, gated RMSNorm: forward and dx) spread a row over invocations on a GPU:
// ROW_LANES invocations per row, 64 / ROW_LANES rows per workgroup, the row's sums reduced within its lanes.

/** The norms' workgroup size (WG in shaders/layernorm.wgsl and shaders/gated_rmsnorm.wgsl). */
export const NORM_WG = 64;

let forced: number | undefined;

/**
 * Lanes per row: about 4 columns a lane, a power of two from 4 to NORM_WG. A workgroup per row (64 lanes) left
 * most of its invocations idle on v3's short rows: the edge stream's LayerNorm over 16 columns ran at 155 GB/s and
 * its gated RMSNorm over 32 at 528 GB/s, the node stream's LayerNorm over 64 at 599 GB/s (H100, batch 16,
 * 2026-12-06), where longer rows (128 columns, a workgroup each) reached 1,750 GB/s.
 */
export function rowLanes(cols: number): number {
  if (forced !== undefined) return forced;
  let lanes = 4;
  while (lanes < NORM_WG && lanes * 4 < cols) lanes *= 2;
  return lanes;
}

/**
 * Tests: every later norm dispatch runs the row-lanes kernels with this many lanes per row (a power of two <=
 * NORM_WG), on CPU adapters too (which otherwise take an invocation per short row); undefined: the rule.
 */
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

/** The lanes forceRowLanes set, if any. */
export function forcedRowLanes(): number | undefined {
  return forced;
}
