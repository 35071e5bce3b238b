// The whole v3-tiny forward on WebGPU against the independent float64 CPU forward (src/graph/reference-forward.ts).
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import { makeRng, relativeError, freshSeed } from '../harness/kernel-harness.ts';
import { applyOverrides, preset } from '../../src/graph/config.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { initWeights } from '../../src/graph/init.ts';
import { referenceForward } from '../../src/graph/reference-forward.ts';
import { ForwardExecutor } from '../../src/executor/forward-executor.ts';
import { planForward } from '../../src/executor/plan.ts';
import type { Precision } from '../../src/gpu/precision.ts';

/**
 * End-to-end tolerances (normalised max error of the logits), declared once here. f32: the 1e-3.
 * f16 modes: every stored activation is rounded to half through ~60 layers; 5e-2 allows that and still
 * catches a wrong kernel (errors of order 1). In f16 the top-k selection may pick differently where edge weights
 * are within a half's resolution of each other, a discrete change no tolerance should absorb: so the f16 runs
 * are compared with the reference forward given the GPU's own adjacency (everything else still independent).
 */
const END_TO_END: Record<Precision, number> = { f32: 1e-3, 'f16-storage': 5e-2, f16: 5e-2 };

const gpu = await testGpu();
// v3-tiny with 4 s windows (T = 64): every op of the real topology, small enough for a CPU float64 forward.
const ir = buildV3('v3-tiny', applyOverrides(preset('v3-tiny'), ['samples=1024']));
const weights = initWeights(ir, 7);
const batch = 2;
const seed = freshSeed();
const rng = makeRng(seed);
const perItem = 19 * 1024;
const input = new Float32Array(batch * perItem).map(() => (rng() - 0.5) * 8);
input[5] = NaN; // sanitize must turn it into 0
input[perItem + 9] = 1e4; // and clamp this one to 10
const inputTensor = { shape: [batch, 19, 1024], data: Float64Array.from(input) };
const reference = referenceForward(ir, weights, inputTensor);
const referenceLogits = reference.get('logits')!.data;

describe('v3-tiny forward on WebGPU', () => {
  it.skipIf(!gpu.precisions.includes('f32'))('matches the float64 CPU forward in f32, one micro-batch at a time, bit for bit twice', async () => {
    const exec = await ForwardExecutor.create(gpu.session!, ir, weights, batch, { precision: 'f32', microBatch: 1 });
    try {
      const y = await exec.run(input, batch);
      const err = relativeError(y, referenceLogits);
      expect(err, `normalised max error ${err} (tolerance ${END_TO_END.f32}, seed ${seed})`).toBeLessThanOrEqual(END_TO_END.f32);
      const again = await exec.run(input, batch);
      expect(Buffer.from(again.buffer).equals(Buffer.from(y.buffer)), 'the same input gives the same bits').toBe(true);
    } finally {
      exec.destroy();
    }
  });

  for (const precision of ['f16-storage', 'f16'] as Precision[]) {
    it.skipIf(!gpu.precisions.includes(precision))(`matches the float64 CPU forward in ${precision}, given the GPU's top-k selection`, async () => {
      const exec = await ForwardExecutor.create(gpu.session!, ir, weights, batch, { precision, microBatch: batch, keep: ['adjacency'] });
      try {
        const y = await exec.run(input, batch);
        const adjacency = await exec.readTensor('adjacency');
        const forced = referenceForward(ir, weights, inputTensor, new Map([['adjacency', { shape: [], data: adjacency }]])).get('logits')!.data;
        const err = relativeError(y, forced);
        const refAdj = reference.get('adjacency')!.data;
        const same = refAdj.reduce((n, v, i) => n + ((v === 0) === (adjacency[i] === 0) ? 1 : 0), 0) / refAdj.length;
        console.log(`${precision}: logits error ${err.toExponential(2)}; adjacency support equal to the f64 selection on ${(100 * same).toFixed(2)}% of entries`);
        expect(err, `normalised max error ${err} (tolerance ${END_TO_END[precision]}, seed ${seed})`).toBeLessThanOrEqual(END_TO_END[precision]);
        expect(same, 'the selection differs only where weights nearly tie').toBeGreaterThan(0.9);
      } finally {
        exec.destroy();
      }
    });
  }
});

describe('forward plan', () => {
  it('reuses activation buffers: the arena is far smaller than every tensor summed', () => {
    const plan = planForward(ir, 4, 'f32');
    const all = [...plan.tensors.values()].filter((t) => !t.viewOf).reduce((s, t) => s + t.bytes, 0);
    expect(plan.activationBytes).toBeLessThan(all / 2);
    for (const t of plan.tensors.values()) expect(plan.slots[t.slot]!.bytes).toBeGreaterThanOrEqual(t.bytes);
  });

  it('never gives two live tensors the same slot', () => {
    const plan = planForward(ir, 2, 'f16-storage', ['adjacency']);
    const live = [...plan.tensors.values()].filter((t) => !t.viewOf);
    const end = (t: (typeof live)[number]) => Math.max(t.lastUse, t.producer);
    for (const a of live)
      for (const b of live) {
        if (a === b || a.slot !== b.slot) continue;
        const overlap = a.producer <= end(b) && b.producer <= end(a);
        expect(overlap, `${a.name} [${a.producer}, ${a.lastUse}] and ${b.name} [${b.producer}, ${b.lastUse}] share slot ${a.slot}`).toBe(false);
      }
  });
});
