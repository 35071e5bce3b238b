// Arena accounting and the error scopes: failures name the operation that raised them.
import { describe, expect, it } from 'vitest';
import { BufferArena } from '../../src/gpu/arena.ts';
import { GpuOperationError, withErrorScopes } from '../../src/gpu/errors.ts';
import { PipelineCache } from '../../src/gpu/pipeline-cache.ts';
import { tensorBytes } from '../../src/gpu/precision.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import syntaxError from './fixtures/syntax_error.wgsl?raw';

const gpu = await testGpu();
const device = () => gpu.session!.device;

describe.skipIf(!gpu.session)('BufferArena', () => {
  it('counts live and peak bytes exactly, and a second release of a tensor changes nothing', async () => {
    const arena = new BufferArena(device());
    const a = await arena.tensor([3, 5], 'f16-storage', 'a');
    const b = await arena.tensor([1000], 'f32', 'b');
    expect(a.bytes).toBe(tensorBytes([3, 5], 'f16-storage'));
    expect(arena.liveBytes).toBe(a.bytes + b.bytes);
    arena.release(a);
    arena.release(a);
    expect(arena.liveBytes).toBe(b.bytes);
    const c = await arena.tensor([7], 'f16', 'c');
    expect(arena.liveBytes).toBe(b.bytes + c.bytes);
    expect(arena.peakBytes).toBe(a.bytes + b.bytes);
    arena.releaseAll();
    expect(arena.liveBytes).toBe(0);
    expect(arena.peakBytes).toBe(a.bytes + b.bytes);
  });

  it('uploads and downloads logical values through the row padding', async () => {
    const arena = new BufferArena(device());
    const t = await arena.upload([1, 2, 3, 4, 5, 6], [2, 3], 'f16-storage', 't');
    expect([...await gpu.session!.read(t)]).toEqual([1, 2, 3, 4, 5, 6]);
    arena.releaseAll();
  });

  it('refuses a tensor over maxBufferSize with a GpuOperationError naming the allocation', async () => {
    const arena = new BufferArena(device());
    const max = device().limits.maxBufferSize;
    const err = await arena.tensor([max / 4 + 1], 'f32', 'huge').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuOperationError);
    expect((err as GpuOperationError).operation).toBe(`allocate huge [${max / 4 + 1}] f32`);
    expect((err as Error).message).toContain(`exceeds this adapter's maxBufferSize (${max})`);
    expect(arena.liveBytes).toBe(0);
  });
});

describe.skipIf(!gpu.session)('error scopes', () => {
  it('turn a validation error into a GpuOperationError naming the operation, and leave the device usable', async () => {
    const d = device();
    const size = d.limits.maxBufferSize + 4;
    const err = await withErrorScopes(d, 'allocate oversized probe', () => d.createBuffer({ size, usage: GPUBufferUsage.STORAGE })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuOperationError);
    expect((err as GpuOperationError).kind).toBe('validation');
    expect((err as Error).message).toMatch(/^allocate oversized probe: validation error: /);
    const ok = await withErrorScopes(d, 'allocate small probe', () => d.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE }));
    ok.destroy();
  });

  it('report a shader that does not compile with the file, entry, precision and the offending line', async () => {
    const cache = new PipelineCache(device());
    const err = await cache.get({ shader: { name: 'syntax_error.wgsl', source: syntaxError }, entry: 'broken', precision: 'f32' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuOperationError);
    expect((err as GpuOperationError).operation).toBe('compile syntax_error.wgsl:broken (f32)');
    expect((err as Error).message).toContain('undeclared_value');
    expect((err as Error).message).toMatch(/line \d+:\d+/);
    expect(cache.size).toBe(0); // a failed compile is not cached
  });
});
