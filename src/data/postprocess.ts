// Per-sample seizure probabilities -> events, as the original computes them (shared/design/ORIGINAL_PIPELINE.md):
// hysteresis with stability counts, morphological opening then closing, a minimum duration, merging of close
// events. The same as backend/ictal_backend/dsp/postprocess.py (parity-tested): all the work is on integer
// sample intervals, so both languages give the same events bit for bit.

export interface PostprocessParams {
  /** Sampling rate of the probabilities. */
  fs: number;
  /** A run of p >= onThreshold ... */
  onThreshold: number;
  /** ... of at least minOnsetSamples starts an event, */
  minOnsetSamples: number;
  /** and a run of p < offThreshold (offThreshold <= onThreshold) ... */
  offThreshold: number;
  /** ... of at least minOffsetSamples ends it, minOffsetSamples - 1 samples into that run. */
  minOffsetSamples: number;
  /** Opening (erosion then dilation) length in samples, odd. */
  openingSamples: number;
  /** Closing (dilation then erosion) length in samples, odd. */
  closingSamples: number;
  /** Events shorter than this are dropped; longer ones are all kept (the original's 600 s chunks change nothing). */
  minDurationS: number;
  /** Events whose gap is at most this (seconds) are merged, after the duration filter. */
  mergeGapS: number;
}

/** The original's configuration (ORIGINAL_PIPELINE.md, "Post-processing"). */
export const DEFAULT_POSTPROCESS: Readonly<PostprocessParams> = Object.freeze({
  fs: 256, onThreshold: 0.86, minOnsetSamples: 128, offThreshold: 0.78, minOffsetSamples: 256,
  openingSamples: 11, closingSamples: 31, minDurationS: 3, mergeGapS: 2,
});

/** Half-open sample intervals [start, end), sorted and disjoint. */
export interface Intervals {
  starts: number[];
  ends: number[];
}

/** An event [start_s, end_s]: start_s = start/fs, end_s = end/fs (the end sample is exclusive). */
export type DetectedEvent = [number, number];

export function resolveParams(overrides: Partial<PostprocessParams> = {}): PostprocessParams {
  for (const key of Object.keys(overrides)) {
    if (!(key in DEFAULT_POSTPROCESS)) throw new Error(`postprocess: unknown parameter "${key}"`);
  }
  const p = { ...DEFAULT_POSTPROCESS, ...overrides };
  for (const [key, value] of Object.entries(p)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`postprocess: ${key} = ${value} is not a finite number`);
  }
  if (p.fs <= 0) throw new Error(`postprocess: fs = ${p.fs} must be positive`);
  if (p.offThreshold > p.onThreshold) throw new Error(`postprocess: offThreshold ${p.offThreshold} exceeds onThreshold ${p.onThreshold}`);
  for (const key of ['openingSamples', 'closingSamples'] as const) {
    if (!Number.isInteger(p[key]) || p[key] < 1 || p[key] % 2 !== 1) throw new Error(`postprocess: ${key} = ${p[key]} must be an odd positive integer`);
  }
  for (const key of ['minOnsetSamples', 'minOffsetSamples'] as const) {
    if (!Number.isInteger(p[key]) || p[key] < 1) throw new Error(`postprocess: ${key} = ${p[key]} must be a positive integer`);
  }
  if (p.minDurationS < 0) throw new Error(`postprocess: minDurationS = ${p.minDurationS} must not be negative`);
  if (p.mergeGapS < 0) throw new Error(`postprocess: mergeGapS = ${p.mergeGapS} must not be negative`);
  return p;
}

export function checkProbabilities(p: ArrayLike<number>, what = 'postprocess'): void {
  for (let i = 0; i < p.length; i++) {
    if (!Number.isFinite(p[i]!)) throw new Error(`${what}: probability ${i} is ${p[i]}; probabilities must be finite`);
  }
}

/** Maximal runs of samples where `test` holds, of at least `minLength` samples. */
function runsWhere(n: number, test: (i: number) => boolean, minLength: number): Intervals {
  const starts: number[] = [], ends: number[] = [];
  let start = -1;
  for (let i = 0; i <= n; i++) {
    const inside = i < n && test(i);
    if (inside && start < 0) start = i;
    else if (!inside && start >= 0) {
      if (i - start >= minLength) { starts.push(start); ends.push(i); }
      start = -1;
    }
  }
  return { starts, ends };
}

/**
 * Hysteresis with stability counts, as the original: "firm off" runs are runs of p < off of at least minOffset
 * samples; the zones between them each reach minOffset - 1 samples into the following firm off run; in each
 * zone the first run of p >= on of at least minOnset samples starts an event that fills to the zone's end.
 * Comparisons in float64 (float32 inputs are widened exactly).
 */
export function hysteresis(p: ArrayLike<number>, on: number, off: number, minOnset = 1, minOffset = 1): Intervals {
  const n = p.length;
  const firmOff = runsWhere(n, (i) => p[i]! < off, minOffset);
  const onRuns = runsWhere(n, (i) => p[i]! >= on, minOnset);
  const starts: number[] = [], ends: number[] = [];
  let k = 0; // next qualifying on-run; on-runs never cross a firm off run, so each lies in one zone
  for (let z = 0; z <= firmOff.starts.length; z++) {
    const zoneStart = z === 0 ? 0 : firmOff.ends[z - 1]!;
    const zoneEnd = z < firmOff.starts.length ? firmOff.starts[z]! : n;
    while (k < onRuns.starts.length && onRuns.starts[k]! < zoneStart) k++;
    if (k < onRuns.starts.length && onRuns.starts[k]! < zoneEnd) {
      starts.push(onRuns.starts[k]!);
      ends.push(z < firmOff.starts.length ? zoneEnd + minOffset - 1 : n);
    }
  }
  return { starts, ends };
}

/** Runs of non-zero samples. */
export function runsOf(mask: ArrayLike<number>): Intervals {
  return runsWhere(mask.length, (i) => mask[i] !== 0, 1);
}

// Morphology as the original's 1-D max-pool / min-pool with stride 1 and padding k // 2: the padding never wins a
// max or a min, so each window is clipped to the recording [0, n). Hence an erosion keeps a run's ends at 0 and n,
// and a closing stretches an event within k // 2 samples of an edge to that edge.

/** Binary erosion with a centred flat element of `size` (odd) samples, windows clipped to [0, n). */
export function erode(r: Intervals, size: number, n: number): Intervals {
  const h = (size - 1) / 2;
  const starts: number[] = [], ends: number[] = [];
  for (let k = 0; k < r.starts.length; k++) {
    const s = r.starts[k] === 0 ? 0 : r.starts[k]! + h;
    const e = r.ends[k] === n ? n : r.ends[k]! - h;
    if (s < e) { starts.push(s); ends.push(e); }
  }
  return { starts, ends };
}

/** Binary dilation with a centred flat element of `size` (odd) samples, within [0, n); runs that touch join. */
export function dilate(r: Intervals, size: number, n: number): Intervals {
  const h = (size - 1) / 2;
  const starts: number[] = [], ends: number[] = [];
  for (let k = 0; k < r.starts.length; k++) {
    const s = Math.max(0, r.starts[k]! - h), e = Math.min(n, r.ends[k]! + h);
    if (ends.length && s <= ends[ends.length - 1]!) ends[ends.length - 1] = e;
    else { starts.push(s); ends.push(e); }
  }
  return { starts, ends };
}

export function opening(r: Intervals, size: number, n: number): Intervals {
  return dilate(erode(r, size, n), size, n);
}

export function closing(r: Intervals, size: number, n: number): Intervals {
  return erode(dilate(r, size, n), size, n);
}

/** Keeps runs with (end - start)/fs >= minS. */
export function filterDuration(r: Intervals, fs: number, minS: number): Intervals {
  const starts: number[] = [], ends: number[] = [];
  for (let k = 0; k < r.starts.length; k++) {
    if ((r.ends[k]! - r.starts[k]!) / fs >= minS) { starts.push(r.starts[k]!); ends.push(r.ends[k]!); }
  }
  return { starts, ends };
}

/** Joins consecutive runs whose gap (next start - previous end)/fs is at most gapS. */
export function mergeClose(r: Intervals, fs: number, gapS: number): Intervals {
  const starts: number[] = [], ends: number[] = [];
  for (let k = 0; k < r.starts.length; k++) {
    if (ends.length && (r.starts[k]! - ends[ends.length - 1]!) / fs <= gapS) ends[ends.length - 1] = r.ends[k]!;
    else { starts.push(r.starts[k]!); ends.push(r.ends[k]!); }
  }
  return { starts, ends };
}

/** The whole chain on sample intervals (validated parameters). */
export function postprocessIntervals(p: ArrayLike<number>, params: PostprocessParams): Intervals {
  const n = p.length;
  let r = hysteresis(p, params.onThreshold, params.offThreshold, params.minOnsetSamples, params.minOffsetSamples);
  r = opening(r, params.openingSamples, n);
  r = closing(r, params.closingSamples, n);
  r = filterDuration(r, params.fs, params.minDurationS);
  return mergeClose(r, params.fs, params.mergeGapS);
}

export function intervalsToEvents(r: Intervals, fs: number): DetectedEvent[] {
  return r.starts.map((s, k) => [s / fs, r.ends[k]! / fs]);
}

/** Per-sample probabilities -> events [start_s, end_s]; any parameter may be overridden. */
export function postprocess(probabilities: ArrayLike<number>, overrides: Partial<PostprocessParams> = {}): DetectedEvent[] {
  const params = resolveParams(overrides);
  checkProbabilities(probabilities);
  return intervalsToEvents(postprocessIntervals(probabilities, params), params.fs);
}
