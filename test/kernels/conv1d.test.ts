import { describe, expect, it } from 'vitest';
import { kernelSuite } from '../harness/kernel-suite.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { conv1dCases } from './cases/conv1d.cases.ts';
import { conv1d, usesPatchBackward, usesTapMajor } from '../../src/kernels/conv1d.ts';
import { CONV1D_SHAPES } from './cases/conv1d.cases.ts';

const gpu = await testGpu();

await kernelSuite('conv1d', conv1dCases);

describe('conv1d backward geometry', () => {
  const dims = (taps: number, stride: number, lenIn: number, padding = 0) =>
    ({ batch: 1, cIn: 2, cOut: 3, lenIn, lenOut: Math.floor((lenIn + 2 * padding - taps) / stride) + 1, taps, stride, dilation: 1, padding });
  it('takes the patch form for the downsampler and the generic form where patches would split packed words', () => {
    expect(usesPatchBackward(dims(16, 16, 64), 'f16-storage')).toBe(true);
    expect(usesPatchBackward(dims(3, 3, 12), 'f32')).toBe(true);
    expect(usesPatchBackward(dims(3, 3, 12), 'f16-storage')).toBe(false);
    expect(usesPatchBackward(dims(5, 5, 23), 'f32')).toBe(false);
    expect(usesPatchBackward(dims(3, 2, 15, 1), 'f32')).toBe(false);
  });
  it('runs forward and dx tap-major where the contracted channels are a multiple of 32, and the cases reach it', () => {
    expect(usesTapMajor('FWD', { cIn: 256, cOut: 512 })).toBe(true);
    expect(usesTapMajor('FWD', { cIn: 48, cOut: 64 })).toBe(false);
    expect(usesTapMajor('DX', { cIn: 19, cOut: 64 })).toBe(true);
    expect(usesTapMajor('DX', { cIn: 64, cOut: 16 })).toBe(false);
    expect(usesTapMajor('DW', { cIn: 64, cOut: 64 })).toBe(false);
    expect(usesTapMajor('DX_PATCH', { cIn: 64, cOut: 64 })).toBe(false);
    // Both forms run against the references: some cases tap-major (forward and dx), some not.
    expect(CONV1D_SHAPES.filter((c) => usesTapMajor('FWD', c) && c.taps > 1).length).toBeGreaterThan(0);
    expect(CONV1D_SHAPES.filter((c) => usesTapMajor('DX', c) && c.taps > 1 && c.stride !== c.taps).length).toBeGreaterThan(0);
    expect(CONV1D_SHAPES.filter((c) => !usesTapMajor('FWD', c) && c.taps > 1).length).toBeGreaterThan(0);
  });
  it('rejects mismatched shapes with the dimension named', async () => {
    if (!gpu.session) return;
    const s = gpu.session;
    const x = await s.arena.tensor([2, 3, 10], 'f32', 'x');
    const w = await s.arena.tensor([4, 5, 3], 'f32', 'w');
    const y = await s.arena.tensor([2, 4, 10], 'f32', 'y');
    try {
      await expect(conv1d(s, x, w, undefined, y, { padding: 'same' })).rejects.toThrow(/w dimension 1 \(in channels\) is 5, expected 3/);
      await expect(conv1d(s, x, await s.scratch([4, 3], 'f32', 'w2'), undefined, y)).rejects.toThrow(/w2 must be \[out channels, in channels, taps\]/);
      await expect(conv1d(s, x, await s.scratch([4, 3, 3], 'f32', 'w3'), undefined, y)).rejects.toThrow(/y has shape \[2, 4, 10\], expected \[2, 4, 8\]/);
      await expect(conv1d(s, x, await s.scratch([4, 3, 4], 'f32', 'w4'), undefined, y, { padding: 'same' })).rejects.toThrow(/"same" padding needs dilation x \(taps - 1\) even/);
    } finally {
      for (const t of [x, w, y]) s.arena.release(t);
      await s.flush();
    }
  });
});
