// Training-mode dropout with a counter-based mask (shaders/dropout.wgsl): nothing is stored between forward and
// backward; both apply keep(i) / (1 - p) with i the element's logical index in the whole batch.
import source from '../../shaders/dropout.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { expectBindable, innermost, numel, packParams, physicalRow, samePrecision } from './layout.ts';

export const DROPOUT_SHADER = { name: 'dropout.wgsl', source };
const WG = 64;

/** The shader's hash (PCG output permutation), in u32 arithmetic. */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The mask key of one dropout node at one step: the same seed, step and node give the same mask. */
export function dropoutKey(seed: number, step: number, node: number): number {
  return pcgHash((pcgHash((pcgHash(node) ^ step) >>> 0) ^ seed) >>> 0);
}

function threshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  return Math.min(0xffffffff, Math.round(p * 2 ** 32));
}

/** Whether logical element i is kept (the float64 reference's mask). */
export function dropoutKeep(key: number, i: number, p: number): boolean {
  return pcgHash((pcgHash(i) ^ key) >>> 0) >= threshold(p);
}

export interface DropoutOptions {
  p: number;
  key: number;
  /** Logical index of x's first element in the whole batch (micro-batch offset). */
  base: number;
  label?: string;
}

/** y = x * keep / (1 - p). The backward is the same call on dy (same key and base). */
export async function dropout(s: ComputeSession, x: GpuTensor, y: GpuTensor, o: DropoutOptions): Promise<void> {
  samePrecision('dropout', x, y);
  if (x.shape.join(',') !== y.shape.join(',')) throw new Error(`dropout: ${x.label} [${x.shape}] and ${y.label} [${y.shape}] differ in shape`);
  expectBindable('dropout', s, x, y);
  const cols = innermost(x), rows = cols === 0 ? 0 : numel(x.shape) / cols, pairs = Math.ceil(cols / 2);
  if (rows * pairs === 0) return;
  if (!Number.isInteger(o.base) || o.base < 0 || o.base + numel(x.shape) > 2 ** 32) throw new Error(`dropout: base ${o.base} puts indices outside u32`);
  await s.dispatch({
    shader: DROPOUT_SHADER, entry: 'dropout', precision: x.precision,
    params: packParams([rows, cols, physicalRow(x), pairs, o.key >>> 0, o.base, threshold(o.p), { f32: 1 / (1 - o.p) }]),
    tensors: [x, y], workgroups: Math.ceil((rows * pairs) / WG), label: o.label ?? 'dropout', shapes: `[${x.shape}] p ${o.p}`,
    flops: 3 * numel(x.shape), bytes: x.bytes + y.bytes,
  });
}

export function dropoutReference(x: ArrayLike<number>, o: { p: number; key: number; base: number }): Float64Array {
  const scale = Math.fround(1 / (1 - o.p));
  return Float64Array.from({ length: x.length }, (_, i) => (dropoutKeep(o.key, o.base + i, o.p) ? x[i]! * scale : 0));
}
