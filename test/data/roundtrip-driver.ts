// The TypeScript side of the Python round-trip tests (backend/tests/test_data_roundtrip.py), run as a real
// process: `node --import tsx test/data/roundtrip-driver.ts <command> ...`.
//   synth DIR MINUTES SEED   writes DIR/<name>.edf (EDF+) + .csv_bi, DIR/truth.npy (19, n) float32 (the generated
//                            microvolts, montage order) and DIR/ts_read.npy (19, n) float64 (read back by the TS reader)
//   write-npz PATH SEED 0|1  writes a random windows npz (1: deflated) and PATH.windows.npy / PATH.labels.npy
//   read-npz PATH OUT        reads a windows npz with the TS reader: OUT.windows.npy, OUT.labels.npy (whole arrays)
//                            and OUT.last.npy (the last window, read alone)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdfReader } from '../../src/data/edf.ts';
import { openFileSource } from '../../src/data/node-byte-source.ts';
import { encodeNpy } from '../../src/data/npy.ts';
import { NpzReader } from '../../src/data/npz.ts';
import { synthesizeEeg } from '../../src/data/synthetic-eeg.ts';
import { syntheticCsvBi, syntheticEdf, syntheticName } from '../../src/data/synthetic-files.ts';
import { mapChannels } from '../../src/data/tusz.ts';
import { encodeWindowsNpz, readAllWindows, readWindow } from '../../src/data/windows-npz.ts';
import { makeRng } from '../harness/kernel-harness.ts';

const [command, ...args] = process.argv.slice(2);

function stack(rows: ArrayLike<number>[], type: 'f4' | 'f8'): Uint8Array {
  const n = rows[0].length;
  const data = type === 'f4' ? new Float32Array(rows.length * n) : new Float64Array(rows.length * n);
  rows.forEach((r, i) => data.set(r, i * n));
  return encodeNpy({ dtype: type, shape: [rows.length, n], data });
}

if (command === 'synth') {
  const [dir, minutes, seed] = args;
  mkdirSync(dir, { recursive: true });
  const rec = synthesizeEeg({ minutes: Number(minutes), seed: Number(seed) });
  const name = syntheticName(Number(seed));
  const edfPath = join(dir, `${name}.edf`);
  writeFileSync(edfPath, syntheticEdf(rec, { annotations: true }));
  writeFileSync(join(dir, `${name}.csv_bi`), syntheticCsvBi(rec, name));
  writeFileSync(join(dir, 'truth.npy'), stack(rec.eeg, 'f4'));
  const source = await openFileSource(edfPath);
  const edf = await EdfReader.open(source);
  const { indices } = mapChannels(edf.header.signals.map((s) => s.label));
  const read = [];
  for (const i of indices) read.push(await edf.readPhysical(i));
  await source.close();
  writeFileSync(join(dir, 'ts_read.npy'), stack(read, 'f8'));
  console.log(JSON.stringify({ name, seizures: rec.seizures.map((s) => [s.start, s.stop]) }));
} else if (command === 'write-npz') {
  const [path, seed, compress] = args;
  const rng = makeRng(Number(seed));
  const count = 3, length = 301;
  const windows = Float32Array.from({ length: count * 19 * length }, () => (rng() - 0.5) * 20);
  const labels = Float32Array.from({ length: count * length }, () => (rng() < 0.3 ? 1 : 0));
  writeFileSync(path, encodeWindowsNpz(windows, labels, { count, length }, { compress: compress === '1' }));
  writeFileSync(`${path}.windows.npy`, encodeNpy({ dtype: 'f4', shape: [count, 19, length], data: windows }));
  writeFileSync(`${path}.labels.npy`, encodeNpy({ dtype: 'f4', shape: [count, length], data: labels }));
} else if (command === 'read-npz') {
  const [path, out] = args;
  const source = await openFileSource(path);
  const npz = await NpzReader.open(source);
  const all = await readAllWindows(npz);
  const last = await readWindow(npz, all.count - 1);
  await source.close();
  writeFileSync(`${out}.windows.npy`, encodeNpy({ dtype: 'f4', shape: [all.count, 19, all.length], data: all.windows }));
  writeFileSync(`${out}.labels.npy`, encodeNpy({ dtype: 'f4', shape: [all.count, all.length], data: all.labels }));
  writeFileSync(`${out}.last.npy`, encodeNpy({ dtype: 'f4', shape: [19, all.length], data: last.signal }));
} else {
  console.error(`roundtrip-driver: unknown command ${JSON.stringify(command)}`);
  process.exitCode = 2;
}
