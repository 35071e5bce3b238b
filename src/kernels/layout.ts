// Shape checks and physical layout facts shared by the kernel modules.
import type { GpuTensor } from '../gpu/arena.ts';
import type { ComputeSession } from '../gpu/session.ts';
import { rowStride, type Precision } from '../gpu/precision.ts';

/** Number of logical elements of a shape (1 for a scalar []). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The innermost (row) length of a tensor: what row padding applies to. */
/** Elements per 16-byte chunk (the VEC kernels' access: 4 f32, or 8 halves in both f16 modes). */
export function vecLanes(p: Precision): number {
  return p === 'f32' ? 4 : 2 * 4;
}

export function innermost(t: { shape: readonly number[] }): number {
  return t.shape.length ? t.shape[t.shape.length - 1]! : 1;
}

/** Physical length of the tensor's innermost rows (even in f16-storage). */
export function physicalRow(t: { shape: readonly number[]; precision: Precision }): number {
  return rowStride(innermost(t), t.precision);
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Throws unless `t` has exactly `rank` dimensions; names them so the message says which is which. */
export function expectRank(op: string, t: GpuTensor, dims: readonly string[]): void {
  if (t.shape.length !== dims.length) {
    throw new Error(`${op}: ${t.label} must be [${dims.join(', ')}], got shape ${fmt(t.shape)} (rank ${t.shape.length})`);
  }
}

/** Throws unless dimension `axis` of `t` equals `want`; `dim` names the dimension in the message. */
export function expectDim(op: string, t: GpuTensor, axis: number, dim: string, want: number, why = ''): void {
  const got = t.shape[axis];
  if (got !== want) {
    throw new Error(`${op}: ${t.label} dimension ${axis} (${dim}) is ${got}, expected ${want}${why ? ` (${why})` : ''}; shape ${fmt(t.shape)}`);
  }
}

export function expectShape(op: string, t: GpuTensor, want: readonly number[], why = ''): void {
  if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
    throw new Error(`${op}: ${t.label} has shape ${fmt(t.shape)}, expected ${fmt(want)}${why ? ` (${why})` : ''}`);
  }
}

/** Every tensor in the precision of the first; stats tensors are checked separately with expectF32. */
export function samePrecision(op: string, ...ts: GpuTensor[]): Precision {
  const p = ts[0]!.precision;
  for (const t of ts) {
    if (t.precision !== p) throw new Error(`${op}: ${t.label} is ${t.precision}, expected ${p} like ${ts[0]!.label}`);
  }
  return p;
}

/** Saved statistics (means, reciprocal norms) are always f32, whatever the precision of the activations. */
export function expectF32(op: string, t: GpuTensor): void {
  if (t.precision !== 'f32') throw new Error(`${op}: ${t.label} holds saved statistics and must be f32, got ${t.precision}`);
}

/**
 * Every tensor must fit one storage binding (maxStorageBufferBindingSize: 128 MiB on lavapipe, 2 GiB - 4 on the
 * H200). Larger tensors must be split by the caller into several dispatches; this names the one that does not fit.
 */
export function expectBindable(op: string, s: ComputeSession, ...ts: GpuTensor[]): void {
  const max = s.device.limits.maxStorageBufferBindingSize;
  for (const t of ts) {
    if (t.bytes > max) {
      throw new Error(`${op}: ${t.label} ${fmt(t.shape)} ${t.precision} is ${t.bytes} bytes, over this adapter's maxStorageBufferBindingSize (${max}): split it into several dispatches`);
    }
  }
}

export function expectPositiveInt(op: string, name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`${op}: ${name} must be an integer >= ${min}, got ${v}`);
}

/**
 * The same buffer seen with another shape. Only shapes with the same innermost length keep the physical layout
 * in every precision (f16-storage pads rows), so that is required.
 */
export function viewAs(t: GpuTensor, shape: readonly number[], label = t.label): GpuTensor {
  if (numel(shape) !== numel(t.shape) || innermost({ shape }) !== innermost(t)) {
    throw new Error(`viewAs: ${t.label} ${fmt(t.shape)} cannot be viewed as ${fmt(shape)} (element count and innermost length must match)`);
  }
  return { ...t, shape: [...shape], label };
}

/** Packs a kernel's uniform parameter struct: u32 fields, or f32 fields written as { f32: value }. */
export function packParams(fields: readonly (number | { f32: number })[]): Uint32Array {
  const words = new Uint32Array(fields.length);
  const floats = new Float32Array(words.buffer);
  fields.forEach((f, i) => {
    if (typeof f === 'number') {
      if (!Number.isInteger(f) || f < 0 || f > 0xffffffff) throw new Error(`packParams: field ${i} = ${f} is not a u32`);
      words[i] = f;
    } else {
      floats[i] = f.f32;
    }
  });
  return words;
}
