import { describe, expect, it } from 'vitest';
import { gridFor, SUBMIT_EVERY } from '../../src/gpu/session.ts';
import { binary, unary } from '../../src/kernels/elementwise.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { readBytes } from './read-buffer.ts';
import workgroupIds from './fixtures/workgroup_ids.wgsl?raw';

const gpu = await testGpu();

describe('gridFor', () => {
  it('keeps a 1-D grid within the limit and splits beyond it, never above the limit per dimension', () => {
    expect(gridFor(0, 65535)).toEqual([1, 1, 1]);
    expect(gridFor(1, 65535)).toEqual([1, 1, 1]);
    expect(gridFor(65535, 65535)).toEqual([65535, 1, 1]);
    for (const count of [65536, 65535 * 2 + 1, 1_000_003, 65535 * 65535]) {
      const [x, y, z] = gridFor(count, 65535);
      expect(x * y * z).toBeGreaterThanOrEqual(count);
      expect(x * y * z - count).toBeLessThan(y); // at most one short row of waste
      expect(Math.max(x, y, z)).toBeLessThanOrEqual(65535);
    }
  });
  it('refuses a count beyond a square of the limit', () => {
    expect(() => gridFor(65535 * 65535 + 1, 65535)).toThrow(`${65535 * 65535 + 1} workgroups exceed a 65535 x 65535 grid`);
  });
});

describe.skipIf(!gpu.session)('ComputeSession', () => {
  it('runs every workgroup of a split grid exactly once, as linear_wg numbers them', async () => {
    const s = gpu.session!;
    const count = s.device.limits.maxComputeWorkgroupsPerDimension + 1234;
    const seen = await s.arena.tensor([count], 'f32', 'seen'); // read as u32 by the fixture
    s.device.queue.writeBuffer(seen.buffer, 0, new Uint32Array(seen.bytes / 4));
    try {
      await s.dispatch({
        shader: { name: 'workgroup_ids.wgsl', source: workgroupIds }, entry: 'mark', precision: 'f32',
        params: new Uint32Array([count]), tensors: [seen], workgroups: count, label: 'workgroup ids',
      });
      await s.flush();
      const got = new Uint32Array(await readBytes(s.device, seen.buffer, seen.bytes));
      const wrong: number[] = [];
      for (let i = 0; i < count; i++) if (got[i] !== i + 1 && wrong.length < 5) wrong.push(i);
      expect(wrong).toEqual([]);
    } finally {
      s.arena.release(seen);
    }
  });

  it('keeps scratch until the next flush, then reuses it for the next pass, and frees it on request', async () => {
    const s = gpu.session!;
    await s.flush();
    s.releaseScratchPool();
    const before = s.arena.liveBytes;
    const t = await s.scratch([1000], 'f32', 'scratch');
    expect(s.arena.liveBytes).toBe(before + t.bytes);
    await s.flush();
    const again = await s.scratch([1000], 'f32', 'scratch again');
    expect(again.buffer, 'the same buffer serves the next pass: no allocation per pass').toBe(t.buffer);
    expect(s.arena.liveBytes).toBe(before + t.bytes);
    const other = await s.scratch([1000], 'f32', 'a second one in the same pass');
    expect(other.buffer).not.toBe(t.buffer);
    await s.flush();
    s.releaseScratchPool();
    expect(s.arena.liveBytes).toBe(before);
  });

  it('creates no buffer when the same pass is recorded and read back again (uniforms, scratch, read-back pooled)', async () => {
    const s = gpu.session!;
    const x = await s.arena.upload(Float64Array.from({ length: 300 }, (_, i) => i - 150), [3, 100], 'f32', 'x');
    const y = await s.arena.tensor([3, 100], 'f32', 'y');
    const pass = async () => {
      await unary(s, 'relu', x, y);
      await unary(s, 'silu', y, await s.scratch([3, 100], 'f32', 'tmp'));
      return s.read(y);
    };
    await pass();
    const create = s.device.createBuffer.bind(s.device);
    let created = 0;
    s.device.createBuffer = ((d: GPUBufferDescriptor) => { created++; return create(d); }) as typeof s.device.createBuffer;
    let out: Float64Array;
    try {
      out = await pass();
    } finally {
      s.device.createBuffer = create;
    }
    expect(created).toBe(0);
    expect(out[160]).toBe(10);
    s.arena.release(x);
    s.arena.release(y);
  });

  it('runs a batch longer than SUBMIT_EVERY in order across its submits, and reports an early part\'s validation error at the flush', async () => {
    const s = gpu.session!;
    const n = 2 * SUBMIT_EVERY + 7; // three submits: two while recording, one at the flush
    const ping = [await s.arena.upload(new Float64Array(10).fill(0), [10], 'f32', 'ping'), await s.arena.tensor([10], 'f32', 'pong')];
    const one = await s.arena.upload(new Float64Array(10).fill(1), [10], 'f32', 'one');
    // each reads the previous one's output
    for (let i = 0; i < n; i++) await binary(s, 'add', ping[i % 2]!, one, ping[(i + 1) % 2]!, `add ${i}`);
    const y = ping[n % 2]!;
    expect([...(await s.read(y))]).toEqual(new Array(10).fill(n));
    // A buffer without STORAGE usage fails validation in the first submitted part, long before the flush.
    const bad = s.device.createBuffer({ size: 64, usage: GPUBufferUsage.COPY_DST, label: 'not a storage buffer' });
    await binary(s, 'add', y, one, { ...y, buffer: bad }, 'the bad dispatch');
    for (let i = 0; i < SUBMIT_EVERY + 3; i++) await binary(s, 'add', ping[i % 2]!, one, ping[(i + 1) % 2]!, `after ${i}`);
    await expect(s.flush()).rejects.toThrow(/not a storage buffer|the bad dispatch|STORAGE/i);
    await s.flush(); // the session goes on
    bad.destroy();
    for (const t of ping) s.arena.release(t);
    s.arena.release(one);
  });
});
