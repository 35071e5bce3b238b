// Engine.train, as the lab's worker calls it: a preset trained on the synthetic EEG with a progress event per
// step carrying the Train tab's fields, stopTraining() ending the run after the current step, and the result's
// weights loading back into the graph.
import { describe, expect, it } from 'vitest';
import { useNodeGpu } from '../../src/gpu/device.ts';
import { nodeGpu } from '../../src/gpu/node-gpu.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { Engine, type TrainProgress } from '../../src/engine/engine.ts';
import { buildModel } from '../../src/engine/recording.ts';
import { loadWeights } from '../../src/graph/weights.ts';

const gpu = await testGpu();
const SPEC = { preset: 'v3-tiny', seed: 2, overrides: ['samples=256'] };

describe.skipIf(!gpu.session)('Engine.train', () => {
  it('reports every step, stops on request after the current one, and returns loadable weights', async () => {
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      const events: TrainProgress[] = [];
      const result = await engine.train({ model: SPEC, data: { kind: 'synthetic', seed: 4, minutes: 1 }, steps: 20, batch: 2, precision: 'f16-storage', lr: 1e-3 }, (p) => {
        events.push(p);
        if (p.step === 3) void engine.stopTraining();
      });
      expect(result.stopped).toBe(true);
      expect(events.map((p) => p.step)).toEqual([1, 2, 3]);
      expect(result.history).toEqual(events);
      for (const p of events) {
        expect(Object.keys(p).sort()).toEqual(['gradNorm', 'loss', 'lr', 'memoryBytes', 'scale', 'skipped', 'skippedTotal', 'step', 'stepMs', 'steps']);
        expect(p.steps).toBe(20);
        expect(Number.isFinite(p.loss) && Number.isFinite(p.gradNorm)).toBe(true);
        expect(p.memoryBytes).toBeGreaterThan(0);
      }
      expect(events[0]!.scale).toBe(65536);
      const { ir } = await buildModel(SPEC);
      expect(loadWeights(ir, result.weights).size).toBe(Object.keys(ir.params).length + Object.keys(ir.buffers).length);
      await expect(engine.train({ model: SPEC, data: { kind: 'windows', windows: new Float32Array(10), labels: new Float32Array(3) }, steps: 1, batch: 1, precision: 'f32' }))
        .rejects.toThrow(/not whole windows/);
    } finally {
      await engine.dispose();
    }
  }, 300_000);
});
