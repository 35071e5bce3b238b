// Recording -> model input: resample to 256 Hz, band-pass 0.5-120 Hz (Butterworth, order 3), notch 60 Hz (Q 30),
// per-channel z-score, clip to [-10, 10]. The same steps as backend/ictal_backend/dsp/preprocess.py
// (parity-tested); the method is written down in docs/data.md.
import { butterworthBandpass, iirNotch, sosfiltfilt, defaultPadLength } from './filters.ts';
import { polyphasePlan, resampleFactors } from './resample.ts';

export const TARGET_FS = 256;
export const BANDPASS_ORDER = 3;
export const BANDPASS_HZ = [0.5, 120] as const;
export const NOTCH_HZ = 60;
export const NOTCH_Q = 30;
export const CLIP = 10;

// Designed once: after resampling the rate is always TARGET_FS.
export const BANDPASS_SOS = butterworthBandpass(BANDPASS_ORDER, BANDPASS_HZ[0], BANDPASS_HZ[1], TARGET_FS);
export const NOTCH_SOS = iirNotch(NOTCH_HZ, NOTCH_Q, TARGET_FS);

/** Channels x samples, row-major: channel c is data[c*samples .. (c+1)*samples). */
export interface ChannelMatrix {
  channels: number;
  samples: number;
  data: Float32Array;
}

/**
 * One recording (one array of physical samples per channel, all at fsHz) -> float32 at 256 Hz, with
 * m = ceil(n * 256 / fs) samples. A channel whose raw samples are all equal comes out as zeros.
 */
export function preprocessRecording(signals: readonly ArrayLike<number>[], fsHz: number): ChannelMatrix {
  if (signals.length < 1) throw new Error('preprocessRecording: no channels given');
  const n = signals[0]!.length;
  signals.forEach((s, ch) => {
    if (s.length !== n) throw new Error(`preprocessRecording: channel ${ch} has ${s.length} samples, channel 0 has ${n}`);
    for (let i = 0; i < s.length; i++) {
      if (!Number.isFinite(s[i]!)) throw new Error(`preprocessRecording: channel ${ch} sample ${i} is ${s[i]}; signals must be finite`);
    }
  });
  if (n < 1) throw new Error('preprocessRecording: channels have no samples');
  const { up, down } = resampleFactors(fsHz, TARGET_FS);
  const plan = polyphasePlan(up, down, n);
  const m = plan.outputLength;
  const minimum = Math.max(defaultPadLength(BANDPASS_SOS), defaultPadLength(NOTCH_SOS));
  if (m <= minimum) {
    throw new Error(`preprocessRecording: ${n} samples at ${fsHz} Hz give ${m} at 256 Hz; the zero-phase filters need more than ${minimum}`);
  }
  const out: ChannelMatrix = { channels: signals.length, samples: m, data: new Float32Array(signals.length * m) };
  signals.forEach((raw, ch) => {
    if (isConstant(raw)) return; // left at zero
    const y = sosfiltfilt(NOTCH_SOS, sosfiltfilt(BANDPASS_SOS, plan.apply(raw)));
    zscoreClipInto(y, out.data.subarray(ch * m, (ch + 1) * m));
  });
  return out;
}

function isConstant(x: ArrayLike<number>): boolean {
  for (let i = 1; i < x.length; i++) if (x[i] !== x[0]) return false;
  return true;
}

/** (y - mean) / std (population std), clipped to [-CLIP, CLIP]; all zeros when std is 0. */
function zscoreClipInto(y: Float64Array, out: Float32Array): void {
  const n = y.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += y[i]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) { const d = y[i]! - mean; sq += d * d; }
  const std = Math.sqrt(sq / n);
  if (std === 0) { out.fill(0); return; }
  for (let i = 0; i < n; i++) out[i] = Math.min(CLIP, Math.max(-CLIP, (y[i]! - mean) / std));
}
