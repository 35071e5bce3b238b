// Training windows from the file system for `ictal train --data`: the lab's synthetic EEG, a directory of the
// reference's `*_windows.npz` files, or a directory of EDF recordings with their labels (labelFile: a recording
// without any is all background). Node only; the windows themselves are host-agnostic (src/train/data.ts).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openFileSource } from '../data/node-byte-source.ts';
import { NpzReader } from '../data/npz.ts';
import { readAllWindows } from '../data/windows-npz.ts';
import { EdfReader } from '../data/edf.ts';
import { readMontageRecording } from '../data/recording.ts';
import { parseCsvBi, seizureIntervals } from '../data/csv-bi.ts';
import { concatWindows, recordingWindows, syntheticWindows, type TrainWindows } from '../train/data.ts';

export async function loadTrainWindows(data: string, windowLength: number, seed: number, syntheticMinutes = 10): Promise<{ windows: TrainWindows; source: string }> {
  if (data === 'synthetic') {
    return { windows: syntheticWindows(seed, windowLength, syntheticMinutes), source: `synthetic EEG, ${syntheticMinutes} min, seed ${seed}` };
  }
  if (!existsSync(data) || !statSync(data).isDirectory()) throw new Error(`--data: "${data}" is neither "synthetic" nor a directory`);
  const files = readdirSync(data).sort();
  const npz = files.filter((f) => f.endsWith('.npz'));
  const edf = files.filter((f) => f.toLowerCase().endsWith('.edf'));
  if (npz.length && edf.length) throw new Error(`--data: ${data} holds both .npz and .edf files; give a directory of one kind`);
  const parts: TrainWindows[] = [];
  for (const f of npz) {
    const src = await openFileSource(join(data, f));
    try {
      const all = await readAllWindows(await NpzReader.open(src));
      if (all.length !== windowLength) throw new Error(`${f}: windows are ${all.length} samples long, the graph takes ${windowLength}`);
      parts.push({ channels: 19, windowLength, count: all.count, windows: all.windows, labels: all.labels });
    } finally {
      await src.close();
    }
  }
  for (const f of edf) {
    const src = await openFileSource(join(data, f));
    try {
      const rec = await readMontageRecording(await EdfReader.open(src));
      const csvPath = labelFile(join(data, f));
      const seizures = csvPath ? seizureIntervals(parseCsvBi(readFileSync(csvPath, 'utf8'), csvPath)) : [];
      const w = recordingWindows(rec.signals, rec.sampleRate, seizures, windowLength);
      if (w.count) parts.push(w);
    } finally {
      await src.close();
    }
  }
  if (!parts.length) throw new Error(`--data: ${data} holds no .npz or .edf file with a whole ${windowLength}-sample window`);
  return { windows: concatWindows(parts), source: `${npz.length ? `${npz.length} .npz` : `${edf.length} EDF`} file(s) in ${data}` };
}

/**
 * An EDF recording's labels as the backend's cache finds them (data/cache.py label_file): its `.csv_bi`, else TUSZ's
 * per-channel `.csv` (parseCsvBi reads both; seizureIntervals merges every channel's seizure rows), else none.
 */
function labelFile(edfPath: string): string | undefined {
  return ['.csv_bi', '.csv'].map((ext) => edfPath.replace(/\.edf$/i, ext)).find((p) => existsSync(p));
}
