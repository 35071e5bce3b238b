// The drawing envelope against a brute-force reference: which samples each pixel column holds, and their extremes.
import { describe, expect, it } from 'vitest';
import { minMaxEnvelope } from '../../src/data/envelope.ts';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';

const seed = freshSeed();
const rng = makeRng(seed);

describe(`min/max envelope (seed ${seed})`, () => {
  it('keeps every sample in exactly one column, and each column its extremes', () => {
    for (const [n, columns] of [[1, 1], [1, 5], [7, 3], [7, 7], [1000, 7], [1001, 640], [30720, 880]] as const) {
      const values = Float32Array.from({ length: n }, () => (rng() - 0.5) * 20);
      const e = minMaxEnvelope(values, columns);
      expect(e.columns).toBe(Math.min(n, columns));
      expect(e.samples).toBe(n);
      // Reference: the column of sample i is the c with floor(c*n/cols) <= i < floor((c+1)*n/cols).
      const lo = new Float32Array(e.columns).fill(Infinity), hi = new Float32Array(e.columns).fill(-Infinity);
      let c = 0;
      for (let i = 0; i < n; i++) {
        while (i >= Math.floor(((c + 1) * n) / e.columns)) c++;
        lo[c] = Math.min(lo[c]!, values[i]!);
        hi[c] = Math.max(hi[c]!, values[i]!);
      }
      expect(e.min).toEqual(lo);
      expect(e.max).toEqual(hi);
      expect([...e.min].every(Number.isFinite), `no empty column for n=${n}, columns=${columns}`).toBe(true);
    }
  });

  it('refuses a column count that is not a positive integer', () => {
    expect(() => minMaxEnvelope([1, 2], 0)).toThrow('minMaxEnvelope: columns 0 is not a positive integer');
  });
});
