// Top-k adjacency per (b, t) from the edge weights, forward and backward. Rule: shaders/topk_adjacency.wgsl.
import source from '../../shaders/topk_adjacency.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { elementBytes, rowStride, type Precision } from '../gpu/precision.ts';
import { expectBindable, expectPositiveInt, expectShape, numel, packParams, samePrecision } from './layout.ts';
import { pairCount, pairIndex } from './cosine-edges.ts';

export const TOPK_ADJACENCY_SHADER = { name: 'topk_adjacency.wgsl', source };

/** B batch, T steps, E nodes (19): B*T graphs. */
export interface GraphDims {
  B: number;
  T: number;
  E: number;
}

export interface TopkOptions {
  /** Entries kept per row (3). */
  k?: number;
  /** Kept entries must exceed it; a row of A summing below it gets a self-loop (1e-4). */
  threshold?: number;
  label?: string;
}

export const TOPK_DEFAULTS = { k: 3, threshold: 1e-4 };
const MAX_NODES = 32;
const MAX_K = 31;

function checkDims(op: string, d: GraphDims, k: number, threshold: number): void {
  expectPositiveInt(op, 'B', d.B);
  expectPositiveInt(op, 'T', d.T);
  expectPositiveInt(op, 'E (nodes)', d.E, 2);
  if (d.E > MAX_NODES) throw new Error(`${op}: E (nodes) is ${d.E}; a workgroup holds two graphs of at most ${MAX_NODES} nodes`);
  expectPositiveInt(op, 'k', k);
  if (k > MAX_K) throw new Error(`${op}: k is ${k}, over the ${MAX_K} entries a row keeps`);
  if (!(threshold >= 0)) throw new Error(`${op}: threshold must be >= 0, got ${threshold}`);
}

/** w / dw: (B, pairs, T) with T innermost (or [B*pairs, T]). */
function weightStrides(op: string, t: GpuTensor, d: GraphDims): { b: number; p: number } {
  const P = pairCount(d.E);
  if (t.shape[t.shape.length - 1] !== d.T || numel(t.shape) !== d.B * P * d.T) {
    throw new Error(`${op}: ${t.label} must be (B, pairs, T) = (${d.B}, ${P}, ${d.T}) with T innermost, got shape [${t.shape}]`);
  }
  const row = rowStride(d.T, t.precision);
  return { b: P * row, p: row };
}

/** The dense adjacency: (B*T, E, E), graph g = b * T + t, rows of E (padded to even in f16-storage). */
export function adjacencyShape(d: GraphDims): number[] {
  return [d.B * d.T, d.E, d.E];
}

function params(d: GraphDims, w: { b: number; p: number }, k: number, threshold: number, p: Precision): Uint32Array {
  return packParams([d.B, d.E, d.T, k, pairCount(d.E), Math.ceil(d.T / 2), w.b, w.p, rowStride(d.E, p), { f32: threshold }, 0, 0]);
}

export interface KernelCost {
  flops: number;
  bytes: number;
}

/** Per graph: selection (about E*(k+1) compares per row) and the symmetrised rows (2k compares per entry). */
export function topkAdjacencyCost(d: GraphDims, p: Precision, k = TOPK_DEFAULTS.k): KernelCost {
  const graphs = d.B * d.T;
  return { flops: graphs * d.E * d.E * (3 * k + 4), bytes: elementBytes(p) * graphs * (pairCount(d.E) + d.E * d.E) };
}

export async function topkAdjacency(s: ComputeSession, d: GraphDims, w: GpuTensor, adj: GpuTensor, opts: TopkOptions = {}): Promise<void> {
  const op = 'top-k adjacency';
  const k = opts.k ?? TOPK_DEFAULTS.k;
  const threshold = opts.threshold ?? TOPK_DEFAULTS.threshold;
  checkDims(op, d, k, threshold);
  const p = samePrecision(op, w, adj);
  expectBindable(op, s, w, adj);
  const ws = weightStrides(op, w, d);
  expectShape(op, adj, adjacencyShape(d), 'dense adjacency (B*T, E, E)');
  await s.dispatch({
    shader: TOPK_ADJACENCY_SHADER, entry: 'topk_adjacency', precision: p, defines: { FWD: true },
    params: params(d, ws, k, threshold, p), tensors: [w, adj], workgroups: d.B * Math.ceil(d.T / 2),
    label: opts.label ?? 'graph.topk', shapes: `B ${d.B} T ${d.T} E ${d.E} k ${k}`, ...topkAdjacencyCost(d, p, k),
  });
}

/** dw (B, pairs, T) from dA (B*T, E, E); the selection is recomputed from w. */
export async function topkAdjacencyBackward(s: ComputeSession, d: GraphDims, w: GpuTensor, dAdj: GpuTensor, dw: GpuTensor, opts: TopkOptions = {}): Promise<void> {
  const op = 'top-k adjacency backward';
  const k = opts.k ?? TOPK_DEFAULTS.k;
  const threshold = opts.threshold ?? TOPK_DEFAULTS.threshold;
  checkDims(op, d, k, threshold);
  const p = samePrecision(op, w, dAdj, dw);
  expectBindable(op, s, w, dAdj, dw);
  const ws = weightStrides(op, w, d);
  const dws = weightStrides(op, dw, d);
  if (ws.b !== dws.b || ws.p !== dws.p) throw new Error(`${op}: ${dw.label} [${dw.shape}] must be laid out like ${w.label} [${w.shape}]`);
  expectShape(op, dAdj, adjacencyShape(d), 'gradient of the dense adjacency (B*T, E, E)');
  await s.dispatch({
    shader: TOPK_ADJACENCY_SHADER, entry: 'topk_adjacency_bwd', precision: p, defines: { BWD: true },
    params: params(d, ws, k, threshold, p), tensors: [w, dAdj, dw], workgroups: d.B * Math.ceil(d.T / 2),
    label: opts.label ?? 'graph.topk.bwd', shapes: `B ${d.B} T ${d.T} E ${d.E} k ${k}`, ...topkAdjacencyCost(d, p, k),
  });
}

// ---- float64 CPU references ----

/** Kept[g][i][j]: whether row i of graph g keeps column j (top k by value desc, column asc; above threshold). */
export function topkSelection(d: GraphDims, w: ArrayLike<number>, k = TOPK_DEFAULTS.k, threshold = TOPK_DEFAULTS.threshold): Uint8Array {
  const P = pairCount(d.E);
  const thr = Math.fround(threshold); // the kernel compares against the f32 threshold
  const kept = new Uint8Array(d.B * d.T * d.E * d.E);
  for (let b = 0; b < d.B; b++) {
    for (let t = 0; t < d.T; t++) {
      const g = b * d.T + t;
      for (let i = 0; i < d.E; i++) {
        const cols = [...Array(d.E).keys()].filter((j) => j !== i);
        const val = (j: number) => w[(b * P + pairIndex(d.E, i, j)) * d.T + t]!;
        cols.sort((x, y) => val(y) - val(x) || x - y);
        for (const j of cols.slice(0, k)) if (val(j) > thr) kept[(g * d.E + i) * d.E + j] = 1;
      }
    }
  }
  return kept;
}

/** A (B*T, E, E). */
export function topkAdjacencyReference(d: GraphDims, w: ArrayLike<number>, k = TOPK_DEFAULTS.k, threshold = TOPK_DEFAULTS.threshold): Float64Array {
  const P = pairCount(d.E);
  const kept = topkSelection(d, w, k, threshold);
  const A = new Float64Array(d.B * d.T * d.E * d.E);
  for (let b = 0; b < d.B; b++) {
    for (let t = 0; t < d.T; t++) {
      const g = b * d.T + t;
      for (let i = 0; i < d.E; i++) {
        let sum = 0;
        for (let j = 0; j < d.E; j++) {
          if (j === i) continue;
          const wij = w[(b * P + pairIndex(d.E, i, j)) * d.T + t]!;
          const v = (wij * kept[(g * d.E + i) * d.E + j]! + wij * kept[(g * d.E + j) * d.E + i]!) / 2;
          A[(g * d.E + i) * d.E + j] = v;
          sum += v;
        }
        if (sum < Math.fround(threshold)) A[(g * d.E + i) * d.E + i] = 1;
      }
    }
  }
  return A;
}

/** dw (B, pairs, T) from dA (B*T, E, E). */
export function topkAdjacencyBackwardReference(d: GraphDims, w: ArrayLike<number>, dA: ArrayLike<number>, k = TOPK_DEFAULTS.k, threshold = TOPK_DEFAULTS.threshold): Float64Array {
  const P = pairCount(d.E);
  const kept = topkSelection(d, w, k, threshold);
  const dw = new Float64Array(d.B * P * d.T);
  for (let b = 0; b < d.B; b++) {
    for (let t = 0; t < d.T; t++) {
      const g = b * d.T + t;
      // A_ij = (K_ij + K_ji) w_ij / 2 and A_ji likewise: both entries feed the one weight.
      for (let i = 0; i < d.E; i++) {
        for (let j = 0; j < d.E; j++) {
          if (j === i) continue;
          const K = kept[(g * d.E + i) * d.E + j]! + kept[(g * d.E + j) * d.E + i]!;
          dw[(b * P + pairIndex(d.E, i, j)) * d.T + t] += (K * dA[(g * d.E + i) * d.E + j]!) / 2;
        }
      }
    }
  }
  return dw;
}
