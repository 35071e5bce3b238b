/**
 * The three precision modes (ARCHITECTURE.md):
 * - 'f32': reference;
 * - 'f16-storage': tensors stored as packed halves (two per u32), arithmetic in f32; every adapter;
 * - 'f16': native `enable f16;` arithmetic (adapter feature shader-f16), f32 accumulators.
 */
export type Precision = 'f32' | 'f16-storage' | 'f16';
export const PRECISIONS: readonly Precision[] = ['f32', 'f16-storage', 'f16'];

export function isPrecision(s: string): s is Precision {
  return (PRECISIONS as readonly string[]).includes(s);
}

/** Bytes per stored element. */
export function elementBytes(p: Precision): number {
  return p === 'f32' ? 4 : 2;
}

/**
 * Physical length of a tensor's innermost dimension. Packed halves go two to a u32 word, and an invocation
 * must own whole words, so in 'f16-storage' rows are padded to an even length: a word never spans two rows.
 */
export function rowStride(innermost: number, p: Precision): number {
  return p === 'f16-storage' ? innermost + (innermost & 1) : innermost;
}

/** Stored elements of a tensor of this shape (row padding included). */
export function physicalElements(shape: readonly number[], p: Precision): number {
  if (shape.length === 0) return rowStride(1, p);
  const inner = shape[shape.length - 1]!;
  let rows = 1;
  for (let i = 0; i < shape.length - 1; i++) rows *= shape[i]!;
  return rows * rowStride(inner, p);
}

/**
 * Buffer bytes for a tensor, rounded up to a whole pair of elements: kernels work on element pairs, and the
 * odd element after the last one may be read (never written) without leaving the buffer.
 */
export function tensorBytes(shape: readonly number[], p: Precision): number {
  const n = physicalElements(shape, p);
  return (n + (n & 1)) * elementBytes(p);
}
