/**
 * EDF / EDF+ header: parsing and validation. The header is 256 fixed bytes plus 256 per signal, all printable
 * ASCII fields padded with spaces. Every check throws an EdfError whose message names the field (and signal) at
 * fault, so a broken file is diagnosable from the message alone.
 */
import { EdfError } from './errors.ts';

export const EDF_FIXED_HEADER_BYTES = 256;
export const EDF_BYTES_PER_SIGNAL_HEADER = 256;
export const EDF_ANNOTATION_LABEL = 'EDF Annotations';

export interface EdfSignalHeader {
  /** Position among all signals of the file (annotation signals included). */
  index: number;
  label: string;
  transducer: string;
  physicalDimension: string;
  physicalMin: number;
  physicalMax: number;
  digitalMin: number;
  digitalMax: number;
  prefiltering: string;
  samplesPerRecord: number;
  reserved: string;
  /** An EDF+ "EDF Annotations" signal: bytes of TALs, not samples. */
  isAnnotation: boolean;
  /** Samples per second (samplesPerRecord / record duration); 0 when the record duration is 0. */
  sampleRate: number;
  /** physical = gain * digital + offset. */
  gain: number;
  offset: number;
  /** Byte offset of this signal's samples inside one data record. */
  recordByteOffset: number;
}

export interface EdfHeader {
  version: string;
  patientId: string;
  recordingId: string;
  /** dd.mm.yy and hh.mm.ss as written. */
  startDate: string;
  startTime: string;
  /** The start as a UTC date, or null where the date/time fields do not parse (they are not validated). */
  start: Date | null;
  headerBytes: number;
  reserved: string;
  variant: 'EDF' | 'EDF+C' | 'EDF+D';
  /** The record-count field as written: -1 means "unknown", and the count comes from the file size. */
  recordCountField: number;
  recordCount: number;
  /** Bytes past the last whole record when the count field is -1 (a recording cut mid-record); otherwise 0. */
  trailingBytes: number;
  recordDuration: number;
  signals: EdfSignalHeader[];
  recordBytes: number;
  /** recordCount * recordDuration. */
  durationSeconds: number;
}

const latin1 = new TextDecoder('latin1');

function text(bytes: Uint8Array, offset: number, length: number): string {
  return latin1.decode(bytes.subarray(offset, offset + length)).trim();
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

function parseNumber(raw: string, field: string, integer: boolean): number {
  const ok = integer ? INTEGER.test(raw) : NUMBER.test(raw);
  const value = Number(raw);
  if (!ok || !Number.isFinite(value)) {
    throw new EdfError('non-numeric', `${field} is ${JSON.stringify(raw)}: expected ${integer ? 'an integer' : 'a number'}`);
  }
  return value;
}

/** The first 256 bytes alone: enough to know how many header bytes to read next. */
export function parseEdfFixedHeader(bytes: Uint8Array, fileSize: number): { headerBytes: number; signalCount: number } {
  if (fileSize < EDF_FIXED_HEADER_BYTES || bytes.length < EDF_FIXED_HEADER_BYTES) {
    throw new EdfError('truncated', `file is ${fileSize} bytes: shorter than the ${EDF_FIXED_HEADER_BYTES}-byte EDF fixed header`);
  }
  if (bytes[0] === 0xff && text(bytes, 1, 7) === 'BIOSEMI') {
    throw new EdfError('bad-version', 'this is a BDF (24-bit BioSemi) file, not EDF: BDF is not supported');
  }
  const version = text(bytes, 0, 8);
  if (version !== '0') throw new EdfError('bad-version', `version field is ${JSON.stringify(version)}: EDF files start with "0"`);
  const headerBytes = parseNumber(text(bytes, 184, 8), 'header size (bytes 184-191)', true);
  const signalCount = parseNumber(text(bytes, 252, 4), 'number of signals (bytes 252-255)', true);
  if (signalCount < 1) throw new EdfError('bad-signal-count', `number of signals is ${signalCount}: at least 1 is needed`);
  const expected = EDF_FIXED_HEADER_BYTES + signalCount * EDF_BYTES_PER_SIGNAL_HEADER;
  if (headerBytes !== expected) {
    throw new EdfError('bad-header-size', `header size field says ${headerBytes} bytes, but ${signalCount} signals need 256 + ${signalCount} * 256 = ${expected}`);
  }
  if (fileSize < headerBytes) {
    throw new EdfError('truncated', `file is ${fileSize} bytes: shorter than its own ${headerBytes}-byte header (${signalCount} signals)`);
  }
  return { headerBytes, signalCount };
}

/** Parses and validates the whole header (`bytes` holds at least headerBytes bytes) against the file's size. */
export function parseEdfHeader(bytes: Uint8Array, fileSize: number): EdfHeader {
  const { headerBytes, signalCount: ns } = parseEdfFixedHeader(bytes, fileSize);
  if (bytes.length < headerBytes) throw new EdfError('truncated', `header needs ${headerBytes} bytes, got ${bytes.length}`);
  const reserved = text(bytes, 192, 44);
  const variant = reserved.startsWith('EDF+C') ? 'EDF+C' : reserved.startsWith('EDF+D') ? 'EDF+D' : 'EDF';
  const recordCountField = parseNumber(text(bytes, 236, 8), 'number of data records (bytes 236-243)', true);
  const recordDuration = parseNumber(text(bytes, 244, 8), 'duration of a data record (bytes 244-251)', false);
  if (recordCountField < -1) throw new EdfError('record-count', `number of data records is ${recordCountField}: expected -1 (unknown) or a count >= 0`);
  if (recordDuration < 0) throw new EdfError('bad-record-duration', `duration of a data record is ${recordDuration} s: it cannot be negative`);

  // Signal fields are stored field by field: all labels, then all transducers, ...
  let at = EDF_FIXED_HEADER_BYTES;
  const column = (width: number): string[] => {
    const values = Array.from({ length: ns }, (_, i) => text(bytes, at + i * width, width));
    at += ns * width;
    return values;
  };
  const labels = column(16), transducers = column(80), dims = column(8);
  const physMin = column(8), physMax = column(8), digMin = column(8), digMax = column(8);
  const prefilter = column(80), samples = column(8), sigReserved = column(32);

  const signals: EdfSignalHeader[] = [];
  let recordBytes = 0;
  for (let i = 0; i < ns; i++) {
    const name = `signal ${i} (${JSON.stringify(labels[i])})`;
    const isAnnotation = labels[i] === EDF_ANNOTATION_LABEL;
    const samplesPerRecord = parseNumber(samples[i], `${name} samples per record`, true);
    if (samplesPerRecord < 1) throw new EdfError('zero-width-signal', `${name} has ${samplesPerRecord} samples per record: every signal needs at least 1`);
    const pMin = parseNumber(physMin[i], `${name} physical minimum`, false);
    const pMax = parseNumber(physMax[i], `${name} physical maximum`, false);
    const dMin = parseNumber(digMin[i], `${name} digital minimum`, true);
    const dMax = parseNumber(digMax[i], `${name} digital maximum`, true);
    if (dMin < -32768 || dMax > 32767 || dMin >= dMax) {
      throw new EdfError('bad-digital-range', `${name} digital range [${dMin}, ${dMax}] must satisfy -32768 <= min < max <= 32767`);
    }
    if (pMin === pMax) throw new EdfError('bad-physical-range', `${name} physical minimum and maximum are both ${pMin}: the scaling would divide by zero`);
    const gain = (pMax - pMin) / (dMax - dMin);
    signals.push({
      index: i,
      label: labels[i],
      transducer: transducers[i],
      physicalDimension: dims[i],
      physicalMin: pMin,
      physicalMax: pMax,
      digitalMin: dMin,
      digitalMax: dMax,
      prefiltering: prefilter[i],
      samplesPerRecord,
      reserved: sigReserved[i],
      isAnnotation,
      sampleRate: recordDuration > 0 ? samplesPerRecord / recordDuration : 0,
      gain,
      offset: pMin - gain * dMin,
      recordByteOffset: recordBytes,
    });
    recordBytes += 2 * samplesPerRecord;
  }
  if (recordDuration === 0 && signals.some((s) => !s.isAnnotation)) {
    throw new EdfError('bad-record-duration', 'duration of a data record is 0 s, which only an annotations-only EDF+ file may have');
  }

  const dataBytes = fileSize - headerBytes;
  let recordCount = recordCountField;
  let trailingBytes = 0;
  if (recordCountField === -1) {
    recordCount = Math.floor(dataBytes / recordBytes);
    trailingBytes = dataBytes - recordCount * recordBytes;
  } else if (dataBytes !== recordCountField * recordBytes) {
    const held = `${Math.floor(dataBytes / recordBytes)} whole records of ${recordBytes} bytes${dataBytes % recordBytes ? ` and ${dataBytes % recordBytes} bytes more` : ''}`;
    const code = dataBytes < recordCountField * recordBytes ? 'truncated' : 'record-count';
    throw new EdfError(code, `header says ${recordCountField} data records (${recordCountField * recordBytes} bytes after the header), but the file holds ${held}`);
  }

  const startDate = text(bytes, 168, 8);
  const startTime = text(bytes, 176, 8);
  return {
    version: '0',
    patientId: text(bytes, 8, 80),
    recordingId: text(bytes, 88, 80),
    startDate,
    startTime,
    start: parseStart(startDate, startTime),
    headerBytes,
    reserved,
    variant,
    recordCountField,
    recordCount,
    trailingBytes,
    recordDuration,
    signals,
    recordBytes,
    durationSeconds: recordCount * recordDuration,
  };
}

function parseStart(date: string, time: string): Date | null {
  const d = /^(\d\d)\.(\d\d)\.(\d\d)$/.exec(date);
  const t = /^(\d\d)\.(\d\d)\.(\d\d)$/.exec(time);
  if (!d || !t) return null;
  const yy = Number(d[3]);
  // EDF's two-digit year: 85-99 are 1985-1999, 00-84 are 2000-2084.
  const year = yy >= 85 ? 1900 + yy : 2000 + yy;
  const ms = Date.UTC(year, Number(d[2]) - 1, Number(d[1]), Number(t[1]), Number(t[2]), Number(t[3]));
  return Number.isNaN(ms) ? null : new Date(ms);
}
