// Event sensitivity at fixed false-alarm rates (threshold sweep over the post-processing chain) and AUROC on
// samples. The same as backend/ictal_backend/dsp/metrics.py (parity-tested); definitions in docs/data.md.
import {
  checkProbabilities, postprocessIntervals, resolveParams, runsOf, type Intervals, type PostprocessParams,
} from './postprocess.ts';

/** False alarms per 24 h at which sensitivity is reported. */
export const FA_TARGETS_PER_24H: readonly number[] = [10, 5, 2.5, 1];

/** Sweep thresholds k/200, k = 1..199. */
export function defaultThresholds(): number[] {
  return Array.from({ length: 199 }, (_, k) => (k + 1) / 200);
}

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

export interface SweepPoint {
  threshold: number;
  /** The off threshold used with it: threshold * offThreshold / onThreshold of the base parameters. */
  offThreshold: number;
  predicted: number;
  detected: number;
  falseAlarms: number;
  falseAlarmsPer24h: number;
  /** detected / reference events; null without reference events. */
  sensitivity: number | null;
}

export interface OperatingPoint {
  targetPer24h: number;
  /** null when no threshold of the sweep meets the target (sensitivity is then 0). */
  threshold: number | null;
  sensitivity: number | null;
  falseAlarmsPer24h: number | null;
}

export interface Evaluation {
  auroc: number | null;
  hours: number;
  referenceEvents: number;
  sweep: SweepPoint[];
  operatingPoints: OperatingPoint[];
}

export interface EvaluateOptions {
  thresholds?: readonly number[];
  faTargetsPer24h?: readonly number[];
  postprocess?: Partial<PostprocessParams>;
}

/**
 * Pooled over recordings: for every sweep threshold t, post-process each recording with onThreshold = t and
 * offThreshold = t * off/on of the base parameters, score its events against the runs of its labels, and
 * sum. For each target, report the sweep point with FA/24h <= target of highest sensitivity (then lowest
 * FA rate, then lowest threshold).
 */
export function evaluate(recordings: readonly ScoredRecording[], options: EvaluateOptions = {}): Evaluation {
  const base = resolveParams(options.postprocess);
  if (!(base.onThreshold > 0)) throw new Error(`evaluate: onThreshold ${base.onThreshold} must be positive to scale with the sweep`);
  const thresholds = options.thresholds ?? defaultThresholds();
  const targets = options.faTargetsPer24h ?? FA_TARGETS_PER_24H;
  thresholds.forEach((t, k) => {
    if (!(Number.isFinite(t) && t > 0)) throw new Error(`evaluate: threshold ${k} = ${t} is not a positive finite number`);
  });
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
  const ratio = base.offThreshold / base.onThreshold;
  const sweep = thresholds.map((threshold): SweepPoint => {
    const params = { ...base, onThreshold: threshold, offThreshold: threshold * ratio };
    let predicted = 0, detected = 0, falseAlarms = 0;
    recordings.forEach((r, k) => {
      const events = postprocessIntervals(r.probabilities, params);
      const s = scoreEvents(events, references[k]!);
      predicted += events.starts.length; detected += s.detected; falseAlarms += s.falseAlarms;
    });
    return {
      threshold, offThreshold: params.offThreshold, predicted, detected, falseAlarms,
      falseAlarmsPer24h: (falseAlarms * 86400) / seconds,
      sensitivity: referenceEvents ? detected / referenceEvents : null,
    };
  });
  return {
    auroc: aurocOfParts(recordings.map((r) => r.probabilities), recordings.map((r) => r.labels)),
    hours: seconds / 3600,
    referenceEvents,
    sweep,
    operatingPoints: targets.map((target) => operatingPoint(sweep, target, referenceEvents)),
  };
}

function operatingPoint(sweep: SweepPoint[], target: number, referenceEvents: number): OperatingPoint {
  if (!referenceEvents) return { targetPer24h: target, threshold: null, sensitivity: null, falseAlarmsPer24h: null };
  let best: SweepPoint | undefined;
  for (const p of sweep) {
    if (p.falseAlarmsPer24h > target) continue;
    if (!best || p.detected > best.detected
      || (p.detected === best.detected && (p.falseAlarmsPer24h < best.falseAlarmsPer24h
        || (p.falseAlarmsPer24h === best.falseAlarmsPer24h && p.threshold < best.threshold)))) best = p;
  }
  if (!best) return { targetPer24h: target, threshold: null, sensitivity: 0, falseAlarmsPer24h: null };
  return { targetPer24h: target, threshold: best.threshold, sensitivity: best.sensitivity, falseAlarmsPer24h: best.falseAlarmsPer24h };
}
