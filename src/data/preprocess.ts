// Recording -> model input, as the original computes it (shared/design/ORIGINAL_PIPELINE.md): FFT-resample the
// whole channel to 256 Hz, band-pass 0.5-120 Hz (Butterworth order 3, (b, a) form) and notch 60 Hz (Q 30), each
// applied causally once from a zero state, z-score with std + 1e-8, float32, clip to [-10, 10]. The same steps as
// backend/ictal_backend/dsp/preprocess.py (parity-tested); the method is written down in docs/data.md.
import { butterworthBandpass, iirNotch, lfilter, sosToBa } from './filters.ts';
import { RealDft, resampledLength, resampleFourier } from './resample.ts';

export const TARGET_FS = 256;
export const BANDPASS_ORDER = 3;
export const BANDPASS_HZ = [0.5, 120] as const;
export const NOTCH_HZ = 60;
export const NOTCH_Q = 30;
export const CLIP = 10;
/** Added to the standard deviation, as the original: a flat channel divides by this instead of by 0. */
export const STD_EPSILON = 1e-8;

// Designed once: after resampling the rate is always TARGET_FS.
export const BANDPASS_SOS = butterworthBandpass(BANDPASS_ORDER, BANDPASS_HZ[0], BANDPASS_HZ[1], TARGET_FS);
export const NOTCH_SOS = iirNotch(NOTCH_HZ, NOTCH_Q, TARGET_FS);
export const BANDPASS_BA = sosToBa(BANDPASS_SOS);
export const NOTCH_BA = sosToBa(NOTCH_SOS);

/** Channels x samples, row-major: channel c is data[c*samples .. (c+1)*samples). */
export interface ChannelMatrix {
  channels: number;
  samples: number;
  data: Float32Array;
}

/**
 * One recording (one array of physical samples per channel, all at fsHz) -> float32 at 256 Hz, with
 * m = round(n * 256 / fs) samples (Python's round; no resampling when fs is exactly 256).
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
  const m = fsHz === TARGET_FS ? n : resampledLength(n, fsHz, TARGET_FS);
  if (m < 1) throw new Error(`preprocessRecording: ${n} samples at ${fsHz} Hz give no sample at 256 Hz`);
  const transforms = fsHz === TARGET_FS ? null : { forward: new RealDft(n), backward: new RealDft(m) };
  const out: ChannelMatrix = { channels: signals.length, samples: m, data: new Float32Array(signals.length * m) };
  signals.forEach((raw, ch) => {
    const x = transforms ? resampleFourier(raw, m, transforms.forward, transforms.backward) : raw;
    const y = lfilter(NOTCH_BA, lfilter(BANDPASS_BA, x));
    zscoreClipInto(y, out.data.subarray(ch * m, (ch + 1) * m));
  });
  return out;
}

/** (y - mean) / (std + 1e-8) (population std), non-finite -> 0, then float32 clipped to [-CLIP, CLIP]. */
function zscoreClipInto(y: Float64Array, out: Float32Array): void {
  const n = y.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += y[i]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) { const d = y[i]! - mean; sq += d * d; }
  const std = Math.sqrt(sq / n);
  for (let i = 0; i < n; i++) {
    const z = (y[i]! - mean) / (std + STD_EPSILON);
    out[i] = Number.isFinite(z) ? Math.min(CLIP, Math.max(-CLIP, z)) : 0;
  }
}
