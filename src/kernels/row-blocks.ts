// How the parameter-gradient kernels (a norm's dgamma, a depthwise conv's dw) split their rows: one invocation per
// (block of rows, column) sums its block serially, a second pass sums the blocks in a fixed order.

/**
 * Invocations the first pass aims for. Each walks its block serially, so too few leave a big GPU idle: at 16K the
 * depthwise conv's dw took 5.7 ms a call in the v3 step at batch 16 on an H100 (94 GB/s), with ~270K invocations
 * resident there. 128K keeps the partials small (4 bytes each per column and tap) and CPU adapters unaffected.
 */
export const PARTIAL_INVOCATIONS = 1 << 17;

/** Blocks of at least `minRows` rows (fewer, longer blocks for small inputs), as many as fill PARTIAL_INVOCATIONS. */
export function rowBlocks(rows: number, cols: number, minRows: number): { blocks: number; blockLen: number } {
  let blocks = Math.max(1, Math.min(Math.ceil(PARTIAL_INVOCATIONS / cols), Math.ceil(rows / minRows)));
  const blockLen = Math.ceil(rows / blocks);
  blocks = Math.ceil(rows / blockLen);
  return { blocks, blockLen };
}
