// `ictal train --data` from real files: a directory of EDF recordings with .csv_bi labels gives the same windows
// as the recording path in memory; with only TUSZ's per-channel .csv beside an EDF, its seizure rows of every
// channel and type label it, and a .csv_bi beside it wins (the backend's cache rule); an NPZ directory gives its
// windows back, and bad directories are named.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeEeg, SYNTHETIC_SAMPLE_RATE } from '../../src/data/synthetic-eeg.ts';
import { syntheticCsvBi, syntheticEdf, syntheticName } from '../../src/data/synthetic-files.ts';
import { formatCsvBi } from '../../src/data/csv-bi.ts';
import { encodeWindowsNpz } from '../../src/data/windows-npz.ts';
import { loadTrainWindows } from '../../src/cli/train-data.ts';
import { recordingWindows, seizureFractions } from '../../src/train/data.ts';

const L = 2560;

describe('training windows from files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ictal-train-data-'));
  /** A fresh folder `sub` holding one synthetic 2-minute recording's EDF and the label files `labels` writes. */
  const edfFolder = (sub: string, seed: number, labels: (name: string, rec: ReturnType<typeof synthesizeEeg>) => Record<string, string>) => {
    const folder = join(dir, sub);
    mkdirSync(folder);
    const rec = synthesizeEeg({ minutes: 2, seed });
    const name = syntheticName(seed);
    writeFileSync(join(folder, `${name}.edf`), syntheticEdf(rec));
    for (const [ext, text] of Object.entries(labels(name, rec))) writeFileSync(join(folder, `${name}${ext}`), text);
    return { folder, rec };
  };

  it('an EDF directory: windows and labels as the recording path cuts them (labels from .csv_bi)', async () => {
    const { folder: edfDir, rec } = edfFolder('edf', 8, (name, r) => ({ '.csv_bi': syntheticCsvBi(r, name) }));
    const { windows } = await loadTrainWindows(edfDir, L, 1);
    const want = recordingWindows(rec.eeg, SYNTHETIC_SAMPLE_RATE, rec.seizures.map((s) => [s.start, s.stop] as const), L);
    expect(windows.count).toBe(want.count);
    expect(Array.from(windows.labels)).toEqual(Array.from(want.labels));
    expect(seizureFractions(windows).some((f) => f > 0)).toBe(true);
    let diff = 0;
    for (let i = 0; i < want.windows.length; i++) diff = Math.max(diff, Math.abs(windows.windows[i]! - want.windows[i]!));
    expect(diff).toBeLessThan(1e-2); // the EDF stores 16-bit samples
  });

  /** TUSZ's per-channel .csv: background and seizure rows per channel, seizure types mixed, spans overlapping across channels. */
  const perChannelCsv = (name: string) => formatCsvBi(name, 120, [
    { channel: 'FP1-F7', start: 0, stop: 20, label: 'bckg' },
    { channel: 'FP1-F7', start: 20, stop: 31, label: 'fnsz' },
    { channel: 'FP1-F7', start: 31, stop: 120, label: 'bckg' },
    { channel: 'F7-T3', start: 0, stop: 26, label: 'bckg' },
    { channel: 'F7-T3', start: 26, stop: 47, label: 'cnsz' },
    { channel: 'F7-T3', start: 47, stop: 120, label: 'bckg' },
    { channel: 'C3-P3', start: 0, stop: 80, label: 'bckg' },
    { channel: 'C3-P3', start: 80, stop: 95.5, label: 'gnsz' },
    { channel: 'C3-P3', start: 95.5, stop: 120, label: 'bckg' },
  ]);
  const merged: Array<readonly [number, number]> = [[20, 47], [80, 95.5]];

  it('an EDF directory without .csv_bi: labels from TUSZ\'s per-channel .csv, every channel\'s seizure rows merged', async () => {
    const { folder: csvDir, rec } = edfFolder('csv', 9, (name) => ({ '.csv': perChannelCsv(name) }));
    const { windows } = await loadTrainWindows(csvDir, L, 1);
    const want = recordingWindows(rec.eeg, SYNTHETIC_SAMPLE_RATE, merged, L);
    expect(windows.count).toBe(want.count);
    expect(Array.from(windows.labels)).toEqual(Array.from(want.labels));
    expect(seizureFractions(windows).filter((f) => f > 0).length).toBeGreaterThan(1);
  });

  it('a .csv_bi beside the .csv wins, as in the backend\'s cache', async () => {
    const { folder: bothDir, rec } = edfFolder('both', 10, (name) => ({
      '.csv': perChannelCsv(name),
      '.csv_bi': formatCsvBi(name, 120, [{ start: 60, stop: 75, label: 'seiz' }]),
    }));
    const { windows } = await loadTrainWindows(bothDir, L, 1);
    const want = recordingWindows(rec.eeg, SYNTHETIC_SAMPLE_RATE, [[60, 75]], L);
    expect(Array.from(windows.labels)).toEqual(Array.from(want.labels));
    expect(Array.from(windows.labels)).not.toEqual(Array.from(recordingWindows(rec.eeg, SYNTHETIC_SAMPLE_RATE, merged, L).labels));
  });

  it('an NPZ directory: every file\'s windows in name order', async () => {
    const npzDir = join(dir, 'npz');
    mkdirSync(npzDir);
    const a = Float32Array.from({ length: 2 * 19 * L }, (_, i) => (i % 97) / 97);
    const b = Float32Array.from({ length: 19 * L }, (_, i) => -(i % 13));
    const la = new Float32Array(2 * L).fill(1, L, L + 100);
    writeFileSync(join(npzDir, 'a_windows.npz'), encodeWindowsNpz(a, la, { count: 2, length: L }));
    writeFileSync(join(npzDir, 'b_windows.npz'), encodeWindowsNpz(b, new Float32Array(L), { count: 1, length: L }, { compress: true }));
    const { windows } = await loadTrainWindows(npzDir, L, 1);
    expect(windows.count).toBe(3);
    expect(Array.from(windows.windows.subarray(0, a.length))).toEqual(Array.from(a));
    expect(Array.from(windows.windows.subarray(a.length))).toEqual(Array.from(b));
    expect(Array.from(seizureFractions(windows))).toEqual([0, 100 / L, 0]);
    await expect(loadTrainWindows(npzDir, 1024, 1)).rejects.toThrow(/2560 samples long, the graph takes 1024/);
  });

  it('names what is wrong with --data', async () => {
    await expect(loadTrainWindows(join(dir, 'nope'), L, 1)).rejects.toThrow(/neither "synthetic" nor a directory/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await expect(loadTrainWindows(empty, L, 1)).rejects.toThrow(/holds no .npz or .edf file/);
  });
});
