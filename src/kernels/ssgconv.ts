// SSGConv propagation (h = alpha x + (1 - alpha)/K sum_k Â^k x) over the B*T graphs, forward and backward.
// The linear layer after it (h W + b) is a matmul. Maths: shaders/ssgconv.wgsl and KERNELS.md.
import source from '../../shaders/ssgconv.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { elementBytes, rowStride, type Precision } from '../gpu/precision.ts';
import { expectBindable, expectPositiveInt, expectShape, packParams, samePrecision } from './layout.ts';
import { type GraphDims, adjacencyShape } from './topk-adjacency.ts';

export const SSGCONV_SHADER = { name: 'ssgconv.wgsl', source };

/** B*T graphs of E nodes with F features each. */
export interface NodeDims extends GraphDims {
  F: number;
}

/**
 * 'sequence-major': (B, E, T, F) or [B*E, T, F], the node stream's output (sequences are (b, electrode));
 * 'graph-major': [B*T, E, F]. h, dx have the layout and shape of x.
 */
export type NodeLayout = 'sequence-major' | 'graph-major';

export interface SsgOptions {
  alpha?: number;
  /** Propagation steps (2); at most 8. */
  K?: number;
  label?: string;
}

export const SSG_DEFAULTS = { alpha: 0.05, K: 2 };
const MAX_NODES = 32;
const MAX_K = 8;

function checkDims(op: string, d: NodeDims, K: number, alpha: number): void {
  expectPositiveInt(op, 'B', d.B);
  expectPositiveInt(op, 'T', d.T);
  expectPositiveInt(op, 'E (nodes)', d.E);
  expectPositiveInt(op, 'F (features)', d.F);
  if (d.E > MAX_NODES) throw new Error(`${op}: E (nodes) is ${d.E}, over the ${MAX_NODES} a workgroup's adjacency tile holds`);
  expectPositiveInt(op, 'K', K);
  if (K > MAX_K) throw new Error(`${op}: K is ${K}, over ${MAX_K}: the backward recomputes z_k per step, a cost growing as K^2`);
  if (!Number.isFinite(alpha)) throw new Error(`${op}: alpha must be a finite number, got ${alpha}`);
}

/** Shapes accepted for x in each layout. */
export function nodeShapes(d: NodeDims, layout: NodeLayout): number[][] {
  return layout === 'graph-major' ? [[d.B * d.T, d.E, d.F]] : [[d.B, d.E, d.T, d.F], [d.B * d.E, d.T, d.F]];
}

/** Strides of b, node, t (f contiguous) for x in `layout`. */
export function nodeStrides(op: string, x: GpuTensor, d: NodeDims, layout: NodeLayout): { b: number; e: number; t: number } {
  const ok = nodeShapes(d, layout).some((s) => s.length === x.shape.length && s.every((v, i) => v === x.shape[i]));
  if (!ok) throw new Error(`${op}: ${x.label} has shape [${x.shape}], expected ${nodeShapes(d, layout).map((s) => `[${s}]`).join(' or ')} (${layout})`);
  const r = rowStride(d.F, x.precision);
  return layout === 'graph-major' ? { b: d.T * d.E * r, e: r, t: d.E * r } : { b: d.E * d.T * r, e: d.T * r, t: r };
}

function params(d: NodeDims, s: { b: number; e: number; t: number }, K: number, alpha: number, p: Precision): Uint32Array {
  return packParams([d.B, d.T, d.E, d.F, K, { f32: alpha }, s.b, s.e, s.t, rowStride(d.E, p), d.B * d.T, 0]);
}

export interface KernelCost {
  flops: number;
  bytes: number;
}

/** Per graph: normalisation (4 per entry), K products (2 E^2 F), the weighted sum (2 per value per step). */
export function ssgconvCost(d: NodeDims, p: Precision, K = SSG_DEFAULTS.K): KernelCost {
  const graphs = d.B * d.T;
  const flops = graphs * (4 * d.E * d.E + K * 2 * d.E * d.E * d.F + (2 * K + 1) * d.E * d.F);
  return { flops, bytes: elementBytes(p) * graphs * (d.E * d.E + 2 * d.E * d.F) };
}

/** Recompute (K-1 products), K transposed products, G (2 E^2 F per step), the dÃ formula (8 per entry). */
export function ssgconvBackwardCost(d: NodeDims, p: Precision, K = SSG_DEFAULTS.K): KernelCost {
  const graphs = d.B * d.T;
  const flops = graphs * (4 * d.E * d.E + (3 * K - 1) * 2 * d.E * d.E * d.F + 2 * K * d.E * d.F + 8 * d.E * d.E);
  return { flops, bytes: elementBytes(p) * graphs * (2 * d.E * d.E + 3 * d.E * d.F) };
}

/**
 * Whether the kernels' loops over nodes run to the pipeline constant E (unrollable, per-column arrays in
 * registers): on GPU adapters; CPU adapters (lavapipe took minutes to compile the unrolled kernels) loop to the
 * uniform.
 */
export function unrollNodes(s: ComputeSession): boolean {
  return !s.gpu.info.cpuAdapter;
}

/** h (layout of x) from node features x and dense adjacency A (B*T, E, E). */
export async function ssgconvPropagate(s: ComputeSession, d: NodeDims, layout: NodeLayout, x: GpuTensor, adj: GpuTensor, h: GpuTensor, opts: SsgOptions = {}): Promise<void> {
  const op = 'ssgconv propagate';
  const K = opts.K ?? SSG_DEFAULTS.K;
  const alpha = opts.alpha ?? SSG_DEFAULTS.alpha;
  checkDims(op, d, K, alpha);
  const p = samePrecision(op, x, adj, h);
  expectBindable(op, s, x, adj, h);
  const xs = nodeStrides(op, x, d, layout);
  expectShape(op, h, x.shape, 'h has the shape of x');
  expectShape(op, adj, adjacencyShape(d), 'dense adjacency (B*T, E, E)');
  await s.dispatch({
    shader: SSGCONV_SHADER, entry: 'ssgconv_propagate', precision: p, defines: { FWD: true, UNROLL: unrollNodes(s) }, constants: { E_N: d.E },
    params: params(d, xs, K, alpha, p), tensors: [x, adj, h], workgroups: d.B * d.T,
    label: opts.label ?? 'gnn.ssg.propagate', shapes: `B ${d.B} T ${d.T} E ${d.E} F ${d.F} K ${K} ${layout}`, ...ssgconvCost(d, p, K),
  });
}

/** dx (layout of x) and dA (B*T, E, E) from dh; Â and the propagation are recomputed per graph. */
export async function ssgconvPropagateBackward(
  s: ComputeSession, d: NodeDims, layout: NodeLayout, x: GpuTensor, adj: GpuTensor, dh: GpuTensor, dx: GpuTensor, dAdj: GpuTensor, opts: SsgOptions = {},
): Promise<void> {
  const op = 'ssgconv propagate backward';
  const K = opts.K ?? SSG_DEFAULTS.K;
  const alpha = opts.alpha ?? SSG_DEFAULTS.alpha;
  checkDims(op, d, K, alpha);
  const p = samePrecision(op, x, adj, dh, dx, dAdj);
  expectBindable(op, s, x, adj, dh, dx, dAdj);
  const xs = nodeStrides(op, x, d, layout);
  expectShape(op, dh, x.shape, 'dh has the shape of x');
  expectShape(op, dx, x.shape, 'dx has the shape of x');
  expectShape(op, adj, adjacencyShape(d), 'dense adjacency (B*T, E, E)');
  expectShape(op, dAdj, adjacencyShape(d), 'gradient of the dense adjacency (B*T, E, E)');
  await s.dispatch({
    shader: SSGCONV_SHADER, entry: 'ssgconv_propagate_bwd', precision: p, defines: { BWD: true, UNROLL: unrollNodes(s) }, constants: { E_N: d.E },
    params: params(d, xs, K, alpha, p), tensors: [x, adj, dh, dx, dAdj], workgroups: d.B * d.T,
    label: opts.label ?? 'gnn.ssg.propagate.bwd', shapes: `B ${d.B} T ${d.T} E ${d.E} F ${d.F} K ${K} ${layout}`, ...ssgconvBackwardCost(d, p, K),
  });
}

// ---- float64 CPU references ----

function hostIndex(d: NodeDims, layout: NodeLayout): (g: number, i: number, f: number) => number {
  return layout === 'graph-major'
    ? (g, i, f) => (g * d.E + i) * d.F + f
    : (g, i, f) => ((Math.floor(g / d.T) * d.E + i) * d.T + (g % d.T)) * d.F + f;
}

/** Ã (self-loops added where A_ii == 0), d, Â of graph g; `added[i]` marks the added loops. */
function normalise(d: NodeDims, A: ArrayLike<number>, g: number): { ahat: Float64Array; deg: Float64Array; added: boolean[] } {
  const E = d.E;
  const at = new Float64Array(E * E);
  for (let i = 0; i < E * E; i++) at[i] = A[g * E * E + i]!;
  const added = Array.from({ length: E }, (_, i) => at[i * E + i] === 0);
  added.forEach((a, i) => { if (a) at[i * E + i] = 1; });
  const deg = new Float64Array(E);
  for (let i = 0; i < E; i++) for (let j = 0; j < E; j++) deg[i] += at[i * E + j]!;
  const ahat = at.map((v, k) => v / Math.sqrt(deg[Math.floor(k / E)]! * deg[k % E]!));
  return { ahat, deg, added };
}

function matVec(E: number, F: number, M: Float64Array, z: Float64Array, transpose: boolean): Float64Array {
  const out = new Float64Array(E * F);
  for (let i = 0; i < E; i++) {
    for (let j = 0; j < E; j++) {
      const m = transpose ? M[j * E + i]! : M[i * E + j]!;
      for (let f = 0; f < F; f++) out[i * F + f] += m * z[j * F + f]!;
    }
  }
  return out;
}

export function ssgconvReference(d: NodeDims, layout: NodeLayout, x: ArrayLike<number>, A: ArrayLike<number>, opts: SsgOptions = {}): Float64Array {
  const K = opts.K ?? SSG_DEFAULTS.K;
  const alpha = opts.alpha ?? SSG_DEFAULTS.alpha;
  const idx = hostIndex(d, layout);
  const h = new Float64Array(x.length);
  for (let g = 0; g < d.B * d.T; g++) {
    const { ahat } = normalise(d, A, g);
    let z: Float64Array = new Float64Array(d.E * d.F);
    for (let i = 0; i < d.E; i++) for (let f = 0; f < d.F; f++) z[i * d.F + f] = x[idx(g, i, f)]!;
    const acc = z.map((v) => alpha * v);
    for (let k = 1; k <= K; k++) {
      z = matVec(d.E, d.F, ahat, z, false);
      z.forEach((v, i) => { acc[i] += ((1 - alpha) / K) * v; });
    }
    for (let i = 0; i < d.E; i++) for (let f = 0; f < d.F; f++) h[idx(g, i, f)] = acc[i * d.F + f]!;
  }
  return h;
}

/** dx (layout of x) and dA (B*T, E, E) by reverse-mode through z_k and through Â = Ã / sqrt(d_i d_j). */
export function ssgconvBackwardReference(d: NodeDims, layout: NodeLayout, x: ArrayLike<number>, A: ArrayLike<number>, dh: ArrayLike<number>, opts: SsgOptions = {}): { dx: Float64Array; dA: Float64Array } {
  const K = opts.K ?? SSG_DEFAULTS.K;
  const alpha = opts.alpha ?? SSG_DEFAULTS.alpha;
  const c = (1 - alpha) / K;
  const { E, F } = d;
  const idx = hostIndex(d, layout);
  const dx = new Float64Array(x.length);
  const dA = new Float64Array(d.B * d.T * E * E);
  for (let g = 0; g < d.B * d.T; g++) {
    const { ahat, deg, added } = normalise(d, A, g);
    const zs: Float64Array[] = [new Float64Array(E * F)];
    const gh = new Float64Array(E * F);
    for (let i = 0; i < E; i++) {
      for (let f = 0; f < F; f++) { zs[0]![i * F + f] = x[idx(g, i, f)]!; gh[i * F + f] = dh[idx(g, i, f)]!; }
    }
    for (let k = 1; k < K; k++) zs.push(matVec(E, F, ahat, zs[k - 1]!, false));
    // gz_k: total gradient reaching z_k; G = dL/dÂ.
    let gz: Float64Array = gh.map((v) => c * v);
    const G = new Float64Array(E * E);
    for (let k = K; k >= 1; k--) {
      const zp = zs[k - 1]!;
      for (let i = 0; i < E; i++) for (let j = 0; j < E; j++) for (let f = 0; f < F; f++) G[i * E + j] += gz[i * F + f]! * zp[j * F + f]!;
      const back = matVec(E, F, ahat, gz, true);
      gz = back.map((v, i) => v + (k > 1 ? c : alpha) * gh[i]!);
    }
    for (let i = 0; i < E; i++) for (let f = 0; f < F; f++) dx[idx(g, i, f)] = gz[i * F + f]!;
    // Â_kl = Ã_kl (d_k d_l)^-1/2 with d_i = sum_j Ã_ij: an entry Ã_ij moves Â_ij directly and every Â_il, Â_li through d_i.
    for (let i = 0; i < E; i++) {
      let r = 0;
      for (let l = 0; l < E; l++) r += G[i * E + l]! * ahat[i * E + l]! + G[l * E + i]! * ahat[l * E + i]!;
      for (let j = 0; j < E; j++) {
        const v = G[i * E + j]! / Math.sqrt(deg[i]! * deg[j]!) - r / (2 * deg[i]!);
        dA[(g * E + i) * E + j] = i === j && added[i] ? 0 : v;
      }
    }
  }
  return { dx, dA };
}
