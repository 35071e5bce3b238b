// Engine.profileModel, the method behind `ictal profile` and the lab's Model profile tab, on a real adapter.
import { describe, expect, it } from 'vitest';
import { useNodeGpu } from '../../src/gpu/device.ts';
import { nodeGpu } from '../../src/gpu/node-gpu.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { Engine } from '../../src/engine/engine.ts';

const gpu = await testGpu();

describe.skipIf(!gpu.session)('Engine.profileModel', () => {
  it('times every dispatch of one forward pass, by node and by kernel, with the timeline as a Chrome trace', async () => {
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      await expect(engine.profileModel({ batch: 1, precision: 'f32' })).rejects.toThrow(/no model is loaded/);
      await engine.loadModel({ preset: 'v3-tiny', seed: 3 });
      await expect(engine.profileModel({ batch: 0, precision: 'f32' })).rejects.toThrow(/batch wants a whole number >= 1, got 0/);
      const p = await engine.profileModel({ batch: 2, precision: 'f32' });
      expect(p).toMatchObject({ model: 'v3-tiny', batch: 2, precision: 'f32' });
      const dispatches = p.byNode.dispatches;
      expect(dispatches).toBeGreaterThan(20);
      expect(p.byKernel.dispatches).toBe(dispatches);
      const calls = (rows: { calls: number }[]) => rows.reduce((a, r) => a + r.calls, 0);
      expect(calls(p.byNode.kernels)).toBe(dispatches);
      expect(calls(p.byKernel.kernels)).toBe(dispatches);
      // By kernel: one row per shader entry, each summing its modules' rows.
      const kernels = new Set(p.byNode.kernels.map((r) => r.kernel));
      expect(p.byKernel.kernels.map((r) => r.label).sort()).toEqual([...kernels].sort());
      for (const k of p.byKernel.kernels) {
        const parts = p.byNode.kernels.filter((r) => r.kernel === k.label);
        expect(k.timeNs).toBeCloseTo(parts.reduce((a, r) => a + r.timeNs, 0), 3);
      }
      const shares = p.byKernel.kernels.reduce((a, r) => a + r.share, 0);
      expect(shares).toBeCloseTo(1, 6);
      // The timeline: one complete event per dispatch, in GPU order.
      const events = p.trace.traceEvents.filter((e) => e.ph === 'X');
      expect(events).toHaveLength(dispatches);
      for (let i = 1; i < events.length; i++) expect(events[i]!.ts).toBeGreaterThanOrEqual(events[i - 1]!.ts);
      expect(p.byNode.roofline).toBeUndefined(); // no calibration yet
      expect(p.activationBytes).toBeGreaterThan(0);
      expect(p.arenaPeakBytes).toBeGreaterThanOrEqual(p.activationBytes);
      // A spec profiles that model without replacing the loaded one.
      const other = await engine.profileModel({ model: { preset: 'v3-tiny', seed: 3, overrides: ['head.hidden=16'] }, batch: 1, precision: 'f32' });
      expect(other.source).toMatch(/head\.hidden=16/);
      expect((await engine.profileModel({ batch: 1, precision: 'f32' })).source).not.toMatch(/head\.hidden/);
    } finally {
      await engine.dispose();
    }
  });

  it('reports each step before it starts, and a cancel stops it at the next step, freeing what it held', async () => {
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      await engine.loadModel({ preset: 'v3-tiny', seed: 3, overrides: ['samples=256'] });
      const steps: string[] = [];
      await engine.profileModel({ batch: 1, precision: 'f32', overheadRuns: 1 }, (p) => steps.push(`${p.done}/${p.total} ${p.message}`));
      expect(steps).toEqual([
        '0/4 weights to the GPU (v3-tiny, batch 1, f32)',
        '1/4 warm-up pass: the input uploaded, every pipeline compiled (v3-tiny, batch 1, f32)',
        '2/4 the timed pass (v3-tiny, batch 1, f32)',
        "3/4 the profiler's own cost: 1 passes with and 1 without timestamps (v3-tiny, batch 1, f32)",
      ]);
      const live = () => (engine as unknown as { session: { arena: { liveBytes: number } } }).session.arena.liveBytes;
      const before = live();
      const seen: number[] = [];
      // Asked during the warm-up: the timed pass never starts.
      const cancelled = engine.profileModel({ batch: 2, precision: 'f32' }, (p) => {
        seen.push(p.done);
        if (p.done === 1) void engine.cancel();
      });
      await expect(cancelled).rejects.toMatchObject({ name: 'CancelledError', message: 'model profile cancelled' });
      expect(seen).toEqual([0, 1]);
      expect(live()).toBe(before); // the executor's weights and activations went with the throw
      // The cancel was for that task only: the next one runs to the end.
      expect((await engine.profileModel({ batch: 1, precision: 'f32' })).byNode.dispatches).toBeGreaterThan(20);
    } finally {
      await engine.dispose();
    }
  });
});
