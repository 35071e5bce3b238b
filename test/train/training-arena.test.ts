// The planned training arena is the allocated one: TrainingExecutor + AdamW allocate exactly plan.bytes.total
// (the session's own kernel partial-sum scratch, pooled per flush, is outside the plan and not counted here).
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import { applyOverrides, preset } from '../../src/graph/config.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { initWeights } from '../../src/graph/init.ts';
import { FOCAL_RECIPE } from '../../src/kernels/focal-loss.ts';
import { TrainingExecutor } from '../../src/train/training-executor.ts';
import { AdamW } from '../../src/train/optimizer.ts';

const gpu = await testGpu();

describe.skipIf(!gpu.session)('training arena', () => {
  for (const [name, overrides, precision] of [['v3-tiny', ['samples=1024'], 'f32'], ['v3-tiny', ['samples=1024'], 'f16-storage']] as const) {
    it(`${name} ${precision}: allocated bytes equal the plan's total`, async () => {
      const s = gpu.session!;
      const ir = buildV3(name, applyOverrides(preset(name), [...overrides]));
      const before = s.arena.liveBytes;
      const exec = await TrainingExecutor.create(s, ir, initWeights(ir, 3), 2, { precision, loss: { ...FOCAL_RECIPE, posWeight: 1 } });
      const opt = await AdamW.create(s, ir, exec.params, exec.grads, { lr: 1e-3, weightDecay: 0.05, betas: [0.9, 0.999], clipNorm: 0.5 });
      try {
        expect(s.arena.liveBytes - before).toBe(exec.plan.bytes.total);
        const b = exec.plan.bytes;
        expect(b.weights + b.gradients + b.optimizerState + b.activationsKept + b.workspace).toBe(b.total);
      } finally {
        opt.release();
        exec.release();
      }
    });
  }
});
