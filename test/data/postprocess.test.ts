// Post-processing against hand-worked examples and against brute-force sample-wise references that share no code
// with it (a per-sample hysteresis state machine with counters; sliding min / max over windows clipped to the
// recording, as a max-pool with padding k // 2), on fresh random inputs of awkward lengths.
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

/** Sliding min (erosion) or max (dilation) over [i-h, i+h] clipped to [0, n): a max-pool's padding never wins. */
function slidingReference(m: Uint8Array, size: number, op: 'min' | 'max'): Uint8Array {
  const h = (size - 1) / 2, n = m.length;
  return Uint8Array.from(m, (_, i) => {
    let v = op === 'min' ? 1 : 0;
    for (let j = Math.max(0, i - h); j <= Math.min(n - 1, i + h); j++) v = op === 'min' ? Math.min(v, m[j]!) : Math.max(v, m[j]!);
    return v;
  });
}

/**
 * Hysteresis as a state machine over samples: off, count consecutive p >= on; at minOnset of them switch on from
 * the run's first sample. On, count consecutive p < off; the minOffset-th of them is the first sample off again.
 */
function hysteresisReference(p: ArrayLike<number>, on: number, off: number, minOnset: number, minOffset: number): Uint8Array {
  const out = new Uint8Array(p.length);
  let active = false, onRun = 0, offRun = 0;
  for (let i = 0; i < p.length; i++) {
    if (!active) {
      onRun = p[i]! >= on ? onRun + 1 : 0;
      if (onRun === minOnset) { active = true; offRun = 0; out.fill(1, i - minOnset + 1, i + 1); }
    } else {
      offRun = p[i]! < off ? offRun + 1 : 0;
      if (offRun === minOffset) { active = false; onRun = 0; } else out[i] = 1;
    }
  }
  return out;
}

function randomMask(n: number): Uint8Array {
  const m = new Uint8Array(n);
  let on = rng() < 0.5;
  for (let i = 0; i < n; i++) { if (rng() < 0.08) on = !on; m[i] = on ? 1 : 0; }
  return m;
}

/** Plateaus of random length (1..maxRun) at levels below off, between, at and above the thresholds. */
function randomTrace(n: number, maxRun: number): Float32Array {
  const levels = [0.1, 0.5, 0.78, 0.8, 0.86, 0.9, 0.99];
  const p = new Float32Array(n);
  for (let i = 0; i < n;) {
    const len = 1 + Math.floor(rng() * maxRun);
    p.fill(levels[Math.floor(rng() * levels.length)]!, i, i + len);
    i += len;
  }
  return p;
}

describe(`hysteresis with stability counts (seed ${seed})`, () => {
  it('classic hysteresis with counts of 1: on at p >= on, off at p < off, starting off', () => {
    const p = [0.85, 0.86, 0.8, 0.78, 0.77, 0.85, 0.9, 0.1, 0.99];
    expect(pairs(hysteresis(p, 0.86, 0.78))).toEqual([[1, 4], [6, 7], [8, 9]]);
    expect(pairs(hysteresis([], 0.86, 0.78, 128, 256))).toEqual([]);
  });
  it('an on-run must last minOnset samples; the event ends minOffset - 1 samples into a long enough off-run', () => {
    const p = new Float64Array(40).fill(0.1);
    p.fill(0.9, 2, 4); // 2 samples: too short to start
    p.fill(0.9, 6, 9); // 3 samples: starts at 6
    p.fill(0.8, 9, 12); // between the thresholds: neither on nor off
    p.fill(0.5, 12, 14); // 2 below: too short to end
    p.fill(0.9, 14, 20);
    p.fill(0.5, 20, 30); // 10 below: ends at 20 + 4 - 1
    p.fill(0.9, 30, 33); // starts again in the next zone, ends 3 samples into the next firm off run
    expect(pairs(hysteresis(p, 0.86, 0.78, 3, 4))).toEqual([[6, 23], [30, 36]]);
    expect(pairs(hysteresis(p, 0.86, 0.78, 4, 4))).toEqual([[14, 23]]);
  });
  it('compares float32 inputs after exact widening (float32(0.86) > 0.86)', () => {
    expect(pairs(hysteresis(Float32Array.of(0.86, 0.86), 0.86, 0.78))).toEqual([[0, 2]]);
    expect(pairs(hysteresis(Float32Array.of(0.78), 0.78, 0.78))).toEqual([]); // float32(0.78) < 0.78
  });
  for (const [n, onset, offset, maxRun] of [[1, 1, 1, 3], [97, 3, 5, 8], [2049, 128, 256, 200], [5000, 17, 40, 60]] as const) {
    it(`equals the state machine: n = ${n}, counts ${onset} / ${offset}`, () => {
      for (let trial = 0; trial < 5; trial++) {
        const p = randomTrace(n, maxRun);
        expect(Array.from(toMask(hysteresis(p, 0.86, 0.78, onset, offset), n))).toEqual(Array.from(hysteresisReference(p, 0.86, 0.78, onset, offset)));
      }
    });
  }
});

describe(`morphology on random masks (seed ${seed})`, () => {
  for (const n of [1, 7, 30, 257, 1001]) {
    it(`erosion, dilation, opening and closing equal sliding min / max over clipped windows, n = ${n}`, () => {
      for (const size of [1, 3, 11, 31]) {
        const m = randomMask(n);
        const r = runsOf(m);
        const check = (got: Intervals, want: Uint8Array) => expect(Array.from(toMask(got, n))).toEqual(Array.from(want));
        check(erode(r, size, n), slidingReference(m, size, 'min'));
        check(dilate(r, size, n), slidingReference(m, size, 'max'));
        check(opening(r, size, n), slidingReference(slidingReference(m, size, 'min'), size, 'max'));
        check(closing(r, size, n), slidingReference(slidingReference(m, size, 'max'), size, 'min'));
      }
    });
  }
  it('opening 11 drops interior runs of 10 samples and keeps 11; closing 31 fills gaps of 30 and not 31', () => {
    expect(pairs(opening(iv([[5, 15], [20, 30], [50, 61], [90, 101]]), 11, 200))).toEqual([[50, 61], [90, 101]]);
    expect(pairs(closing(iv([[20, 30], [60, 70], [101, 110]]), 31, 200))).toEqual([[20, 70], [101, 110]]);
  });
  it('at the edges: erosion keeps a run touching 0 or n, and closing stretches an event within 15 samples to the edge', () => {
    expect(pairs(opening(iv([[0, 6], [194, 200]]), 11, 200))).toEqual([[0, 6], [194, 200]]);
    expect(pairs(closing(iv([[15, 40], [170, 185]]), 31, 200))).toEqual([[0, 40], [170, 200]]);
    expect(pairs(closing(iv([[16, 40], [170, 184]]), 31, 200))).toEqual([[16, 40], [170, 184]]);
  });
});

describe('duration filter and merging', () => {
  const fs = 256;
  it('drops events under 3 s and keeps long ones whole, however long', () => {
    const r = iv([[0, 767], [1000, 1768], [2000, 2001 + 600 * fs], [400000, 400000 + 3000 * fs]]);
    expect(pairs(filterDuration(r, fs, 3))).toEqual([[1000, 1768], [2000, 2001 + 600 * fs], [400000, 400000 + 3000 * fs]]);
  });
  it('merges gaps of up to 2 s, chains merges, keeps a gap just over 2 s apart', () => {
    const r = iv([[0, 100], [612, 700], [1211, 1300], [1813, 1900]]);
    // gaps: 512 (= 2 s, merged), 511 (merged), 513 (kept apart)
    expect(pairs(mergeClose(r, fs, 2))).toEqual([[0, 1300], [1813, 1900]]);
  });
});

describe('postprocess (the whole chain)', () => {
  it('finds the events of a worked example', () => {
    const fs = 256, n = 70 * fs;
    const p = new Float32Array(n).fill(0.1);
    p.fill(0.9, 10, 10 + 3 * fs); // event [10, 778 + 255); the closing stretches it to sample 0
    p.fill(0.95, 10 * fs, 20 * fs); // a seizure ...
    p.fill(0.5, 13 * fs, 13 * fs + 20); // ... with a 20-sample dip: no firm off run, bridged
    p.fill(0.1, 16 * fs, 16 * fs + 300); // ... and a 300-sample drop: ends at 16 s + 255, restarts 45 samples later; merged
    p.fill(0.97, 25 * fs, 25 * fs + 100); // 100 samples on: under the 128 needed to start
    p.fill(0.9, 30 * fs, 32 * fs); // 2 s on: an event of 2 s + 255 samples, under 3 s
    p.fill(0.9, 40 * fs, 44 * fs); // 4 s, then a gap of 1.5 s - 255 samples, then 4 s more: merged
    p.fill(0.9, 45.5 * fs, 49.5 * fs);
    p.fill(0.9, 66 * fs, 70 * fs); // runs to the end of the recording
    const t = (samples: number) => samples / fs;
    expect(postprocess(p)).toEqual([[0, t(1033)], [10, t(20 * fs + 255)], [40, t(49.5 * fs + 255)], [66, 70]]);
    expect(postprocess(p, { minDurationS: 2 })).toEqual([[0, t(1033)], [10, t(20 * fs + 255)], [30, t(32 * fs + 255)], [40, t(49.5 * fs + 255)], [66, 70]]);
    expect(postprocess(p, { mergeGapS: 0.5 })).toEqual([[0, t(1033)], [10, t(20 * fs + 255)], [40, t(44 * fs + 255)], [45.5, t(49.5 * fs + 255)], [66, 70]]);
    expect(postprocess(p, { mergeGapS: 0 })).toEqual([[0, t(1033)], [10, t(16 * fs + 255)], [t(16 * fs + 300), t(20 * fs + 255)], [40, t(44 * fs + 255)], [45.5, t(49.5 * fs + 255)], [66, 70]]);
    // 100 samples on start an event with minOnsetSamples 100; it ends 255 samples into the next firm off run
    expect(postprocess(p, { minOnsetSamples: 100, minDurationS: 1 })).toEqual([
      [0, t(1033)], [10, t(20 * fs + 255)], [25, t(25 * fs + 355)], [30, t(32 * fs + 255)], [40, t(49.5 * fs + 255)], [66, 70]]);
    expect(postprocess(p, { closingSamples: 1 })).toEqual([[t(10), t(1033)], [10, t(20 * fs + 255)], [40, t(49.5 * fs + 255)], [66, 70]]);
  });
  it('defaults are the original configuration', () => {
    expect(DEFAULT_POSTPROCESS).toEqual({
      fs: 256, onThreshold: 0.86, minOnsetSamples: 128, offThreshold: 0.78, minOffsetSamples: 256,
      openingSamples: 11, closingSamples: 31, minDurationS: 3, mergeGapS: 2,
    });
  });
  it('names what is wrong with bad parameters or probabilities', () => {
    const p = new Float32Array(10);
    expect(() => postprocess(p, { openingSamples: 10 })).toThrow(/openingSamples = 10 must be an odd positive integer/);
    expect(() => postprocess(p, { minOffsetSamples: 0 })).toThrow(/minOffsetSamples = 0 must be a positive integer/);
    expect(() => postprocess(p, { onThreshold: 0.5, offThreshold: 0.6 })).toThrow(/offThreshold 0.6 exceeds onThreshold 0.5/);
    expect(() => postprocess(p, { minDurationS: -1 })).toThrow(/minDurationS = -1 must not be negative/);
    expect(() => postprocess(p, { fs: NaN })).toThrow(/fs = NaN is not a finite number/);
    expect(() => postprocess(p, { maxDurationS: 600 } as never)).toThrow(/unknown parameter "maxDurationS"/);
    p[3] = NaN;
    expect(() => postprocess(p)).toThrow(/probability 3 is NaN/);
  });
});
