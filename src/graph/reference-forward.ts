// An independent float64 CPU forward of any IR graph, written straight from docs/ir.md's op table with plain
// loops. It shares no code with the WGSL kernels or their per-kernel references: it is the end-to-end truth
// the WebGPU executor (and the PyTorch backend) are checked against. Slow by design; fine for v3-tiny.
import type { IrDocument, IrNode } from './ir.ts';
import { concreteShape } from './accounting.ts';
import type { WeightMap } from './init.ts';
import { GraphError } from './errors.ts';

export interface HostTensor {
  shape: number[];
  data: Float64Array;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const softplus = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));
const silu = (v: number) => v / (1 + Math.exp(-v));

type OpImpl = (n: IrNode, xs: HostTensor[], w: (role: string) => HostTensor, out: number[]) => Float64Array;

function conv1d(n: IrNode, [x]: HostTensor[], w: (r: string) => HostTensor, out: number[]): Float64Array {
  const a = n.attrs as { in_channels: number; out_channels: number; kernel_size: number; stride: number; dilation: number; padding: number[]; bias: boolean; weight_norm: boolean };
  const [B, Cin, L] = x!.shape as [number, number, number];
  const [, Cout, Lout] = out as [number, number, number];
  const k = a.kernel_size;
  let weight: Float64Array;
  if (a.weight_norm) {
    const v = w('weight_v').data, g = w('weight_g').data;
    weight = new Float64Array(v.length);
    for (let o = 0; o < Cout; o++) {
      let ss = 0;
      for (let i = 0; i < Cin * k; i++) ss += v[o * Cin * k + i]! ** 2;
      const scale = g[o]! / Math.sqrt(ss);
      for (let i = 0; i < Cin * k; i++) weight[o * Cin * k + i] = v[o * Cin * k + i]! * scale;
    }
  } else weight = w('weight').data;
  const bias = a.bias ? w('bias').data : undefined;
  const y = new Float64Array(B * Cout * Lout);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < Cout; o++)
      for (let t = 0; t < Lout; t++) {
        let s = bias ? bias[o]! : 0;
        for (let c = 0; c < Cin; c++)
          for (let j = 0; j < k; j++) {
            const src = t * a.stride - a.padding[0]! + j * a.dilation;
            if (src >= 0 && src < L) s += weight[(o * Cin + c) * k + j]! * x!.data[(b * Cin + c) * L + src]!;
          }
        y[(b * Cout + o) * Lout + t] = s;
      }
  return y;
}

function linear(xd: Float64Array, rows: number, inF: number, outF: number, W: Float64Array, bias?: Float64Array): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outF; o++) {
      let s = bias ? bias[o]! : 0;
      for (let i = 0; i < inF; i++) s += xd[r * inF + i]! * W[o * inF + i]!;
      y[r * outF + o] = s;
    }
  return y;
}

function mamba2(n: IrNode, [x]: HostTensor[], w: (r: string) => HostTensor): Float64Array {
  const a = n.attrs as { d_model: number; d_state: number; d_conv: number; expand: number; headdim: number; ngroups: number; norm_eps: number; reverse: boolean };
  const D = a.d_model, N = a.d_state, K = a.d_conv, P = a.headdim;
  const di = a.expand * D, H = di / P, convDim = di + 2 * N, dIn = 2 * di + 2 * N + H;
  const L = x!.shape[x!.shape.length - 2]!;
  const seqs = size(x!.shape) / (L * D);
  const Win = w('in_proj.weight').data, cw = w('conv1d.weight').data, cb = w('conv1d.bias').data;
  const dtBias = w('dt_bias').data, Alog = w('A_log').data, Dskip = w('D').data;
  const normW = w('norm.weight').data, Wout = w('out_proj.weight').data;
  const out = new Float64Array(x!.data.length);
  for (let s = 0; s < seqs; s++) {
    // time index as the block sees it (reversed blocks read and write flipped)
    const at = (t: number) => s * L * D + (a.reverse ? L - 1 - t : t) * D;
    const seqIn = new Float64Array(L * D);
    for (let t = 0; t < L; t++) for (let d = 0; d < D; d++) seqIn[t * D + d] = x!.data[at(t) + d]!;
    const zx = linear(seqIn, L, D, dIn, Win);
    const xbc = new Float64Array(L * convDim);
    for (let t = 0; t < L; t++)
      for (let c = 0; c < convDim; c++) {
        let v = cb[c]!;
        for (let j = 0; j < K; j++) {
          const src = t - (K - 1) + j;
          if (src >= 0) v += cw[c * K + j]! * zx[src * dIn + di + c]!;
        }
        xbc[t * convDim + c] = silu(v);
      }
    const y = new Float64Array(L * di);
    for (let h = 0; h < H; h++) {
      const A = -Math.exp(Alog[h]!);
      const state = new Float64Array(P * N);
      for (let t = 0; t < L; t++) {
        const dt = softplus(zx[t * dIn + 2 * di + 2 * N + h]! + dtBias[h]!);
        const decay = Math.exp(dt * A);
        for (let p = 0; p < P; p++) {
          const xv = xbc[t * convDim + h * P + p]!;
          let yv = 0;
          for (let nn = 0; nn < N; nn++) {
            const Bv = xbc[t * convDim + di + nn]!, Cv = xbc[t * convDim + di + N + nn]!;
            const st = decay * state[p * N + nn]! + dt * xv * Bv;
            state[p * N + nn] = st;
            yv += st * Cv;
          }
          y[t * di + h * P + p] = yv + Dskip[h]! * xv;
        }
      }
    }
    for (let t = 0; t < L; t++) {
      let ms = 0;
      for (let c = 0; c < di; c++) {
        const g = y[t * di + c]! * silu(zx[t * dIn + c]!);
        y[t * di + c] = g;
        ms += g * g;
      }
      const r = 1 / Math.sqrt(ms / di + a.norm_eps);
      for (let c = 0; c < di; c++) y[t * di + c] = y[t * di + c]! * r * normW[c]!;
    }
    const o = linear(y, L, di, D, Wout);
    for (let t = 0; t < L; t++) for (let d = 0; d < D; d++) out[at(t) + d] = o[t * D + d]!;
  }
  return out;
}

function topkAdjacency(n: IrNode, [wt]: HostTensor[], out: number[]): Float64Array {
  const { num_nodes: E, k, threshold, isolated_self_loop: selfLoop } = n.attrs as { num_nodes: number; k: number; threshold: number; isolated_self_loop: number };
  const [B, P, L] = wt!.shape as [number, number, number];
  const pair: number[][] = Array.from({ length: E }, () => new Array<number>(E).fill(-1));
  for (let i = 0, p = 0; i < E; i++) for (let j = i + 1; j < E; j++, p++) pair[i]![j] = pair[j]![i] = p;
  const A = new Float64Array(size(out));
  for (let b = 0; b < B; b++)
    for (let t = 0; t < L; t++) {
      const kept = new Float64Array(E * E);
      for (let i = 0; i < E; i++) {
        const cols = [...Array(E).keys()].filter((j) => j !== i);
        const val = (j: number) => wt!.data[(b * P + pair[i]![j]!) * L + t]!;
        cols.sort((u, v) => val(v) - val(u) || u - v); // largest first, ties: lower column first
        for (const j of cols.slice(0, k)) if (val(j) > threshold) kept[i * E + j] = val(j);
      }
      const base = (b * L + t) * E * E;
      for (let i = 0; i < E; i++) {
        let rowSum = 0;
        for (let j = 0; j < E; j++) {
          const v = (kept[i * E + j]! + kept[j * E + i]!) / 2;
          A[base + i * E + j] = v;
          rowSum += v;
        }
        if (rowSum < threshold) A[base + i * E + i] = selfLoop;
      }
    }
  return A;
}

function ssgconv(n: IrNode, [x, adj]: HostTensor[], w: (r: string) => HostTensor): Float64Array {
  const { in_features: Fin, out_features: Fout, alpha, K, bias } = n.attrs as { in_features: number; out_features: number; alpha: number; K: number; bias: boolean };
  const [B, E, L] = x!.shape as [number, number, number, number];
  const W = w('lin.weight').data, bv = bias ? w('lin.bias').data : undefined;
  const y = new Float64Array(B * E * L * Fout);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < L; t++) {
      const base = (b * L + t) * E * E;
      const At = new Float64Array(E * E);
      for (let i = 0; i < E * E; i++) At[i] = adj!.data[base + i]!;
      for (let i = 0; i < E; i++) if (At[i * E + i] === 0) At[i * E + i] = 1;
      const dinv = new Float64Array(E);
      for (let i = 0; i < E; i++) {
        let d = 0;
        for (let j = 0; j < E; j++) d += At[i * E + j]!;
        dinv[i] = 1 / Math.sqrt(d);
      }
      const X = new Float64Array(E * Fin);
      for (let e = 0; e < E; e++) for (let f = 0; f < Fin; f++) X[e * Fin + f] = x!.data[((b * E + e) * L + t) * Fin + f]!;
      const h = X.map((v) => alpha * v);
      let z = X;
      for (let step = 1; step <= K; step++) {
        const next = new Float64Array(E * Fin);
        for (let i = 0; i < E; i++)
          for (let j = 0; j < E; j++) {
            const a = At[i * E + j]! * dinv[i]! * dinv[j]!;
            if (a !== 0) for (let f = 0; f < Fin; f++) next[i * Fin + f] += a * z[j * Fin + f]!;
          }
        for (let i = 0; i < h.length; i++) h[i] += ((1 - alpha) / K) * next[i]!;
        z = next;
      }
      const o = linear(h, E, Fin, Fout, W, bv);
      for (let e = 0; e < E; e++) for (let f = 0; f < Fout; f++) y[((b * E + e) * L + t) * Fout + f] = o[e * Fout + f]!;
    }
  return y;
}

const OPS: Record<string, OpImpl> = {
  sanitize: (n, [x]) => {
    const { nan, min, max } = n.attrs as { nan: number; min: number; max: number };
    return x!.data.map((v) => (Number.isNaN(v) ? nan : Math.min(Math.max(v, min), max)));
  },
  conv1d,
  relu: (_n, [x]) => x!.data.map((v) => Math.max(v, 0)),
  softplus: (_n, [x]) => x!.data.map(softplus),
  dropout: (_n, [x]) => x!.data.slice(),
  clamp: (n, [x]) => x!.data.map((v) => Math.min(Math.max(v, n.attrs.min as number), n.attrs.max as number)),
  add: (_n, [a, b]) => a!.data.map((v, i) => v + b!.data[i]!),
  reshape: (_n, [x]) => x!.data.slice(),
  permute: (n, [x], _w, out) => {
    const perm = n.attrs.perm as number[];
    const inShape = x!.shape, rank = inShape.length;
    const inStrides = inShape.map((_, i) => size(inShape.slice(i + 1)));
    const y = new Float64Array(x!.data.length);
    const idx = new Array<number>(rank).fill(0);
    for (let o = 0; o < y.length; o++) {
      let rest = o, src = 0;
      for (let d = rank - 1; d >= 0; d--) {
        idx[d] = rest % out[d]!;
        rest = Math.floor(rest / out[d]!);
      }
      for (let d = 0; d < rank; d++) src += idx[d]! * inStrides[perm[d]!]!;
      y[o] = x!.data[src]!;
    }
    return y;
  },
  concat: (_n, xs, _w, out) => {
    const rank = out.length, F = out[rank - 1]!, rows = size(out) / F;
    const y = new Float64Array(size(out));
    for (let r = 0; r < rows; r++) {
      const outIdx: number[] = [];
      for (let d = rank - 2, rest = r; d >= 0; d--) { outIdx[d] = rest % out[d]!; rest = Math.floor(rest / out[d]!); }
      let col = 0;
      for (const x of xs) {
        const s = x.shape, f = s[s.length - 1]!;
        let srcRow = 0; // right-aligned broadcast of the leading dims
        for (let d = 0; d < s.length - 1; d++) {
          const od = d + (rank - s.length);
          srcRow = srcRow * s[d]! + (s[d] === 1 ? 0 : outIdx[od]!);
        }
        for (let c = 0; c < f; c++) y[r * F + col + c] = x.data[srcRow * f + c]!;
        col += f;
      }
    }
    return y;
  },
  linear: (n, [x], w) => {
    const { in_features: i, out_features: o, bias } = n.attrs as { in_features: number; out_features: number; bias: boolean };
    return linear(x!.data, x!.data.length / i, i, o, w('weight').data, bias ? w('bias').data : undefined);
  },
  layer_norm: (n, [x], w) => {
    const m = n.attrs.normalized_shape as number, eps = n.attrs.eps as number;
    const g = w('weight').data, bt = w('bias').data, y = new Float64Array(x!.data.length);
    for (let r = 0; r < y.length / m; r++) {
      let mean = 0, v = 0;
      for (let c = 0; c < m; c++) mean += x!.data[r * m + c]!;
      mean /= m;
      for (let c = 0; c < m; c++) v += (x!.data[r * m + c]! - mean) ** 2;
      const rs = 1 / Math.sqrt(v / m + eps);
      for (let c = 0; c < m; c++) y[r * m + c] = (x!.data[r * m + c]! - mean) * rs * g[c]! + bt[c]!;
    }
    return y;
  },
  mamba2,
  cosine_edges: (n, [u], _w, out) => {
    const eps = n.attrs.eps as number;
    const [B, E, L, D] = u!.shape as [number, number, number, number];
    const y = new Float64Array(size(out));
    const P = out[1]!;
    for (let b = 0; b < B; b++)
      for (let t = 0; t < L; t++) {
        const v = (e: number, d: number) => u!.data[((b * E + e) * L + t) * D + d]!;
        const norm = Array.from({ length: E }, (_, e) => Math.sqrt(Array.from({ length: D }, (_, d) => v(e, d) ** 2).reduce((a, c) => a + c, 0)));
        for (let i = 0, p = 0; i < E; i++)
          for (let j = i + 1; j < E; j++, p++) {
            let dot = 0;
            for (let d = 0; d < D; d++) dot += v(i, d) * v(j, d);
            y[(b * P + p) * L + t] = dot / ((norm[i]! + eps) * (norm[j]! + eps));
          }
      }
    return y;
  },
  topk_adjacency: (n, xs, _w, out) => topkAdjacency(n, xs, out),
  laplacian_pe: (_n, _x, w) => w('value').data.slice(),
  ssgconv,
  upsample_nearest: (n, [x], _w, out) => {
    const s = n.attrs.scale as number, Lo = out[out.length - 1]!, Li = Lo / s;
    const y = new Float64Array(size(out));
    for (let r = 0; r < y.length / Lo; r++) for (let t = 0; t < Lo; t++) y[r * Lo + t] = x!.data[r * Li + Math.floor(t / s)]!;
    return y;
  },
};

/**
 * Runs the graph on `input` (the graph's single input, [B, ...]) and returns every tensor by name. `given`
 * replaces named tensors by supplied values instead of computing them (e.g. an adjacency taken from another
 * executor, to compare everything downstream of a discrete top-k selection).
 */
export function referenceForward(ir: IrDocument, weights: WeightMap, input: HostTensor, given: ReadonlyMap<string, HostTensor> = new Map()): Map<string, HostTensor> {
  if (ir.inputs.length !== 1) throw new GraphError(`reference forward: graph "${ir.name}" has ${ir.inputs.length} inputs; one is supported`);
  const batch = input.shape[0]!;
  const want = concreteShape(ir.tensors[ir.inputs[0]!]!.shape, batch);
  if (want.join(',') !== input.shape.join(',')) throw new GraphError(`reference forward: input shape [${input.shape}] differs from the graph's [${want}]`);
  const values = new Map<string, HostTensor>([[ir.inputs[0]!, input]]);
  for (const n of ir.nodes) {
    const impl = OPS[n.op];
    if (!impl) throw new GraphError(`reference forward: no CPU implementation of op "${n.op}" (node ${n.id})`);
    const xs = n.inputs.map((t) => values.get(t)!);
    const param = (role: string): HostTensor => {
      const name = n.params[role] ?? n.buffers[role];
      const t = name ? weights.get(name) : undefined;
      if (!t) throw new GraphError(`reference forward: node ${n.id} lacks ${role}`);
      return { shape: t.shape, data: Float64Array.from(t.data) };
    };
    const out = concreteShape(ir.tensors[n.outputs[0]!]!.shape, batch);
    const supplied = given.get(n.outputs[0]!);
    if (supplied && supplied.data.length !== out.reduce((a, b) => a * b, 1)) throw new GraphError(`reference forward: supplied ${n.outputs[0]} holds ${supplied.data.length} values, its shape is [${out}]`);
    values.set(n.outputs[0]!, supplied ? { shape: out, data: supplied.data } : { shape: out, data: impl(n, xs, param, out) });
  }
  return values;
}
