// Engine.train on the recording open in the lab (the Train tab's "the open recording"), on a real adapter.
import { describe, expect, it } from 'vitest';
import { useNodeGpu } from '../../src/gpu/device.ts';
import { nodeGpu } from '../../src/gpu/node-gpu.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { Engine } from '../../src/engine/engine.ts';

const gpu = await testGpu();

describe.skipIf(!gpu.session)('Engine.train on the open recording', () => {
  it('refuses without a recording, then trains on its windows', async () => {
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      await engine.loadModel({ preset: 'v3-tiny', seed: 4, overrides: ['samples=256'] });
      const config = { steps: 1, batch: 1, precision: 'f32' as const, data: { kind: 'recording' as const } };
      await expect(engine.train(config)).rejects.toThrow(/no recording is open/);
      await engine.openSyntheticRecording({ minutes: 1, seed: 3 });
      const r = await engine.train(config);
      expect(r.history).toHaveLength(1);
      expect(Number.isFinite(r.history[0]!.loss)).toBe(true);
      expect(r.trainingWindows).toBeGreaterThan(0);
    } finally {
      await engine.dispose();
    }
  });
});
