// Data movement: permute (materialised, with broadcast), repack for reshapes that change the innermost length,
// and concatenation on the last axis (numpy broadcasting of the leading axes).
import source from '../../shaders/layout.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { innermost, numel, physicalRow, samePrecision, vecLanes } from './layout.ts';

export const LAYOUT_SHADER = { name: 'layout.wgsl', source };
const WG = 64;
const MAX_RANK = 8;

/** Physical element strides of a tensor (the innermost rows may be padded). */
export function physicalStrides(t: GpuTensor): number[] {
  const r = t.shape.length;
  const strides = new Array<number>(r).fill(1);
  if (r === 0) return strides;
  let acc = physicalRow(t);
  for (let d = r - 2; d >= 0; d--) {
    strides[d] = acc;
    acc *= t.shape[d]!;
  }
  return strides;
}

/** The Params of shaders/layout.wgsl. `perRow`: what one row of y holds in the kernel's units (pairs, or chunks). */
function packParams(y: GpuTensor, split: number, inCols: number, inStride: number, aStrides: number[], bStrides: number[], perRow = Math.ceil(innermost(y) / 2)): Uint32Array {
  const r = y.shape.length;
  if (r < 1 || r > MAX_RANK) throw new Error(`layout: rank ${r} of ${y.label} is outside 1..${MAX_RANK}`);
  const cols = innermost(y);
  const words = new Uint32Array(8 + 3 * 8);
  words.set([r, numel(y.shape) / cols, cols, physicalRow(y), perRow, split, inCols, inStride]);
  words.set(y.shape, 8);
  words.set(aStrides, 16);
  words.set(bStrides, 24);
  return words;
}

async function run(s: ComputeSession, entry: string, y: GpuTensor, tensors: GpuTensor[], params: Uint32Array, label: string, bytes: number): Promise<void> {
  const cols = innermost(y);
  const pairs = (numel(y.shape) / cols) * Math.ceil(cols / 2);
  await s.dispatch({
    shader: LAYOUT_SHADER, entry, precision: y.precision, params, tensors: tensors.length > 1 ? [tensors[0]!, y, tensors[1]!] : [tensors[0]!, y],
    workgroups: Math.ceil(pairs / WG), label, shapes: `[${y.shape}]`, flops: 0, bytes,
  });
}

/** y = x.permute(perm), materialised (torch semantics: y.shape[i] = x.shape[perm[i]]). */
export async function permute(s: ComputeSession, x: GpuTensor, perm: readonly number[], y: GpuTensor, label = 'permute'): Promise<void> {
  samePrecision('permute', x, y);
  const r = x.shape.length;
  if (perm.length !== r || [...perm].sort((a, b) => a - b).some((v, i) => v !== i)) throw new Error(`permute: [${perm}] is not a permutation of 0..${r - 1}`);
  const want = perm.map((p) => x.shape[p]!);
  if (want.join(',') !== y.shape.join(',')) throw new Error(`permute: ${y.label} has shape [${y.shape}], expected [${want}]`);
  const xs = physicalStrides(x);
  await run(s, 'gather', y, [x], packParams(y, 0, 0, 0, perm.map((p) => xs[p]!), []), label, x.bytes + y.bytes);
}

/** Row-major reinterpretation whose physical layout differs (f16-storage with a changed innermost length). */
export async function repack(s: ComputeSession, x: GpuTensor, y: GpuTensor, label = 'repack'): Promise<void> {
  samePrecision('repack', x, y);
  if (numel(x.shape) !== numel(y.shape)) throw new Error(`repack: ${x.label} [${x.shape}] and ${y.label} [${y.shape}] hold different element counts`);
  await run(s, 'repack', y, [x], packParams(y, 0, innermost(x), physicalRow(x), [], []), label, x.bytes + y.bytes);
}

/** Strides of `x` seen from an output of rank r with numpy right-aligned broadcasting (0 where broadcast). */
function broadcastStrides(x: GpuTensor, y: GpuTensor): number[] {
  const r = y.shape.length, xr = x.shape.length, xs = physicalStrides(x);
  const out = new Array<number>(r).fill(0);
  for (let d = 0; d < r - 1; d++) {
    const xd = d - (r - xr);
    if (xd < 0) continue;
    const n = x.shape[xd]!;
    if (n !== 1 && n !== y.shape[d]) throw new Error(`concat: ${x.label} [${x.shape}] does not broadcast to [${y.shape}] on axis ${d}`);
    out[d] = n === 1 ? 0 : xs[xd]!;
  }
  out[r - 1] = 1;
  return out;
}

/**
 * y = concat([a, b], axis = -1), leading axes broadcast numpy-style. Without broadcast or row padding, and rows of
 * whole 16-byte chunks, one invocation per chunk (`concat_chunks`); else the strided pair kernel.
 */
export async function concatLast(s: ComputeSession, a: GpuTensor, b: GpuTensor, y: GpuTensor, label = 'concat'): Promise<void> {
  samePrecision('concat', a, b, y);
  const fa = innermost(a), fb = innermost(b);
  if (fa + fb !== innermost(y)) throw new Error(`concat: last axes ${fa} + ${fb} != ${innermost(y)} of ${y.label}`);
  const lanes = vecLanes(y.precision);
  const lead = (t: GpuTensor) => t.shape.slice(0, -1).join(',');
  const chunked = [a, b, y].every((t) => physicalRow(t) === innermost(t) && innermost(t) % lanes === 0) && lead(a) === lead(y) && lead(b) === lead(y);
  if (chunked) {
    await s.dispatch({
      shader: LAYOUT_SHADER, entry: 'concat_chunks', precision: y.precision, defines: { VEC: true },
      params: packParams(y, fa / lanes, 0, 0, [], [], innermost(y) / lanes), tensors: [a, y, b],
      workgroups: Math.ceil(numel(y.shape) / lanes / WG), label, shapes: `[${y.shape}] chunks`, flops: 0, bytes: a.bytes + b.bytes + y.bytes,
    });
    return;
  }
  await run(s, 'concat2', y, [a, b], packParams(y, fa, 0, 0, broadcastStrides(a, y), broadcastStrides(b, y)), label, a.bytes + b.bytes + y.bytes);
}

// ---- float64 CPU references ----
export function permuteReference(x: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): Float64Array {
  const r = shape.length, outShape = perm.map((p) => shape[p]!);
  const strides = shape.map((_, i) => numel(shape.slice(i + 1)));
  const y = new Float64Array(numel(shape));
  for (let o = 0; o < y.length; o++) {
    let rest = o, src = 0;
    for (let d = r - 1; d >= 0; d--) {
      src += (rest % outShape[d]!) * strides[perm[d]!]!;
      rest = Math.floor(rest / outShape[d]!);
    }
    y[o] = x[src]!;
  }
  return y;
}

export function concatLastReference(a: ArrayLike<number>, aShape: readonly number[], b: ArrayLike<number>, bShape: readonly number[], outShape: readonly number[]): Float64Array {
  const r = outShape.length, F = outShape[r - 1]!, rows = numel(outShape) / F;
  const y = new Float64Array(rows * F);
  const srcRow = (shape: readonly number[], idx: number[]) => {
    let row = 0;
    for (let d = 0; d < shape.length - 1; d++) row = row * shape[d]! + (shape[d] === 1 ? 0 : idx[d + (r - shape.length)]!);
    return row;
  };
  for (let row = 0; row < rows; row++) {
    const idx: number[] = [];
    for (let d = r - 2, rest = row; d >= 0; d--) { idx[d] = rest % outShape[d]!; rest = Math.floor(rest / outShape[d]!); }
    const fa = aShape[aShape.length - 1]!, fb = bShape[bShape.length - 1]!;
    for (let c = 0; c < fa; c++) y[row * F + c] = a[srcRow(aShape, idx) * fa + c]!;
    for (let c = 0; c < fb; c++) y[row * F + fa + c] = b[srcRow(bShape, idx) * fb + c]!;
  }
  return y;
}
