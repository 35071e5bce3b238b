// Per-op cost model (docs/ir.md, "Accounting"): forward/backward FLOPs and elements moved, for the profiler's
// roofline. Counts are for concrete shapes (batch substituted). A multiply-add is 2 FLOPs; exp, log, sqrt,
// division and comparisons count 1. What the backward keeps is not here: the op records' `saves` declare it
// (src/executor/lower-*.ts; src/train/saved-activations.ts sums it).
import type { Attrs } from './ir.ts';
import { numel } from './ir.ts';
import { int, bool } from './attrs.ts';
import { mambaDims } from './ops.ts';

export interface OpCost {
  flopsForward: number;
  flopsBackward: number;
  /** Activation elements read + written (parameter elements counted separately by the caller). */
  elementsForward: number;
  elementsBackward: number;
}

export interface CostContext {
  attrs: Attrs;
  inputs: number[][];
  output: number[];
  /** Per input: does a gradient have to flow into it? */
  needsDx: boolean[];
  /** Parameter elements of the node. */
  params: number;
}

const base = (): OpCost => ({ flopsForward: 0, flopsBackward: 0, elementsForward: 0, elementsBackward: 0 });

/** Elementwise op with `fwd` FLOPs per element forward and `bwd` backward, reading its input or output again or not. */
function elementwise(c: CostContext, fwd: number, bwd: number, save: 'input' | 'output' | 'none'): OpCost {
  const n = numel(c.output);
  const r = base();
  r.flopsForward = fwd * n;
  r.elementsForward = 2 * n;
  if (c.needsDx[0]) {
    r.flopsBackward = bwd * n;
    r.elementsBackward = (save === 'none' ? 2 : 3) * n;
  }
  return r;
}

type CostFn = (c: CostContext) => OpCost;

export const COSTS: Record<string, CostFn> = {
  // NaN test, max, min per element; its input is the data: no backward.
  sanitize: (c) => elementwise(c, 3, 0, 'none'),
  relu: (c) => elementwise(c, 1, 1, 'output'),
  softplus: (c) => elementwise(c, 5, 5, 'input'),
  clamp: (c) => elementwise(c, 2, 1, 'input'),
  // draw, compare, scale forward; the mask drawn again and applied backward
  dropout: (c) => elementwise(c, 3, 1, 'none'),
  add(c) {
    const n = numel(c.output);
    const r = base();
    r.flopsForward = n;
    r.elementsForward = 3 * n;
    r.elementsBackward = c.needsDx.filter(Boolean).length * 2 * n; // gradient copied to each input
    return r;
  },
  reshape: () => base(), // a view
  laplacian_pe: () => base(), // a constant buffer
  permute(c) {
    const n = numel(c.output);
    const r = base();
    r.elementsForward = 2 * n;
    if (c.needsDx[0]) r.elementsBackward = 2 * n;
    return r;
  },
  concat(c) {
    const n = numel(c.output);
    const r = base();
    r.elementsForward = n + c.inputs.reduce((s, x) => s + numel(x), 0);
    r.elementsBackward = c.inputs.reduce((s, x, i) => s + (c.needsDx[i] ? 2 * numel(x) : 0), 0);
    return r;
  },
  upsample_nearest(c) {
    const n = numel(c.output), m = numel(c.inputs[0]!);
    const r = base();
    r.elementsForward = n + m;
    if (c.needsDx[0]) { r.flopsBackward = n - m; r.elementsBackward = n + m; } // sum of `scale` gradients per input
    return r;
  },
  conv1d(c) {
    const a = c.attrs;
    const [B, , Lout] = c.output as [number, number, number];
    const Cin = int(a, 'in_channels'), Cout = int(a, 'out_channels'), k = int(a, 'kernel_size');
    const macs = B * Cout * Lout * Cin * k;
    const outN = numel(c.output), inN = numel(c.inputs[0]!);
    const wn = bool(a, 'weight_norm'), bias = bool(a, 'bias');
    const weight = Cout * Cin * k;
    const r = base();
    // weight norm: squares summed (2 per weight), then g/|v| per channel (3) and the scaling (1 per weight)
    r.flopsForward = 2 * macs + (bias ? outN : 0) + (wn ? 3 * weight + 3 * Cout : 0);
    // dW always, dX when needed; db sums dy; weight-norm backward: <dw, v>, then dv and dg (~6 per weight)
    r.flopsBackward = 2 * macs * (c.needsDx[0] ? 2 : 1) + (bias ? outN : 0) + (wn ? 6 * weight + 4 * Cout : 0);
    r.elementsForward = inN + outN;
    r.elementsBackward = outN + inN + (c.needsDx[0] ? inN : 0);
    return r;
  },
  linear(c) {
    const a = c.attrs;
    const inF = int(a, 'in_features'), outF = int(a, 'out_features');
    const outN = numel(c.output), inN = numel(c.inputs[0]!);
    const rows = outN / outF;
    const macs = rows * inF * outF;
    const r = base();
    r.flopsForward = 2 * macs + (bool(a, 'bias') ? outN : 0);
    r.flopsBackward = 2 * macs * (c.needsDx[0] ? 2 : 1) + (bool(a, 'bias') ? outN : 0);
    r.elementsForward = inN + outN;
    r.elementsBackward = outN + inN + (c.needsDx[0] ? inN : 0);
    return r;
  },
  layer_norm(c) {
    const n = numel(c.output);
    const rows = n / int(c.attrs, 'normalized_shape');
    const r = base();
    // mean (1), centre (1), square-sum (2), normalise (1), affine (2) per element; rstd per row (2)
    r.flopsForward = 7 * n + 2 * rows;
    // dgamma, dbeta (2 + 1), two row reductions (4), dx combination (4) per element
    r.flopsBackward = 11 * n;
    r.elementsForward = 2 * n;
    r.elementsBackward = 3 * n + (c.needsDx[0] ? n : 0);
    return r;
  },
  mamba2(c) {
    const m = mambaDims(c.attrs);
    const tokens = numel(c.output) / m.D;
    const { D, N, H, P, dInner, convDim, dInProj, dConv } = m;
    const fwd = {
      inProj: 2 * D * dInProj,
      conv: convDim * (2 * dConv + 1) + 4 * convDim, // taps + bias, then SiLU (4)
      dt: H * 6, // + dt_bias, softplus (5)
      scan: H * (2 + 5 * P * N + 2 * P), // exp(dt A) (2); per state: decay, dt x B (3), y += h C (2); D x (2 per p)
      gateNorm: dInner * 9 + 4, // silu(z) (4), gate (1), square-sum (2), scale by rstd and w (2); rstd (4)
      outProj: 2 * dInner * D,
    };
    const perToken = Object.values(fwd).reduce((a, b) => a + b, 0);
    const bwd = {
      inProj: fwd.inProj * (c.needsDx[0] ? 2 : 1),
      conv: 2 * convDim * 2 * dConv + 6 * convDim, // dX and dW of the taps, SiLU' (6)
      dt: H * 6,
      scan: fwd.scan + H * (12 * P * N + 4 * P + 4), // recompute inside the chunk + the reverse walk
      gateNorm: dInner * 16 + 8,
      outProj: 2 * fwd.outProj,
    };
    const perTokenBwd = Object.values(bwd).reduce((a, b) => a + b, 0);
    const r = base();
    r.flopsForward = tokens * perToken;
    r.flopsBackward = tokens * perTokenBwd;
    // x in, zxbcdt out and in, xBC out and in, y out and in (with z), normed out and in, out
    r.elementsForward = tokens * (D + 2 * dInProj + 2 * convDim + H + 3 * dInner + dInner + D);
    r.elementsBackward = 2 * r.elementsForward;
    return r;
  },
  cosine_edges(c) {
    const [B, E, L, D] = c.inputs[0] as [number, number, number, number];
    const graphs = B * L, pairs = (E * (E - 1)) / 2;
    const r = base();
    r.flopsForward = graphs * (E * (2 * D + 2) + pairs * (2 * D + 3)); // norms (+ sqrt, + eps), dots, scale
    r.flopsBackward = graphs * (pairs * (4 * D + 6) + E * (2 * D + 4));
    r.elementsForward = B * E * L * D + numel(c.output);
    r.elementsBackward = numel(c.output) + 2 * B * E * L * D;
    return r;
  },
  topk_adjacency(c) {
    const [B, L, E] = c.output as [number, number, number, number];
    const k = int(c.attrs, 'k');
    const graphs = B * L, P = (E * (E - 1)) / 2;
    const r = base();
    // k passes of a max over each row, threshold, symmetrise, row sums for the isolated rule
    r.flopsForward = graphs * (E * (E - 1) * k + E * E + 2 * E * E);
    r.flopsBackward = graphs * 2 * E * E;
    r.elementsForward = graphs * (P + E * E);
    r.elementsBackward = graphs * (E * E + P);
    return r;
  },
  ssgconv(c) {
    const a = c.attrs;
    const [B, E, L, Fin] = c.inputs[0] as [number, number, number, number];
    const Fout = int(a, 'out_features'), K = int(a, 'K');
    const graphs = B * L;
    const r = base();
    const norm = 3 * E * E + 2 * E; // self-loop fill, row sums, d^-1/2, scaling
    const prop = K * 2 * E * E * Fin;
    const mix = (K + 1) * 2 * E * Fin;
    const lin = 2 * E * Fin * Fout + (bool(a, 'bias') ? E * Fout : 0);
    r.flopsForward = graphs * (norm + prop + mix + lin);
    // linear dW (+ dX), propagation dz and dA-hat (2 each), mix, normalisation backward
    r.flopsBackward = graphs * (2 * E * Fin * Fout * (c.needsDx[0] ? 2 : 1) + (bool(a, 'bias') ? E * Fout : 0) + 2 * prop + mix + 6 * E * E);
    r.elementsForward = numel(c.inputs[0]!) + numel(c.inputs[1]!) + numel(c.output);
    r.elementsBackward = 2 * r.elementsForward;
    return r;
  },
};
