import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { synthesizeEeg } from '../../data/synthetic-eeg.ts';
import { syntheticCsvBi, syntheticEdf, syntheticName } from '../../data/synthetic-files.ts';

const HELP = `ictal synth --out DIR --minutes M --seed S [--recordings N] [--edf-plus] [--json]
  Writes synthetic EEG recordings as TUSZ-like files: DIR/<name>.edf (19 montage channels plus A1, A2, ROC,
  LOC, EKG1 at 256 Hz, labels like "EEG FP1-REF") and DIR/<name>.csv_bi (seizure and background intervals).
  The same seed gives the same bytes.
  --recordings N  write N recordings (default 1), each with its own seed derived from S
  --edf-plus      write EDF+C with the seizures and artifacts as annotations (default: plain EDF, as TUSZ)
  --json          print what was written as JSON`;

export const synth: Command = {
  name: 'synth',
  summary: 'write synthetic EEG recordings (EDF + .csv_bi), deterministic by seed',
  async run(argv) {
    const { values } = parseOptions('synth', argv, {
      out: { type: 'string' },
      minutes: { type: 'string' },
      seed: { type: 'string' },
      recordings: { type: 'string', default: '1' },
      'edf-plus': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    });
    if (values.help) return console.log(HELP), 0;
    if (!values.out) throw new Error('--out DIR is required');
    const minutes = positiveNumber(values.minutes, '--minutes');
    const seed = integer(values.seed, '--seed');
    const recordings = integer(values.recordings, '--recordings');
    if (recordings < 1) throw new Error(`--recordings must be at least 1, got ${recordings}`);
    await mkdir(values.out, { recursive: true });
    const written = [];
    for (let k = 0; k < recordings; k++) {
      const name = syntheticName(seed, k);
      const recordingSeed = k === 0 ? seed : (Math.imul(seed, 0x9e3779b1) + k) | 0;
      const rec = synthesizeEeg({ minutes, seed: recordingSeed });
      const edf = join(values.out, `${name}.edf`), csv = join(values.out, `${name}.csv_bi`);
      await writeFile(edf, syntheticEdf(rec, { annotations: values['edf-plus'] }));
      await writeFile(csv, syntheticCsvBi(rec, name));
      written.push({ name, edf, csvBi: csv, seed: recordingSeed, seconds: rec.sampleCount / rec.sampleRate, seizures: rec.seizures, artifacts: rec.artifacts.length });
    }
    if (values.json) console.log(JSON.stringify(written, null, 2));
    else {
      for (const w of written) {
        const spans = w.seizures.map((s) => `${s.start.toFixed(1)}-${s.stop.toFixed(1)} s at ${s.focus} (${s.fromHz.toFixed(1)}->${s.toHz.toFixed(1)} Hz, ${s.spread.length} channels)`);
        console.log(`${w.edf}  ${w.seconds} s, ${w.artifacts} artifacts, seizures: ${spans.join('; ') || 'none'}`);
        console.log(`${w.csvBi}`);
      }
    }
    return 0;
  },
};

function positiveNumber(raw: string | undefined, flag: string): number {
  const value = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isFinite(value) || value <= 0) throw new Error(`${flag} must be a positive number of minutes, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`);
  return value;
}

function integer(raw: string | undefined, flag: string): number {
  if (raw === undefined || !/^-?\d+$/.test(raw.trim())) throw new Error(`${flag} must be an integer, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`);
  return Number(raw);
}
