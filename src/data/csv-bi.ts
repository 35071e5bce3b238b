/**
 * TUSZ `.csv_bi` label files: '#' comment lines (with "key = value" metadata such as the duration), a header row
 * `channel,start_time,stop_time,label,confidence`, then one row per event in seconds. Labels are `seiz` or
 * `bckg`; TUSZ seizure-type codes (fnsz, gnsz, ...) are read as seizures too. TUSZ's per-channel `.csv` files have
 * the same layout (one row per channel and event): `seizureIntervals` merges the seizure rows of every channel and
 * every seizure type (the original dropped cnsz, atsz and nesz).
 */
import { CsvBiError } from './errors.ts';

export const CSV_BI_COLUMNS = ['channel', 'start_time', 'stop_time', 'label', 'confidence'] as const;
const SEIZURE_TYPES = new Set(['seiz', 'fnsz', 'gnsz', 'spsz', 'cpsz', 'absz', 'tnsz', 'cnsz', 'tcsz', 'atsz', 'mysz', 'nesz']);
const BACKGROUND = 'bckg';
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface CsvBiEvent {
  channel: string;
  start: number;
  stop: number;
  label: string;
  confidence: number;
  seizure: boolean;
}

export interface CsvBiFile {
  /** "key = value" pairs from the comment lines (version, bname, duration, montage_file, ...). */
  metadata: Record<string, string>;
  /** Seconds, from the "duration = N secs" comment; null where absent. */
  duration: number | null;
  events: CsvBiEvent[];
}

export function parseCsvBi(text: string, source = 'csv_bi'): CsvBiFile {
  const metadata: Record<string, string> = {};
  const events: CsvBiEvent[] = [];
  let duration: number | null = null;
  let header = false;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const where = `${source} line ${i + 1}`;
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s*([A-Za-z_][\w ]*?)\s*=\s*(.*)$/.exec(line);
      if (m) metadata[m[1]] = m[2].trim();
      if (m && m[1] === 'duration') {
        const value = m[2].replace(/\s*secs?$/i, '').trim();
        if (!NUMBER.test(value) || Number(value) < 0) throw new CsvBiError('bad-duration', `${where}: duration ${JSON.stringify(m[2])} is not a non-negative number of seconds`);
        duration = Number(value);
      }
      return;
    }
    const cells = line.split(',').map((c) => c.trim());
    if (!header) {
      if (cells.join(',').toLowerCase() !== CSV_BI_COLUMNS.join(',')) {
        throw new CsvBiError('bad-header', `${where}: expected the header row "${CSV_BI_COLUMNS.join(',')}", got ${JSON.stringify(line)}`);
      }
      header = true;
      return;
    }
    if (cells.length !== CSV_BI_COLUMNS.length) {
      throw new CsvBiError('bad-row', `${where}: ${cells.length} columns, expected ${CSV_BI_COLUMNS.length} (${CSV_BI_COLUMNS.join(',')})`);
    }
    const [channel, startText, stopText, labelText, confidenceText] = cells;
    const number = (value: string, column: string) => {
      if (!NUMBER.test(value)) throw new CsvBiError('non-numeric', `${where}: ${column} ${JSON.stringify(value)} is not a number`);
      return Number(value);
    };
    const start = number(startText, 'start_time');
    const stop = number(stopText, 'stop_time');
    const confidence = number(confidenceText, 'confidence');
    const label = labelText.toLowerCase();
    if (channel === '') throw new CsvBiError('bad-row', `${where}: empty channel`);
    if (start < 0) throw new CsvBiError('bad-time', `${where}: start_time ${start} is negative`);
    if (stop <= start) throw new CsvBiError('bad-time', `${where}: stop_time ${stop} is not after start_time ${start}`);
    if (duration !== null && stop > duration + 1e-6) throw new CsvBiError('bad-time', `${where}: stop_time ${stop} is past the recording's duration ${duration} s`);
    if (!(confidence >= 0 && confidence <= 1)) throw new CsvBiError('bad-confidence', `${where}: confidence ${confidence} is outside [0, 1]`);
    if (label !== BACKGROUND && !SEIZURE_TYPES.has(label)) {
      throw new CsvBiError('bad-label', `${where}: label ${JSON.stringify(labelText)} is neither "bckg" nor a seizure label (${[...SEIZURE_TYPES].join(', ')})`);
    }
    events.push({ channel, start, stop, label, confidence, seizure: label !== BACKGROUND });
  });
  if (!header) throw new CsvBiError('bad-header', `${source}: no header row "${CSV_BI_COLUMNS.join(',')}" found`);
  return { metadata, duration, events };
}

/** Seizure events as sorted, merged [start, stop) intervals in seconds (labelsFromEvents in windows.ts turns them into per-sample labels). */
export function seizureIntervals(file: CsvBiFile): Array<[number, number]> {
  const spans = file.events.filter((e) => e.seizure).map((e) => [e.start, e.stop] as [number, number]).sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [a, b] of spans) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

/** Writes a `.csv_bi` file in TUSZ's layout (term-level events on channel TERM). */
export function formatCsvBi(name: string, duration: number, events: ReadonlyArray<Pick<CsvBiEvent, 'start' | 'stop' | 'label'> & { confidence?: number; channel?: string }>): string {
  const f = (x: number) => x.toFixed(4);
  return [
    '# version = csv_v1.0.0',
    `# bname = ${name}`,
    `# duration = ${f(duration)} secs`,
    '#',
    CSV_BI_COLUMNS.join(','),
    ...events.map((e) => [e.channel ?? 'TERM', f(e.start), f(e.stop), e.label, f(e.confidence ?? 1)].join(',')),
    '',
  ].join('\n');
}
