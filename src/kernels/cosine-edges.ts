// Cosine edge features between the electrodes' feature vectors, forward and backward. Maths: shaders/cosine_edges.wgsl.
import source from '../../shaders/cosine_edges.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { elementBytes, rowStride, type Precision } from '../gpu/precision.ts';
import { expectBindable, expectPositiveInt, numel, packParams, samePrecision } from './layout.ts';

export const COSINE_EDGES_SHADER = { name: 'cosine_edges.wgsl', source };

/** B batch, E electrodes (19), T steps, D features per electrode (64). */
export interface ElectrodeDims {
  B: number;
  E: number;
  T: number;
  D: number;
}

/**
 * Memory order of the electrode features, outermost first. 'BETD': (B, 19, T, 64), the node stream's input;
 * 'BEDT': the channels-first 1x1 conv output (B, 19*64, T) as it lies; 'BTED': a channels-last conv output
 * (B, T, 19*64). The tensor's own shape may merge neighbouring axes (e.g. [B, E*D, T] for 'BEDT').
 */
export type ElectrodeLayout = 'BETD' | 'BEDT' | 'BTED';

/** Element strides of the logical axes b, e, t, d. */
export interface AxisStrides {
  b: number;
  e: number;
  t: number;
  d: number;
}

export const COSINE_EPS = 1e-8;
export const MAX_ELECTRODES = 32;

export function pairCount(E: number): number {
  return (E * (E - 1)) / 2;
}

/** Index of pair (i, j), i < j, in row-major order. */
export function pairIndex(E: number, i: number, j: number): number {
  const [lo, hi] = i < j ? [i, j] : [j, i];
  return lo * E - (lo * (lo + 1)) / 2 + (hi - lo - 1);
}

function extents(d: ElectrodeDims, layout: ElectrodeLayout): [string, number][] {
  return [...layout].map((a) => [a.toLowerCase(), d[a as keyof ElectrodeDims]]);
}

/**
 * Strides of (b, e, t, d) in a tensor holding the features in `layout` order, shape `shape` (whose last
 * dimension must be a product of trailing layout axes), with f16-storage row padding when `precision` says so.
 */
export function layoutStrides(op: string, shape: readonly number[], d: ElectrodeDims, layout: ElectrodeLayout, precision: Precision | 'logical'): AxisStrides {
  const ax = extents(d, layout);
  if (numel(shape) !== d.B * d.E * d.T * d.D) {
    throw new Error(`${op}: shape [${shape}] holds ${numel(shape)} values, expected B*E*T*D = ${d.B}*${d.E}*${d.T}*${d.D} (layout ${layout})`);
  }
  const inner = shape[shape.length - 1]!;
  let k = 3;
  let prod = ax[3]![1];
  while (k > 0 && prod < inner) prod *= ax[--k]![1];
  if (prod !== inner) {
    throw new Error(`${op}: the last dimension of [${shape}] is ${inner}, not a product of trailing ${layout} axes (${ax.map(([n, v]) => `${n.toUpperCase()} ${v}`).join(', ')})`);
  }
  const row = precision === 'logical' ? inner : rowStride(inner, precision);
  const out: Record<string, number> = {};
  let s = 1;
  for (let i = 3; i >= 0; i--) {
    if (i === k - 1) s = row; // first axis outside the row
    out[ax[i]![0]] = s;
    s *= ax[i]![1];
  }
  return out as unknown as AxisStrides;
}

function checkDims(op: string, d: ElectrodeDims): void {
  expectPositiveInt(op, 'B', d.B);
  expectPositiveInt(op, 'E (electrodes)', d.E, 2);
  expectPositiveInt(op, 'T', d.T);
  expectPositiveInt(op, 'D (features)', d.D);
  if (d.E > MAX_ELECTRODES) throw new Error(`${op}: E (electrodes) is ${d.E}, over the ${MAX_ELECTRODES} one workgroup holds`);
}

/** out / g: (B, pairs, T) with T innermost (or [B*pairs, T]). */
function edgeStrides(op: string, t: GpuTensor, d: ElectrodeDims): { b: number; p: number } {
  const P = pairCount(d.E);
  const inner = t.shape[t.shape.length - 1];
  if (inner !== d.T || numel(t.shape) !== d.B * P * d.T) {
    throw new Error(`${op}: ${t.label} must be (B, pairs, T) = (${d.B}, ${P}, ${d.T}) with T innermost, got shape [${t.shape}]`);
  }
  const row = rowStride(d.T, t.precision);
  return { b: P * row, p: row };
}

function params(d: ElectrodeDims, u: AxisStrides, e: { b: number; p: number }, du: AxisStrides = { b: 0, e: 0, t: 0, d: 0 }, pairT = 0): Uint32Array {
  return packParams([
    d.B, d.E, d.T, d.D,
    pairCount(d.E), Math.ceil(d.T / 2), u.b, u.e,
    u.t, u.d, e.b, e.p,
    du.b, du.e, du.t, du.d,
    pairT, 0, 0, 0,
  ]);
}

export interface KernelCost {
  flops: number;
  bytes: number;
}

/** Norms (2D per electrode), dots (2D per pair), the division (3 per pair); per (b, t). */
export function cosineEdgesCost(d: ElectrodeDims, p: Precision): KernelCost {
  const P = pairCount(d.E);
  const steps = d.B * d.T;
  return { flops: steps * (d.E * 2 * d.D + P * (2 * d.D + 3)), bytes: elementBytes(p) * steps * (d.E * d.D + P) };
}

/** Forward recomputation plus 5 flops per (pair, feature) and electrode terms. */
export function cosineEdgesBackwardCost(d: ElectrodeDims, p: Precision): KernelCost {
  const P = pairCount(d.E);
  const steps = d.B * d.T;
  const flops = steps * (d.E * 2 * d.D + P * (2 * d.D + 3) + d.E * d.E * 2 + d.E * d.D * (4 * (d.E - 1) + 4));
  return { flops, bytes: elementBytes(p) * steps * (2 * d.E * d.D + P) };
}

/** s (B, pairs, T) from electrode features u (any ElectrodeLayout). */
export async function cosineEdges(s: ComputeSession, d: ElectrodeDims, u: GpuTensor, layout: ElectrodeLayout, out: GpuTensor, label = 'edges.cosine'): Promise<void> {
  const op = 'cosine edges';
  checkDims(op, d);
  const p = samePrecision(op, u, out);
  expectBindable(op, s, u, out);
  const us = layoutStrides(`${op}: ${u.label}`, u.shape, d, layout, p);
  const os = edgeStrides(op, out, d);
  await s.dispatch({
    shader: COSINE_EDGES_SHADER, entry: 'cosine_edges', precision: p, defines: { FWD: true },
    params: params(d, us, os), tensors: [u, out], workgroups: d.B * Math.ceil(d.T / 2),
    label, shapes: `B ${d.B} E ${d.E} T ${d.T} D ${d.D} ${layout}`, ...cosineEdgesCost(d, p),
  });
}

/**
 * du (same layout and shape as u, written whole) from g = dL/ds (B, pairs, T). du must have d or t contiguous;
 * in f16-storage its other strides must be even (a packed word never spans two electrodes).
 */
export async function cosineEdgesBackward(s: ComputeSession, d: ElectrodeDims, u: GpuTensor, layout: ElectrodeLayout, g: GpuTensor, du: GpuTensor, label = 'edges.cosine.bwd'): Promise<void> {
  const op = 'cosine edges backward';
  checkDims(op, d);
  const p = samePrecision(op, u, g, du);
  expectBindable(op, s, u, g, du);
  const us = layoutStrides(`${op}: ${u.label}`, u.shape, d, layout, p);
  const ds = layoutStrides(`${op}: ${du.label}`, du.shape, d, layout, p);
  const gs = edgeStrides(op, g, d);
  const pairT = ds.t === 1 ? 1 : 0;
  if (ds.t !== 1 && ds.d !== 1) throw new Error(`${op}: ${du.label} needs t or d contiguous (layout ${layout}, shape [${du.shape}])`);
  if (p === 'f16-storage') {
    const odd = (['b', 'e', 't', 'd'] as const).filter((a) => ds[a] !== 1 && ds[a] % 2 !== 0);
    if (odd.length) throw new Error(`${op}: in f16-storage ${du.label} [${du.shape}] has odd ${odd.join(', ')} strides: a packed pair of halves would span two electrodes`);
  }
  await s.dispatch({
    shader: COSINE_EDGES_SHADER, entry: 'cosine_edges_bwd', precision: p, defines: { BWD: true },
    params: params(d, us, gs, ds, pairT), tensors: [u, g, du], workgroups: d.B * Math.ceil(d.T / 2),
    label, shapes: `B ${d.B} E ${d.E} T ${d.T} D ${d.D} ${layout}`, ...cosineEdgesBackwardCost(d, p),
  });
}

// ---- float64 CPU references (u as a host array in `layout` order) ----

function hostView(d: ElectrodeDims, layout: ElectrodeLayout, u: ArrayLike<number>): (b: number, e: number, t: number, k: number) => number {
  const st = layoutStrides('reference', [numel([d.B, d.E, d.T, d.D])], d, layout, 'logical');
  return (b, e, t, k) => u[b * st.b + e * st.e + t * st.t + k * st.d]!;
}

/** s (B, pairs, T). */
export function cosineEdgesReference(d: ElectrodeDims, layout: ElectrodeLayout, u: ArrayLike<number>): Float64Array {
  const at = hostView(d, layout, u);
  const P = pairCount(d.E);
  const out = new Float64Array(d.B * P * d.T);
  for (let b = 0; b < d.B; b++) {
    for (let t = 0; t < d.T; t++) {
      const norm = Array.from({ length: d.E }, (_, e) => Math.sqrt(Array.from({ length: d.D }, (_, k) => at(b, e, t, k) ** 2).reduce((a, v) => a + v, 0)));
      for (let i = 0; i < d.E; i++) {
        for (let j = i + 1; j < d.E; j++) {
          let dot = 0;
          for (let k = 0; k < d.D; k++) dot += at(b, i, t, k) * at(b, j, t, k);
          out[(b * P + pairIndex(d.E, i, j)) * d.T + t] = dot / ((norm[i]! + COSINE_EPS) * (norm[j]! + COSINE_EPS));
        }
      }
    }
  }
  return out;
}

/** du in the same layout as u, by the chain rule through the norms (independent of the kernel's formula). */
export function cosineEdgesBackwardReference(d: ElectrodeDims, layout: ElectrodeLayout, u: ArrayLike<number>, g: ArrayLike<number>): Float64Array {
  const st = layoutStrides('reference', [numel([d.B, d.E, d.T, d.D])], d, layout, 'logical');
  const idx = (b: number, e: number, t: number, k: number) => b * st.b + e * st.e + t * st.t + k * st.d;
  const P = pairCount(d.E);
  const du = new Float64Array(u.length);
  for (let b = 0; b < d.B; b++) {
    for (let t = 0; t < d.T; t++) {
      const norm = Array.from({ length: d.E }, (_, e) => Math.sqrt(Array.from({ length: d.D }, (_, k) => u[idx(b, e, t, k)]! ** 2).reduce((a, v) => a + v, 0)));
      for (let i = 0; i < d.E; i++) {
        for (let j = i + 1; j < d.E; j++) {
          const gij = g[(b * P + pairIndex(d.E, i, j)) * d.T + t]!;
          let dot = 0;
          for (let k = 0; k < d.D; k++) dot += u[idx(b, i, t, k)]! * u[idx(b, j, t, k)]!;
          const qi = norm[i]! + COSINE_EPS, qj = norm[j]! + COSINE_EPS;
          // s = dot / (qi qj): ds/du_i = u_j / (qi qj) - dot / (qi^2 qj) * u_i / |u_i|, and symmetrically for j.
          for (let k = 0; k < d.D; k++) {
            const ui = u[idx(b, i, t, k)]!, uj = u[idx(b, j, t, k)]!;
            const ri = norm[i]! > 0 ? ui / norm[i]! : 0, rj = norm[j]! > 0 ? uj / norm[j]! : 0;
            du[idx(b, i, t, k)] += gij * (uj / (qi * qj) - (dot / (qi * qi * qj)) * ri);
            du[idx(b, j, t, k)] += gij * (ui / (qi * qj) - (dot / (qi * qj * qj)) * rj);
          }
        }
      }
    }
  }
  return du;
}
