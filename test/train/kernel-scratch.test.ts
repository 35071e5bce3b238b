// The session's planned kernel scratch (what the training plan sizes and the executor allocates): a sizing pass
// notes each scope's requests by position, planned slots serve them as views, and a request the plan did not
// size is refused instead of allocated. The training arena test checks it end to end on v3 and v3-tiny.
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';

const gpu = await testGpu();

describe.skipIf(!gpu.session)('planned kernel scratch', () => {
  it('sizes slot j as the largest j-th request of any scope, then serves requests from the slots and refuses larger ones', async () => {
    const s = gpu.session!;
    const before = s.arena.liveBytes;
    await s.beginScratchSizing();
    s.scratchScope();
    await s.scratch([10], 'f32', 'a'); // 40 bytes
    await s.scratch([3], 'f32', 'b'); // rounded to a pair: 16 bytes
    s.scratchScope();
    await s.scratch([6], 'f16', 'c'); // 12 bytes
    await s.scratch([2, 9], 'f32', 'd'); // 72 bytes, position 1
    await s.scratch([1], 'f32', 'e');
    await s.discard();
    expect(s.endScratchSizing()).toEqual([40, 72, 8]);
    expect(s.arena.liveBytes, 'the sizing pass leaves nothing allocated').toBe(before);

    const slots = [await s.arena.tensor([10], 'f32', 'slot 0'), await s.arena.tensor([18], 'f32', 'slot 1')];
    const allocated = s.arena.liveBytes;
    s.usePlannedScratch(slots);
    try {
      s.scratchScope();
      const a = await s.scratch([4, 2], 'f16', 'a');
      const b = await s.scratch([18], 'f32', 'b');
      expect([a.buffer, b.buffer]).toEqual([slots[0]!.buffer, slots[1]!.buffer]);
      expect([a.shape, a.precision, a.bytes]).toEqual([[4, 2], 'f16', 16]);
      await expect(s.scratch([1], 'f32', 'third')).rejects.toThrow('kernel scratch: third asks for 8 bytes as request 2 of its node; the plan sized 2 requests');
      s.scratchScope();
      await expect(s.scratch([11], 'f32', 'big')).rejects.toThrow('kernel scratch: big asks for 48 bytes as request 0 of its node; the plan sized 40 bytes');
      expect(s.arena.liveBytes, 'planned requests allocate nothing').toBe(allocated);
    } finally {
      s.usePlannedScratch(undefined);
      for (const t of slots) s.arena.release(t);
    }
    // outside the plan, requests come from the session's pool again
    const pooled = await s.scratch([10], 'f32', 'pooled');
    expect(pooled.buffer).not.toBe(slots[0]!.buffer);
    await s.flush();
    s.releaseScratchPool();
    expect(s.arena.liveBytes).toBe(before);
  });

  it('a sizing pass cannot nest or run with planned slots', async () => {
    const s = gpu.session!;
    s.usePlannedScratch([]);
    await expect(s.beginScratchSizing()).rejects.toThrow('kernel scratch: a sizing pass cannot start inside another or with planned slots');
    s.usePlannedScratch(undefined);
    expect(() => s.endScratchSizing()).toThrow('kernel scratch: no sizing pass to end');
  });
});
