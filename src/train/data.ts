/**
 * Training windows and the order training visits them, with the backend's semantics
 * (backend/ictal_backend/sampling.py, data/cache.py `balanced_indices`):
 * - the balanced set is drawn once from the run's seed: every partial-seizure window (0 < fraction < 0.99),
 *   int(0.3 x #partial) full-seizure windows and int(2.5 x #partial) seizure-free ones (each capped at what
 *   exists); all windows when there is no partial window, or when balancing is off;
 * - pos_weight = sqrt((1 - r) / r), r = the share of that set holding any seizure (1 when r is 0 or 1);
 * - each epoch visits the set in a new seeded order; batches are filled cyclically, so a small set still trains.
 * Our generator is not numpy's: the same seed picks other windows than the backend, with the same rules.
 *
 * Sources are host-agnostic arrays (the worker has no file system): the lab's synthetic EEG is generated here;
 * the CLI reads NPZ and EDF directories into `TrainWindows` (src/cli/commands/train.ts).
 */
import { Rng } from '../data/rng.ts';
import { synthesizeEeg, SYNTHETIC_SAMPLE_RATE } from '../data/synthetic-eeg.ts';
import { preprocessRecording } from '../data/preprocess.ts';
import { labelsFromEvents, windows as cutWindows } from '../data/windows.ts';

export const FULL_SEIZURE_FRACTION = 0.99;
export const CHANNELS = 19;

export interface TrainWindows {
  channels: number;
  windowLength: number;
  count: number;
  /** [count, channels, windowLength] row-major. */
  windows: Float32Array;
  /** [count, windowLength] row-major, 1 on seizure samples. */
  labels: Float32Array;
}

export interface SamplingOptions {
  seed: number;
  balanced?: boolean;
  fullSeizureFraction?: number;
  backgroundRatio?: number;
}

/** A window's seizure fraction: the mean of its labels. */
export function seizureFractions(w: TrainWindows): Float64Array {
  const out = new Float64Array(w.count);
  for (let k = 0; k < w.count; k++) {
    let s = 0;
    for (let i = 0; i < w.windowLength; i++) s += w.labels[k * w.windowLength + i]!;
    out[k] = s / w.windowLength;
  }
  return out;
}

function shuffle(a: number[], rng: Rng): number[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** The windows training uses, sorted (see the module comment). */
export function trainingWindows(fractions: ArrayLike<number>, o: SamplingOptions): number[] {
  const all = Array.from({ length: fractions.length }, (_, i) => i);
  if (o.balanced === false) return all;
  const rng = new Rng(o.seed);
  const partial = all.filter((i) => fractions[i]! > 0 && fractions[i]! < FULL_SEIZURE_FRACTION);
  if (!partial.length) return all;
  const full = all.filter((i) => fractions[i]! >= FULL_SEIZURE_FRACTION);
  const background = all.filter((i) => fractions[i]! <= 0);
  const take = (from: number[], n: number) => shuffle([...from], rng).slice(0, Math.min(from.length, n));
  const chosen = [
    ...partial,
    ...take(full, Math.floor((o.fullSeizureFraction ?? 0.3) * partial.length)),
    ...take(background, Math.floor((o.backgroundRatio ?? 2.5) * partial.length)),
  ];
  return chosen.sort((a, b) => a - b);
}

/** The share of `windows` holding any seizure. */
export function positiveShare(fractions: ArrayLike<number>, windows: readonly number[]): number {
  if (!windows.length) throw new Error('positiveShare: no windows');
  return windows.filter((i) => fractions[i]! > 0).length / windows.length;
}

/** sqrt((1 - r) / r); 1 when r is 0 or 1 (backend/ictal_backend/losses.py `pos_weight_for_rate`). */
export function posWeightForRate(r: number): number {
  if (!(r >= 0 && r <= 1)) throw new Error(`positive rate ${r} is not in [0, 1]`);
  return r === 0 || r === 1 ? 1 : Math.sqrt((1 - r) / r);
}

/**
 * Batches of window indices for step 0, 1, ...: epoch after epoch over `windows`, each in its own seeded order,
 * the last batch of an epoch filled from the epoch's start (the backend's `batches`, one rank).
 */
export class BatchPlan {
  private epoch = -1;
  private batchesOfEpoch: number[][] = [];
  private next = 0;

  constructor(private readonly windows: readonly number[], private readonly batch: number, private readonly seed: number) {
    if (!windows.length) throw new Error('BatchPlan: no training windows');
    if (!(Number.isInteger(batch) && batch >= 1)) throw new Error(`BatchPlan: batch must be an integer >= 1, got ${batch}`);
  }

  get stepsPerEpoch(): number {
    return Math.ceil(this.windows.length / this.batch);
  }

  nextBatch(): number[] {
    if (this.next >= this.batchesOfEpoch.length) {
      this.epoch += 1;
      const order = shuffle([...this.windows], new Rng(this.seed * 1000003 + this.epoch));
      const filled = Array.from({ length: this.stepsPerEpoch * this.batch }, (_, i) => order[i % order.length]!);
      this.batchesOfEpoch = Array.from({ length: this.stepsPerEpoch }, (_, k) => filled.slice(k * this.batch, (k + 1) * this.batch));
      this.next = 0;
    }
    return this.batchesOfEpoch[this.next++]!;
  }
}

/** The input [B, channels, L] and labels [B, L] of the given windows. */
export function gatherBatch(w: TrainWindows, indices: readonly number[]): { input: Float32Array; labels: Float32Array } {
  const per = w.channels * w.windowLength;
  const input = new Float32Array(indices.length * per);
  const labels = new Float32Array(indices.length * w.windowLength);
  indices.forEach((k, b) => {
    if (!(k >= 0 && k < w.count)) throw new Error(`gatherBatch: window ${k} does not exist (there are ${w.count})`);
    input.set(w.windows.subarray(k * per, (k + 1) * per), b * per);
    labels.set(w.labels.subarray(k * w.windowLength, (k + 1) * w.windowLength), b * w.windowLength);
  });
  return { input, labels };
}

/** Windows of one preprocessed recording, windowLength long, windowLength / 6 apart (60 s every 10 s for v3). */
export function recordingWindows(signals: readonly ArrayLike<number>[], sampleRate: number, seizures: readonly (readonly [number, number])[], windowLength: number): TrainWindows {
  if (signals.length !== CHANNELS) throw new Error(`recordingWindows: ${signals.length} channels given, the montage has ${CHANNELS}`);
  const x = preprocessRecording(signals, sampleRate);
  const labels = labelsFromEvents(seizures, x.samples);
  const w = cutWindows(x, labels, windowLength, Math.max(1, Math.round(windowLength / 6)));
  return { channels: w.channels, windowLength, count: w.count, windows: w.windows, labels: w.labels };
}

/** Windows of several recordings, one after another. */
export function concatWindows(parts: readonly TrainWindows[]): TrainWindows {
  const first = parts[0];
  if (!first) throw new Error('concatWindows: no windows');
  for (const p of parts) {
    if (p.windowLength !== first.windowLength || p.channels !== first.channels) {
      throw new Error(`concatWindows: windows of ${p.channels} x ${p.windowLength} and ${first.channels} x ${first.windowLength} differ`);
    }
  }
  const count = parts.reduce((a, p) => a + p.count, 0);
  const windows = new Float32Array(count * first.channels * first.windowLength);
  const labels = new Float32Array(count * first.windowLength);
  let at = 0;
  for (const p of parts) {
    windows.set(p.windows, at * first.channels * first.windowLength);
    labels.set(p.labels, at * first.windowLength);
    at += p.count;
  }
  return { channels: first.channels, windowLength: first.windowLength, count, windows, labels };
}

/** The lab's synthetic EEG (src/data/synthetic-eeg.ts), `minutes` long, preprocessed and cut into windows. */
export function syntheticWindows(seed: number, windowLength: number, minutes = 10): TrainWindows {
  const rec = synthesizeEeg({ minutes, seed });
  const seizures = rec.seizures.map((z) => [z.start, z.stop] as const);
  const w = recordingWindows(rec.eeg, SYNTHETIC_SAMPLE_RATE, seizures, windowLength);
  if (!w.count) throw new Error(`syntheticWindows: ${minutes} minutes hold no window of ${windowLength} samples`);
  return w;
}
