// Micro-batches: gradients summed over micro-batches of 1 equal the whole batch's (the loss is the mean over the
// whole batch); dropout in training is deterministic for a seed, differs across seeds, and does not depend on
// the micro-batch split (its mask is indexed by the sample's place in the whole batch).
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import { makeRng, relativeError } from '../harness/kernel-harness.ts';
import { applyOverrides, preset } from '../../src/graph/config.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { initWeights } from '../../src/graph/init.ts';
import { FOCAL_RECIPE } from '../../src/kernels/focal-loss.ts';
import { TrainingExecutor, type StepOptions } from '../../src/train/training-executor.ts';

const gpu = await testGpu();
const ir = buildV3('v3-tiny', applyOverrides(preset('v3-tiny'), ['samples=512']));
const weights = initWeights(ir, 5);
const rng = makeRng(99);
const input = new Float32Array(2 * 19 * 512).map(() => (rng() - 0.5) * 6);
const labels = new Float32Array(2 * 512).map(() => Number(rng() > 0.6));

async function gradsOf(micro: number, o: Omit<StepOptions, 'lossScale'>): Promise<Map<string, Float64Array>> {
  const s = gpu.session!;
  const exec = await TrainingExecutor.create(s, ir, weights, 2, { precision: 'f32', microBatch: micro, loss: { ...FOCAL_RECIPE, posWeight: 1.5 } });
  const one = await s.arena.upload([1], [1], 'f32', 'scale');
  try {
    for (const g of exec.grads.values()) s.arena.fill(g); // poison: the first micro-batch must overwrite
    await exec.step(input, labels, { ...o, lossScale: one });
    return new Map([...(await exec.downloadGrads())].map(([k, g]) => [k, Float64Array.from(g.data)]));
  } finally {
    s.arena.release(one);
    exec.release();
  }
}

function worst(a: Map<string, Float64Array>, b: Map<string, Float64Array>): number {
  return Math.max(...[...b].map(([k, v]) => relativeError(a.get(k)!, v)));
}

describe.skipIf(!gpu.session)('micro-batches and dropout', () => {
  it('micro-batches of 1 sum to the whole batch gradient; dropout keyed by seed, not by the split', async () => {
    const whole = await gradsOf(2, { seed: 1, step: 0, training: false });
    const split = await gradsOf(1, { seed: 1, step: 0, training: false });
    expect(worst(split, whole)).toBeLessThanOrEqual(1e-5);
    const dropA = await gradsOf(2, { seed: 7, step: 3, training: true });
    const dropSplit = await gradsOf(1, { seed: 7, step: 3, training: true });
    const dropB = await gradsOf(2, { seed: 8, step: 3, training: true });
    expect(worst(dropSplit, dropA), 'same mask whatever the split').toBeLessThanOrEqual(1e-5);
    expect(worst(dropA, whole), 'dropout changes the gradient').toBeGreaterThan(1e-2);
    expect(worst(dropB, dropA), 'another seed, another mask').toBeGreaterThan(1e-2);
  });
});
