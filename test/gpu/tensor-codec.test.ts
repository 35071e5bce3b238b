import { describe, expect, it } from 'vitest';
import { decodeTensor, encodeTensor } from '../../src/gpu/tensor-codec.ts';
import { physicalElements, rowStride, tensorBytes, PRECISIONS } from '../../src/gpu/precision.ts';
import { fromHalfBits, roundToHalf } from '../../src/gpu/half.ts';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';

const values = (n: number) => {
  const rng = makeRng(freshSeed());
  return Array.from({ length: n }, () => rng() * 200 - 100);
};

describe('precision layout', () => {
  it('pads rows to even length only in f16-storage, and rounds buffers up to whole element pairs', () => {
    expect(rowStride(7, 'f16-storage')).toBe(8);
    expect(rowStride(8, 'f16-storage')).toBe(8);
    expect(rowStride(7, 'f16')).toBe(7);
    expect(rowStride(7, 'f32')).toBe(7);
    expect(physicalElements([3, 5], 'f16-storage')).toBe(18);
    expect(physicalElements([], 'f16-storage')).toBe(2);
    expect(tensorBytes([3, 5], 'f32')).toBe(64); // 15 elements rounded up to 16
    expect(tensorBytes([3, 5], 'f16')).toBe(32);
    expect(tensorBytes([3, 5], 'f16-storage')).toBe(36);
    expect(tensorBytes([7], 'f32')).toBe(32);
  });
});

describe.each(PRECISIONS)('tensor codec (%s)', (p) => {
  it('round-trips [3, 5] and a scalar to the values the precision stores', () => {
    for (const shape of [[3, 5], [], [1], [2, 1, 7]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const v = values(n);
      const bytes = encodeTensor(v, shape, p);
      expect(bytes.byteLength).toBe(tensorBytes(shape, p));
      const back = decodeTensor(bytes, shape, p);
      expect([...back]).toEqual(v.map((x) => (p === 'f32' ? Math.fround(x) : roundToHalf(x))));
    }
  });
  it('rejects data of the wrong length, naming the shape', () => {
    expect(() => encodeTensor([1, 2, 3], [2, 2], p)).toThrow('encodeTensor: 3 values for shape [2, 2]');
  });
});

describe('tensor codec: f16-storage word layout', () => {
  it('stores rows stride-even with a zero pad half, two halves per word, little end first', () => {
    const v = [1, 2, 3, 4, 5, 6];
    const halves = new Uint16Array(encodeTensor(v, [2, 3], 'f16-storage'));
    expect([...halves].map(fromHalfBits)).toEqual([1, 2, 3, 0, 4, 5, 6, 0]);
  });
});
