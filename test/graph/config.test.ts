// Presets, `--set` overrides with their errors, and shape inference errors that name module and dimension.
import { describe, expect, it } from 'vitest';
import { applyOverrides, CONFIG_KEYS, preset } from '../../src/graph/config.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { paramsByModule } from '../../src/graph/accounting.ts';

describe('overrides', () => {
  it('set numbers, integer lists, booleans and null on any preset field', () => {
    const c = applyOverrides(preset('v3-tiny'), ['tcn.channels=4,8', 'tcn.dilations=1,3', 'node.layers=1', 'gnn.alpha=0.2', 'tcn.weight_norm=false', 'head.clamp_out=null']);
    expect(c.tcn.channels).toEqual([4, 8]);
    expect(c.tcn.dilations).toEqual([1, 3]);
    expect(c.node.layers).toBe(1);
    expect(c.gnn.alpha).toBe(0.2);
    expect(c.tcn.weight_norm).toBe(false);
    expect(c.head.clamp_out).toBeNull();
    const ir = buildV3('custom', c);
    expect(ir.tensors['tcn.down']!.shape).toEqual(['B', 8, 160]);
    expect(ir.nodes.filter((n) => n.op === 'mamba2' && n.id.startsWith('node.'))).toHaveLength(2);
  });

  it('leave the preset itself untouched', () => {
    applyOverrides(preset('v3'), ['node.layers=1']);
    expect(preset('v3').node.layers).toBe(6);
  });

  it('every listed key can be set (a round of identity overrides builds the same graph)', () => {
    const base = preset('v3-tiny') as unknown as Record<string, Record<string, unknown>>;
    const get = (k: string) => k.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], base);
    const sets = CONFIG_KEYS.map((k) => { const v = get(k); return `${k}=${Array.isArray(v) ? v.join(',') : v}`; });
    expect(JSON.stringify(buildV3('x', applyOverrides(preset('v3-tiny'), sets)))).toBe(JSON.stringify(buildV3('x', preset('v3-tiny'))));
  });

  const BAD: [string, string[], RegExp][] = [
    ['unknown key', ['tcn.width=3'], /--set: unknown key "tcn.width" \(keys: samples, /],
    ['no equals sign', ['node.layers'], /--set "node.layers": expected key=value/],
    ['not a number', ['node.layers=six'], /--set node.layers: "six" is not a finite number/],
    ['not an integer', ['node.layers=2.5'], /--set node.layers: "2.5" is not an integer/],
    ['below the minimum', ['gnn.hidden=0'], /--set gnn.hidden: 0 is below the minimum 1/],
    ['dropout of 1', ['tcn.dropout=1'], /--set tcn.dropout: 1 must be below 1/],
    ['bad boolean', ['tcn.weight_norm=yes'], /--set tcn.weight_norm: "yes" is not true or false/],
    ['bad list entry', ['tcn.channels=8,x'], /--set tcn.channels: "x" is not a finite number/],
    ['lists of different lengths', ['tcn.channels=8,16'], /tcn.dilations has 8 entries but tcn.channels has 2: one dilation per layer/],
    ['even kernel for "same" padding', ['tcn.kernel=4'], /tcn layer 0: "same" padding needs \(kernel - 1\) \* dilation even, got \(4 - 1\) \* 1/],
    ['window not divisible', ['samples=2561'], /samples 2561 is not a multiple of tcn.downsample 16/],
    ['heads that do not divide', ['node.headdim=5'], /node: expand \* d_model = 32 is not a multiple of node.headdim 5/],
  ];
  it.each(BAD)('refuse %s with a clear message', (_what, sets, message) => {
    expect(() => applyOverrides(preset('v3-tiny'), sets)).toThrow(message);
  });

  it('refuse an unknown preset', () => {
    expect(() => preset('v4')).toThrow('unknown preset "v4" (known: v3, v3-tiny)');
  });
});

describe('shape inference errors name the module and the dimension', () => {
  it('extreme but valid settings still build (T = 1, every eigenvector, k = 18)', () => {
    const ir = buildV3('x', applyOverrides(preset('v3-tiny'), ['samples=16', 'pe.dim=18', 'adjacency.k=18']));
    expect(ir.tensors['adjacency']!.shape).toEqual(['B', 1, 19, 19]);
    expect(ir.tensors['gnn.input']!.shape).toEqual(['B', 19, 1, 16 + 18]);
  });

  it('conv channel mismatch', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 3, 10]);
    expect(() => g.node('enc.conv', 'conv1d', [x], { in_channels: 4, out_channels: 2, kernel_size: 3, stride: 1, dilation: 1, padding: [1, 1], bias: true, weight_norm: false }))
      .toThrow('enc.conv (conv1d): input "x" dimension 1 (channels) is 3, expected 4 (shape [B, 3, 10])');
  });

  it('kernel span longer than the padded input', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 3, 10]);
    expect(() => g.node('enc.down', 'conv1d', [x], { in_channels: 3, out_channels: 3, kernel_size: 16, stride: 16, dilation: 1, padding: [0, 0], bias: true, weight_norm: false }))
      .toThrow('enc.down (conv1d): input "x" dimension 2 (length) is 10: with padding 0+0 it is shorter than the kernel\'s span 16');
  });

  it('mamba2 width mismatch', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 19, 5, 16]);
    expect(() => g.node('node.layers.0.fwd', 'mamba2', [x], { d_model: 64, d_state: 16, d_conv: 4, expand: 2, headdim: 8, ngroups: 1, norm_eps: 1e-5, reverse: false }))
      .toThrow('node.layers.0.fwd (mamba2): input "x" dimension 3 (d_model) is 16, expected 64');
  });

  it('ssgconv adjacency of other graphs', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 19, 5, 8]);
    const adj = g.input('adj', ['B', 6, 19, 19]);
    expect(() => g.node('gnn.layers.0.conv', 'ssgconv', [x, adj], { in_features: 8, out_features: 8, alpha: 0.05, K: 2, bias: true }))
      .toThrow('gnn.layers.0.conv (ssgconv): input "adj" dimension 1 (time, as x dimension 2) is 6, expected 5');
  });

  it('concat that does not broadcast', () => {
    const g = new GraphBuilder('t', {});
    const a = g.input('a', ['B', 19, 5, 8]);
    const b = g.input('b', [18, 1, 4]);
    expect(() => g.node('gnn.input', 'concat', [a, b], { axis: -1 })).toThrow('gnn.input (concat): input 1 [18, 1, 4] does not broadcast with the others at dimension 1 (18 vs 19)');
  });

  it('top-k asking for more neighbours than a node has', () => {
    const g = new GraphBuilder('t', {});
    const w = g.input('w', ['B', 171, 5]);
    expect(() => g.node('adjacency', 'topk_adjacency', [w], { num_nodes: 19, k: 19, threshold: 1e-4, isolated_self_loop: 1 })).toThrow('adjacency (topk_adjacency): k = 19 exceeds the 18 neighbours a node can have');
  });
});

describe('the v3-tiny preset', () => {
  it('is small: under 100k parameters', () => {
    const total = Object.values(paramsByModule(buildV3('v3-tiny', preset('v3-tiny')))).reduce((a, b) => a + b, 0);
    expect(total).toBeLessThan(100_000);
  });
});
