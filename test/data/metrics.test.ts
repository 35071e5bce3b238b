// Metrics against independent references: AUROC against a brute-force count over all pairs, event scoring
// against an all-pairs overlap test, and the threshold bisection on a recording worked out by hand.
import { describe, expect, it } from 'vitest';
import { auroc, evaluate, scoreEvents } from '../../src/data/metrics.ts';
import type { Intervals } from '../../src/data/postprocess.ts';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';

const seed = freshSeed();
const rng = makeRng(seed);

function bruteForceAuroc(s: ArrayLike<number>, y: ArrayLike<number>): number {
  let won = 0, pairs = 0;
  for (let i = 0; i < s.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < s.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      won += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return won / pairs;
}

describe(`auroc (seed ${seed})`, () => {
  for (const [n, levels] of [[2, 0], [7, 3], [101, 0], [1001, 8]] as const) {
    it(`equals the all-pairs count, n = ${n}, ${levels ? `${levels} levels (ties)` : 'continuous'}`, () => {
      const s = Float32Array.from({ length: n }, () => (levels ? Math.floor(rng() * levels) / levels : rng()));
      const y = Float32Array.from({ length: n }, (_, i) => (i < 2 ? i : rng() < 0.3 ? 1 : 0));
      expect(auroc(s, y)).toBeCloseTo(bruteForceAuroc(s, y), 14);
    });
  }
  it('is 1 for perfect ranking, 0 reversed, 1/2 for constant scores, null with one class', () => {
    expect(auroc([0.1, 0.2, 0.9, 0.8], [0, 0, 1, 1])).toBe(1);
    expect(auroc([0.9, 0.8, 0.1, 0.2], [0, 0, 1, 1])).toBe(0);
    expect(auroc([0.3, 0.3, 0.3], [0, 1, 0])).toBe(0.5);
    expect(auroc([0.3, 0.4], [1, 1])).toBeNull();
  });
  it('names bad labels and scores', () => {
    expect(() => auroc([0.1, 0.2], [0, 0.5])).toThrow(/label 1 is 0.5; labels must be 0 or 1/);
    expect(() => auroc([0.1, Infinity], [0, 1])).toThrow(/probability 1 is Infinity/);
    expect(() => auroc([0.1], [0, 1])).toThrow(/1 scores but 2 labels/);
  });
});

describe(`scoreEvents (seed ${seed})`, () => {
  it('counts positive-length overlaps only; one prediction may detect two seizures', () => {
    const ref: Intervals = { starts: [10, 30, 60], ends: [20, 40, 70] };
    const pred: Intervals = { starts: [0, 15, 45, 70], ends: [10, 35, 50, 80] };
    // [0,10) touches [10,20) (no overlap); [15,35) hits two; [45,50) nothing; [70,80) touches [60,70).
    expect(scoreEvents(pred, ref)).toEqual({ detected: 2, falseAlarms: 3 });
  });
  it('equals an all-pairs overlap test on random interval sets', () => {
    const random = (): Intervals => {
      const starts: number[] = [], ends: number[] = [];
      let t = 0;
      for (let k = 0; k < 40; k++) { t += Math.floor(rng() * 30); const e = t + 1 + Math.floor(rng() * 20); starts.push(t); ends.push(e); t = e; }
      return { starts, ends };
    };
    for (let trial = 0; trial < 20; trial++) {
      const pred = random(), ref = random();
      const hit = (a: Intervals, i: number, b: Intervals) => b.starts.some((s, j) => a.starts[i]! < b.ends[j]! && s < a.ends[i]!);
      const detected = ref.starts.filter((_, i) => hit(ref, i, pred)).length;
      const falseAlarms = pred.starts.filter((_, i) => !hit(pred, i, ref)).length;
      expect(scoreEvents(pred, ref)).toEqual({ detected, falseAlarms });
    }
  });
});

describe('evaluate', () => {
  // One hour at 256 Hz: seizure A (p 0.95), seizure B (p 0.7), an unlabelled stretch at p 0.8 (a false alarm
  // whenever the threshold is <= 0.8), background 0 (always a firm off run). One false alarm in one hour is 24 per 24 h.
  const fs = 256, n = 3600 * fs;
  const p = new Float32Array(n), labels = new Float32Array(n);
  p.fill(0.95, 600 * fs, 640 * fs); labels.fill(1, 605 * fs, 650 * fs);
  p.fill(0.7, 1200 * fs, 1230 * fs); labels.fill(1, 1200 * fs, 1230 * fs);
  p.fill(0.8, 2000 * fs, 2010 * fs);
  const result = evaluate([{ probabilities: p, labels }], { faTargetsPer24h: [30, 10] });

  it('bisects the threshold over [0.08, 1] ten times and keeps the lowest that meets each target', () => {
    expect(result.hours).toBe(1);
    expect(result.referenceEvents).toBe(2);
    // FA 24 meets 30 at every probe, so the search walks down to 0.08 + 0.92 / 2^10: A, B and the false alarm.
    const [loose, tight] = result.operatingPoints;
    expect(loose!.reached).toBe(true);
    expect(loose!.threshold).toBeCloseTo(0.08 + 0.92 / 1024, 14);
    expect([loose!.sensitivity, loose!.falseAlarmsPer24h]).toEqual([1, 24]);
    // FA 0 needs t > 0.8: probes 0.54 no, 0.77 no, 0.885 yes, 0.8275 yes, 0.79875 no, 0.813125 yes, 0.8059375 yes,
    // 0.80234375 yes, 0.800546875 yes, 0.7996484375 no: the lowest that met it is 0.800546875, where only A is found.
    expect(tight!.reached).toBe(true);
    expect(tight!.threshold).toBeCloseTo(0.800546875, 14);
    expect(tight!.offThreshold).toBeCloseTo(0.800546875 - 0.08, 14);
    expect([tight!.sensitivity, tight!.falseAlarmsPer24h]).toEqual([0.5, 0]);
  });
  it('reports a target no threshold meets as not reached (no fallback threshold), null without reference events', () => {
    const always = Float32Array.from(p);
    always.fill(1, 3000 * fs, 3010 * fs); // p = 1 is on at every threshold the search tries
    const r = evaluate([{ probabilities: always, labels }], { faTargetsPer24h: [10] });
    expect(r.operatingPoints[0]).toEqual({ targetPer24h: 10, reached: false, threshold: null, offThreshold: null, sensitivity: 0, falseAlarmsPer24h: null });
    const none = evaluate([{ probabilities: p, labels: new Float32Array(n) }]);
    expect(none.auroc).toBeNull();
    expect(none.operatingPoints.every((o) => o.sensitivity === null)).toBe(true);
  });
  it('AUROC is over samples of all recordings pooled', () => {
    expect(result.auroc).toBeCloseTo(bruteForceAurocByLevels(p, labels), 14);
  });
  it('names bad input', () => {
    expect(() => evaluate([])).toThrow(/no recordings/);
    expect(() => evaluate([{ probabilities: [0.1], labels: [0, 1] }])).toThrow(/recording 0 has 1 probabilities but 2 labels/);
    expect(() => evaluate([{ probabilities: [0.1], labels: [2] }])).toThrow(/recording 0: label 0 is 2/);
    expect(() => evaluate([{ probabilities: [0.1], labels: [1] }], { faTargetsPer24h: [-1] })).toThrow(/FA target 0 = -1 is not a non-negative/);
  });
});

/** AUROC of a few-valued score by counting per level (all pairs, grouped), as an independent check at 1M samples. */
function bruteForceAurocByLevels(s: Float32Array, y: Float32Array): number {
  const counts = new Map<number, [number, number]>();
  for (let i = 0; i < s.length; i++) {
    const c = counts.get(s[i]!) ?? [0, 0];
    c[y[i]!]++;
    counts.set(s[i]!, c);
  }
  let won = 0, pos = 0, neg = 0;
  for (const [v, [n0, n1]] of counts) {
    pos += n1; neg += n0;
    for (const [w, [m0]] of counts) won += n1 * m0 * (v > w ? 1 : v === w ? 0.5 : 0);
  }
  return won / (pos * neg);
}
