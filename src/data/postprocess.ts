// Per-sample seizure probabilities -> events: hysteresis, morphological opening then closing, duration filter,
// merging of close events. The same as backend/ictal_backend/dsp/postprocess.py (parity-tested): all the work
// is on integer sample intervals, so both languages give the same events bit for bit.

export interface PostprocessParams {
  /** Sampling rate of the probabilities. */
  fs: number;
  /** The detector switches on at p >= onThreshold ... */
  onThreshold: number;
  /** ... and off at p < offThreshold (offThreshold <= onThreshold). */
  offThreshold: number;
  /** Opening (erosion then dilation) length in samples, odd: removes detections shorter than this. */
  openingSamples: number;
  /** Closing (dilation then erosion) length in samples, odd: fills gaps shorter than this. */
  closingSamples: number;
  /** Events are kept when minDurationS <= duration <= maxDurationS. */
  minDurationS: number;
  maxDurationS: number;
  /** Events whose gap is shorter than this (seconds) are merged, after the duration filter. */
  mergeGapS: number;
}

/** The reference design's values (V3_MODEL.md, "Post-processing and metrics"). */
export const DEFAULT_POSTPROCESS: Readonly<PostprocessParams> = Object.freeze({
  fs: 256, onThreshold: 0.86, offThreshold: 0.78, openingSamples: 11, closingSamples: 31,
  minDurationS: 3, maxDurationS: 600, mergeGapS: 2,
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
  if (p.minDurationS < 0 || p.maxDurationS < p.minDurationS) {
    throw new Error(`postprocess: duration range [${p.minDurationS}, ${p.maxDurationS}] s is empty or negative`);
  }
  if (p.mergeGapS < 0) throw new Error(`postprocess: mergeGapS = ${p.mergeGapS} must not be negative`);
  return p;
}

export function checkProbabilities(p: ArrayLike<number>, what = 'postprocess'): void {
  for (let i = 0; i < p.length; i++) {
    if (!Number.isFinite(p[i]!)) throw new Error(`${what}: probability ${i} is ${p[i]}; probabilities must be finite`);
  }
}

/**
 * Hysteresis as intervals: off at the start; switches on at the first sample with p >= on, off again at the
 * first later sample with p < off. Comparisons in float64 (float32 inputs are widened exactly).
 */
export function hysteresis(p: ArrayLike<number>, on: number, off: number): Intervals {
  const starts: number[] = [], ends: number[] = [];
  let active = false;
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    if (!active && v >= on) { active = true; starts.push(i); }
    else if (active && v < off) { active = false; ends.push(i); }
  }
  if (active) ends.push(p.length);
  return { starts, ends };
}

/** Runs of non-zero samples. */
export function runsOf(mask: ArrayLike<number>): Intervals {
  const starts: number[] = [], ends: number[] = [];
  let active = false;
  for (let i = 0; i < mask.length; i++) {
    const on = mask[i] !== 0;
    if (on && !active) starts.push(i);
    else if (!on && active) ends.push(i);
    active = on;
  }
  if (active) ends.push(mask.length);
  return { starts, ends };
}

// Morphology acts on the recording embedded in an infinite signal that is 0 outside it: erosion and dilation
// need no edge rule, an opening never grows a run and a closing never moves a run's outer ends, so the results
// stay inside [0, n).

/** Binary erosion with a centred flat element of `size` (odd) samples. */
export function erode(r: Intervals, size: number): Intervals {
  const h = (size - 1) / 2;
  const starts: number[] = [], ends: number[] = [];
  for (let k = 0; k < r.starts.length; k++) {
    const s = r.starts[k]! + h, e = r.ends[k]! - h;
    if (s < e) { starts.push(s); ends.push(e); }
  }
  return { starts, ends };
}

/** Binary dilation with a centred flat element of `size` (odd) samples; runs that touch or overlap join. */
export function dilate(r: Intervals, size: number): Intervals {
  const h = (size - 1) / 2;
  const starts: number[] = [], ends: number[] = [];
  for (let k = 0; k < r.starts.length; k++) {
    const s = r.starts[k]! - h, e = r.ends[k]! + h;
    if (ends.length && s <= ends[ends.length - 1]!) ends[ends.length - 1] = e;
    else { starts.push(s); ends.push(e); }
  }
  return { starts, ends };
}

/** Removes runs shorter than `size`; longer runs are unchanged. */
export function opening(r: Intervals, size: number): Intervals {
  return dilate(erode(r, size), size);
}

/** Fills gaps shorter than `size` between runs; nothing else changes. */
export function closing(r: Intervals, size: number): Intervals {
  return erode(dilate(r, size), size);
}

/** Keeps runs with minS <= (end - start)/fs <= maxS. */
export function filterDuration(r: Intervals, fs: number, minS: number, maxS: number): Intervals {
  const starts: number[] = [], ends: number[] = [];
  for (let k = 0; k < r.starts.length; k++) {
    const d = (r.ends[k]! - r.starts[k]!) / fs;
    if (d >= minS && d <= maxS) { starts.push(r.starts[k]!); ends.push(r.ends[k]!); }
  }
  return { starts, ends };
}

/** Joins consecutive runs whose gap (next start - previous end)/fs is below gapS. */
export function mergeClose(r: Intervals, fs: number, gapS: number): Intervals {
  const starts: number[] = [], ends: number[] = [];
  for (let k = 0; k < r.starts.length; k++) {
    if (ends.length && (r.starts[k]! - ends[ends.length - 1]!) / fs < gapS) ends[ends.length - 1] = r.ends[k]!;
    else { starts.push(r.starts[k]!); ends.push(r.ends[k]!); }
  }
  return { starts, ends };
}

/** The whole chain on sample intervals (validated parameters). */
export function postprocessIntervals(p: ArrayLike<number>, params: PostprocessParams): Intervals {
  let r = hysteresis(p, params.onThreshold, params.offThreshold);
  r = opening(r, params.openingSamples);
  r = closing(r, params.closingSamples);
  r = filterDuration(r, params.fs, params.minDurationS, params.maxDurationS);
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
