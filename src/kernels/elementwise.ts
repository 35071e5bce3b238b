// Elementwise ops: add, mul, relu, silu, gelu (erf form), softplus, and the unary ops' backward.
import source from '../../shaders/elementwise.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { rowStride } from '../gpu/precision.ts';
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

function geometry(t: GpuTensor): { params: Uint32Array; workgroups: number; count: number } {
  const cols = t.shape.length ? t.shape[t.shape.length - 1]! : 1;
  const count = t.shape.reduce((a, b) => a * b, 1);
  const rows = cols === 0 ? 0 : count / cols;
  const pairs = Math.ceil(cols / 2);
  const params = new Uint32Array([rows, cols, rowStride(cols, t.precision), pairs]);
  return { params, workgroups: Math.ceil((rows * pairs) / WG), count };
}

/** FLOPs per element, as the profiler counts them (transcendentals count 1). */
const UNARY_FLOPS: Record<UnaryOp, number> = { relu: 1, silu: 4, gelu: 12, softplus: 5 };

export async function unary(s: ComputeSession, op: UnaryOp, x: GpuTensor, y: GpuTensor, label: string = op): Promise<void> {
  sameShape(op, x, y);
  const g = geometry(x);
  await s.dispatch({
    shader: ELEMENTWISE_SHADER, entry: op, precision: x.precision, params: g.params, tensors: [x, y],
    workgroups: g.workgroups, label, shapes: `[${x.shape}]`, flops: g.count * UNARY_FLOPS[op], bytes: x.bytes + y.bytes,
  });
}

/** dx = dy * f'(x). */
export async function unaryBackward(s: ComputeSession, op: UnaryOp, x: GpuTensor, dy: GpuTensor, dx: GpuTensor, label = `${op}.bwd`): Promise<void> {
  sameShape(`${op}_bwd`, x, dy, dx);
  const g = geometry(x);
  await s.dispatch({
    shader: ELEMENTWISE_SHADER, entry: `${op}_bwd`, precision: x.precision, params: g.params, tensors: [x, dx, dy],
    workgroups: g.workgroups, label, shapes: `[${x.shape}]`, flops: g.count * (UNARY_FLOPS[op] + 2), bytes: x.bytes + dy.bytes + dx.bytes,
  });
}

export async function binary(s: ComputeSession, op: BinaryOp, a: GpuTensor, b: GpuTensor, y: GpuTensor, label: string = op): Promise<void> {
  sameShape(op, a, b, y);
  const g = geometry(a);
  await s.dispatch({
    shader: ELEMENTWISE_SHADER, entry: op, precision: a.precision, params: g.params, tensors: [a, y, b],
    workgroups: g.workgroups, label, shapes: `[${a.shape}]`, flops: g.count, bytes: a.bytes + b.bytes + y.bytes,
  });
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
