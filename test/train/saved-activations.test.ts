// What the forward keeps for the backward, from the op records' `saves` (src/train/saved-activations.ts): small
// graphs counted by hand, the v3 preset's scaling, and the records against the training plan that sizes the
// same declarations (so the `ictal graph` figure and the arena the executor allocates cannot drift apart).
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/graph/builder.ts';
import { linearReluLinear } from '../harness/small-graphs.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { applyOverrides, preset } from '../../src/graph/config.ts';
import { PRECISIONS, tensorBytes, type Precision } from '../../src/gpu/precision.ts';
import { defaultChunk } from '../../src/kernels/mamba-scan.ts';
import { planTraining } from '../../src/train/plan.ts';
import { savedActivationBytes, savedActivations } from '../../src/train/saved-activations.ts';
import type { IrDocument } from '../../src/graph/ir.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { initWeights } from '../../src/graph/init.ts';
import { FOCAL_RECIPE } from '../../src/kernels/focal-loss.ts';
import { RECORDS } from '../../src/executor/lowerings.ts';
import type { OpRecord } from '../../src/executor/lowering.ts';
import { TrainingExecutor } from '../../src/train/training-executor.ts';

const gpu = await testGpu();

describe('saved for backward, counted by hand', () => {
  it('linear -> relu -> linear on [1, 7, 3]: x, and the relu output kept once though relu and l2 both read it', () => {
    const ir = linearReluLinear();
    // every buffer is rounded up to a whole pair of elements (precision.ts tensorBytes): 21 -> 22, 35 -> 36
    expect(savedActivationBytes(ir, 1, 'f32')).toBe((22 + 36) * 4);
    // f16-storage pads rows to even length: x 7 rows of 3 -> 4 (28 halves), relu 7 rows of 5 -> 6 (42 halves)
    expect(savedActivationBytes(ir, 1, 'f16-storage')).toBe((28 + 42) * 2);
    expect(savedActivationBytes(ir, 1, 'f16')).toBe((22 + 36) * 2);
    expect(savedActivationBytes(ir, 3, 'f32')).toBe((64 + 106) * 4); // 63 -> 64, 105 -> 106
  });

  it('layer_norm keeps its input and f32 mean and rstd per row; a reshape view is stored once, a repacking reshape is its own tensor', () => {
    const build = (to: number[]) => {
      const g = new GraphBuilder('t', {});
      const x = g.input('x', ['B', 4, 6]);
      const h = g.node('l', 'linear', [x], { in_features: 6, out_features: 6, bias: false });
      const v = g.node('v', 'reshape', [h], { shape: ['B', ...to] });
      g.node('n', 'layer_norm', [v], { normalized_shape: to.at(-1)!, eps: 1e-5 });
      return g.build(['n']);
    };
    // x (24) for l's dW, h (24: v is a view of it) for the norm, 4 rows of statistics
    expect(savedActivationBytes(build([2, 2, 6]), 1, 'f32')).toBe((24 + 24) * 4 + 2 * 4 * 4);
    // rows of 3 are padded to 4 in f16-storage: the reshape repacks h into a tensor of its own, which the norm keeps
    const odd = build([8, 3]);
    expect(savedActivationBytes(odd, 1, 'f32')).toBe((24 + 24) * 4 + 2 * 8 * 4);
    expect(savedActivationBytes(odd, 1, 'f16-storage')).toBe(24 * 2 + 8 * 4 * 2 + 2 * 8 * 4);
  });

  it('mamba2 (D 4, N 2, expand 2, headdim 4) on [1, 1, 3, 4]: its input, five per-token tensors, scan states and rstd', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 1, 3, 4]);
    g.node('m', 'mamba2', [x], { d_model: 4, d_state: 2, d_conv: 2, expand: 2, headdim: 4, ngroups: 1, norm_eps: 1e-5, reverse: false });
    const ir = g.build(['m']);
    // d_inner 8, H 2, P 4, conv_dim 12, d_in_proj 22; 3 tokens in one sequence, one chunk of the kernel's size
    expect(Math.ceil(3 / defaultChunk(2))).toBe(1);
    const perToken = 22 + 12 + 12 + 8 + 8; // zxbcdt, conv (pre-SiLU), xbc, scan output, normalised output
    const f32 = 1 * 1 * 2 * (2 * 4) + 4; // states [seqs, chunks, N, H*P]; rstd 3 -> 4
    for (const [p, eb] of [['f32', 4], ['f16', 2]] as const) expect(savedActivationBytes(ir, 1, p)).toBe((12 + 3 * perToken) * eb + f32 * 4);
  });

  it('graph stages: cosine_edges and top-k keep their inputs, ssgconv x, adj and the propagated features; dropout nothing', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 3, 2, 4]);
    const u = g.node('u', 'linear', [x], { in_features: 4, out_features: 4, bias: false });
    const w = g.node('c', 'cosine_edges', [u], { num_nodes: 3, eps: 1e-8 });
    const adj = g.node('k', 'topk_adjacency', [w], { num_nodes: 3, k: 2, threshold: 0, isolated_self_loop: 1 });
    const s = g.node('s', 'ssgconv', [u, adj], { in_features: 4, out_features: 5, alpha: 0.05, K: 2, bias: true });
    g.node('d', 'dropout', [s], { p: 0.1 });
    const ir = g.build(['d']);
    const n = (t: string) => ir.tensors[t]!.shape.slice(1).reduce((a: number, b) => a * (b as number), 1);
    expect(n(w)).toBe(3 * 2); // [B, pairs, L]
    // x (l's dW), u (cosine and ssgconv), w (top-k), adj (ssgconv), propagated (u's shape); f32
    expect(savedActivationBytes(ir, 1, 'f32')).toBe((24 + 24 + 6 + 18 + 24) * 4);
  });

  it('nothing upstream to differentiate: nothing kept', () => {
    const g = new GraphBuilder('t', {});
    const x = g.input('x', ['B', 2, 8]);
    const s = g.node('s', 'sanitize', [x], { nan: 0, min: -1, max: 1 });
    g.node('u', 'upsample_nearest', [s], { scale: 2 });
    expect(savedActivationBytes(g.build(['u']), 1, 'f32')).toBe(0);
  });
});

describe('v3', () => {
  const ir = buildV3('v3', preset('v3'));
  const s = savedActivations(ir, 1);

  it('scales with batch and about halves in the f16 modes', () => {
    expect(savedActivations(ir, 4).f32).toBe(4 * s.f32);
    expect(s.f16 / s.f32).toBeGreaterThan(0.5);
    expect(s.f16 / s.f32).toBeLessThan(0.55); // f32 statistics and states stay f32
    expect(s['f16-storage']).toBeGreaterThanOrEqual(s.f16); // row padding
  });
});

/**
 * The same declarations as the training plan sizes them: every saved tensor of a planned step, plus the
 * activations whose last reader is a backward (the ones the forward must keep), each once.
 */
function keptByPlan(ir: IrDocument, batch: number, p: Precision): number {
  const plan = planTraining(ir, batch, p);
  let bytes = 0;
  for (const st of plan.steps) for (const { tensor } of st.saved.values()) bytes += tensorBytes(tensor.shape, tensor.f32 ? 'f32' : p);
  const kept = new Set<string>();
  for (const st of plan.steps) {
    if (!st.backward) continue;
    const sv = st.record.saves?.(st.node, { inputs: st.node.inputs.map((t) => plan.tensors.get(t)!.shape), output: plan.tensors.get(st.node.outputs[0]!)!.shape });
    const root = (t: string) => plan.tensors.get(t)!.viewOf ?? t;
    for (const k of sv?.inputs ?? []) kept.add(root(st.node.inputs[k]!));
    if (sv?.output) kept.add(root(st.node.outputs[0]!));
  }
  for (const t of kept) bytes += plan.tensors.get(t)!.bytes;
  return bytes;
}

describe('records against the training plan', () => {
  for (const name of ['v3-tiny', 'v3'] as const) {
    it(`${name}: the graph summary's figure is what the plan keeps for the backward, in every precision`, () => {
      const ir = buildV3(name, applyOverrides(preset(name), []));
      for (const p of PRECISIONS) expect(savedActivationBytes(ir, 2, p), p).toBe(keptByPlan(ir, 2, p));
    });
  }
});

describe.skipIf(!gpu.session)('the executor holds the records to their declarations', () => {
  const g = new GraphBuilder('t', {});
  const x = g.input('x', ['B', 4, 6]);
  const h = g.node('l1', 'linear', [x], { in_features: 6, out_features: 6, bias: true });
  const r = g.node('r', 'relu', [h]);
  const n = g.node('n', 'layer_norm', [r], { normalized_shape: 6, eps: 1e-5 });
  g.node('l2', 'linear', [n], { in_features: 6, out_features: 1, bias: true });
  const ir = g.build(['l2']);

  /** One training step with `op`'s record changed as given (restored afterwards). */
  async function stepWith(op: string, change: (r: OpRecord) => Partial<OpRecord>): Promise<void> {
    const s = gpu.session!;
    const original = RECORDS[op]!;
    RECORDS[op] = { ...original, ...change(original) };
    const exec = await TrainingExecutor.create(s, ir, initWeights(ir, 1), 2, { precision: 'f32', loss: { ...FOCAL_RECIPE, posWeight: 1 } });
    const one = await s.arena.upload([1], [1], 'f32', 'scale');
    try {
      await exec.step(new Float32Array(48).map((_, i) => Math.sin(i)), new Float32Array(8).map((_, i) => i % 2), { lossScale: one, seed: 1, step: 0, training: false });
      await s.flush();
    } catch (e) {
      await s.discard(); // the half-recorded step names buffers released below
      throw e;
    } finally {
      RECORDS[op] = original;
      s.arena.release(one);
      exec.release();
    }
  }

  it('runs with the records as they are', async () => {
    await stepWith('relu', () => ({}));
  });

  it('refuses a saved input its backward never reads', async () => {
    await expect(stepWith('relu', () => ({ saves: () => ({ inputs: [0], output: true, tensors: [] }) }))).rejects.toThrow(
      'r (relu): its record declares input 0 in saves, which its backward never reads (the plan would keep it for nothing)');
  });

  it('refuses a saved tensor its forward never writes', async () => {
    await expect(stepWith('layer_norm', (o) => ({ saves: (node, sh) => { const sv = o.saves!(node, sh); return { ...sv, tensors: [...sv.tensors, { name: 'spare', shape: [8] }] }; } }))).rejects.toThrow(
      'n (layer_norm): its record declares spare in saves.tensors, which its forward never writes');
  });
});
