// Post-processing against hand-worked examples and against brute-force sample-wise references (sliding
// min / max with edge replication), on fresh random masks of awkward lengths.
import { describe, expect, it } from 'vitest';
import {
  closing, dilate, erode, filterDuration, hysteresis, mergeClose, opening, postprocess, runsOf, DEFAULT_POSTPROCESS,
  type Intervals,
} from '../../src/data/postprocess.ts';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';

const seed = freshSeed();
const rng = makeRng(seed);

const iv = (pairs: [number, number][]): Intervals => ({ starts: pairs.map((p) => p[0]), ends: pairs.map((p) => p[1]) });
const pairs = (r: Intervals) => r.starts.map((s, k) => [s, r.ends[k]!]);

function toMask(r: Intervals, n: number): Uint8Array {
  const m = new Uint8Array(n);
  r.starts.forEach((s, k) => m.fill(1, s, r.ends[k]));
  return m;
}

/**
 * Sliding min (erosion) or max (dilation) over [i-h, i+h] of the mask embedded in zeros (indices outside
 * [0, n) read 0), on a domain padded by `pad` samples each side so that nothing is lost at the ends.
 */
function slidingReference(m: Uint8Array, size: number, op: 'min' | 'max'): Uint8Array {
  const h = (size - 1) / 2, n = m.length;
  return Uint8Array.from(m, (_, i) => {
    let v = op === 'min' ? 1 : 0;
    for (let j = i - h; j <= i + h; j++) {
      const x = j >= 0 && j < n ? m[j]! : 0;
      v = op === 'min' ? Math.min(v, x) : Math.max(v, x);
    }
    return v;
  });
}

const padded = (m: Uint8Array, pad: number) => { const out = new Uint8Array(m.length + 2 * pad); out.set(m, pad); return out; };
const shift = (r: Intervals, by: number): Intervals => ({ starts: r.starts.map((s) => s + by), ends: r.ends.map((e) => e + by) });

function randomMask(n: number): Uint8Array {
  const m = new Uint8Array(n);
  let on = rng() < 0.5;
  for (let i = 0; i < n; i++) { if (rng() < 0.08) on = !on; m[i] = on ? 1 : 0; }
  return m;
}

describe('hysteresis', () => {
  it('switches on at p >= on and off at p < off, starting off', () => {
    const p = [0.85, 0.86, 0.8, 0.78, 0.77, 0.85, 0.9, 0.1, 0.99];
    expect(pairs(hysteresis(p, 0.86, 0.78))).toEqual([[1, 4], [6, 7], [8, 9]]);
    expect(pairs(hysteresis([], 0.86, 0.78))).toEqual([]);
  });
  it('compares float32 inputs after exact widening (float32(0.86) > 0.86)', () => {
    expect(pairs(hysteresis(Float32Array.of(0.86, 0.86), 0.86, 0.78))).toEqual([[0, 2]]);
    expect(pairs(hysteresis(Float32Array.of(0.78), 0.78, 0.78))).toEqual([]); // float32(0.78) < 0.78
  });
});

describe(`morphology on random masks (seed ${seed})`, () => {
  for (const n of [1, 7, 30, 257, 1001]) {
    it(`erosion, dilation, opening and closing equal sliding min / max over zeros outside, n = ${n}`, () => {
      for (const size of [1, 3, 11, 31]) {
        const m = randomMask(n);
        const r = runsOf(m);
        const pad = size; // room for one dilation (or erosion then dilation) beyond each end
        const big = padded(m, pad), nBig = n + 2 * pad;
        const check = (got: Intervals, want: Uint8Array) => expect(Array.from(toMask(shift(got, pad), nBig))).toEqual(Array.from(want));
        check(erode(r, size), slidingReference(big, size, 'min'));
        check(dilate(r, size), slidingReference(big, size, 'max'));
        check(opening(r, size), slidingReference(slidingReference(big, size, 'min'), size, 'max'));
        const closed = slidingReference(slidingReference(big, size, 'max'), size, 'min');
        check(closing(r, size), closed);
        // Opening only removes, closing only fills between runs: both stay inside the recording.
        expect(closed.subarray(0, pad).every((v) => v === 0) && closed.subarray(pad + n).every((v) => v === 0)).toBe(true);
      }
    });
  }
  it('opening 11 drops interior runs of 10 samples and keeps 11; closing 31 fills gaps of 30 and not 31', () => {
    expect(pairs(opening(iv([[0, 10], [20, 30], [50, 61], [90, 101]]), 11))).toEqual([[50, 61], [90, 101]]);
    expect(pairs(closing(iv([[10, 20], [50, 60], [91, 100]]), 31))).toEqual([[10, 60], [91, 100]]);
  });
});

describe('duration filter and merging', () => {
  const fs = 256;
  it('keeps 3 s <= duration <= 600 s inclusive', () => {
    const r = iv([[0, 767], [1000, 1768], [2000, 2000 + 600 * fs], [200000, 200001 + 600 * fs]]);
    expect(pairs(filterDuration(r, fs, 3, 600))).toEqual([[1000, 1768], [2000, 2000 + 600 * fs]]);
  });
  it('merges gaps shorter than 2 s, chains merges, keeps a gap of exactly 2 s', () => {
    const r = iv([[0, 100], [611, 700], [1211, 1300], [1812, 1900]]);
    // gaps: 511 (< 512, merged), 511 (merged), 512 (= 2 s, kept apart)
    expect(pairs(mergeClose(r, fs, 2))).toEqual([[0, 1300], [1812, 1900]]);
  });
});

describe('postprocess (the whole chain)', () => {
  it('finds the events of a worked example', () => {
    const fs = 256, n = 60 * fs;
    const p = new Float32Array(n).fill(0.1);
    p.fill(0.95, 5 * fs, 15 * fs); // 10 s seizure ...
    p.fill(0.8, 9 * fs, 9 * fs + 20); // ... with a dip that hysteresis bridges (0.8 >= 0.78)
    p.fill(0.5, 11 * fs, 11 * fs + 20); // ... and a 20-sample drop that closing (31) fills
    p.fill(0.97, 16 * fs, 16 * fs + 10); // 10-sample blip: removed by opening (11), so no merge with the seizure
    p.fill(0.9, 30 * fs, 32 * fs); // 2 s: too short
    p.fill(0.9, 40 * fs, 44 * fs); // 4 s, then a 1.5 s gap, then 4 s more: merged
    p.fill(0.9, 45.5 * fs, 49.5 * fs);
    expect(postprocess(p)).toEqual([[5, 15], [40, 49.5]]);
    expect(postprocess(p, { minDurationS: 1 })).toEqual([[5, 15], [30, 32], [40, 49.5]]);
    expect(postprocess(p, { mergeGapS: 1.5 })).toEqual([[5, 15], [40, 44], [45.5, 49.5]]);
    expect(postprocess(p, { minDurationS: 0 })).toEqual([[5, 15], [30, 32], [40, 49.5]]);
    // Without the opening the blip survives, and is 1 s after the seizure: merged into it.
    expect(postprocess(p, { minDurationS: 0, openingSamples: 1 })).toEqual([[5, 16 + 10 / fs], [30, 32], [40, 49.5]]);
    // Without the closing the 20-sample drop splits the seizure.
    expect(postprocess(p, { closingSamples: 1, mergeGapS: 0 })).toEqual([[5, 11], [11 + 20 / fs, 15], [40, 44], [45.5, 49.5]]);
  });
  it('defaults are the reference design', () => {
    expect(DEFAULT_POSTPROCESS).toEqual({
      fs: 256, onThreshold: 0.86, offThreshold: 0.78, openingSamples: 11, closingSamples: 31,
      minDurationS: 3, maxDurationS: 600, mergeGapS: 2,
    });
  });
  it('names what is wrong with bad parameters or probabilities', () => {
    const p = new Float32Array(10);
    expect(() => postprocess(p, { openingSamples: 10 })).toThrow(/openingSamples = 10 must be an odd positive integer/);
    expect(() => postprocess(p, { onThreshold: 0.5, offThreshold: 0.6 })).toThrow(/offThreshold 0.6 exceeds onThreshold 0.5/);
    expect(() => postprocess(p, { minDurationS: 5, maxDurationS: 4 })).toThrow(/duration range \[5, 4\] s/);
    expect(() => postprocess(p, { fs: NaN })).toThrow(/fs = NaN is not a finite number/);
    expect(() => postprocess(p, { threshold: 1 } as never)).toThrow(/unknown parameter "threshold"/);
    p[3] = NaN;
    expect(() => postprocess(p)).toThrow(/probability 3 is NaN/);
  });
});
