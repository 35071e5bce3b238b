// Calibration kernels on a real adapter: the copy kernel copies, calibrate() measures and reports progress.
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import { calibrate, dispatchCopy, type CalibrateProgress } from '../../src/gpu/calibrate.ts';
import { makeRng, freshSeed } from '../harness/kernel-harness.ts';

const gpu = await testGpu();
const session = gpu.session;

describe.skipIf(!session)('calibration', () => {
  it('the copy kernel copies every element, including a partial last workgroup', async () => {
    const s = session!;
    const seed = freshSeed();
    const rng = makeRng(seed);
    const n = 4 * (256 * 3 + 5); // vec4 count not a multiple of the workgroup size
    const data = Float64Array.from({ length: n }, () => Math.fround(rng() * 4 - 2));
    const src = await s.arena.upload(data, [n], 'f32', 'src');
    const dst = await s.arena.tensor([n], 'f32', 'dst');
    try {
      s.arena.fill(dst);
      await dispatchCopy(s, src, dst);
      await s.flush();
      expect(Array.from(await s.read(dst)), `seed ${seed}`).toEqual(Array.from(data));
    } finally {
      s.arena.release(src);
      s.arena.release(dst);
    }
  });

  it('measures copy GB/s and FMA GFLOP/s with progress to the end', async () => {
    const progress: CalibrateProgress[] = [];
    const c = await calibrate(session!, { copyBytes: 4 * 2 ** 20 + 8, repeats: 2, targetMs: 5, onProgress: (p) => progress.push(p) });
    expect(c.timing).toBe('timestamp-query');
    expect(c.copy.bufferBytes).toBe(4 * 2 ** 20); // rounded down to whole vec4s
    expect(c.copy.work).toBe(2 * c.copy.bufferBytes);
    expect(c.fma.work).toBe(c.fma.invocations * c.fma.trips * 64);
    for (const m of [c.copy, c.fma]) {
      expect(m.runs).toBe(2);
      expect(m.bestNs).toBeGreaterThan(0);
      expect(m.bestNs).toBeLessThanOrEqual(m.medianNs);
      expect(m.best).toBeCloseTo(m.work / m.bestNs, 9);
    }
    expect(c.copyGBps).toBe(c.copy.best);
    expect(c.fmaGflops).toBe(c.fma.best);
    expect(c.ridge).toBeCloseTo(c.fmaGflops / c.copyGBps, 9);
    expect(c.adapter).toBe(session!.gpu.info.description);
    expect(progress.length).toBeGreaterThan(3);
    const total = progress[0]!.total;
    progress.forEach((p, i) => {
      expect(p.total).toBe(total);
      if (i) expect(p.done).toBeGreaterThan(progress[i - 1]!.done);
    });
    expect(progress.at(-1)!.done).toBe(total);
    expect(progress.map((p) => p.phase)).toEqual([...progress.filter((p) => p.phase === 'copy'), ...progress.filter((p) => p.phase === 'fma')].map((p) => p.phase));
    expect(session!.arena.liveBytes).toBe(0); // its buffers are released
  });

  it('rejects bad options with a message naming them', async () => {
    await expect(calibrate(session!, { repeats: 0 })).rejects.toThrow(/repeats must be a whole number from 1 to 64, got 0/);
    await expect(calibrate(session!, { copyBytes: 8 })).rejects.toThrow(/copyBytes must be at least 16, got 8/);
    await expect(calibrate(session!, { targetMs: -1 })).rejects.toThrow(/targetMs must be > 0, got -1/);
  });
});
