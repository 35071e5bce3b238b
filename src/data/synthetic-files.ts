/**
 * A synthetic recording as the files TUSZ ships: an EDF with TUSZ's signal labels and order ("EEG FP1-REF", ...,
 * reference, eye and ECG channels included) and a `.csv_bi` with the seizure and background intervals. Optional
 * EDF+ annotations carry the same seizures and the artifacts, so `ictal edf-info` can show them.
 */
import { formatCsvBi } from './csv-bi.ts';
import { encodeEdf, type EdfSignalInput } from './edf-writer.ts';
import type { EdfAnnotation } from './edf-tal.ts';
import { MONTAGE_CHANNELS, type MontageChannel } from './montage.ts';
import type { SyntheticRecording } from './synthetic-eeg.ts';

/** TUSZ's usual signal order, by the montage (or extra) channel each label carries. */
const TUSZ_ORDER = ['Fp1', 'Fp2', 'F3', 'F4', 'C3', 'C4', 'P3', 'P4', 'O1', 'O2', 'F7', 'F8', 'T3', 'T4', 'T5', 'T6', 'A1', 'A2', 'Fz', 'Cz', 'Pz', 'ROC', 'LOC', 'EKG1'] as const;

/** The recording name of recording `index` from `seed`, in TUSZ's subject_session_token form. */
export function syntheticName(seed: number, index = 0): string {
  return `synth${String(seed >>> 0).padStart(6, '0')}_s001_t${String(index).padStart(3, '0')}`;
}

export function syntheticEdf(rec: SyntheticRecording, options: { annotations?: boolean } = {}): Uint8Array {
  const signals: EdfSignalInput[] = TUSZ_ORDER.map((name) => {
    const montage = MONTAGE_CHANNELS.indexOf(name as MontageChannel);
    const samples = montage >= 0 ? rec.eeg[montage] : rec.extra.find((e) => e.name === name)!.samples;
    return { label: `EEG ${name.toUpperCase()}-REF`, sampleRate: rec.sampleRate, samples, physicalDimension: 'uV', transducer: 'synthetic' };
  });
  const annotations: EdfAnnotation[] = options.annotations
    ? [
        ...rec.seizures.map((s) => ({ onset: s.start, duration: round(s.stop - s.start), text: 'seiz' })),
        ...rec.artifacts.map((a) => ({ onset: a.start, duration: round(a.stop - a.start), text: a.kind })),
      ].sort((a, b) => a.onset - b.onset)
    : [];
  return encodeEdf({ signals, recordDuration: 1, annotations, plus: options.annotations });
}

export function syntheticCsvBi(rec: SyntheticRecording, name: string): string {
  const duration = rec.sampleCount / rec.sampleRate;
  const events: Array<{ start: number; stop: number; label: string }> = [];
  let t = 0;
  for (const s of rec.seizures) {
    if (s.start > t) events.push({ start: t, stop: s.start, label: 'bckg' });
    events.push({ start: s.start, stop: s.stop, label: 'seiz' });
    t = s.stop;
  }
  if (t < duration) events.push({ start: t, stop: duration, label: 'bckg' });
  return formatCsvBi(name, duration, events);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
