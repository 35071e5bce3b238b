/**
 * EDF / EDF+C writer (the synthetic recordings and the tests' fixtures). Physical values are quantised to 16-bit
 * digital values using the physical range exactly as it is written into the header, so a reader gets every value
 * back within half a digital step. Annotations make the file EDF+C with an "EDF Annotations" signal.
 */
import { EdfError } from './errors.ts';
import { EDF_ANNOTATION_LABEL, EDF_BYTES_PER_SIGNAL_HEADER, EDF_FIXED_HEADER_BYTES } from './edf-header.ts';
import { encodeTal, type EdfAnnotation } from './edf-tal.ts';

export interface EdfSignalInput {
  label: string;
  /** Samples per second; sampleRate * recordDuration must be a whole number. */
  sampleRate: number;
  /** Physical values. */
  samples: ArrayLike<number>;
  physicalDimension?: string;
  transducer?: string;
  prefiltering?: string;
  /** Defaults: the data's own range (widened to be written in 8 characters). */
  physicalMin?: number;
  physicalMax?: number;
  /** Defaults: -32768 and 32767. */
  digitalMin?: number;
  digitalMax?: number;
}

export interface EdfInput {
  signals: EdfSignalInput[];
  /** Seconds per data record (default 1). */
  recordDuration?: number;
  patientId?: string;
  recordingId?: string;
  /** Default 2000-01-01 00:00:00 UTC, so the same input gives the same bytes. */
  start?: Date;
  /** Written as EDF+C with an annotation signal; EDF+C is also used when `plus` is true. */
  annotations?: EdfAnnotation[];
  plus?: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

export function encodeEdf(input: EdfInput): Uint8Array {
  const recordDuration = input.recordDuration ?? 1;
  if (!(recordDuration > 0) || !Number.isFinite(recordDuration)) throw new EdfError('bad-record-duration', `record duration ${recordDuration} s must be positive`);
  if (input.signals.length === 0) throw new EdfError('bad-signal-count', 'an EDF file needs at least one signal');
  const plus = input.plus || (input.annotations?.length ?? 0) > 0;

  const data = input.signals.map((s, i) => planSignal(s, i, recordDuration));
  const recordCount = Math.max(...data.map((d) => Math.ceil(d.input.samples.length / d.spr)));
  data.forEach((d, i) => {
    if (Math.ceil(d.input.samples.length / d.spr) !== recordCount) {
      throw new EdfError('record-count', `signal ${i} (${d.input.label}) lasts ${d.input.samples.length / d.input.sampleRate} s, others ${recordCount * recordDuration} s: all signals must span the same records`);
    }
  });
  const talSlots = plus ? annotationSlots(input.annotations ?? [], recordCount, recordDuration) : [];
  const annotationSpr = plus ? Math.max(...talSlots.map((slot) => Math.ceil(slot.length / 2))) : 0;

  const ns = data.length + (plus ? 1 : 0);
  const headerBytes = EDF_FIXED_HEADER_BYTES + ns * EDF_BYTES_PER_SIGNAL_HEADER;
  const recordBytes = 2 * (data.reduce((sum, d) => sum + d.spr, 0) + annotationSpr);
  const out = new Uint8Array(headerBytes + recordCount * recordBytes);

  const start = input.start ?? new Date(Date.UTC(2000, 0, 1));
  const two = (n: number) => String(n).padStart(2, '0');
  const date = `${two(start.getUTCDate())}.${two(start.getUTCMonth() + 1)}.${two(start.getUTCFullYear() % 100)}`;
  const time = `${two(start.getUTCHours())}.${two(start.getUTCMinutes())}.${two(start.getUTCSeconds())}`;
  const edfPlusDate = `${two(start.getUTCDate())}-${MONTHS[start.getUTCMonth()]}-${start.getUTCFullYear()}`;
  let at = 0;
  const put = (value: string, width: number, field: string) => {
    writeField(out, at, value, width, field);
    at += width;
  };
  put('0', 8, 'version');
  put(input.patientId ?? (plus ? 'X X X X' : 'X'), 80, 'patient id');
  put(input.recordingId ?? (plus ? `Startdate ${edfPlusDate} X X X` : 'X'), 80, 'recording id');
  put(date, 8, 'start date');
  put(time, 8, 'start time');
  put(String(headerBytes), 8, 'header size');
  put(plus ? 'EDF+C' : '', 44, 'reserved');
  put(String(recordCount), 8, 'number of data records');
  put(formatNumber(recordDuration, 8, 'nearest', 'record duration'), 8, 'record duration');
  put(String(ns), 4, 'number of signals');

  type Column = (d: (typeof data)[number] | null) => string;
  const column = (width: number, field: string, value: Column) => {
    for (const d of data) put(value(d), width, `${field} of ${d.input.label}`);
    if (plus) put(value(null), width, `${field} of ${EDF_ANNOTATION_LABEL}`);
  };
  column(16, 'label', (d) => (d ? d.input.label : EDF_ANNOTATION_LABEL));
  column(80, 'transducer', (d) => d?.input.transducer ?? '');
  column(8, 'physical dimension', (d) => d?.input.physicalDimension ?? '');
  column(8, 'physical minimum', (d) => (d ? d.physMin : '-1'));
  column(8, 'physical maximum', (d) => (d ? d.physMax : '1'));
  column(8, 'digital minimum', (d) => String(d ? d.digMin : -32768));
  column(8, 'digital maximum', (d) => String(d ? d.digMax : 32767));
  column(80, 'prefiltering', (d) => d?.input.prefiltering ?? '');
  column(8, 'samples per record', (d) => String(d ? d.spr : annotationSpr));
  column(32, 'reserved', () => '');

  const view = new DataView(out.buffer);
  for (let r = 0; r < recordCount; r++) {
    let byte = headerBytes + r * recordBytes;
    for (const d of data) {
      for (let k = 0; k < d.spr; k++, byte += 2) {
        const i = r * d.spr + k;
        const x = i < d.input.samples.length ? d.input.samples[i] : 0;
        view.setInt16(byte, d.encode(x), true);
      }
    }
    if (plus) {
      out.set(talSlots[r], byte);
      byte += 2 * annotationSpr;
    }
  }
  return out;
}

function planSignal(input: EdfSignalInput, index: number, recordDuration: number) {
  const name = `signal ${index} (${input.label})`;
  const sprExact = input.sampleRate * recordDuration;
  const spr = Math.round(sprExact);
  if (!(spr >= 1) || Math.abs(spr - sprExact) > 1e-9) {
    throw new EdfError('zero-width-signal', `${name}: ${input.sampleRate} Hz * ${recordDuration} s records is not a whole number of samples per record`);
  }
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < input.samples.length; i++) {
    const x = input.samples[i];
    if (!Number.isFinite(x)) throw new EdfError('bad-physical-range', `${name}: sample ${i} is ${x}; EDF holds finite values only`);
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (!(lo <= hi)) lo = hi = 0;
  if (lo === hi) (lo -= 1), (hi += 1);
  const digMin = input.digitalMin ?? -32768;
  const digMax = input.digitalMax ?? 32767;
  if (digMin < -32768 || digMax > 32767 || digMin >= digMax || !Number.isInteger(digMin) || !Number.isInteger(digMax)) {
    throw new EdfError('bad-digital-range', `${name}: digital range [${digMin}, ${digMax}] must be integers with -32768 <= min < max <= 32767`);
  }
  // The scaling must use the range exactly as written, or the reader's values would drift from ours.
  const physMin = formatNumber(input.physicalMin ?? lo, 8, 'down', `${name} physical minimum`);
  const physMax = formatNumber(input.physicalMax ?? hi, 8, 'up', `${name} physical maximum`);
  const pMin = Number(physMin), pMax = Number(physMax);
  if (pMin === pMax) throw new EdfError('bad-physical-range', `${name}: physical minimum and maximum are both ${pMin}`);
  const gain = (pMax - pMin) / (digMax - digMin);
  const offset = pMin - gain * digMin;
  const encode = (x: number) => Math.min(digMax, Math.max(digMin, Math.round((x - offset) / gain)));
  return { input, spr, physMin, physMax, digMin, digMax, encode };
}

/** One record slot per record: its timekeeping TAL plus the annotations whose onset falls in it. */
function annotationSlots(annotations: EdfAnnotation[], recordCount: number, recordDuration: number): Uint8Array[] {
  const parts: Uint8Array[][] = Array.from({ length: recordCount }, (_, r) => [encodeTal(r * recordDuration, null, [])]);
  for (const a of annotations) {
    const r = Math.min(recordCount - 1, Math.max(0, Math.floor(a.onset / recordDuration)));
    parts[r].push(encodeTal(a.onset, a.duration, [a.text]));
  }
  return parts.map((p) => {
    const length = p.reduce((n, b) => n + b.length, 0);
    const slot = new Uint8Array(length);
    let at = 0;
    for (const b of p) slot.set(b, at), (at += b.length);
    return slot;
  });
}

/**
 * A number in at most `width` characters, as precise as fits; 'down'/'up' round towards -inf/+inf so that a
 * physical range never shrinks below the data it has to hold.
 */
export function formatNumber(value: number, width: number, rounding: 'down' | 'up' | 'nearest', field: string): string {
  if (!Number.isFinite(value)) throw new EdfError('non-numeric', `${field} is ${value}: not a finite number`);
  for (let decimals = width - 2; decimals >= 0; decimals--) {
    const scale = 10 ** decimals;
    const scaled = value * scale;
    const rounded = rounding === 'down' ? Math.floor(scaled + 1e-9) : rounding === 'up' ? Math.ceil(scaled - 1e-9) : Math.round(scaled);
    if (!Number.isFinite(rounded)) continue;
    let s = (rounded / scale).toFixed(decimals);
    if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
    if (s === '-0') s = '0';
    if (s.length <= width && /^-?\d+(\.\d+)?$/.test(s)) return s;
  }
  throw new EdfError('non-numeric', `${field} ${value} does not fit in ${width} characters`);
}

function writeField(out: Uint8Array, at: number, value: string, width: number, field: string): void {
  if (value.length > width) throw new EdfError('bad-request', `${field} ${JSON.stringify(value)} is longer than its ${width}-character EDF field`);
  for (let i = 0; i < width; i++) {
    const c = i < value.length ? value.charCodeAt(i) : 0x20;
    if (c < 0x20 || c > 0x7e) throw new EdfError('bad-request', `${field} ${JSON.stringify(value)} has a character outside printable ASCII`);
    out[at + i] = c;
  }
}
