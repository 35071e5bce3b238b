// FLOPs, bytes and saved-activation memory on small graphs counted by hand, and on the v3 TCN.
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { accountNodes, graphSummary, movedBytes, savedActivationBytes } from '../../src/graph/accounting.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { preset } from '../../src/graph/config.ts';

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

  it('linear -> relu -> linear on [1, 7, 3]: counts, and the relu output kept once though two ops need it', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 7, 3]);
    const h = g.node('l1', 'linear', [x], { in_features: 3, out_features: 5, bias: true });
    const r = g.node('r', 'relu', [h]);
    g.node('l2', 'linear', [r], { in_features: 5, out_features: 2, bias: true });
    const ir = g.build(['l2']);
    const a = byId(ir, 1);
    expect(a.l1!.flopsForward).toBe(2 * 7 * 3 * 5 + 7 * 5); // 245
    expect(a.l1!.flopsBackward).toBe(2 * 7 * 3 * 5 + 7 * 5); // dW + db; x needs no gradient
    expect(a.r!.flopsForward).toBe(35);
    expect(a.r!.flopsBackward).toBe(35);
    expect(a.l2!.flopsForward).toBe(2 * 7 * 5 * 2 + 7 * 2); // 154
    expect(a.l2!.flopsBackward).toBe(2 * (2 * 7 * 5 * 2) + 7 * 2); // dX + dW + db = 294
    const acc = accountNodes(ir, 1);
    // kept: x (l1's input, 21 values) and the relu output (35 values, needed by relu and l2: stored once)
    // every buffer is rounded up to a whole pair of elements (precision.ts tensorBytes): 21 -> 22, 35 -> 36
    expect(savedActivationBytes(ir, acc, 1, 'f32')).toBe((22 + 36) * 4);
    // f16-storage pads rows to even length: x 7 rows of 3 -> 4 (28 halves), relu 7 rows of 5 -> 6 (42 halves)
    expect(savedActivationBytes(ir, acc, 1, 'f16-storage')).toBe((28 + 42) * 2);
    // f16: no row padding, the same pair rounding
    expect(savedActivationBytes(ir, acc, 1, 'f16')).toBe((22 + 36) * 2);
    // at batch 3: 63 -> 64 and 105 -> 106 values (f32)
    expect(savedActivationBytes(ir, accountNodes(ir, 3), 3, 'f32')).toBe((64 + 106) * 4);
  });

  it('layer_norm keeps its input plus mean and rstd in f32 per row; a reshape view is stored once', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 4, 6]);
    const h = g.node('l', 'linear', [x], { in_features: 6, out_features: 6, bias: false });
    const v = g.node('v', 'reshape', [h], { shape: ['B', 2, 2, 6] });
    g.node('n', 'layer_norm', [v], { normalized_shape: 6, eps: 1e-5 });
    const ir = g.build(['n']);
    const acc = accountNodes(ir, 1);
    const a = Object.fromEntries(acc.map((n) => [n.id, n]));
    expect(a.n!.flopsForward).toBe(7 * 24 + 2 * 4);
    expect(a.n!.extraF32).toBe(2 * 4);
    // x (24) for l's dW, h (24: v is a view of it) for the norm, plus 8 f32 statistics
    expect(savedActivationBytes(ir, acc, 1, 'f32')).toBe((24 + 24) * 4 + 8 * 4);
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
    expect(a.extraAct).toBe(3 * (22 + 12 + 2 * 8)); // zxbcdt, activated xBC, y, normalised output
    expect(a.extraF32).toBe(3 + 1 * 1 * 2 * 4 * 2); // rstd per token; one chunk-boundary state per head (P x N)
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

  it('ops with nothing upstream to differentiate have no backward and keep nothing', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 2, 8]);
    const s = g.node('s', 'sanitize', [x], { nan: 0, min: -1, max: 1 });
    g.node('u', 'upsample_nearest', [s], { scale: 2 });
    const ir = g.build(['u']);
    const acc = accountNodes(ir, 1);
    expect(acc.map((a) => a.flopsBackward)).toEqual([0, 0]);
    expect(savedActivationBytes(ir, acc, 1, 'f32')).toBe(0);
  });
});

describe('v3 totals', () => {
  const ir = buildV3('v3', preset('v3'));
  const s = graphSummary(ir, 1);

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

  it('activation memory scales with batch and halves (about) in the f16 modes', () => {
    const s4 = graphSummary(ir, 4);
    expect(s4.activations.f32).toBe(4 * s.activations.f32);
    expect(s.activations.f16 / s.activations.f32).toBeGreaterThan(0.5);
    expect(s.activations.f16 / s.activations.f32).toBeLessThan(0.55); // f32 statistics and states stay f32
    expect(s.activations['f16-storage']).toBeGreaterThanOrEqual(s.activations.f16); // row padding
    expect(s.training_state_bytes.adamw).toBe(8 * s.params.total);
  });
});
