// Filters, resampling, preprocessing and windowing against references that do not share their code: the analog
// Butterworth magnitude through the bilinear frequency warp, the notch's defining -3 dB width, the DFT and
// scipy.signal.resample's spectrum written out as sums of cosines, the filter's difference equation, sinusoids
// with known amplitude and phase (the Nyquist bin split and joined as scipy does).
import { describe, expect, it } from 'vitest';
import { butterworthBandpass, iirNotch, lfilter, magnitudeResponse, sosToBa, type TransferFunction } from '../../src/data/filters.ts';
import { Dft, RealDft, resampledLength, resampleFourier, roundHalfEven } from '../../src/data/resample.ts';
import { BANDPASS_BA, NOTCH_BA, preprocessRecording } from '../../src/data/preprocess.ts';
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

/** The difference equation written out (direct form I): a0 y[i] = sum_k b[k] x[i-k] - sum_{k>=1} a[k] y[i-k]. */
function differenceEquation(tf: TransferFunction, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let acc = 0;
    for (let k = 0; k < tf.b.length && k <= i; k++) acc += tf.b[k]! * x[i - k]!;
    for (let k = 1; k < tf.a.length && k <= i; k++) acc -= tf.a[k]! * y[i - k]!;
    y[i] = acc;
  }
  return y;
}

/** |B(e^{iw}) / A(e^{iw})| by evaluating both polynomials. */
function baMagnitude(tf: TransferFunction, f: number, fs: number): number {
  const w = (2 * Math.PI * f) / fs;
  const at = (p: Float64Array) => {
    let re = 0, im = 0;
    p.forEach((c, k) => { re += c * Math.cos(w * k); im -= c * Math.sin(w * k); });
    return Math.hypot(re, im);
  };
  return at(tf.b) / at(tf.a);
}

/** X[k] = sum_j x[j] exp(-2 pi i j k / n), term by term (the angle reduced mod n exactly). */
function naiveDft(re: ArrayLike<number>, im: ArrayLike<number>): { re: Float64Array; im: Float64Array } {
  const n = re.length, outRe = new Float64Array(n), outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const angle = (-2 * Math.PI * ((j * k) % n)) / n, c = Math.cos(angle), s = Math.sin(angle);
      outRe[k] += re[j]! * c - im[j]! * s;
      outIm[k] += re[j]! * s + im[j]! * c;
    }
  }
  return { re: outRe, im: outIm };
}

/**
 * scipy.signal.resample(x, num) for real x, as a sum of cosines: with m = min(n, num), y[t] = (1/n) (X0 +
 * sum_{0<k<m/2} 2 Re(X_k w^k) + the bin m/2 when m is even), w = exp(2 pi i t / num). That bin is the output's
 * Nyquist when downsampling (doubled, real part: 2 Re X (-1)^t) or when num = n (Re X (-1)^t), and a halved
 * pair +-m/2 when upsampling (Re(X w^(m/2))).
 */
function resampleReference(x: ArrayLike<number>, num: number): Float64Array {
  const n = x.length, m = Math.min(n, num);
  const X = naiveDft(x, new Float64Array(n));
  return Float64Array.from({ length: num }, (_, t) => {
    const term = (k: number) => { const a = (2 * Math.PI * ((k * t) % num)) / num; return X.re[k]! * Math.cos(a) - X.im[k]! * Math.sin(a); };
    let sum = X.re[0]!;
    for (let k = 1; 2 * k < m; k++) sum += 2 * term(k);
    if (m % 2 === 0) {
      const h = m / 2;
      sum += num < n ? 2 * X.re[h]! * (t % 2 ? -1 : 1) : num === n ? X.re[h]! * (t % 2 ? -1 : 1) : term(h);
    }
    return sum / n;
  });
}

describe(`Butterworth and notch in (b, a) form, applied causally (seed ${seed})`, () => {
  it('the band-pass (b, a) has the analog magnitude through the bilinear warp; the notch keeps its -3 dB width', () => {
    for (const f of [0.5, 1, 10, 60, 120, 127, ...Array.from({ length: 10 }, () => 0.05 + rng() * 127.9)]) {
      expect(baMagnitude(BANDPASS_BA, f, 256)).toBeCloseTo(analogButterworth(3, 0.5, 120, 256, f), 9);
      expect(baMagnitude(NOTCH_BA, f, 256)).toBeCloseTo(magnitudeResponse(iirNotch(60, 30, 256), f, 256), 12);
    }
    expect(BANDPASS_BA.b).toHaveLength(7);
    expect(BANDPASS_BA.a[0]).toBe(1);
    expect(sosToBa([[1, 2, 3, 1, 0.5, 0.25], [2, 0, -1, 1, -1, 0]])).toEqual({ b: Float64Array.of(2, 4, 5, -2, -3), a: Float64Array.of(1, -0.5, -0.25, -0.25, 0) });
  });
  for (const n of [1, 2, 37, 1000]) {
    it(`lfilter equals the difference equation from a zero state, n = ${n}`, () => {
      const x = Float64Array.from({ length: n }, () => 100 * gaussian() + 40);
      for (const tf of [BANDPASS_BA, NOTCH_BA]) {
        const y = lfilter(tf, x), want = differenceEquation(tf, x);
        for (let i = 0; i < n; i++) expect(Math.abs(y[i]! - want[i]!)).toBeLessThan(1e-9 * (1 + Math.abs(want[i]!)));
      }
    });
  }
  it('is causal: later input never changes earlier output; a step excites the high-pass transient', () => {
    const x = Float64Array.from({ length: 600 }, gaussian), x2 = Float64Array.from(x);
    x2.fill(1e4, 300);
    const y = lfilter(BANDPASS_BA, x), y2 = lfilter(BANDPASS_BA, x2);
    expect(Array.from(y2.subarray(0, 300))).toEqual(Array.from(y.subarray(0, 300)));
    const step = lfilter(BANDPASS_BA, new Float64Array(512).fill(1));
    expect(step[0]).toBeCloseTo(BANDPASS_BA.b[0]!, 15);
    expect(Math.abs(step[511]!)).toBeLessThan(Math.abs(step[0]!));
  });
  it('names a malformed filter', () => {
    expect(() => lfilter({ b: Float64Array.of(1), a: Float64Array.of(2) }, [1])).toThrow(/a\[0\] is 2, expected 1/);
    expect(() => lfilter({ b: Float64Array.of(1, 2), a: Float64Array.of(1) }, [1])).toThrow(/b has 2 coefficients and a 1/);
  });
});

describe(`DFT of any length (fft.js, Bluestein for non-powers of two) (seed ${seed})`, () => {
  for (const n of [1, 2, 3, 7, 16, 97, 100, 1000, 1024]) {
    it(`equals the DFT written out, n = ${n}`, () => {
      const re = Float64Array.from({ length: n }, gaussian), im = Float64Array.from({ length: n }, gaussian);
      const want = naiveDft(re, im);
      const dft = new Dft(n);
      const gotRe = Float64Array.from(re), gotIm = Float64Array.from(im);
      dft.forward(gotRe, gotIm);
      for (let k = 0; k < n; k++) {
        expect(Math.abs(gotRe[k]! - want.re[k]!)).toBeLessThan(1e-10 * n);
        expect(Math.abs(gotIm[k]! - want.im[k]!)).toBeLessThan(1e-10 * n);
      }
      dft.inverse(gotRe, gotIm);
      for (let j = 0; j < n; j++) expect(Math.abs(gotRe[j]! - re[j]!) + Math.abs(gotIm[j]! - im[j]!)).toBeLessThan(1e-12 * n);
    });
  }
  for (const n of [1, 2, 3, 4, 9, 10, 98, 99, 1000]) {
    it(`RealDft (even lengths packed into half-length complex transforms) equals the DFT written out, n = ${n}`, () => {
      const x = Float64Array.from({ length: n }, gaussian);
      const want = naiveDft(x, new Float64Array(n));
      const rdft = new RealDft(n);
      const got = rdft.forward(x);
      expect(got.re.length).toBe(Math.floor(n / 2) + 1);
      for (let k = 0; k < got.re.length; k++) {
        expect(Math.abs(got.re[k]! - want.re[k]!) + Math.abs(got.im[k]! - want.im[k]!)).toBeLessThan(1e-10 * n);
      }
      const back = rdft.inverse(got.re, got.im);
      for (let j = 0; j < n; j++) expect(Math.abs(back[j]! - x[j]!)).toBeLessThan(1e-12 * n);
    });
  }
  it('stays accurate on a long prime length (Bluestein, angles reduced mod 2n)', () => {
    const n = 100003, x = Float64Array.from({ length: n }, gaussian);
    const re = Float64Array.from(x), im = new Float64Array(n);
    const dft = new Dft(n);
    dft.forward(re, im);
    // Spot-check bins against the sum written out.
    for (const k of [0, 1, 777, 50001, n - 1]) {
      let wr = 0, wi = 0;
      for (let j = 0; j < n; j++) { const a = (-2 * Math.PI * ((j * k) % n)) / n; wr += x[j]! * Math.cos(a); wi += x[j]! * Math.sin(a); }
      expect(Math.abs(re[k]! - wr) + Math.abs(im[k]! - wi)).toBeLessThan(1e-7);
    }
    dft.inverse(re, im);
    let worst = 0;
    for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(re[j]! - x[j]!));
    expect(worst).toBeLessThan(1e-11);
  });
});

describe(`FFT resampling, scipy.signal.resample semantics (seed ${seed})`, () => {
  it('lengths: round(n * 256 / fs) with Python rounding (halves to even)', () => {
    expect(resampledLength(2500, 250, 256)).toBe(2560);
    expect(resampledLength(4609, 512, 256)).toBe(2304); // 2304.5
    expect(resampledLength(4611, 512, 256)).toBe(2306); // 2305.5
    expect(resampledLength(2431, 333, 256)).toBe(1869);
    expect([roundHalfEven(0.5), roundHalfEven(1.5), roundHalfEven(2.5), roundHalfEven(-0.5), roundHalfEven(2.4999)]).toEqual([0, 2, 2, -0, 2]);
    expect(() => resampledLength(10, 0, 256)).toThrow(/input rate 0 Hz/);
  });
  for (const [n, num] of [[1, 3], [8, 8], [10, 7], [10, 8], [11, 6], [11, 17], [12, 18], [12, 25], [97, 100], [100, 97], [750, 768], [256, 160]] as const) {
    it(`${n} -> ${num} samples equals the spectrum written as cosines`, () => {
      const x = Float64Array.from({ length: n }, () => 50 * gaussian() + 7);
      const y = resampleFourier(x, num), want = resampleReference(x, num);
      expect(y.length).toBe(num);
      for (let t = 0; t < num; t++) expect(Math.abs(y[t]! - want[t]!)).toBeLessThan(1e-9 * 50);
    });
  }
  it('sinusoids below both Nyquists come out exactly resampled (a 250 Hz -> 256 Hz recording)', () => {
    const n = 2500, num = 2560, tones = [1, 10, 60, 123].map((cycles) => ({ cycles: cycles * 10, a: 1 + rng() * 5, phase: rng() * 6.28 }));
    const at = (u: number) => tones.reduce((s, t) => s + t.a * Math.cos(2 * Math.PI * t.cycles * u + t.phase), 0);
    const y = resampleFourier(Float64Array.from({ length: n }, (_, j) => at(j / n)), num);
    for (let t = 0; t < num; t++) expect(Math.abs(y[t]! - at(t / num))).toBeLessThan(1e-9);
  });
  it('upsampling splits the Nyquist bin into a pair: (-1)^j becomes cos(pi n t / num)', () => {
    const n = 64, num = 100;
    const y = resampleFourier(Float64Array.from({ length: n }, (_, j) => (j % 2 ? -1 : 1)), num);
    for (let t = 0; t < num; t++) expect(y[t]).toBeCloseTo(Math.cos((Math.PI * n * t) / num), 12);
  });
  it('downsampling joins the pair +-num/2 into the Nyquist bin and keeps its real part: cos(phi) (-1)^t', () => {
    const n = 100, num = 64, phi = rng() * 6.28;
    const y = resampleFourier(Float64Array.from({ length: n }, (_, j) => Math.cos((Math.PI * num * j) / n + phi)), num);
    for (let t = 0; t < num; t++) expect(y[t]).toBeCloseTo(Math.cos(phi) * (t % 2 ? -1 : 1), 12);
  });
  it('names bad lengths', () => {
    expect(() => resampleFourier([], 5)).toThrow(/no samples/);
    expect(() => resampleFourier([1, 2], 0)).toThrow(/output length 0/);
    expect(() => new Dft(0)).toThrow(/length 0 is not a positive integer/);
  });
});

describe(`preprocessRecording (seed ${seed})`, () => {
  /** The original's chain from the references above: resample (if fs != 256), filter, z-score with + 1e-8, clip. */
  const reference = (x: Float64Array, fs: number) => {
    const r = fs === 256 ? x : resampleReference(x, roundHalfEven((x.length * 256) / fs));
    const y = differenceEquation(NOTCH_BA, differenceEquation(BANDPASS_BA, r));
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    const std = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / y.length);
    return y.map((v) => Math.max(-10, Math.min(10, Math.fround((v - mean) / (std + 1e-8)))));
  };
  for (const [fs, n] of [[256, 700], [250, 751], [400, 640], [200, 333]] as const) {
    it(`equals the chain written out, ${n} samples at ${fs} Hz, a flat channel included`, () => {
      const tone = (f: number, a: number, i: number) => a * Math.sin((2 * Math.PI * f * i) / fs);
      const signals = [
        Float64Array.from({ length: n }, (_, i) => 200 + 30 * gaussian() + tone(7, 30, i) + tone(60, 100, i)),
        new Float64Array(n).fill(-12.5),
        Float64Array.from({ length: n }, () => 1e-3 * gaussian()),
      ];
      const out = preprocessRecording(signals, fs);
      expect(out.samples).toBe(fs === 256 ? n : resampledLength(n, fs, 256));
      signals.forEach((x, c) => {
        const want = reference(x, fs), got = out.data.subarray(c * out.samples, (c + 1) * out.samples);
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
        expect(worst, `channel ${c}`).toBeLessThanOrEqual(1e-5);
      });
      // The flat channel is its filter's step response, z-scored like any other (the original has no special case).
      expect(out.data.subarray(out.samples, 2 * out.samples).some((v) => Math.abs(v) > 1)).toBe(true);
    });
  }
  it('removes DC and 60 Hz hum once the causal filters settle, z-scores, clips to [-10, 10]', () => {
    const fs = 256, n = 256 * 40;
    const tone = (f: number, a: number, i: number) => a * Math.sin((2 * Math.PI * f * i) / fs);
    const clean = Float64Array.from({ length: n }, (_, i) => tone(7, 30, i));
    const hummed = Float64Array.from({ length: n }, (_, i) => 200 + tone(7, 30, i) + tone(60, 300, i));
    const out = preprocessRecording([clean, hummed], fs);
    const ch = (c: number) => out.data.subarray(c * out.samples, (c + 1) * out.samples);
    // After 20 s (the notch's and the 0.5 Hz high-pass's transients have decayed) the two agree up to scale and shift.
    const from = 20 * fs, a = ch(0).subarray(from), b = ch(1).subarray(from);
    const ma = a.reduce((s, v) => s + v, 0) / a.length, mb = b.reduce((s, v) => s + v, 0) / b.length;
    let dot = 0, norm = 0;
    for (let i = 0; i < a.length; i++) { dot += (a[i]! - ma) * (b[i]! - mb); norm += (a[i]! - ma) ** 2; }
    const scale = dot / norm;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(scale * (a[i]! - ma) - (b[i]! - mb)));
    expect(worst).toBeLessThan(1e-3);
    const spiky = Float64Array.from({ length: n }, () => gaussian());
    spiky[2000] = 1e6; spiky[3000] = -1e6;
    const clipped = preprocessRecording([spiky], fs).data;
    expect(Math.max(...clipped)).toBe(10);
    expect(Math.min(...clipped)).toBe(-10);
  });
  it('names what is wrong with bad input', () => {
    const fs = 256, ok = new Float64Array(1000);
    const nan = new Float64Array(1000); nan[17] = NaN;
    expect(() => preprocessRecording([ok, nan], fs)).toThrow(/channel 1 sample 17 is NaN/);
    expect(() => preprocessRecording([ok, new Float64Array(999)], fs)).toThrow(/channel 1 has 999 samples, channel 0 has 1000/);
    expect(() => preprocessRecording([], fs)).toThrow(/no channels/);
    expect(() => preprocessRecording([new Float64Array(0)], fs)).toThrow(/no samples/);
    expect(() => preprocessRecording([ok], -1)).toThrow(/input rate -1 Hz/);
  });
});

describe('labels and windows', () => {
  it('labels samples int(start * fs) .. int(stop * fs) - 1 (both truncated, as the original), clipped to the recording', () => {
    const l = labelsFromEvents([[0.01, 0.02], [0.05, 1]], 20, 256);
    // 0.01*256 = 2.56 -> 2; 0.02*256 = 5.12 -> 5: samples 2..4. 0.05*256 = 12.8 -> 12 .. end.
    expect(Array.from(l)).toEqual([0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(labelsFromEvents([[-5, 2 / 256]], 4, 256))).toEqual([1, 1, 0, 0]);
    // 0.29 * 100 = 28.999999999999996 in float64: truncated to 28, as Python's int() does.
    expect(labelsFromEvents([[0.29, 0.5]], 100, 100).indexOf(1)).toBe(28);
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
