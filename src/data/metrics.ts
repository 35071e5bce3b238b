// Event sensitivity at fixed false-alarm rates (the original's bisection on the threshold, over the
// post-processing chain) and AUROC on samples. The same as backend/ictal_backend/dsp/metrics.py (parity-tested);
// definitions in docs/data.md.
import {
  checkProbabilities, postprocessIntervals, resolveParams, runsOf, type Intervals, type PostprocessParams,
} from './postprocess.ts';

/** False alarms per 24 h at which sensitivity is reported. */
export const FA_TARGETS_PER_24H: readonly number[] = [10, 5, 2.5, 1];

// The original's threshold search (ORIGINAL_PIPELINE.md): bisection of onThreshold over this range, this many
// times, with offThreshold = max(0, onThreshold - HYSTERESIS_BAND) at every step.
export const SEARCH_RANGE: readonly [number, number] = [0.08, 1.0];
export const SEARCH_ITERATIONS = 10;
export const HYSTERESIS_BAND = 0.08;

/** A recording's per-sample probabilities and 0/1 reference labels (same length, both at params.fs). */
export interface ScoredRecording {
  probabilities: ArrayLike<number>;
  labels: ArrayLike<number>;
}

export interface EventScore {
  /** Reference events overlapped by at least one predicted event. */
  detected: number;
  /** Predicted events that overlap no reference event. */
  falseAlarms: number;
}

/** Overlap means a shared stretch of positive length: p.start < r.end and r.start < p.end. */
export function scoreEvents(predicted: Intervals, reference: Intervals): EventScore {
  return {
    detected: countOverlapping(reference, predicted),
    falseAlarms: predicted.starts.length - countOverlapping(predicted, reference),
  };
}

/** How many intervals of `a` overlap some interval of `b` (both sorted and disjoint). */
function countOverlapping(a: Intervals, b: Intervals): number {
  let j = 0, count = 0;
  for (let i = 0; i < a.starts.length; i++) {
    while (j < b.ends.length && b.ends[j]! <= a.starts[i]!) j++;
    if (j < b.starts.length && b.starts[j]! < a.ends[i]!) count++;
  }
  return count;
}

/** Reference labels must be exactly 0 or 1. */
export function checkLabels(labels: ArrayLike<number>, what = 'metrics'): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new Error(`${what}: label ${i} is ${labels[i]}; labels must be 0 or 1`);
  }
}

/**
 * Area under the ROC curve over samples, exactly: the fraction of (positive, negative) pairs where the positive
 * scores higher, ties counting one half (the Mann-Whitney form of the midrank formula). null when either class
 * is empty. Exact while 2 * positives * negatives < 2^53.
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  if (scores.length !== labels.length) throw new Error(`auroc: ${scores.length} scores but ${labels.length} labels`);
  checkProbabilities(scores, 'auroc');
  checkLabels(labels, 'auroc');
  return aurocOfParts([scores], [labels]);
}

function aurocOfParts(scores: ArrayLike<number>[], labels: ArrayLike<number>[]): number | null {
  let nPos = 0, nTotal = 0;
  for (const l of labels) { nTotal += l.length; for (let i = 0; i < l.length; i++) nPos += l[i]!; }
  const nNeg = nTotal - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  const pos = new Float64Array(nPos), neg = new Float64Array(nNeg);
  let ip = 0, ineg = 0;
  scores.forEach((s, r) => {
    const l = labels[r]!;
    for (let i = 0; i < s.length; i++) { if (l[i] === 1) pos[ip++] = s[i]!; else neg[ineg++] = s[i]!; }
  });
  pos.sort(); neg.sort();
  // twice the number of pairs won: 2 per negative strictly below, 1 per negative equal.
  let twiceWon = 0, below = 0, upTo = 0;
  for (let i = 0; i < nPos; i++) {
    const v = pos[i]!;
    while (below < nNeg && neg[below]! < v) below++;
    if (upTo < below) upTo = below;
    while (upTo < nNeg && neg[upTo]! <= v) upTo++;
    twiceWon += below + upTo;
  }
  return twiceWon / (2 * nPos * nNeg);
}

export interface OperatingPoint {
  targetPer24h: number;
  /** Whether some threshold of the search met the target. */
  reached: boolean;
  /** The lowest onThreshold of the search that met the target; null when not reached. */
  threshold: number | null;
  offThreshold: number | null;
  /** detected / reference events at that threshold; 0 when not reached; null without reference events. */
  sensitivity: number | null;
  falseAlarmsPer24h: number | null;
}

export interface Evaluation {
  auroc: number | null;
  hours: number;
  referenceEvents: number;
  operatingPoints: OperatingPoint[];
}

export interface EvaluateOptions {
  faTargetsPer24h?: readonly number[];
  postprocess?: Partial<PostprocessParams>;
}

interface Probe { threshold: number; offThreshold: number; detected: number; falseAlarmsPer24h: number }

/**
 * Pooled over recordings. For each FA target, the original's search: bisection on onThreshold (SEARCH_RANGE,
 * SEARCH_ITERATIONS) with offThreshold = max(0, on - HYSTERESIS_BAND), the other parameters as given, keeping
 * the lowest onThreshold whose FA/24h is within the target. When none is, the target is reported as not reached
 * (threshold null, sensitivity 0): the original fell back to 0.86 and reported that point's sensitivity anyway.
 */
export function evaluate(recordings: readonly ScoredRecording[], options: EvaluateOptions = {}): Evaluation {
  const base = resolveParams(options.postprocess);
  const targets = options.faTargetsPer24h ?? FA_TARGETS_PER_24H;
  targets.forEach((t, k) => {
    if (!(Number.isFinite(t) && t >= 0)) throw new Error(`evaluate: FA target ${k} = ${t} is not a non-negative finite number`);
  });
  if (recordings.length === 0) throw new Error('evaluate: no recordings given');
  let seconds = 0;
  const references = recordings.map((r, k) => {
    if (r.probabilities.length !== r.labels.length) {
      throw new Error(`evaluate: recording ${k} has ${r.probabilities.length} probabilities but ${r.labels.length} labels`);
    }
    checkProbabilities(r.probabilities, `evaluate: recording ${k}`);
    checkLabels(r.labels, `evaluate: recording ${k}`);
    seconds += r.probabilities.length / base.fs;
    return runsOf(r.labels);
  });
  if (seconds === 0) throw new Error('evaluate: the recordings hold no samples');
  const referenceEvents = references.reduce((a, r) => a + r.starts.length, 0);
  const probed = new Map<number, Probe>();
  const probe = (threshold: number): Probe => {
    let p = probed.get(threshold);
    if (!p) {
      const params = { ...base, onThreshold: threshold, offThreshold: Math.max(0, threshold - HYSTERESIS_BAND) };
      let detected = 0, falseAlarms = 0;
      recordings.forEach((r, k) => {
        const s = scoreEvents(postprocessIntervals(r.probabilities, params), references[k]!);
        detected += s.detected; falseAlarms += s.falseAlarms;
      });
      p = { threshold, offThreshold: params.offThreshold, detected, falseAlarmsPer24h: (falseAlarms * 86400) / seconds };
      probed.set(threshold, p);
    }
    return p;
  };
  const operatingPoints = targets.map((target): OperatingPoint => {
    let [lo, hi] = SEARCH_RANGE;
    let best: Probe | undefined;
    for (let i = 0; i < SEARCH_ITERATIONS; i++) {
      const mid = (lo + hi) / 2;
      if (probe(mid).falseAlarmsPer24h <= target) { best = probe(mid); hi = mid; } else lo = mid;
    }
    if (!best) {
      return { targetPer24h: target, reached: false, threshold: null, offThreshold: null, sensitivity: referenceEvents ? 0 : null, falseAlarmsPer24h: null };
    }
    return {
      targetPer24h: target, reached: true, threshold: best.threshold, offThreshold: best.offThreshold,
      sensitivity: referenceEvents ? best.detected / referenceEvents : null, falseAlarmsPer24h: best.falseAlarmsPer24h,
    };
  });
  return {
    auroc: aurocOfParts(recordings.map((r) => r.probabilities), recordings.map((r) => r.labels)),
    hours: seconds / 3600,
    referenceEvents,
    operatingPoints,
  };
}
