import { describe, expect, it } from 'vitest';
import { fromHalfBits, roundToHalf, toHalfBits } from '../../src/gpu/half.ts';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { readBytes } from './read-buffer.ts';
import unpackSource from './fixtures/unpack_halves.wgsl?raw';

const gpu = await testGpu();
const isNanBits = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('half conversion', () => {
  it('converts the landmark values exactly', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [-65504, 0xfbff],
      [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -24 * 1023, 0x03ff], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    ];
    for (const [v, h] of cases) {
      expect(toHalfBits(v), `toHalfBits(${v})`).toBe(h);
      expect(Object.is(fromHalfBits(h), v), `fromHalfBits(0x${h.toString(16)})`).toBe(true);
    }
    expect(isNanBits(toHalfBits(NaN))).toBe(true);
    expect(fromHalfBits(0x7e00)).toBeNaN();
  });

  it('rounds to nearest, ties to even, overflowing to infinity past 65504 + half an ulp', () => {
    expect(toHalfBits(65519)).toBe(0x7bff);
    expect(toHalfBits(65520)).toBe(0x7c00); // the tie between 65504 and 65536 goes to the even one: infinity
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie: stays on the even 1.0
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie: goes up to the even neighbour
    expect(toHalfBits(2 ** -25)).toBe(0x0000); // half the smallest subnormal: tie to even zero
    expect(toHalfBits(3 * 2 ** -26)).toBe(0x0001);
    expect(toHalfBits(-(2 ** -26))).toBe(0x8000);
  });

  it('picks the nearest half for random f32 values (ties to even), normal and subnormal', () => {
    const rng = makeRng(freshSeed());
    const wrong: string[] = [];
    for (let n = 0; n < 20000; n++) {
      const mag = n % 2 ? 2 ** (rng() * 40 - 24) : rng() * 2 ** -14; // across the range, and inside the subnormals
      const x = Math.fround((rng() < 0.5 ? -1 : 1) * Math.min(mag, 65504));
      const h = toHalfBits(x);
      const d = Math.abs(x - fromHalfBits(h));
      for (const other of [h - 1, h + 1]) {
        if ((other & 0x7fff) > 0x7bff || (other & 0x8000) !== (h & 0x8000)) continue;
        const e = Math.abs(x - fromHalfBits(other));
        if (d > e) wrong.push(`x = ${x}: 0x${h.toString(16)} is farther than 0x${other.toString(16)}`);
        if (d === e && h & 1) wrong.push(`x = ${x}: the tie went to the odd 0x${h.toString(16)}`);
      }
      if (roundToHalf(x) !== fromHalfBits(h)) wrong.push(`roundToHalf(${x})`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it('round-trips every half bit pattern except NaNs', () => {
    const wrong: string[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if (!isNanBits(h) && toHalfBits(fromHalfBits(h)) !== h) wrong.push(`0x${h.toString(16)}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it.skipIf(!gpu.session)('decodes every bit pattern as the GPU unpacks it', async () => {
    const s = gpu.session!;
    const words = 0x8000;
    const packed = new Uint32Array(words);
    for (let i = 0; i < words; i++) packed[i] = (2 * i) | ((2 * i + 1) << 16);
    const input = s.device.createBuffer({ size: words * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    s.device.queue.writeBuffer(input, 0, packed);
    const out = await s.arena.tensor([2 * words], 'f32', 'unpacked');
    try {
      await s.dispatch({
        shader: { name: 'unpack_halves.wgsl', source: unpackSource }, entry: 'unpack', precision: 'f32',
        params: new Uint32Array([words]), tensors: [input, out], workgroups: words / 64, label: 'unpack halves',
      });
      await s.flush();
      const gpuValues = new Float32Array(await readBytes(s.device, out.buffer, out.bytes));
      const mismatches: string[] = [];
      for (let h = 0; h < 0x10000; h++) {
        const want = fromHalfBits(h), got = gpuValues[h]!;
        const same = Number.isNaN(want) ? Number.isNaN(got) : Object.is(got, want);
        if (!same && mismatches.length < 5) mismatches.push(`0x${h.toString(16)}: host ${want}, GPU ${got}`);
      }
      expect(mismatches).toEqual([]);
    } finally {
      s.arena.release(out);
      input.destroy();
    }
  });
});
