// A model run over a whole recording: where its windows start, the window batches it reads, and the windows'
// predictions stitched back into one probability per sample.
//
// Windows have the model's own length (its IR input samples) and start every `stride` samples from 0; when the
// last of them stops short of the end, one more window ends exactly at the last sample, so every sample is seen.
// Stitching rule: a sample's probability is the mean, over the windows covering it, of sigmoid(logit) that each
// of those windows gives it.
import { TARGET_FS, type ChannelMatrix } from './preprocess.ts';

/** By default a sample is covered by about this many windows: the stride is 1/6 of the window. */
export const DEFAULT_OVERLAP = 6;

export interface WindowPlan {
  samples: number;
  window: number;
  stride: number;
  /** First sample of each window, increasing. */
  starts: number[];
}

/** floor(window / overlap), at least 1. */
export function strideFor(window: number, overlap = DEFAULT_OVERLAP): number {
  if (!Number.isInteger(overlap) || overlap < 1) throw new Error(`window overlap ${overlap} is not a whole number >= 1`);
  return Math.max(1, Math.floor(window / overlap));
}

export function planWindows(samples: number, window: number, stride: number, fs: number = TARGET_FS): WindowPlan {
  for (const [name, v] of [['samples', samples], ['window', window], ['stride', stride]] as const) {
    if (!Number.isInteger(v) || v < (name === 'samples' ? 0 : 1)) throw new Error(`planWindows: ${name} ${v} is not a ${name === 'samples' ? 'non-negative' : 'positive'} integer`);
  }
  if (stride > window) throw new Error(`planWindows: stride ${stride} is longer than the window ${window}: samples between windows would get no prediction`);
  if (samples < window) {
    const s = (n: number) => `${+(n / fs).toFixed(2)} s`;
    throw new Error(`the recording is ${s(samples)} long (${samples} samples at ${fs} Hz), shorter than one model window of ${s(window)} (${window} samples)`);
  }
  const starts: number[] = [];
  for (let s = 0; s + window <= samples; s += stride) starts.push(s);
  const last = starts[starts.length - 1]!;
  if (last + window < samples) starts.push(samples - window);
  return { samples, window, stride, starts };
}

/** Windows [starts[k], starts[k] + window) of every channel into out, laid out (windows, channels, window). */
export function gatherWindows(x: ChannelMatrix, starts: readonly number[], window: number, out: Float32Array): Float32Array {
  const per = x.channels * window;
  if (out.length < starts.length * per) throw new Error(`gatherWindows: out holds ${out.length} values, ${starts.length} windows need ${starts.length * per}`);
  starts.forEach((s, k) => {
    if (!Number.isInteger(s) || s < 0 || s + window > x.samples) throw new Error(`gatherWindows: window [${s}, ${s + window}) is outside the ${x.samples} samples`);
    for (let ch = 0; ch < x.channels; ch++) {
      const from = ch * x.samples + s;
      out.set(x.data.subarray(from, from + window), k * per + ch * window);
    }
  });
  return out.subarray(0, starts.length * per);
}

/** 1 / (1 + e^-x), without overflow for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Adds windows' logits as they arrive (any order, each window once) and gives the stitched probabilities. */
export class WindowStitcher {
  private readonly sum: Float64Array;
  private readonly count: Uint32Array;
  private readonly added: Uint8Array;

  constructor(readonly plan: WindowPlan) {
    this.sum = new Float64Array(plan.samples);
    this.count = new Uint32Array(plan.samples);
    this.added = new Uint8Array(plan.starts.length);
  }

  /** The logits window k gives its `window` samples. */
  add(k: number, logits: ArrayLike<number>): void {
    const start = this.plan.starts[k];
    if (start === undefined) throw new Error(`WindowStitcher: window ${k} is not one of the plan's ${this.plan.starts.length}`);
    if (this.added[k]) throw new Error(`WindowStitcher: window ${k} was added twice`);
    if (logits.length !== this.plan.window) throw new Error(`WindowStitcher: window ${k} has ${logits.length} logits, the window is ${this.plan.window} samples`);
    for (let i = 0; i < logits.length; i++) {
      this.sum[start + i]! += sigmoid(logits[i]!);
      this.count[start + i]! += 1;
    }
    this.added[k] = 1;
  }

  /** The mean over the windows added so far; NaN where none has arrived yet (for drawing a run in progress). */
  partial(): Float32Array {
    return Float32Array.from(this.sum, (s, i) => (this.count[i] ? s / this.count[i]! : NaN));
  }

  /** Per-sample probabilities; every window of the plan must have been added. */
  probabilities(): Float32Array {
    const missing = this.added.indexOf(0);
    if (missing >= 0) throw new Error(`WindowStitcher: window ${missing} of ${this.plan.starts.length} has no logits yet`);
    return Float32Array.from(this.sum, (s, i) => s / this.count[i]!);
  }
}
