// The v3 dual-stream detector (V3_MODEL.md) wired from a configuration; docs/ir.md lists the nodes it makes.
import type { Attrs, IrDocument } from './ir.ts';
import { GraphBuilder } from './builder.ts';
import { type V3Config, checkConfig } from './config.ts';
import { ELECTRODES, STRUCTURAL_EDGES } from './montage.ts';
import { laplacianPe } from './laplacian-pe.ts';
import { biMamba2Stack, conv1d, dropout, linear, ssgconvLayer } from './modules.ts';

export function buildV3(name: string, c: V3Config): IrDocument {
  checkConfig(c);
  const E = ELECTRODES.length;
  const S = c.samples;
  const T = S / c.tcn.downsample;
  const g = new GraphBuilder(name, { ...(structuredClone(c) as unknown as Attrs), electrodes: [...ELECTRODES] });

  let x = g.input('eeg', ['B', E, S]);
  x = g.node('sanitize', 'sanitize', [x], { nan: c.sanitize.nan, min: -c.sanitize.clamp, max: c.sanitize.clamp });

  // 1. TCN encoder: dilated "same" convs, no residuals; then two 1x1 projections and the strided downsampling.
  c.tcn.channels.forEach((ch, i) => {
    const d = c.tcn.dilations[i]!;
    const pad = ((c.tcn.kernel - 1) * d) / 2;
    x = conv1d(g, `tcn.layers.${i}.conv`, x, ch, { kernel: c.tcn.kernel, dilation: d, padding: [pad, pad], weightNorm: c.tcn.weight_norm });
    x = g.node(`tcn.layers.${i}.relu`, 'relu', [x]);
    x = dropout(g, `tcn.layers.${i}.dropout`, x, c.tcn.dropout);
  });
  const C = c.tcn.channels[c.tcn.channels.length - 1]!;
  x = conv1d(g, 'tcn.proj', x, C);
  x = conv1d(g, 'tcn.channel_proj', x, C);
  x = conv1d(g, 'tcn.down', x, C, { kernel: c.tcn.downsample, stride: c.tcn.downsample });

  // 2. Into electrode space: [B, E*D, T] -> [B, E, T, D].
  const D = c.electrode_dim;
  x = conv1d(g, 'electrodes', x, E * D);
  x = g.node('electrodes.view', 'reshape', [x], { shape: ['B', E, D, T] });
  const nodes = g.node('electrodes.permute', 'permute', [x], { perm: [0, 1, 3, 2] });

  // 3 + 5. Edge stream: cosine series -> lift -> Bi-Mamba2 -> project -> softplus; 6. top-k adjacency.
  const P = (E * (E - 1)) / 2;
  let e = g.node('edge.cosine', 'cosine_edges', [nodes], { num_nodes: E, eps: c.edge.cosine_eps });
  e = g.node('edge.view', 'reshape', [e], { shape: ['B', P, T, 1] });
  e = linear(g, 'edge.lift', e, c.edge.d_model, false);
  e = biMamba2Stack(g, 'edge', e, c.edge.layers, c.edge);
  e = linear(g, 'edge.project', e, 1);
  e = g.node('edge.softplus', 'softplus', [e]);
  e = g.node('edge.weights', 'reshape', [e], { shape: ['B', P, T] });
  const adj = g.node('adjacency', 'topk_adjacency', [e], { num_nodes: E, k: c.adjacency.k, threshold: c.adjacency.threshold, isolated_self_loop: 1 });

  // 4. Node stream over B*E sequences.
  let n = biMamba2Stack(g, 'node', nodes, c.node.layers, c.node);

  // 7. Static Laplacian PE appended to every node's features.
  const peAttrs = { num_nodes: E, edges: STRUCTURAL_EDGES.map(([i, j]) => [i, j]), dim: c.pe.dim };
  let pe = g.node('pe', 'laplacian_pe', [], peAttrs, { buffers: { value: [...laplacianPe(E, STRUCTURAL_EDGES, c.pe.dim)] } });
  pe = g.node('pe.view', 'reshape', [pe], { shape: [E, 1, c.pe.dim] });
  n = g.node('gnn.input', 'concat', [n, pe], { axis: -1 });

  // 8. GNN on the B*T graphs.
  for (let i = 0; i < c.gnn.layers; i++) {
    n = ssgconvLayer(g, `gnn.layers.${i}`, n, adj, c.gnn.hidden, { alpha: c.gnn.alpha, K: c.gnn.K, dropout: c.gnn.dropout, residual: i > 0 });
  }

  // 9. Head: [B, E, T, G] -> [B, E*G, T] -> 1x1 convs -> upsample -> [B, S].
  const G = c.gnn.hidden;
  let h = g.node('head.permute', 'permute', [n], { perm: [0, 1, 3, 2] });
  h = g.node('head.view', 'reshape', [h], { shape: ['B', E * G, T] });
  h = conv1d(g, 'head.conv1', h, c.head.hidden);
  h = conv1d(g, 'head.conv2', h, E);
  h = g.node('head.upsample', 'upsample_nearest', [h], { scale: c.tcn.downsample });
  if (c.head.clamp_mid !== null) h = g.node('head.clamp_mid', 'clamp', [h], { min: -c.head.clamp_mid, max: c.head.clamp_mid });
  h = conv1d(g, 'head.out', h, 1);
  if (c.head.clamp_out !== null) h = g.node('head.clamp_out', 'clamp', [h], { min: -c.head.clamp_out, max: c.head.clamp_out });
  const logits = g.node('head.view_out', 'reshape', [h], { shape: ['B', S] }, { output: 'logits' });
  return g.build([logits]);
}
