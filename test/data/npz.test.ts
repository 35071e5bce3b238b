// .npy and .npz (the reference's *_windows.npz) written and read back, stored and deflated, whole and window by
// window; damaged archives are refused with an NpzError naming the problem.
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../../src/data/byte-source.ts';
import { NpyError, NpzError } from '../../src/data/errors.ts';
import { decodeNpy, encodeNpy, float32ToHalf, halfToFloat32 } from '../../src/data/npy.ts';
import { encodeNpz, NpzReader } from '../../src/data/npz.ts';
import { readAllWindows, readWindow, windowsShape } from '../../src/data/windows-npz.ts';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';
import { randomWindowsNpz } from './edf-fixtures.ts';

const seed = freshSeed();

/** Exact equality of two float arrays, naming the first difference (toEqual is slow on large typed arrays). */
function expectSame(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const first = actual.findIndex((v, i) => !Object.is(v, expected[i]));
  expect(first, first >= 0 ? `first difference at ${first}: ${actual[first]} != ${expected[first]}` : '').toBe(-1);
}

describe(`npz windows (seed ${seed})`, () => {
  for (const compress of [false, true]) {
    it(`round-trips ${compress ? 'deflated' : 'stored'} windows, whole and one window at a time`, async () => {
      const rng = makeRng(seed + (compress ? 1 : 0));
      const f = randomWindowsNpz(rng, compress);
      const npz = await NpzReader.open(bytesSource(f.bytes));
      expect(await windowsShape(npz)).toEqual({ count: f.count, length: f.length });
      const all = await readAllWindows(npz);
      expectSame(all.windows, f.windows);
      expectSame(all.labels, f.labels);
      for (let k = 0; k < f.count; k++) {
        const w = await readWindow(npz, k);
        expectSame(w.signal, f.windows.subarray(k * 19 * f.length, (k + 1) * 19 * f.length));
        expectSame(w.labels, f.labels.subarray(k * f.length, (k + 1) * f.length));
      }
      await expect(readWindow(npz, f.count)).rejects.toThrow(/window \d+ does not exist: the file holds/);
    });
  }

  it('reads a deflated member window by window (streaming inflation, many pushes)', async () => {
    const rng = makeRng(seed + 2);
    const count = 4, length = 3001;
    const windows = Float32Array.from({ length: count * 19 * length }, () => Math.round((rng() - 0.5) * 8));
    const labels = new Float32Array(count * length).fill(1, length, 2 * length);
    const bytes = encodeNpz({ windows: { dtype: 'f4', shape: [count, 19, length], data: windows }, labels: { dtype: 'f4', shape: [count, length], data: labels } }, { compress: true });
    const npz = await NpzReader.open(bytesSource(bytes));
    const w = await readWindow(npz, 3);
    expectSame(w.signal, windows.subarray(3 * 19 * length));
    expect((await readWindow(npz, 1)).labels.every((x) => x === 1)).toBe(true);
  });

  it('checks the CRC of whole arrays', async () => {
    const f = randomWindowsNpz(makeRng(seed + 3), false);
    const bytes = f.bytes.slice();
    bytes[200] ^= 0x40; // inside the stored windows data
    const npz = await NpzReader.open(bytesSource(bytes));
    await expect(npz.readArray('windows')).rejects.toThrow(/CRC-32 0x[0-9a-f]{8} does not match the archive's 0x[0-9a-f]{8}: the data is damaged/);
  });

  it('names the missing array and the wrong shapes', async () => {
    const only = encodeNpz({ windows: { dtype: 'f4', shape: [1, 19, 3], data: new Float32Array(57) } });
    await expect(windowsShape(await NpzReader.open(bytesSource(only)))).rejects.toThrow(/no "labels" array \(it holds windows\)/);
    const wrong = encodeNpz({ windows: { dtype: 'f4', shape: [1, 18, 3], data: new Float32Array(54) }, labels: { dtype: 'f4', shape: [1, 3], data: new Float32Array(3) } });
    await expect(windowsShape(await NpzReader.open(bytesSource(wrong)))).rejects.toThrow(/windows has shape \(1,18,3\), expected \(n, 19, L\)/);
    await expect(NpzReader.open(bytesSource(new Uint8Array(100)))).rejects.toThrow(NpzError);
  });
});

describe('npy', () => {
  it('round-trips every dtype and the half conversion', () => {
    const arrays = [
      { dtype: 'f8' as const, shape: [2, 3], data: Float64Array.from([1, 2, 3, 4, 5, -6.5]) },
      { dtype: 'i2' as const, shape: [5], data: Int16Array.from([1, -2, 3, 32767, -32768]) },
      { dtype: 'u1' as const, shape: [1, 1, 2], data: Uint8Array.from([0, 255]) },
      { dtype: 'f2' as const, shape: [3], data: float32ToHalf([1, -0.5, 65504]) },
      { dtype: 'f4' as const, shape: [0, 19], data: new Float32Array(0) },
    ];
    for (const a of arrays) {
      const bytes = encodeNpy(a);
      expect(bytes.indexOf(0x0a)).toBe(127 - (bytes.length > 127 ? 0 : 0)); // header ends at a 64-byte boundary
      expect(decodeNpy(bytes)).toEqual(a);
    }
    expect(Array.from(halfToFloat32(float32ToHalf([1, -0.5, 65504])))).toEqual([1, -0.5, 65504]);
  });

  it('refuses bad headers with NpyError', () => {
    const good = encodeNpy({ dtype: 'f4', shape: [2], data: new Float32Array(2) });
    const withHeader = (h: string) => {
      const b = good.slice();
      for (let i = 0; i < 118; i++) b[10 + i] = i < h.length ? h.charCodeAt(i) : 0x20;
      return b;
    };
    expect(() => decodeNpy(good.subarray(0, 5))).toThrow(NpyError);
    expect(() => decodeNpy(withHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }"))).toThrow(/big-endian dtype ">f4" is not supported/);
    expect(() => decodeNpy(withHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }"))).toThrow(/dtype "<c8" is not supported/);
    expect(() => decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"))).toThrow(/needs 12 data bytes, the file holds 8/);
    expect(() => decodeNpy(withHeader("{'descr': '<f4', 'shape': (2,), }"))).toThrow(/lacks 'descr', 'fortran_order' or 'shape'/);
  });
});
