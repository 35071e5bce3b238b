// Training windows and their order: the backend's balanced-set rules, pos_weight, cyclic batches, and the
// synthetic source's windows.
import { describe, expect, it } from 'vitest';
import { BatchPlan, gatherBatch, positiveShare, posWeightForRate, seizureFractions, syntheticWindows, trainingWindows } from '../../src/train/data.ts';

describe('training windows', () => {
  // 10 partial, 6 full, 40 background windows.
  const fractions = [...Array(10).fill(0.4), ...Array(6).fill(1), ...Array(40).fill(0)];

  it('the balanced set: every partial window, int(0.3 x partial) full, int(2.5 x partial) background, drawn by seed', () => {
    const w = trainingWindows(fractions, { seed: 3 });
    expect(w.filter((i) => i < 10)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(w.filter((i) => i >= 10 && i < 16)).toHaveLength(3);
    expect(w.filter((i) => i >= 16)).toHaveLength(25);
    expect(w).toEqual([...w].sort((a, b) => a - b));
    expect(trainingWindows(fractions, { seed: 3 })).toEqual(w);
    expect(trainingWindows(fractions, { seed: 4 })).not.toEqual(w);
    expect(positiveShare(fractions, w)).toBeCloseTo(13 / 38, 15);
    expect(trainingWindows(fractions, { seed: 3, balanced: false })).toHaveLength(56);
    expect(trainingWindows([0, 1, 0], { seed: 3 })).toEqual([0, 1, 2]); // no partial window: all of them
  });

  it('pos_weight = sqrt((1 - r) / r), 1 at r = 0 or 1', () => {
    expect(posWeightForRate(0.2)).toBeCloseTo(2, 15);
    expect(posWeightForRate(0)).toBe(1);
    expect(posWeightForRate(1)).toBe(1);
    expect(() => posWeightForRate(1.5)).toThrow(/not in \[0, 1\]/);
  });

  it('batches visit every window once an epoch, the last one filled cyclically, a new order each epoch', () => {
    const plan = new BatchPlan([2, 3, 5, 7, 11], 2, 9);
    expect(plan.stepsPerEpoch).toBe(3);
    const epoch1 = [plan.nextBatch(), plan.nextBatch(), plan.nextBatch()];
    const epoch2 = [plan.nextBatch(), plan.nextBatch(), plan.nextBatch()];
    for (const e of [epoch1, epoch2]) {
      expect(new Set(e.flat())).toEqual(new Set([2, 3, 5, 7, 11]));
      expect(e.every((b) => b.length === 2)).toBe(true);
    }
    expect(epoch2.flat()).not.toEqual(epoch1.flat());
  });

  it('synthetic windows: the model length, preprocessed, some holding seizures, gathered into a batch', () => {
    const w = syntheticWindows(1, 2560, 4);
    expect(w.channels).toBe(19);
    expect(w.count).toBe(Math.floor((4 * 60 * 256 - 2560) / 427) + 1);
    const f = seizureFractions(w);
    expect(f.some((v) => v > 0)).toBe(true);
    expect(f.some((v) => v === 0)).toBe(true);
    expect(w.windows.every((v) => Number.isFinite(v) && Math.abs(v) <= 10)).toBe(true);
    const b = gatherBatch(w, [1, 0]);
    expect(b.input.length).toBe(2 * 19 * 2560);
    expect(Array.from(b.input.subarray(19 * 2560, 19 * 2560 + 5))).toEqual(Array.from(w.windows.subarray(0, 5)));
    expect(() => gatherBatch(w, [w.count])).toThrow(/does not exist/);
  });
});
