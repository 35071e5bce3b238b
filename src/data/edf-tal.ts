/**
 * EDF+ time-stamped annotation lists (TALs), the byte format of "EDF Annotations" signals:
 *   +onset[\x15duration]\x14[text\x14]*\x00   repeated, then \x00 padding to the end of the record's slot.
 * The first TAL of each record in the first annotation signal has no text: it keeps the record's start time.
 */
import { EdfError } from './errors.ts';

export interface EdfAnnotation {
  /** Seconds from the start of the recording. */
  onset: number;
  /** Seconds, or null when the TAL gives none. */
  duration: number | null;
  text: string;
}

export interface Tal {
  onset: number;
  duration: number | null;
  /** Annotation texts in order; the timekeeping TAL has exactly one empty text. */
  texts: string[];
}

const ONSET = /^[+-]\d+(\.\d*)?$/;
const DURATION = /^\d+(\.\d*)?$/;
const utf8 = new TextDecoder('utf-8');
const ascii = new TextDecoder('latin1');

/** Parses one record's slot of an annotation signal; `where` names it in errors (e.g. "record 3"). */
export function parseTals(bytes: Uint8Array, where: string): Tal[] {
  const tals: Tal[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] === 0) {
      i++;
      continue;
    }
    const end = bytes.indexOf(0, i);
    if (end < 0) throw new EdfError('bad-annotation', `${where}: TAL at byte ${i} has no terminating 0x00 byte`);
    tals.push(parseTal(bytes.subarray(i, end), `${where}, TAL at byte ${i}`));
    i = end + 1;
  }
  return tals;
}

function parseTal(tal: Uint8Array, where: string): Tal {
  const firstSep = tal.indexOf(0x14);
  if (firstSep < 0) throw new EdfError('bad-annotation', `${where}: no 0x14 byte after the onset`);
  const stamp = tal.subarray(0, firstSep);
  const durSep = stamp.indexOf(0x15);
  const onsetText = ascii.decode(durSep < 0 ? stamp : stamp.subarray(0, durSep));
  if (!ONSET.test(onsetText)) throw new EdfError('bad-annotation', `${where}: onset ${JSON.stringify(onsetText)} must be a sign (+ or -) then seconds`);
  let duration: number | null = null;
  if (durSep >= 0) {
    const durationText = ascii.decode(stamp.subarray(durSep + 1));
    if (!DURATION.test(durationText)) throw new EdfError('bad-annotation', `${where}: duration ${JSON.stringify(durationText)} must be unsigned seconds`);
    duration = Number(durationText);
  }
  const texts: string[] = [];
  let start = firstSep + 1;
  while (start < tal.length) {
    const sep = tal.indexOf(0x14, start);
    if (sep < 0) throw new EdfError('bad-annotation', `${where}: annotation text ${JSON.stringify(utf8.decode(tal.subarray(start)))} is not ended by 0x14`);
    texts.push(utf8.decode(tal.subarray(start, sep)));
    start = sep + 1;
  }
  if (texts.length === 0) texts.push('');
  return { onset: Number(onsetText), duration, texts };
}

const encoder = new TextEncoder();

/** Encodes one TAL; texts empty gives the timekeeping form "+onset\x14\x14\x00". */
export function encodeTal(onset: number, duration: number | null, texts: string[]): Uint8Array {
  const stamp = `${onset < 0 ? '-' : '+'}${formatSeconds(Math.abs(onset))}${duration === null ? '' : `\x15${formatSeconds(duration)}`}\x14`;
  const body = (texts.length ? texts : ['']).map((t) => {
    if (/[\x00\x14\x15]/.test(t)) throw new EdfError('bad-annotation', `annotation text ${JSON.stringify(t)} contains a reserved byte (0x00, 0x14 or 0x15)`);
    return `${t}\x14`;
  });
  return encoder.encode(`${stamp}${body.join('')}\x00`);
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) throw new EdfError('bad-annotation', `annotation time ${s} must be finite and non-negative`);
  // Microsecond precision, no exponent, no trailing zeros.
  return s.toFixed(6).replace(/\.?0+$/, '');
}
