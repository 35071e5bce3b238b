/**
 * An EDF recording as the model's input wants it: the 19 montage channels, in MONTAGE_CHANNELS order, as
 * physical values at one sampling rate (what preprocessRecording takes). The backend's twin is
 * `ictal_backend.data.cache.load_recording`.
 */
import type { EdfReader } from './edf.ts';
import { ChannelMappingError } from './errors.ts';
import { MONTAGE_CHANNELS } from './montage.ts';
import { mapChannels } from './tusz.ts';

export interface MontageRecording {
  sampleRate: number;
  /** 19 signals in MONTAGE_CHANNELS order. */
  signals: Float64Array[];
  /** The EDF label each montage channel was read from. */
  sourceLabels: string[];
  /** Reference suffixes seen ("REF", "LE", ...). */
  references: string[];
}

export async function readMontageRecording(edf: EdfReader): Promise<MontageRecording> {
  const labels = edf.header.signals.map((s) => (s.isAnnotation ? '' : s.label));
  const { indices, references } = mapChannels(labels);
  const chosen = indices.map((i) => edf.header.signals[i]);
  const rates = new Set(chosen.map((s) => s.sampleRate));
  if (rates.size !== 1) {
    const detail = chosen.map((s, c) => `${MONTAGE_CHANNELS[c]} ${s.sampleRate} Hz`).join(', ');
    throw new ChannelMappingError('mixed-rates', `the montage channels have different sampling rates (${detail})`);
  }
  const signals: Float64Array[] = [];
  for (const s of chosen) signals.push((await edf.readPhysical(s.index)) as Float64Array);
  return { sampleRate: chosen[0].sampleRate, signals, sourceLabels: chosen.map((s) => s.label), references };
}
