// Filters, resampling, preprocessing and windowing against references that do not share their code:
// the analog Butterworth magnitude through the bilinear frequency warp, the notch's defining -3 dB width,
// the upfirdn sum written out sample by sample, sinusoids with known amplitude and phase.
import { describe, expect, it } from 'vitest';
import {
  butterworthBandpass, iirNotch, magnitudeResponse, sosfiltfilt, defaultPadLength,
} from '../../src/data/filters.ts';
import { besselI0, polyphasePlan, resample, resampleFactors, resampleFilter } from '../../src/data/resample.ts';
import { preprocessRecording, TARGET_FS } from '../../src/data/preprocess.ts';
import { labelsFromEvents, windowCount, windows } from '../../src/data/windows.ts';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';

const seed = freshSeed();
const rng = makeRng(seed);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());

/** |H|^2 = 1 / (1 + ((w^2 - wo^2) / (w * bw))^(2N)) at the pre-warped frequency w = 2 fs tan(pi f / fs). */
function analogButterworth(order: number, lo: number, hi: number, fs: number, f: number): number {
  const warp = (x: number) => 2 * fs * Math.tan((Math.PI * x) / fs);
  const w = warp(f), w1 = warp(lo), w2 = warp(hi);
  const x = (w * w - w1 * w2) / (w * (w2 - w1));
  return 1 / Math.sqrt(1 + Math.pow(x, 2 * order));
}

describe(`Butterworth band-pass (seed ${seed})`, () => {
  const designs = [[3, 0.5, 120, 256], [1, 3, 40, 250], [2, 0.1, 10, 100], [4, 7, 7.5, 512], [5, 1, 60, 200]] as const;
  for (const [order, lo, hi, fs] of designs) {
    it(`order ${order}, ${lo}-${hi} Hz at ${fs} Hz matches the analog magnitude through the bilinear warp`, () => {
      const sos = butterworthBandpass(order, lo, hi, fs);
      expect(sos).toHaveLength(order);
      const freqs = [lo, hi, Math.sqrt(lo * hi), lo / 3, (hi + fs / 2) / 2, ...Array.from({ length: 20 }, () => 0.01 + rng() * (fs / 2 - 0.02))];
      for (const f of freqs) {
        expect(magnitudeResponse(sos, f, fs)).toBeCloseTo(analogButterworth(order, lo, hi, fs, f), 9);
      }
      expect(magnitudeResponse(sos, lo, fs)).toBeCloseTo(Math.SQRT1_2, 9);
      expect(magnitudeResponse(sos, 0, fs)).toBeLessThan(1e-9);
      expect(magnitudeResponse(sos, fs / 2, fs)).toBeLessThan(1e-9);
    });
  }
  it('rejects a band outside (0, fs/2) and a bad order with the reason', () => {
    expect(() => butterworthBandpass(3, 0.5, 130, 256)).toThrow(/0 < low < high < fs\/2 = 128 Hz/);
    expect(() => butterworthBandpass(3, 10, 5, 256)).toThrow(/band 10-5 Hz/);
    expect(() => butterworthBandpass(0, 1, 5, 256)).toThrow(/order 0/);
  });
});

describe('iirNotch', () => {
  it('60 Hz, Q 30 at 256 Hz: zero at 60 Hz, unit gain at 0 and Nyquist, -3 dB points exactly 60/30 Hz apart', () => {
    const sos = iirNotch(60, 30, 256);
    expect(magnitudeResponse(sos, 60, 256)).toBeLessThan(1e-12);
    expect(magnitudeResponse(sos, 0, 256)).toBeCloseTo(1, 12);
    expect(magnitudeResponse(sos, 128, 256)).toBeCloseTo(1, 12);
    const edge = (a: number, b: number, rising: boolean) => {
      for (let k = 0; k < 80; k++) {
        const mid = (a + b) / 2;
        if ((magnitudeResponse(sos, mid, 256) > Math.SQRT1_2) === rising) b = mid; else a = mid;
      }
      return (a + b) / 2;
    };
    const lower = edge(50, 60, false), upper = edge(60, 70, true);
    expect(upper - lower).toBeCloseTo(2, 9);
  });
  it('rejects a frequency at or above Nyquist', () => {
    expect(() => iirNotch(128, 30, 256)).toThrow(/frequency 128 Hz must lie in \(0, fs\/2 = 128 Hz\)/);
  });
});

describe(`sosfiltfilt (seed ${seed})`, () => {
  it('passes in-band sinusoids with gain |H|^2 and zero phase, removes DC (away from the edges)', () => {
    const fs = 256, n = 20000;
    const sos = butterworthBandpass(3, 0.5, 120, fs);
    const tones = [2, 10, 33.3, 100].map((f) => ({ f, a: 1 + rng() * 10, phase: rng() * 6.28 }));
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = 500 + tones.reduce((s, t) => s + t.a * Math.sin((2 * Math.PI * t.f * i) / fs + t.phase), 0);
    const y = sosfiltfilt(sos, x);
    let worst = 0;
    for (let i = 6000; i < n - 6000; i++) {
      const want = tones.reduce((s, t) => s + magnitudeResponse(sos, t.f, fs) ** 2 * t.a * Math.sin((2 * Math.PI * t.f * i) / fs + t.phase), 0);
      worst = Math.max(worst, Math.abs(y[i]! - want));
    }
    expect(worst).toBeLessThan(1e-6);
  });
  it('is linear on random input', () => {
    const sos = iirNotch(60, 30, 256);
    const a = Float64Array.from({ length: 777 }, gaussian), b = Float64Array.from({ length: 777 }, gaussian);
    const sum = sosfiltfilt(sos, a.map((v, i) => 2 * v + b[i]!));
    const ya = sosfiltfilt(sos, a), yb = sosfiltfilt(sos, b);
    for (let i = 0; i < a.length; i++) expect(sum[i]).toBeCloseTo(2 * ya[i]! + yb[i]!, 10);
  });
  it('refuses a signal no longer than its pad length', () => {
    const sos = butterworthBandpass(3, 0.5, 120, 256);
    expect(defaultPadLength(sos)).toBe(21);
    expect(() => sosfiltfilt(sos, new Float64Array(21))).toThrow(/21 samples is too short; it must be longer than the pad length 21/);
  });
});

describe(`resampling (seed ${seed})`, () => {
  it('reduces rates read to the millihertz', () => {
    expect(resampleFactors(250, 256)).toEqual({ up: 128, down: 125 });
    expect(resampleFactors(400, 256)).toEqual({ up: 16, down: 25 });
    expect(resampleFactors(256, 256)).toEqual({ up: 1, down: 1 });
    expect(resampleFactors(256.5, 256)).toEqual({ up: 512, down: 513 });
    expect(() => resampleFactors(333.333, 256)).toThrow(/reduces to 256000\/333333; factors above 4096/);
    expect(() => resampleFactors(0, 256)).toThrow(/input rate 0 Hz/);
  });
  it('the Kaiser window uses I0 (series checked against known values)', () => {
    expect(besselI0(0)).toBe(1);
    expect(besselI0(1)).toBeCloseTo(1.2660658777520082, 14);
    expect(besselI0(5)).toBeCloseTo(27.239871823604442, 12);
  });
  for (const [up, down, n] of [[128, 125, 7], [16, 25, 37], [2, 1, 1], [1, 2, 10], [3, 7, 101]] as const) {
    it(`${up}/${down} on ${n} samples equals the centred upfirdn sum written out`, () => {
      const x = Float64Array.from({ length: n }, gaussian);
      const h = resampleFilter(up, down);
      const half = (h.length - 1) / 2;
      const plan = polyphasePlan(up, down, n);
      expect(plan.outputLength).toBe(Math.ceil((n * up) / down));
      const y = plan.apply(x);
      for (let i = 0; i < y.length; i++) {
        let want = 0;
        for (let k = 0; k < n; k++) {
          const j = i * down + half - k * up;
          if (j >= 0 && j < h.length) want += x[k]! * h[j]!;
        }
        expect(y[i]).toBeCloseTo(want, 12);
      }
    });
  }
  it('a 10 Hz sinusoid sampled at 250 Hz becomes the same sinusoid sampled at 256 Hz', () => {
    const fromHz = 250, n = 2500, phase = rng() * 6.28;
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * 10 * i) / fromHz + phase));
    const y = resample(x, fromHz, 256);
    expect(y.length).toBe(2560);
    for (let i = 500; i < 2060; i++) expect(Math.abs(y[i]! - Math.sin((2 * Math.PI * 10 * i) / 256 + phase))).toBeLessThan(2e-3);
  });
});

describe(`preprocessRecording (seed ${seed})`, () => {
  // At 256 Hz (no resampling) so that the hum's only path is the filters; resampling has its own tests.
  const fs = 256, n = 256 * 40;
  const tone = (f: number, a: number, i: number) => a * Math.sin((2 * Math.PI * f * i) / fs);
  it('removes DC and 60 Hz hum, z-scores each channel, leaves a flat channel at zero', () => {
    const clean = Float64Array.from({ length: n }, (_, i) => tone(7, 30, i));
    const hummed = Float64Array.from({ length: n }, (_, i) => 200 + tone(7, 30, i) + tone(60, 300, i));
    const flat = new Float64Array(n).fill(-12.5);
    const out = preprocessRecording([clean, hummed, flat], fs);
    expect(out.channels).toBe(3);
    expect(out.samples).toBe(Math.ceil((n * TARGET_FS) / fs));
    const ch = (c: number) => out.data.subarray(c * out.samples, (c + 1) * out.samples);
    // Channel 0 is never clipped, so it is z-scored exactly (the hummed channel's edge transients are clipped).
    const v = ch(0);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    expect(Math.abs(mean)).toBeLessThan(1e-6);
    expect(Math.abs(std - 1)).toBeLessThan(1e-6);
    // Hum and offset gone: far from the edges (the 0.5 Hz high-pass settles slowly) the hummed channel is the
    // clean one up to scale and shift (its edge transients enter its mean and standard deviation).
    const from = 3000, to = out.samples - 3000, a = ch(0).subarray(from, to), b = ch(1).subarray(from, to);
    const ma = a.reduce((s, v) => s + v, 0) / a.length, mb = b.reduce((s, v) => s + v, 0) / b.length;
    let dot = 0, norm = 0;
    for (let i = 0; i < a.length; i++) { dot += (a[i]! - ma) * (b[i]! - mb); norm += (a[i]! - ma) ** 2; }
    const scale = dot / norm;
    expect(scale).toBeGreaterThan(0.5);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(scale * (a[i]! - ma) - (b[i]! - mb)));
    expect(worst).toBeLessThan(1e-4);
    expect(ch(2).every((v) => v === 0)).toBe(true);
  });
  it('clips to [-10, 10]', () => {
    const x = Float64Array.from({ length: n }, () => gaussian());
    x[2000] = 1e6;
    x[3000] = -1e6;
    const out = preprocessRecording([x], fs);
    expect(Math.max(...out.data)).toBe(10);
    expect(Math.min(...out.data)).toBe(-10);
  });
  it('names what is wrong with bad input', () => {
    const ok = new Float64Array(1000);
    const nan = new Float64Array(1000); nan[17] = NaN;
    expect(() => preprocessRecording([ok, nan], fs)).toThrow(/channel 1 sample 17 is NaN/);
    expect(() => preprocessRecording([ok, new Float64Array(999)], fs)).toThrow(/channel 1 has 999 samples, channel 0 has 1000/);
    expect(() => preprocessRecording([], fs)).toThrow(/no channels/);
    expect(() => preprocessRecording([new Float64Array(20)], 256)).toThrow(/20 samples at 256 Hz give 20 at 256 Hz; the zero-phase filters need more than 21/);
    expect(() => preprocessRecording([ok], -1)).toThrow(/input rate -1 Hz/);
  });
});

describe('labels and windows', () => {
  it('labels samples with start <= i/fs < stop, clipped to the recording', () => {
    const l = labelsFromEvents([[0.01, 0.02], [0.05, 1]], 20, 256);
    // 0.01*256 = 2.56 -> 3; 0.02*256 = 5.12 -> 6: samples 3..5. 0.05*256 = 12.8 -> 13 .. end.
    expect(Array.from(l)).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(labelsFromEvents([[-5, 2 / 256]], 4, 256))).toEqual([1, 1, 0, 0]);
    // 1.1 * 400 = 440.00000000000006 in float64: still sample 440 (not 441).
    expect(labelsFromEvents([[1.1, 1.2]], 500, 400).indexOf(1)).toBe(440);
    expect(() => labelsFromEvents([[3, 2]], 10)).toThrow(/event 0 stops at 2 s, before its start 3 s/);
    expect(() => labelsFromEvents([[NaN, 2]], 10)).toThrow(/event 0 \[NaN, 2\] has a non-finite time/);
  });
  it('cuts windows at 0, stride, ... that fit, with their labels', () => {
    const channels = 3, samples = 23;
    const data = Float32Array.from({ length: channels * samples }, (_, i) => i);
    const labels = Float32Array.from({ length: samples }, (_, i) => i % 2);
    const w = windows({ channels, samples, data }, labels, 7, 5);
    expect(w.count).toBe(windowCount(samples, 7, 5));
    expect(w.count).toBe(4); // starts 0, 5, 10, 15; 20 would run past 23
    for (let k = 0; k < w.count; k++) {
      for (let c = 0; c < channels; c++) {
        for (let i = 0; i < 7; i++) expect(w.windows[(k * channels + c) * 7 + i]).toBe(c * samples + k * 5 + i);
      }
      for (let i = 0; i < 7; i++) expect(w.labels[k * 7 + i]).toBe((k * 5 + i) % 2);
    }
    expect(windows({ channels, samples, data }, labels, 24, 1).count).toBe(0);
    expect(windowCount(15360 + 2560 * 3 + 5)).toBe(4);
    expect(() => windows({ channels, samples, data }, labels.subarray(1), 7, 5)).toThrow(/sampleLabels has 22 samples, x has 23/);
    expect(() => windows({ channels, samples, data }, labels, 7, 0)).toThrow(/stride 0/);
  });
});
