// FLOPs and bytes on small graphs counted by hand, and on the v3 TCN (what the backward keeps:
// test/train/saved-activations.test.ts).
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { linearReluLinear } from '../harness/small-graphs.ts';
import { accountNodes, graphSummary, movedBytes } from '../../src/graph/accounting.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { preset } from '../../src/graph/config.ts';
import { savedActivations } from '../../src/train/saved-activations.ts';

const byId = (ir: ReturnType<GraphBuilder['build']>, batch: number) => Object.fromEntries(accountNodes(ir, batch).map((a) => [a.id, a]));

describe('per-op counts', () => {
  it('conv1d 3->4, k 3, dilation 2, on [2, 3, 10]: 2*MACs + bias; no dX for a graph input', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 3, 10]);
    g.node('c', 'conv1d', [x], { in_channels: 3, out_channels: 4, kernel_size: 3, stride: 1, dilation: 2, padding: [2, 2], bias: true, weight_norm: false });
    g.node('w', 'conv1d', [x], { in_channels: 3, out_channels: 4, kernel_size: 3, stride: 1, dilation: 2, padding: [2, 2], bias: true, weight_norm: true });
    const ir = g.build(['c']);
    const a = byId(ir, 2);
    expect(a.c!.outputShape).toEqual([2, 4, 10]); // 10 + 4 - 2*2 = 10
    // MACs = B * Cout * Lout * Cin * k = 2*4*10*3*3 = 720; bias adds one per output (80)
    expect(a.c!.flopsForward).toBe(2 * 720 + 80);
    expect(a.c!.flopsBackward).toBe(2 * 720 + 80); // dW and db only
    // weight norm: 3 per weight (square, add, scale) + 3 per channel (sqrt, divide, g) = 3*36 + 3*4
    expect(a.w!.flopsForward - a.c!.flopsForward).toBe(3 * 36 + 3 * 4);
    expect(a.c!.params).toBe(36 + 4);
    expect(a.w!.params).toBe(36 + 4 + 4);
    expect(a.c!.elementsForward).toBe(60 + 80);
    // bytes: input 60 + output 80 + weights 40, at 4 bytes (f32) or 2 (f16 modes)
    expect(movedBytes(a.c!, 'f32').forward).toBe((60 + 80 + 40) * 4);
    expect(movedBytes(a.c!, 'f16').forward).toBe((60 + 80 + 40) * 2);
    // backward: read dy (80) and x (60), no dx; read weights (2 bytes) and write f32 weight gradients (4)
    expect(movedBytes(a.c!, 'f16-storage').backward).toBe((80 + 60) * 2 + 40 * (2 + 4));
  });

  it('linear -> relu -> linear on [1, 7, 3]: dX only where a parameter lies upstream', () => {
    const ir = linearReluLinear();
    const a = byId(ir, 1);
    expect(a.l1!.flopsForward).toBe(2 * 7 * 3 * 5 + 7 * 5); // 245
    expect(a.l1!.flopsBackward).toBe(2 * 7 * 3 * 5 + 7 * 5); // dW + db; x needs no gradient
    expect(a.r!.flopsForward).toBe(35);
    expect(a.r!.flopsBackward).toBe(35);
    expect(a.l2!.flopsForward).toBe(2 * 7 * 5 * 2 + 7 * 2); // 154
    expect(a.l2!.flopsBackward).toBe(2 * (2 * 7 * 5 * 2) + 7 * 2); // dX + dW + db = 294
  });

  it('layer_norm: mean, centre, square-sum, normalise, affine per element; rstd per row', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 4, 6]);
    const h = g.node('l', 'linear', [x], { in_features: 6, out_features: 6, bias: false });
    const v = g.node('v', 'reshape', [h], { shape: ['B', 2, 2, 6] });
    g.node('n', 'layer_norm', [v], { normalized_shape: 6, eps: 1e-5 });
    const a = byId(g.build(['n']), 1);
    expect(a.n!.flopsForward).toBe(7 * 24 + 2 * 4);
    expect(a.n!.flopsBackward).toBe(11 * 24);
  });

  it('mamba2 (D 4, N 2, expand 2, headdim 4, d_conv 2) on [1, 1, 3, 4]: the per-token breakdown', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 1, 3, 4]);
    g.node('m', 'mamba2', [x], { d_model: 4, d_state: 2, d_conv: 2, expand: 2, headdim: 4, ngroups: 1, norm_eps: 1e-5, reverse: false });
    const ir = g.build(['m']);
    const a = accountNodes(ir, 1)[0]!;
    // d_inner 8, H 2, P 4, conv_dim 8 + 4 = 12, d_in_proj 16 + 4 + 2 = 22
    const inProj = 2 * 4 * 22; // 176
    const conv = 12 * (2 * 2 + 1) + 4 * 12; // taps + bias (60), SiLU (48)
    const dt = 2 * 6; // bias add + softplus per head
    const scan = 2 * (2 + 5 * 4 * 2 + 2 * 4); // per head: exp(dt A), 5 per state element, D x
    const gateNorm = 8 * 9 + 4;
    const outProj = 2 * 8 * 4;
    expect(inProj + conv + dt + scan + gateNorm + outProj).toBe(536);
    expect(a.flopsForward).toBe(3 * 536);
    expect(a.params).toBe(22 * 4 + 12 * 2 + 12 + 2 + 2 + 2 + 8 + 4 * 8);
  });

  it('ssgconv (E 3, L 2, 4 -> 5, K 2) per graph: normalisation, propagation, mixing, linear', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 3, 2, 4]);
    const adj = g.input('adj', ['B', 2, 3, 3]);
    g.node('s', 'ssgconv', [x, adj], { in_features: 4, out_features: 5, alpha: 0.05, K: 2, bias: true });
    const a = accountNodes(g.build(['s']), 1)[0]!;
    const perGraph = (3 * 9 + 2 * 3) + 2 * (2 * 9 * 4) + 3 * 2 * 3 * 4 + (2 * 3 * 4 * 5 + 3 * 5); // 33 + 144 + 72 + 135
    expect(perGraph).toBe(384);
    expect(a.flopsForward).toBe(2 * 384);
  });

  it('ops with nothing upstream to differentiate have no backward', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 2, 8]);
    const s = g.node('s', 'sanitize', [x], { nan: 0, min: -1, max: 1 });
    g.node('u', 'upsample_nearest', [s], { scale: 2 });
    const ir = g.build(['u']);
    const acc = accountNodes(ir, 1);
    expect(acc.map((a) => a.flopsBackward)).toEqual([0, 0]);
  });
});

describe('v3 totals', () => {
  const ir = buildV3('v3', preset('v3'));
  const s = graphSummary(ir, 1, savedActivations(ir, 1));

  it('TCN forward FLOPs per window, summed by hand over its layers', () => {
    const S = 15360, k = 7, chans = [19, 64, 128, 256, 512, 64, 128, 256, 512];
    let flops = 0;
    for (let i = 1; i < chans.length; i++) {
      const cin = chans[i - 1]!, cout = chans[i]!;
      flops += 2 * S * cout * cin * k + S * cout; // conv + bias
      flops += 3 * cout * cin * k + 3 * cout; // weight norm
      flops += S * cout + 3 * S * cout; // relu, dropout
    }
    flops += 2 * (2 * S * 512 * 512 + S * 512); // two 1x1 projections
    flops += 2 * 960 * 512 * 512 * 16 + 960 * 512; // downsampling conv, kernel = stride = 16
    expect(s.flops.modules.tcn!.forward).toBe(flops);
    expect(s.flops.modules.tcn!.forward / s.flops.forward).toBeGreaterThan(0.75); // "most of the FLOPs"
  });

  it('training state: f32 weights and gradients, two AdamW moments', () => {
    expect(s.training_state_bytes).toEqual({ weights: 4 * s.params.total, gradients: 4 * s.params.total, adamw: 8 * s.params.total });
  });
});
