// Windows over a whole recording and their stitching, against brute-force references on fresh random logits and
// awkward sizes (a window as long as the recording, strides that do not divide it, a stride equal to the window).
import { describe, expect, it } from 'vitest';
import { gatherWindows, planWindows, sigmoid, strideFor, WindowStitcher } from '../../src/data/window-stitch.ts';
import { windowCount } from '../../src/data/windows.ts';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';

const seed = freshSeed();
const rng = makeRng(seed);
const F32_ULP_BELOW_1 = 2 ** -24; // float32 spacing in [0.5, 1): the stitched output is float32

const SHAPES: [samples: number, window: number, stride: number][] = [
  [1, 1, 1], [7, 7, 1], [7, 3, 2], [100, 7, 3], [1000, 64, 10], [1001, 96, 16], [50, 7, 7], [2560 * 3 + 5, 2560, strideFor(2560)],
];

describe(`window plan and stitching (seed ${seed})`, () => {
  it('covers every sample, with windows on the stride and one more ending at the last sample when needed', () => {
    for (const [samples, window, stride] of SHAPES) {
      const plan = planWindows(samples, window, stride);
      const onStride = windowCount(samples, window, stride);
      expect(plan.starts.slice(0, onStride)).toEqual(Array.from({ length: onStride }, (_, k) => k * stride));
      const tail = (onStride - 1) * stride + window < samples;
      expect(plan.starts.length).toBe(onStride + (tail ? 1 : 0));
      expect(plan.starts[plan.starts.length - 1]! + window).toBe(tail ? samples : (onStride - 1) * stride + window);
      const covered = new Uint8Array(samples);
      for (const s of plan.starts) covered.fill(1, s, s + window);
      expect(covered.every((c) => c === 1), `${samples}/${window}/${stride}`).toBe(true);
    }
  });

  it('takes the stride as 1/6 of the window by default', () => {
    expect(strideFor(15360)).toBe(2560);
    expect(strideFor(2560)).toBe(426);
    expect(strideFor(5)).toBe(1);
    expect(strideFor(2560, 1)).toBe(2560);
    expect(() => strideFor(2560, 0)).toThrow('window overlap 0 is not a whole number >= 1');
  });

  it('says how long the recording and the window are when the recording is shorter than a window', () => {
    expect(() => planWindows(2000, 2560, 426)).toThrow(
      'the recording is 7.81 s long (2000 samples at 256 Hz), shorter than one model window of 10 s (2560 samples)');
    expect(() => planWindows(100, 10, 0)).toThrow('planWindows: stride 0 is not a positive integer');
    expect(() => planWindows(100, 7, 11)).toThrow('planWindows: stride 11 is longer than the window 7: samples between windows would get no prediction');
  });

  it('gathers (windows, channels, window) from a channel matrix', () => {
    const channels = 3, samples = 37, window = 7;
    const x = { channels, samples, data: Float32Array.from({ length: channels * samples }, () => rng()) };
    const starts = [0, 11, 30];
    const out = gatherWindows(x, starts, window, new Float32Array(starts.length * channels * window).fill(NaN));
    starts.forEach((s, k) => {
      for (let ch = 0; ch < channels; ch++) {
        for (let i = 0; i < window; i++) expect(out[(k * channels + ch) * window + i]).toBe(x.data[ch * samples + s + i]);
      }
    });
    expect(() => gatherWindows(x, [31], window, out)).toThrow('gatherWindows: window [31, 38) is outside the 37 samples');
  });

  it('gives each sample the mean of sigmoid(logit) over the windows covering it, in any order of arrival', () => {
    for (const [samples, window, stride] of SHAPES) {
      const plan = planWindows(samples, window, stride);
      const logits = plan.starts.map(() => Float64Array.from({ length: window }, () => (rng() - 0.5) * 40));
      const stitcher = new WindowStitcher(plan);
      const order = plan.starts.map((_, k) => k).sort(() => rng() - 0.5);
      for (const k of order) stitcher.add(k, logits[k]!);
      const got = stitcher.probabilities();
      expect(got).toHaveLength(samples);
      for (let i = 0; i < samples; i++) {
        const covering = plan.starts.map((s, k) => [s, k] as const).filter(([s]) => s <= i && i < s + window);
        const expected = covering.reduce((a, [s, k]) => a + 1 / (1 + Math.exp(-logits[k]![i - s]!)), 0) / covering.length;
        expect(Math.abs(got[i]! - expected), `sample ${i} of ${samples}/${window}/${stride}`).toBeLessThanOrEqual(F32_ULP_BELOW_1);
      }
    }
  });

  it('refuses a window twice, a window of the wrong length, and stitching before every window is in', () => {
    const plan = planWindows(20, 8, 4);
    const s = new WindowStitcher(plan);
    s.add(0, new Float32Array(8));
    expect(() => s.add(0, new Float32Array(8))).toThrow('WindowStitcher: window 0 was added twice');
    expect(() => s.add(1, new Float32Array(7))).toThrow('WindowStitcher: window 1 has 7 logits, the window is 8 samples');
    expect(() => s.add(9, new Float32Array(8))).toThrow("WindowStitcher: window 9 is not one of the plan's 4");
    expect(() => s.probabilities()).toThrow('WindowStitcher: window 1 of 4 has no logits yet');
  });

  it('computes sigmoid without overflow', () => {
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
    expect(sigmoid(0)).toBe(0.5);
    expect(Math.abs(sigmoid(-3) - 1 / (1 + Math.exp(3)))).toBeLessThan(1e-16);
  });
});
