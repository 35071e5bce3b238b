// The planned training arena is the allocated one, every byte: TrainingExecutor + AdamW allocate exactly
// plan.bytes.total (the kernels' partial-sum scratch included, sized by a recorded step), and a step with its
// optimizer update allocates nothing more. Full v3 at batch 1 is allocated too, but its step is not run: on
// lavapipe one full-v3 step takes minutes.
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import { applyOverrides, preset } from '../../src/graph/config.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { initWeights } from '../../src/graph/init.ts';
import { FOCAL_RECIPE } from '../../src/kernels/focal-loss.ts';
import { TrainingExecutor } from '../../src/train/training-executor.ts';
import { AdamW } from '../../src/train/optimizer.ts';
import { planTraining, samplesPerWindow } from '../../src/train/plan.ts';
import type { Precision } from '../../src/gpu/precision.ts';

const gpu = await testGpu();

async function arena(name: 'v3-tiny' | 'v3', overrides: string[], batch: number, precision: Precision, run: boolean): Promise<void> {
  const s = gpu.session!;
  const ir = buildV3(name, applyOverrides(preset(name), overrides));
  const before = s.arena.liveBytes;
  const exec = await TrainingExecutor.create(s, ir, initWeights(ir, 3), batch, { precision, loss: { ...FOCAL_RECIPE, posWeight: 1 } });
  const opt = await AdamW.create(s, ir, exec.params, exec.grads, { lr: 1e-3, weightDecay: 0.05, betas: [0.9, 0.999], clipNorm: 0.5 });
  try {
    const b = exec.plan.bytes;
    expect(s.arena.liveBytes - before).toBe(b.total);
    expect(b.weights + b.gradients + b.optimizerState + b.activationsKept + b.workspace).toBe(b.total);
    // the kernel scratch is the one part planTraining alone cannot size (it depends on the adapter's kernels)
    const pure = planTraining(ir, exec.plan.batch, precision, batch).bytes;
    const scratch = exec.plan.kernelScratchSlots.reduce((a, sl) => a + sl.bytes, 0);
    expect(scratch).toBeGreaterThan(0);
    expect(b.total - pure.total).toBe(scratch);
    if (!run) return;
    const inPer = ir.tensors[ir.inputs[0]!]!.shape.slice(1).reduce((a: number, d) => a * (d as number), 1);
    const input = new Float32Array(batch * inPer).map((_, i) => Math.sin(i * 0.01));
    const labels = new Float32Array(batch * samplesPerWindow(ir)).map((_, i) => (i % 7 === 0 ? 1 : 0));
    s.arena.peakBytes = s.arena.liveBytes;
    await exec.step(input, labels, { lossScale: opt.lossScale, seed: 1, step: 0, training: true });
    await opt.record(exec.lossSum, 1e-3);
    await s.flush();
    expect(s.arena.peakBytes - before, 'the step and the update allocated nothing beyond the plan').toBe(b.total);
  } finally {
    opt.release();
    exec.release();
  }
}

describe.skipIf(!gpu.session)('training arena', () => {
  for (const precision of ['f32', 'f16-storage'] as const) {
    it(`v3-tiny ${precision}: allocated bytes equal the plan's total, before and through a step`, () => arena('v3-tiny', ['samples=1024'], 2, precision, true));
  }
  for (const precision of ['f32', 'f16-storage'] as const) {
    it(`full v3 ${precision}, batch 1: allocated bytes equal the plan's total (allocated, step not run)`, () => arena('v3', [], 1, precision, false), 60_000);
  }
});
