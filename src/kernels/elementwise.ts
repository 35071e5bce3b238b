// Elementwise ops: add, mul, relu, silu, gelu (erf form), softplus, and the unary ops' backward.
import source from '../../shaders/elementwise.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { rowStride, type Precision } from '../gpu/precision.ts';
import { numel, vecLanes } from './layout.ts';
import { erf } from './math.ts';

export const ELEMENTWISE_SHADER = { name: 'elementwise.wgsl', source };
export const UNARY_OPS = ['relu', 'silu', 'gelu', 'softplus'] as const;
export const BINARY_OPS = ['add', 'mul'] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];
export type BinaryOp = (typeof BINARY_OPS)[number];

const WG = 64;

function sameShape(op: string, ...ts: GpuTensor[]): void {
  const s0 = ts[0]!.shape.join('x');
  for (const t of ts) {
    if (t.shape.join('x') !== s0) throw new Error(`${op}: shape [${t.shape}] of ${t.label} differs from [${ts[0]!.shape}]`);
    if (t.precision !== ts[0]!.precision) throw new Error(`${op}: ${t.label} is ${t.precision}, expected ${ts[0]!.precision}`);
  }
}

/** Pipeline constant OP of the VEC entries (shaders/elementwise.wgsl). */
const VEC_OP: Record<string, number> = { add: 0, mul: 1, relu: 2, silu: 3, gelu: 4, softplus: 5, relu_bwd: 6, silu_bwd: 7, gelu_bwd: 8, softplus_bwd: 9 };

/** One dispatch: the entry, its defines and constants, its parameters and workgroups. */
interface Part {
  entry: string;
  defines?: Record<string, boolean>;
  constants?: Record<string, number>;
  params: Uint32Array;
  workgroups: number;
  /** Elements it computes, and whether it is the pairs after the chunks. */
  elements: number;
  tail: boolean;
}

/**
 * The dispatches of one elementwise op on tensors shaped like `t`: 16-byte chunks over the flat array where rows
 * carry no padding (`vector`), then pairs for the remaining elements; pairs row by row otherwise.
 */
export function elementwiseParts(t: { shape: readonly number[]; precision: Precision }, entry: string, binaryEntry: boolean, vector = true): Part[] {
  const cols = t.shape.length ? t.shape[t.shape.length - 1]! : 1;
  const count = t.shape.reduce((a, b) => a * b, 1);
  const rows = cols === 0 ? 0 : count / cols;
  const stride = rowStride(cols, t.precision);
  const lanes = vecLanes(t.precision);
  const chunks = vector && stride === cols ? Math.floor(count / lanes) : 0;
  const parts: Part[] = [];
  if (chunks > 0) {
    parts.push({
      entry: binaryEntry ? 'vec_binary' : 'vec_unary', defines: { VEC: true }, constants: { OP: VEC_OP[entry]! },
      params: new Uint32Array([0, 0, 0, chunks, 0]), workgroups: Math.ceil(chunks / WG), elements: chunks * lanes, tail: false,
    });
    const tail = count - chunks * lanes;
    if (tail > 0) {
      parts.push({
        entry, params: new Uint32Array([1, tail, tail, Math.ceil(tail / 2), chunks * lanes]), workgroups: Math.ceil(Math.ceil(tail / 2) / WG), elements: tail, tail: true,
      });
    }
    return parts;
  }
  const pairs = Math.ceil(cols / 2);
  parts.push({ entry, params: new Uint32Array([rows, cols, stride, pairs, 0]), workgroups: Math.ceil((rows * pairs) / WG), elements: count, tail: false });
  return parts;
}

async function dispatchParts(s: ComputeSession, t: GpuTensor, entry: string, binaryEntry: boolean, vector: boolean, tensors: GpuTensor[], label: string, flops: number, bytes: number): Promise<void> {
  const count = numel(t.shape);
  for (const { entry: e, defines, constants, params, workgroups, elements, tail } of elementwiseParts(t, entry, binaryEntry, vector)) {
    const share = count ? elements / count : 1; // of the op's FLOPs and bytes
    await s.dispatch({
      shader: ELEMENTWISE_SHADER, entry: e, defines, constants, params, workgroups, precision: t.precision, tensors,
      label: tail ? `${label}.tail` : label, shapes: `[${t.shape}]`, flops: flops * share, bytes: bytes * share,
    });
  }
}

/** FLOPs per element, as the profiler counts them (transcendentals count 1). */
const UNARY_FLOPS: Record<UnaryOp, number> = { relu: 1, silu: 4, gelu: 12, softplus: 5 };

/** `vector` false keeps the pair kernel alone (the bench's baseline rows). */
export async function unary(s: ComputeSession, op: UnaryOp, x: GpuTensor, y: GpuTensor, label: string = op, vector = true): Promise<void> {
  sameShape(op, x, y);
  await dispatchParts(s, x, op, false, vector, [x, y], label, numel(x.shape) * UNARY_FLOPS[op], x.bytes + y.bytes);
}

/** dx = dy * f'(x). */
export async function unaryBackward(s: ComputeSession, op: UnaryOp, x: GpuTensor, dy: GpuTensor, dx: GpuTensor, label = `${op}.bwd`, vector = true): Promise<void> {
  sameShape(`${op}_bwd`, x, dy, dx);
  await dispatchParts(s, x, `${op}_bwd`, true, vector, [x, dx, dy], label, numel(x.shape) * (UNARY_FLOPS[op] + 2), x.bytes + dy.bytes + dx.bytes);
}

export async function binary(s: ComputeSession, op: BinaryOp, a: GpuTensor, b: GpuTensor, y: GpuTensor, label: string = op, vector = true): Promise<void> {
  sameShape(op, a, b, y);
  await dispatchParts(s, a, op, true, vector, [a, y, b], label, numel(a.shape), a.bytes + b.bytes + y.bytes);
}

// ---- float64 CPU references ----
export function unaryReference(op: UnaryOp, x: ArrayLike<number>): Float64Array {
  const f: Record<UnaryOp, (v: number) => number> = {
    relu: (v) => Math.max(v, 0),
    silu: (v) => v / (1 + Math.exp(-v)),
    gelu: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
    softplus: (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))),
  };
  return Float64Array.from(x, f[op]);
}

export function unaryBackwardReference(op: UnaryOp, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const d: Record<UnaryOp, (v: number) => number> = {
    relu: (v) => (v > 0 ? 1 : 0),
    silu: (v) => { const s = 1 / (1 + Math.exp(-v)); return s * (1 + v * (1 - s)); },
    gelu: (v) => 0.5 * (1 + erf(v / Math.SQRT2)) + v * Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI),
    softplus: (v) => 1 / (1 + Math.exp(-v)),
  };
  return Float64Array.from(x, (v, i) => dy[i]! * d[op](v));
}

export function binaryReference(op: BinaryOp, a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from(a, (v, i) => (op === 'add' ? v + b[i]! : v * b[i]!));
}
