// Headroom: the predicted memory of a batch against the arena really used by a probe on this adapter, the
// curve's limits, and the probe's cancel.
import { describe, expect, it } from 'vitest';
import { useNodeGpu } from '../../src/gpu/device.ts';
import { nodeGpu } from '../../src/gpu/node-gpu.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { CancelledError, Engine } from '../../src/engine/engine.ts';
import { batchLadder, headroomCurve, type HeadroomPoint } from '../../src/engine/headroom.ts';

const gpu = await testGpu();

const point = (batch: number, total: number, largestBinding: number): HeadroomPoint =>
  ({ batch, weights: 0, activations: total, workspace: 0, gradients: 0, optimizerState: 0, total, largestBinding });

describe('headroom curve', () => {
  it('finds the largest batch that fits every limit and names the one the next batch breaks', () => {
    const points = [point(1, 100, 10), point(2, 200, 20), point(4, 400, 40), point(8, 800, 80)];
    const limits = { maxBufferSize: 1000, maxStorageBufferBindingSize: 50 };
    const c = headroomCurve('inference', 'f32', points, limits);
    expect(c.largestFitting).toBe(4);
    expect(c.bindingLimit).toBe('batch 8: its largest binding (80 bytes) exceeds maxStorageBufferBindingSize (50)');
    const budget = headroomCurve('inference', 'f32', points, { ...limits, budgetBytes: 250 });
    expect(budget.largestFitting).toBe(2);
    expect(budget.bindingLimit).toBe('batch 4: its total (400 bytes) exceeds the budget (250)');
    const none = headroomCurve('inference', 'f32', points, { ...limits, budgetBytes: 50 });
    expect(none.largestFitting).toBe(0);
    expect(none.bindingLimit).toMatch(/^batch 1: its total \(100 bytes\) exceeds the budget/);
    expect(headroomCurve('inference', 'f32', points, { maxBufferSize: 1e9, maxStorageBufferBindingSize: 1e9 }).bindingLimit).toBe('every batch up to 8 fits');
  });

  it('refuses a ladder without a whole largest batch', () => {
    expect(batchLadder(5)).toEqual([1, 2, 4]);
    expect(() => batchLadder(0)).toThrow('headroom: the largest batch wants a whole number >= 1, got 0');
    expect(() => batchLadder(2.5)).toThrow(/got 2\.5/);
  });
});

describe.skipIf(!gpu.session)('Engine headroom on this adapter', () => {
  // Weights and workspace come from the op records (derived parameters included); what is left is the kernels'
  // partial-sum scratch of an inference pass, which the forward plan does not size (0.2-0.4 % at v3-tiny).
  it('predicts the arena a forward pass really uses within 1 %, in f32 and f16-storage', async () => {
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      await engine.loadModel({ preset: 'v3-tiny', seed: 5 });
      for (const precision of ['f32', 'f16-storage'] as const) {
        const h = await engine.headroom({ precision, maxBatch: 2 });
        expect(h.inference.points.map((p) => p.batch)).toEqual([1, 2]);
        const probe = await engine.probeHeadroom({ precision, maxBatch: 2, mode: 'inference' });
        expect(probe.map((p) => p.ok)).toEqual([true, true]);
        for (const [i, p] of probe.entries()) {
          expect(p.predictedBytes).toBe(h.inference.points[i]!.total);
          expect(Math.abs(p.predictedBytes - p.measuredBytes) / p.measuredBytes, `${precision} batch ${p.batch}`).toBeLessThan(0.01);
        }
      }
      await expect(engine.headroom({ precision: 'f32', maxBatch: 2, budgetBytes: -1 })).rejects.toThrow('headroom: the memory budget wants a number of bytes > 0, got -1');
    } finally {
      await engine.dispose();
    }
  });

  it('stops a probe at its next step when cancelled', async () => {
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      const seen: number[] = [];
      const probe = engine.probeHeadroom({ model: { preset: 'v3-tiny', seed: 1, overrides: ['samples=512'] }, precision: 'f32', maxBatch: 64, mode: 'inference' }, (p) => {
        seen.push(p.batch);
        void engine.cancel();
      });
      await expect(probe).rejects.toThrow(CancelledError);
      expect(seen).toEqual([1]);
    } finally {
      await engine.dispose();
    }
  });
});
