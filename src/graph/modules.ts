// Module-level building blocks of the DSL: each adds a named group of nodes and returns its output tensor.
import type { GraphBuilder } from './builder.ts';

export const LAYER_NORM_EPS = 1e-5;
export const RMS_NORM_EPS = 1e-5;

export interface ConvOptions {
  kernel?: number;
  stride?: number;
  dilation?: number;
  padding?: [number, number];
  bias?: boolean;
  weightNorm?: boolean;
}

export function conv1d(g: GraphBuilder, id: string, x: string, outChannels: number, o: ConvOptions = {}): string {
  const inChannels = g.shapeOf(x)[1] as number;
  return g.node(id, 'conv1d', [x], {
    in_channels: inChannels, out_channels: outChannels, kernel_size: o.kernel ?? 1, stride: o.stride ?? 1,
    dilation: o.dilation ?? 1, padding: o.padding ?? [0, 0], bias: o.bias ?? true, weight_norm: o.weightNorm ?? false,
  });
}

export function linear(g: GraphBuilder, id: string, x: string, outFeatures: number, bias = true): string {
  const s = g.shapeOf(x);
  return g.node(id, 'linear', [x], { in_features: s[s.length - 1] as number, out_features: outFeatures, bias });
}

export function layerNorm(g: GraphBuilder, id: string, x: string): string {
  const s = g.shapeOf(x);
  return g.node(id, 'layer_norm', [x], { normalized_shape: s[s.length - 1] as number, eps: LAYER_NORM_EPS });
}

/** Dropout node, or nothing when p = 0. */
export function dropout(g: GraphBuilder, id: string, x: string, p: number): string {
  return p > 0 ? g.node(id, 'dropout', [x], { p }) : x;
}

export interface MambaOptions {
  d_state: number;
  d_conv: number;
  expand: number;
  headdim: number;
  dropout: number;
}

/** y = LayerNorm(x + Dropout(Linear(concat(M_f(x), flip(M_b(flip(x))))))), over [B, S, L, D]. */
export function biMamba2Layer(g: GraphBuilder, id: string, x: string, o: MambaOptions): string {
  const s = g.shapeOf(x);
  const D = s[s.length - 1] as number;
  const block = { d_model: D, d_state: o.d_state, d_conv: o.d_conv, expand: o.expand, headdim: o.headdim, ngroups: 1, norm_eps: RMS_NORM_EPS };
  const f = g.node(`${id}.fwd`, 'mamba2', [x], { ...block, reverse: false });
  const b = g.node(`${id}.bwd`, 'mamba2', [x], { ...block, reverse: true });
  const cat = g.node(`${id}.cat`, 'concat', [f, b], { axis: -1 });
  const proj = linear(g, `${id}.proj`, cat, D);
  const drop = dropout(g, `${id}.dropout`, proj, o.dropout);
  const sum = g.node(`${id}.add`, 'add', [x, drop]);
  return layerNorm(g, `${id}.norm`, sum);
}

export function biMamba2Stack(g: GraphBuilder, id: string, x: string, layers: number, o: MambaOptions): string {
  for (let i = 0; i < layers; i++) x = biMamba2Layer(g, `${id}.layers.${i}`, x, o);
  return x;
}

/**
 * SSGConv -> (+ input when residual) -> LayerNorm -> Dropout. The residual is added before the norm
 * (post-norm), as the original does: `Dropout(LayerNorm(SSG(x) + x))` (V3_MODEL.md step 8).
 */
export function ssgconvLayer(g: GraphBuilder, id: string, x: string, adj: string, out: number, o: { alpha: number; K: number; dropout: number; residual: boolean }): string {
  const s = g.shapeOf(x);
  const h = g.node(`${id}.conv`, 'ssgconv', [x, adj], { in_features: s[3] as number, out_features: out, alpha: o.alpha, K: o.K, bias: true });
  const pre = o.residual ? g.node(`${id}.add`, 'add', [h, x]) : h;
  return dropout(g, `${id}.dropout`, layerNorm(g, `${id}.norm`, pre), o.dropout);
}
