// Post-processing and metrics: the TypeScript and the Python implementation on the same seeded probabilities
// and labels must give identical events, threshold searches (operating points) and AUROC (exact equality, not a
// tolerance).
import { afterAll, describe, expect, it } from 'vitest';
import { postprocess, type PostprocessParams } from '../../src/data/postprocess.ts';
import { auroc, evaluate } from '../../src/data/metrics.ts';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';
import { ParityDir, parityPython } from './preprocess-parity-python.ts';

const python = parityPython();
const seed = freshSeed();
const dir = new ParityDir();
afterAll(() => dir.remove());

interface Scored { probabilities: Float32Array; labels: Float32Array }

/**
 * Probabilities at 256 Hz shaped like a detector's: low noise, seizure-like stretches that climb high with
 * dips, short blips, and plateaus exactly on some thresholds (0.5, 0.25) and near the defaults; labels mark
 * most high stretches (shifted), one missed seizure, and leave some stretches unlabelled (false alarms).
 */
function scored(rng: () => number, seconds: number): Scored {
  const n = Math.round(seconds * 256);
  const p = new Float32Array(n), labels = new Float32Array(n);
  let v = 0.2;
  for (let i = 0; i < n; i++) { v = Math.min(0.6, Math.max(0, v + (rng() - 0.5) * 0.05)); p[i] = v; }
  const span = (from: number, len: number, f: (i: number) => number) => {
    for (let i = Math.max(0, from); i < Math.min(n, from + len); i++) p[i] = f(i);
  };
  for (let k = 0; k < Math.max(1, seconds / 40); k++) {
    const start = Math.floor(rng() * n), len = Math.floor((2 + rng() * 60) * 256);
    const top = 0.6 + 0.4 * rng();
    span(start, len, () => (rng() < 0.05 ? top * rng() : top - 0.1 * rng()));
    if (rng() < 0.8) {
      const shift = Math.floor((rng() - 0.5) * 10 * 256);
      labels.fill(1, Math.max(0, start + shift), Math.min(n, start + shift + len));
    }
  }
  // One clear, labelled seizure, so the default chain always finds an event (without it 2 seeds in 300 found none).
  const clear = Math.floor(rng() * Math.max(1, n - 256 * 20));
  span(clear, 256 * 15, () => 0.95 + 0.05 * rng());
  labels.fill(1, clear, Math.min(n, clear + 256 * 15));
  for (let k = 0; k < seconds / 20; k++) span(Math.floor(rng() * n), 1 + Math.floor(rng() * 40), () => 0.9 + 0.1 * rng());
  span(Math.floor(rng() * n), 5 * 256, () => 0.5);
  span(Math.floor(rng() * n), 4 * 256, () => 0.25);
  span(Math.floor(rng() * n), 3 * 256, () => 0.86);
  span(Math.floor(rng() * n), 3 * 256, () => 0.78);
  const missed = Math.floor(rng() * (n - 256 * 20));
  labels.fill(1, missed, missed + 256 * 15);
  return { probabilities: p, labels };
}

const PARAMS: Partial<PostprocessParams>[] = [
  {},
  { onThreshold: 0.5, offThreshold: 0.3 },
  { openingSamples: 1, closingSamples: 1, minDurationS: 0, mergeGapS: 0, minOnsetSamples: 1, minOffsetSamples: 1 },
  { openingSamples: 101, closingSamples: 513, minDurationS: 1.5, mergeGapS: 10, minOnsetSamples: 7, minOffsetSamples: 900 },
  { fs: 200, onThreshold: 0.25, offThreshold: 0.25 },
];

describe.skipIf(!python)(`post-processing and metrics parity TS vs Python (seed ${seed})`, () => {
  const rng = makeRng(seed);
  const recordings = [scored(rng, 900), scored(rng, 301.7), scored(rng, 45)];
  const files = recordings.map((r, k) => ({
    probabilities: dir.writeArray(`p${k}.npy`, r.probabilities, [r.probabilities.length]),
    labels: dir.writeArray(`y${k}.npy`, r.labels, [r.labels.length]),
  }));
  const noSeizures = { probabilities: recordings[2]!.probabilities, labels: new Float32Array(recordings[2]!.labels.length) };
  const noSeizureFile = { probabilities: files[2]!.probabilities, labels: dir.writeArray('zero.npy', noSeizures.labels, [noSeizures.labels.length]) };
  // Quantised scores: many ties, so the midrank handling matters.
  const tiedScores = Float32Array.from(recordings[0]!.probabilities, (v) => Math.round(v * 16) / 16);

  const postCases = recordings.flatMap((_, k) => PARAMS.map((params) => ({ k, params })));
  const evalCases = [
    { name: 'default search, three recordings', recs: recordings, files, opts: {} },
    { name: 'other targets and parameters', recs: recordings.slice(0, 2), files: files.slice(0, 2),
      opts: { faTargetsPer24h: [1000, 100, 0], postprocess: PARAMS[3] } },
    { name: 'no reference seizures', recs: [noSeizures], files: [noSeizureFile], opts: {} },
  ];
  const answers = python ? (dir.run(python, {
    cases: [
      ...postCases.map(({ k, params }) => ({ op: 'postprocess', probabilities: files[k]!.probabilities, params })),
      ...evalCases.map((c) => ({
        op: 'evaluate', recordings: c.files, faTargetsPer24h: c.opts.faTargetsPer24h,
        params: c.opts.postprocess ?? {},
      })),
      { op: 'auroc', scores: dir.writeArray('tied.npy', tiedScores, [tiedScores.length]), labels: files[0]!.labels },
    ],
  }) as unknown[]) : [];

  postCases.forEach(({ k, params }, i) => {
    it(`events of recording ${k} with ${JSON.stringify(params)}`, () => {
      const ts = postprocess(recordings[k]!.probabilities, params);
      expect(answers[i]).toEqual(ts);
    });
  });

  it('some parameter sets find events and some events are false alarms (the inputs exercise the chain)', () => {
    expect(postprocess(recordings[0]!.probabilities).length).toBeGreaterThan(0);
    expect(postprocess(recordings[0]!.probabilities, PARAMS[2]).length).toBeGreaterThan(postprocess(recordings[0]!.probabilities).length);
  });

  evalCases.forEach((c, i) => {
    it(`evaluate: ${c.name}`, () => {
      const ts = evaluate(c.recs, c.opts);
      expect(answers[postCases.length + i]).toEqual(JSON.parse(JSON.stringify(ts)));
    });
  });

  it('AUROC with many ties', () => {
    expect(answers[postCases.length + evalCases.length]).toBe(auroc(tiedScores, recordings[0]!.labels));
  });
});
