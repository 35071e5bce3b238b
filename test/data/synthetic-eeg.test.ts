// The synthetic EEG: deterministic by seed, ingestible as TUSZ data (EDF labels map onto the montage, the
// .csv_bi parses back to the seizures), and showing the features the model is meant to hold, measured on the
// signals themselves: posterior alpha, seizures that slow down and start at their focus, frontal blinks, pops.
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../../src/data/byte-source.ts';
import { parseCsvBi, seizureIntervals } from '../../src/data/csv-bi.ts';
import { EdfReader } from '../../src/data/edf.ts';
import { MONTAGE_CHANNELS } from '../../src/data/montage.ts';
import { readMontageRecording } from '../../src/data/recording.ts';
import { synthesizeEeg, type SyntheticRecording } from '../../src/data/synthetic-eeg.ts';
import { syntheticCsvBi, syntheticEdf, syntheticName } from '../../src/data/synthetic-files.ts';
import { mapChannels } from '../../src/data/tusz.ts';
import { freshSeed } from '../harness/kernel-harness.ts';

const seed = freshSeed() % 100000;
const rec = synthesizeEeg({ minutes: 3, seed });
const fs = rec.sampleRate;
const ch = (name: (typeof MONTAGE_CHANNELS)[number]) => rec.eeg[MONTAGE_CHANNELS.indexOf(name)];

/** Power at frequency f (Hz) of x[from, to), by direct DFT of the mean-removed segment. */
function power(x: Float32Array, from: number, to: number, f: number): number {
  let mean = 0;
  for (let i = from; i < to; i++) mean += x[i];
  mean /= to - from;
  let re = 0, im = 0;
  for (let i = from; i < to; i++) {
    const a = (2 * Math.PI * f * i) / fs;
    re += (x[i] - mean) * Math.cos(a);
    im += (x[i] - mean) * Math.sin(a);
  }
  return (re * re + im * im) / (to - from);
}

function peakFrequency(x: Float32Array, from: number, to: number, lo: number, hi: number): number {
  let best = lo, bestPower = -1;
  for (let f = lo; f <= hi; f += 0.25) {
    const p = power(x, from, to, f);
    if (p > bestPower) (best = f), (bestPower = p);
  }
  return best;
}

function rms(x: Float32Array, from: number, to: number): number {
  let mean = 0, sq = 0;
  for (let i = from; i < to; i++) mean += x[i];
  mean /= to - from;
  for (let i = from; i < to; i++) sq += (x[i] - mean) ** 2;
  return Math.sqrt(sq / (to - from));
}

/** 8-12 Hz power summed over 2-s segments inside eyes-closed spells and away from seizures. */
function alphaPower(x: Float32Array): number {
  const quiet = (t: number) => rec.seizures.every((s) => t + 2 < s.start - 1 || t > s.stop + 25);
  let total = 0;
  for (const [a, b] of rec.eyesClosed) {
    for (let t = a + 1; t + 2 <= b; t += 2) {
      if (!quiet(t)) continue;
      const s = Math.round(t * fs);
      for (let f = 8; f <= 12; f += 0.5) total += power(x, s, s + 2 * fs, f);
    }
  }
  return total;
}

describe(`synthetic EEG (seed ${seed})`, () => {
  it('is deterministic by seed', () => {
    const a = syntheticEdf(synthesizeEeg({ minutes: 1, seed }));
    const b = syntheticEdf(synthesizeEeg({ minutes: 1, seed }));
    const c = syntheticEdf(synthesizeEeg({ minutes: 1, seed: seed + 1 }));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it('goes through the TUSZ ingest path: EDF labels map onto the montage, csv_bi gives back the seizures', async () => {
    const edf = await EdfReader.open(bytesSource(syntheticEdf(rec)));
    expect(edf.header.durationSeconds).toBe(180);
    const labels = edf.dataSignals.map((s) => s.label);
    const { indices, references } = mapChannels(labels);
    expect(references).toEqual(['REF']);
    const o1 = await edf.readPhysical(indices[MONTAGE_CHANNELS.indexOf('O1')]);
    const gain = edf.header.signals[indices[MONTAGE_CHANNELS.indexOf('O1')]].gain;
    expect(Math.max(...o1.map((v, i) => Math.abs(v - ch('O1')[i])))).toBeLessThanOrEqual(gain / 2 + 1e-6);
    const montage = await readMontageRecording(edf);
    expect(montage.sampleRate).toBe(256);
    expect(montage.sourceLabels).toEqual(MONTAGE_CHANNELS.map((c) => `EEG ${c.toUpperCase()}-REF`));
    montage.signals.forEach((x, c) => {
      const half = edf.header.signals[indices[c]].gain / 2 + 1e-6;
      expect(x.every((v, i) => Math.abs(v - rec.eeg[c][i]) <= half), MONTAGE_CHANNELS[c]).toBe(true);
    });
    const csv = parseCsvBi(syntheticCsvBi(rec, syntheticName(seed)));
    expect(csv.duration).toBe(180);
    expect(seizureIntervals(csv)).toEqual(rec.seizures.map((s) => [s.start, s.stop]));
    expect(rec.seizures.length).toBeGreaterThanOrEqual(1);
  });

  it('has posterior alpha: with eyes closed, O1/O2 carry several times the 8-12 Hz power of Fp1/F7', () => {
    expect(rec.eyesClosed.length).toBeGreaterThan(0);
    const posterior = alphaPower(ch('O1')) + alphaPower(ch('O2'));
    const frontal = alphaPower(ch('Fp1')) + alphaPower(ch('F7'));
    expect(posterior / frontal).toBeGreaterThan(3);
  });

  it('has seizures that slow down, and are strongest at their focus', () => {
    for (const s of rec.seizures) {
      const focus = ch(s.focus);
      const i0 = Math.round(s.start * fs), i1 = Math.round(s.stop * fs);
      const span = i1 - i0;
      const early = peakFrequency(focus, i0 + Math.round(0.15 * span), i0 + Math.round(0.4 * span), 1.5, 12);
      const late = peakFrequency(focus, i0 + Math.round(0.6 * span), i0 + Math.round(0.9 * span), 1.5, 12);
      // The discharge follows f(u) = fromHz * (toHz / fromHz)^u over the event (u in [0, 1]).
      const at = (u: number) => s.fromHz * (s.toHz / s.fromHz) ** u;
      const where = `seizure at ${s.start} s (${s.fromHz} -> ${s.toHz} Hz): early ${early} Hz, late ${late} Hz`;
      expect(early, where).toBeGreaterThan(late);
      expect(Math.abs(early - at(0.275)), where).toBeLessThanOrEqual(1);
      expect(Math.abs(late - at(0.75)), where).toBeLessThanOrEqual(1);
      const before = Math.max(0, i0 - 15 * fs);
      const gainAt = (x: Float32Array) => rms(x, i0 + Math.round(0.5 * span), i1) / rms(x, before, i0);
      expect(gainAt(focus), `focus ${s.focus}`).toBeGreaterThan(2);
      // Strongest at the focus: the power the discharge adds (not the gain: a quiet channel's gain can exceed a
      // focus with strong alpha; the gain failed on 12 of 400 seeds, the added power on none, its ratio >= 1.7).
      const added = (x: Float32Array) => rms(x, i0 + Math.round(0.5 * span), i1) ** 2 - rms(x, before, i0) ** 2;
      const last = s.spread[s.spread.length - 1];
      if (s.spread.length > 1) expect(added(focus), `focus ${s.focus} against ${last}`).toBeGreaterThan(added(ch(last)));
      // Channels the discharge never reaches stay near their own level (median: one may carry a blink or a burst).
      const unreached = MONTAGE_CHANNELS.filter((c) => !s.spread.includes(c)).map((c) => gainAt(ch(c))).sort((a, b) => a - b);
      if (unreached.length) expect(unreached[Math.floor(unreached.length / 2)], `unreached channels' gains ${unreached.map((g) => g.toFixed(2))}`).toBeLessThan(1.5);
    }
  });

  it('has frontal eye blinks and electrode pops where it says', () => {
    const blinks = rec.artifacts.filter((a) => a.kind === 'blink');
    expect(blinks.length).toBeGreaterThan(3);
    const rise = (x: Float32Array, t: number, width: number) => {
      const i = Math.round(t * fs), w = Math.round(width * fs);
      return x[i + Math.floor(w / 2)] - (x[i - 1] ?? x[i]);
    };
    const frontal = blinks.map((b) => rise(ch('Fp1'), b.start, b.stop - b.start));
    const occipital = blinks.map((b) => rise(ch('O1'), b.start, b.stop - b.start));
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
    expect(median(frontal)).toBeGreaterThan(median(occipital) + 40);
    for (const pop of rec.artifacts.filter((a) => a.kind === 'pop')) {
      const x = ch(pop.channels[0] as (typeof MONTAGE_CHANNELS)[number]);
      const i = Math.round(pop.start * fs);
      if (i > 0) expect(Math.abs(x[i] - x[i - 1]), `pop at ${pop.start} s on ${pop.channels[0]}`).toBeGreaterThan(60);
    }
  });

  it('rejects bad options by name', () => {
    expect(() => synthesizeEeg({ minutes: 0, seed: 1 })).toThrow(/minutes must be a positive number, got 0/);
    expect(() => synthesizeEeg({ minutes: 1, seed: 1.5 })).toThrow(/seed must be an integer, got 1.5/);
  });
});

export type { SyntheticRecording };
