// Recordings for the EEG bench's tests, made with the project's own writers: a synthetic recording as TUSZ ships
// one (EDF + .csv_bi), the same EDF cut short, and an EDF that lacks two montage channels.
import { encodeEdf } from '../../src/data/edf-writer.ts';
import { MONTAGE_CHANNELS } from '../../src/data/montage.ts';
import { synthesizeEeg, type SyntheticRecording } from '../../src/data/synthetic-eeg.ts';
import { syntheticCsvBi, syntheticEdf, syntheticName } from '../../src/data/synthetic-files.ts';
import { tuszLabel } from '../../src/data/tusz.ts';

export interface RecordingFiles {
  rec: SyntheticRecording;
  name: string;
  edf: Uint8Array;
  csvBi: string;
}

export function syntheticFiles(minutes: number, seed: number): RecordingFiles {
  const rec = synthesizeEeg({ minutes, seed });
  const name = syntheticName(seed);
  return { rec, name, edf: syntheticEdf(rec), csvBi: syntheticCsvBi(rec, name) };
}

/** The EDF without its last `bytes` bytes: the header announces records the file no longer holds. */
export function truncated(edf: Uint8Array, bytes = 1000): Uint8Array {
  return edf.slice(0, edf.length - bytes);
}

/** An EDF of the recording's montage channels except `missing`. */
export function edfWithout(rec: SyntheticRecording, missing: readonly string[]): Uint8Array {
  const kept = MONTAGE_CHANNELS.map((c, i) => [c, i] as const).filter(([c]) => !missing.includes(c));
  return encodeEdf({ signals: kept.map(([c, i]) => ({ label: tuszLabel(c), sampleRate: rec.sampleRate, samples: rec.eeg[i]!, physicalDimension: 'uV' })) });
}
