import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { EdfReader } from '../../data/edf.ts';
import { openFileSource } from '../../data/node-byte-source.ts';
import { mapChannels } from '../../data/tusz.ts';
import { ChannelMappingError } from '../../data/errors.ts';
import { MONTAGE_CHANNELS } from '../../data/montage.ts';

const HELP = `ictal edf-info FILE [--json] [--samples N]
  An EDF / EDF+ file's header, signals (label, sample rate, physical range, duration), EDF+ annotations and
  how its labels map onto the 19 montage channels. The header is validated: a broken file is an error saying
  what is wrong.
  --samples N  also print the first N physical samples of every signal
  --json       print it all as JSON`;

export const edfInfo: Command = {
  name: 'edf-info',
  summary: 'an EDF file: header, signals, annotations, first samples',
  async run(argv) {
    const { values, positionals } = parseOptions('edf-info', argv, { json: { type: 'boolean' }, samples: { type: 'string' }, help: { type: 'boolean' } });
    if (values.help) return console.log(HELP), 0;
    if (positionals.length !== 1) throw new Error(`expected exactly one FILE, got ${positionals.length} (see ictal edf-info --help)`);
    const sampleCount = values.samples === undefined ? 0 : Number(values.samples);
    if (!Number.isInteger(sampleCount) || sampleCount < 0) throw new Error(`--samples must be a non-negative integer, got ${JSON.stringify(values.samples)}`);
    const source = await openFileSource(positionals[0]);
    try {
      const edf = await EdfReader.open(source);
      const h = edf.header;
      const { annotations } = await edf.readAnnotations();
      const signals = await Promise.all(
        h.signals.map(async (s) => ({
          index: s.index,
          label: s.label,
          annotation: s.isAnnotation,
          sampleRate: s.sampleRate,
          samplesPerRecord: s.samplesPerRecord,
          physicalDimension: s.physicalDimension,
          physicalMin: s.physicalMin,
          physicalMax: s.physicalMax,
          digitalMin: s.digitalMin,
          digitalMax: s.digitalMax,
          durationSeconds: h.durationSeconds,
          transducer: s.transducer,
          prefiltering: s.prefiltering,
          firstSamples: sampleCount && !s.isAnnotation ? Array.from(await edf.readPhysical(s.index, { count: Math.min(sampleCount, edf.sampleCount(s.index)) })) : undefined,
        })),
      );
      let montage: { ok: true; channels: Record<string, string>; references: string[] } | { ok: false; error: string };
      try {
        const m = mapChannels(edf.dataSignals.map((s) => s.label));
        const labels = edf.dataSignals.map((s) => s.label);
        montage = { ok: true, channels: Object.fromEntries(MONTAGE_CHANNELS.map((c, i) => [c, labels[m.indices[i]]])), references: m.references };
      } catch (e) {
        if (!(e instanceof ChannelMappingError)) throw e;
        montage = { ok: false, error: e.message };
      }
      const { signals: _omit, start, ...header } = h;
      const info = { file: positionals[0], header: { ...header, start: start?.toISOString() ?? null }, signals, annotations, montage };
      if (values.json) console.log(JSON.stringify(info, null, 2));
      else printText(info);
      return 0;
    } finally {
      await source.close();
    }
  },
};

type Info = {
  file: string;
  header: { variant: string; patientId: string; recordingId: string; startDate: string; startTime: string; recordCount: number; recordCountField: number; recordDuration: number; durationSeconds: number; trailingBytes: number };
  signals: Array<{ index: number; label: string; annotation: boolean; sampleRate: number; physicalDimension: string; physicalMin: number; physicalMax: number; digitalMin: number; digitalMax: number; firstSamples?: number[] }>;
  annotations: Array<{ onset: number; duration: number | null; text: string }>;
  montage: { ok: true; references: string[] } | { ok: false; error: string };
};

function printText(info: Info): void {
  const h = info.header;
  console.log(`file       ${info.file}`);
  console.log(`format     ${h.variant}`);
  console.log(`patient    ${h.patientId}`);
  console.log(`recording  ${h.recordingId}`);
  console.log(`start      ${h.startDate} ${h.startTime}`);
  console.log(`records    ${h.recordCount} x ${h.recordDuration} s = ${h.durationSeconds} s${h.recordCountField === -1 ? ' (count field -1: taken from the file size)' : ''}${h.trailingBytes ? `, ${h.trailingBytes} trailing bytes ignored` : ''}`);
  console.log(`montage    ${info.montage.ok ? `all 19 channels found (reference ${info.montage.references.join(', ') || 'none'})` : info.montage.error}`);
  console.log(`signals    ${info.signals.length}`);
  const width = Math.max(...info.signals.map((s) => s.label.length));
  for (const s of info.signals) {
    const what = s.annotation ? 'EDF+ annotations' : `${fmt(s.sampleRate)} Hz  [${fmt(s.physicalMin)}, ${fmt(s.physicalMax)}] ${s.physicalDimension}  digital [${s.digitalMin}, ${s.digitalMax}]`;
    console.log(`  ${String(s.index).padStart(3)}  ${s.label.padEnd(width)}  ${what}`);
    if (s.firstSamples) console.log(`       ${s.firstSamples.map((x) => fmt(x)).join(' ')}`);
  }
  console.log(`annotations ${info.annotations.length}`);
  for (const a of info.annotations) console.log(`  ${a.onset.toFixed(3).padStart(10)} s  ${a.duration === null ? '' : `${a.duration} s  `}${a.text}`);
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(6).replace(/\.?0+$/, '');
}
