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
 * catches a wrong kernel (errors of order 1).
 * Top-k selection is discontinuous: where two edge weights lie within an executor's rounding of each other (a few
 * per cent of fresh f32 draws, most f16 ones), the GPU may keep the other one. That is no numerical error, so
 * whenever the selections differ the logits are compared with the reference forward given the GPU's adjacency
 * (everything else still computed independently), and the selections must agree almost everywhere.
 */
const END_TO_END: Record<Precision, number> = { f32: 1e-3, 'f16-storage': 5e-2, f16: 5e-2 };
const SELECTION_AGREEMENT: Record<Precision, number> = { f32: 0.999, 'f16-storage': 0.99, f16: 0.99 };

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

/** The logits error against the reference, given the GPU's selection where it differs; and the agreement. */
function compare(y: Float64Array, adjacency: Float64Array): { err: number; agreement: number; forced: boolean } {
  const refAdj = reference.get('adjacency')!.data;
  let same = 0;
  for (let i = 0; i < refAdj.length; i++) if ((refAdj[i] === 0) === (adjacency[i] === 0)) same++;
  const agreement = same / refAdj.length;
  if (agreement === 1) return { err: relativeError(y, reference.get('logits')!.data), agreement, forced: false };
  const forced = referenceForward(ir, weights, inputTensor, new Map([['adjacency', { shape: [], data: adjacency }]])).get('logits')!.data;
  return { err: relativeError(y, forced), agreement, forced: true };
}

describe('v3-tiny forward on WebGPU', () => {
  for (const precision of ['f32', 'f16-storage', 'f16'] as Precision[]) {
    it.skipIf(!gpu.precisions.includes(precision))(`matches the float64 CPU forward in ${precision}, one micro-batch at a time`, async () => {
      const exec = await ForwardExecutor.create(gpu.session!, ir, weights, batch, { precision, microBatch: 1, keep: ['adjacency'] });
      try {
        const y = await exec.run(input, batch);
        // With micro-batches of 1, the kept adjacency is the last item's: run the whole batch once more for it.
        const whole = await ForwardExecutor.create(gpu.session!, ir, weights, batch, { precision, microBatch: batch, keep: ['adjacency'] });
        let adjacency: Float64Array;
        try {
          expect(Buffer.from((await whole.run(input, batch)).buffer).equals(Buffer.from(y.buffer)), 'micro-batches give the same bits as the whole batch').toBe(true);
          adjacency = await whole.readTensor('adjacency');
        } finally {
          whole.destroy();
        }
        const { err, agreement, forced } = compare(y, adjacency);
        console.log(`${precision}: logits error ${err.toExponential(2)}${forced ? " (given the GPU's selection)" : ''}; selection agreement ${(100 * agreement).toFixed(3)}%`);
        expect(err, `normalised max error ${err} (tolerance ${END_TO_END[precision]}, seed ${seed})`).toBeLessThanOrEqual(END_TO_END[precision]);
        expect(agreement, 'the selection differs only where weights nearly tie').toBeGreaterThanOrEqual(SELECTION_AGREEMENT[precision]);
        if (precision === 'f32') {
          const again = await exec.run(input, batch);
          expect(Buffer.from(again.buffer).equals(Buffer.from(y.buffer)), 'the same input gives the same bits').toBe(true);
        }
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
