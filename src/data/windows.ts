// Per-sample labels from seizure events, and the 60 s / 10 s windows the model trains on. The same as
// `labels_from_events` and `windows` in backend/ictal_backend/dsp/preprocess.py.
import { TARGET_FS, type ChannelMatrix } from './preprocess.ts';

export const WINDOW = 15360; // 60 s at 256 Hz
export const STRIDE = 2560; // 10 s at 256 Hz

/** A seizure (or any) event: [start_s, stop_s]. */
export type EventSeconds = readonly [number, number];

/**
 * Per-sample 0/1 labels as the original marks them: samples trunc(start*fs) .. trunc(stop*fs) - 1 of each event
 * (Python's mask[int(start * fs):int(stop * fs)] = 1, both ends truncated), clipped to the recording.
 */
export function labelsFromEvents(events: readonly EventSeconds[], nSamples: number, fs: number = TARGET_FS): Float32Array {
  if (!Number.isInteger(nSamples) || nSamples < 0) throw new Error(`labelsFromEvents: nSamples ${nSamples} is not a non-negative integer`);
  if (!(Number.isFinite(fs) && fs > 0)) throw new Error(`labelsFromEvents: sampling rate ${fs} Hz is not a positive finite number`);
  const labels = new Float32Array(nSamples);
  events.forEach((event, k) => {
    if (event.length !== 2) throw new Error(`labelsFromEvents: event ${k} has ${event.length} values, expected [start_s, stop_s]`);
    const [start, stop] = event;
    if (!(Number.isFinite(start) && Number.isFinite(stop))) throw new Error(`labelsFromEvents: event ${k} [${start}, ${stop}] has a non-finite time`);
    if (stop < start) throw new Error(`labelsFromEvents: event ${k} stops at ${stop} s, before its start ${start} s`);
    const first = Math.min(Math.max(Math.trunc(start * fs), 0), nSamples);
    const end = Math.min(Math.max(Math.trunc(stop * fs), 0), nSamples);
    labels.fill(1, first, end);
  });
  return labels;
}

export function windowCount(nSamples: number, window = WINDOW, stride = STRIDE): number {
  return nSamples < window ? 0 : Math.floor((nSamples - window) / stride) + 1;
}

export interface Windows {
  count: number;
  channels: number;
  window: number;
  /** (count, channels, window) row-major. */
  windows: Float32Array;
  /** (count, window) row-major. */
  labels: Float32Array;
}

/** Windows starting at 0, stride, 2*stride, ... that fit entirely in the recording (a partial tail is dropped). */
export function windows(x: ChannelMatrix, sampleLabels: ArrayLike<number>, window = WINDOW, stride = STRIDE): Windows {
  if (x.data.length !== x.channels * x.samples) {
    throw new Error(`windows: x holds ${x.data.length} values, not channels*samples = ${x.channels}*${x.samples}`);
  }
  if (sampleLabels.length !== x.samples) throw new Error(`windows: sampleLabels has ${sampleLabels.length} samples, x has ${x.samples}`);
  if (!Number.isInteger(window) || window < 1) throw new Error(`windows: window ${window} is not a positive integer`);
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`windows: stride ${stride} is not a positive integer`);
  const count = windowCount(x.samples, window, stride);
  const out = new Float32Array(count * x.channels * window);
  const labels = new Float32Array(count * window);
  for (let k = 0; k < count; k++) {
    const s = k * stride;
    for (let ch = 0; ch < x.channels; ch++) {
      const from = ch * x.samples + s;
      out.set(x.data.subarray(from, from + window), (k * x.channels + ch) * window);
    }
    for (let i = 0; i < window; i++) labels[k * window + i] = sampleLabels[s + i]!;
  }
  return { count, channels: x.channels, window, windows: out, labels };
}
