// The engine runs GPU tasks one at a time: a calibration asked for during a kernel profile waits for it.
import { describe, expect, it } from 'vitest';
import { useNodeGpu } from '../../src/gpu/device.ts';
import { nodeGpu } from '../../src/gpu/node-gpu.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { Engine } from '../../src/engine/engine.ts';

const gpu = await testGpu();

describe.skipIf(!gpu.session)('Engine', () => {
  it('serialises GPU tasks started together: the second starts after the first ends', async () => {
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    const events: string[] = [];
    const profiling = engine.profileKernels((p) => { if (p.done === 0) events.push('profile started'); }, { elements: 4096, families: ['elementwise'] })
      .then((r) => { events.push('profile ended'); return r; });
    const calibrating = engine.calibrate((p) => { if (!events.includes('calibrate started')) events.push('calibrate started'); void p; }, { copyBytes: 2 ** 20, repeats: 1, targetMs: 2 })
      .then((c) => { events.push('calibrate ended'); return c; });
    const [profile, calibration] = await Promise.all([profiling, calibrating]);
    expect(events.indexOf('calibrate started')).toBeGreaterThan(events.indexOf('profile ended'));
    expect(profile.report.kernels.length).toBeGreaterThan(0);
    expect(calibration.copyGBps).toBeGreaterThan(0);
    await engine.dispose();
  });
});
