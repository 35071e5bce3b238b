// EDF / EDF+ writer and streaming reader on real bytes and real files: values come back within half a digital
// step, partial reads equal the whole, and every kind of broken header gets its own error naming the field.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blobSource, bytesSource } from '../../src/data/byte-source.ts';
import { EdfReader } from '../../src/data/edf.ts';
import { encodeEdf, formatNumber } from '../../src/data/edf-writer.ts';
import { EdfError } from '../../src/data/errors.ts';
import { openFileSource } from '../../src/data/node-byte-source.ts';
import { MONTAGE_CHANNELS } from '../../src/data/montage.ts';
import { readMontageRecording } from '../../src/data/recording.ts';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';
import { randomEdfInput } from './edf-fixtures.ts';

const seed = freshSeed();
const dir = mkdtempSync(join(tmpdir(), 'ictal-edf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(`EDF round trip (seed ${seed}, KERNEL_SEED=${seed} replays)`, () => {
  it('returns every physical value within half a digital step, from bytes, a Blob and a file handle', async () => {
    const rng = makeRng(seed);
    const input = randomEdfInput(rng, { annotations: true });
    const bytes = encodeEdf(input);
    const path = join(dir, 'round-trip.edf');
    writeFileSync(path, bytes);
    const file = await openFileSource(path);
    try {
      for (const source of [bytesSource(bytes), blobSource(new Blob([bytes as Uint8Array<ArrayBuffer>])), file]) {
        const edf = await EdfReader.open(source);
        expect(edf.header.variant).toBe('EDF+C');
        expect(edf.dataSignals.map((s) => s.label)).toEqual(input.signals.map((s) => s.label));
        const all = await edf.readAllPhysical();
        input.signals.forEach((s, i) => {
          const h = edf.header.signals[i];
          expect(h.sampleRate).toBe(s.sampleRate);
          expect(all[i].length).toBe(s.samples.length);
          let worst = 0;
          for (let k = 0; k < s.samples.length; k++) worst = Math.max(worst, Math.abs(all[i][k] - s.samples[k]));
          expect(worst, `signal ${i}`).toBeLessThanOrEqual(h.gain / 2 + 1e-9 * Math.max(Math.abs(h.physicalMin), Math.abs(h.physicalMax)));
        });
        const { annotations, recordStarts } = await edf.readAnnotations();
        expect(annotations).toEqual(input.annotations);
        expect(Array.from(recordStarts)).toEqual(Array.from({ length: edf.header.recordCount }, (_, r) => r * 0.5));
      }
    } finally {
      await file.close();
    }
  });

  it('reads any sample range equal to the same slice of the whole signal', async () => {
    const rng = makeRng(seed + 1);
    const edf = await EdfReader.open(bytesSource(encodeEdf(randomEdfInput(rng, { records: 9 }))));
    for (const signal of [0, 1, 2]) {
      const whole = await edf.readPhysical(signal);
      for (let trial = 0; trial < 20; trial++) {
        const start = Math.floor(rng() * whole.length);
        const count = Math.floor(rng() * (whole.length - start + 1));
        const part = await edf.readPhysical(signal, { start, count, out: new Float32Array(count) });
        expect(Array.from(part)).toEqual(Array.from(Float32Array.from(whole.subarray(start, start + count))));
      }
    }
    await expect(edf.readPhysical(0, { start: 5, count: edf.sampleCount(0) })).rejects.toThrow(/outside its/);
  });

  it('pads a last partial record and keeps plain EDF plain', async () => {
    const samples = Float64Array.from({ length: 300 }, (_, i) => i - 150);
    const edf = await EdfReader.open(bytesSource(encodeEdf({ signals: [{ label: 'Fp1', sampleRate: 256, samples }] })));
    expect(edf.header.variant).toBe('EDF');
    expect(edf.header.recordCount).toBe(2);
    const back = await edf.readPhysical(0, { count: 300 });
    expect(Math.max(...back.map((v, i) => Math.abs(v - samples[i])))).toBeLessThanOrEqual(edf.header.signals[0].gain / 2 + 1e-12);
  });

  it('formats header numbers into 8 characters, rounding ranges outwards', () => {
    expect(formatNumber(-3276.8, 8, 'down', 'x')).toBe('-3276.8');
    expect(formatNumber(123.456789, 8, 'up', 'x')).toBe('123.4568');
    expect(formatNumber(123.456789, 8, 'down', 'x')).toBe('123.4567');
    expect(formatNumber(-0.00001, 8, 'up', 'x')).toBe('-0.00001');
    expect(() => formatNumber(1e12, 8, 'up', 'physical maximum')).toThrow(/physical maximum .* does not fit/);
  });
});

/** A valid 2-signal EDF whose header fields the cases below overwrite. */
function baseEdf(): Uint8Array {
  const samples = Float64Array.from({ length: 512 }, (_, i) => Math.sin(i / 5) * 100);
  return encodeEdf({ signals: [{ label: 'EEG FP1-REF', sampleRate: 256, samples }, { label: 'EEG FP2-REF', sampleRate: 128, samples: samples.subarray(0, 256) }] });
}

/** Overwrites a header field (space-padded), e.g. signal 1's digital minimum. */
function setField(bytes: Uint8Array, offset: number, width: number, value: string): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < width; i++) out[offset + i] = i < value.length ? value.charCodeAt(i) : 0x20;
  return out;
}

/** Offset of signal `i`'s field in a 2-signal header: fields are stored column by column. */
function signalField(column: 'label' | 'physMin' | 'physMax' | 'digMin' | 'digMax' | 'samples', i: number): [number, number] {
  const ns = 2;
  const layout: Array<[string, number]> = [['label', 16], ['transducer', 80], ['dim', 8], ['physMin', 8], ['physMax', 8], ['digMin', 8], ['digMax', 8], ['prefilter', 80], ['samples', 8]];
  let at = 256;
  for (const [name, width] of layout) {
    if (name === column) return [at + i * width, width];
    at += ns * width;
  }
  throw new Error(column);
}

async function openError(bytes: Uint8Array): Promise<EdfError> {
  try {
    await EdfReader.open(bytesSource(bytes));
  } catch (e) {
    expect(e).toBeInstanceOf(EdfError);
    return e as EdfError;
  }
  throw new Error('expected an EdfError, the file opened');
}

describe('EDF header validation', () => {
  const good = baseEdf();

  it('accepts the unmodified file', async () => {
    const edf = await EdfReader.open(bytesSource(good));
    expect(edf.header.recordCount).toBe(2);
  });

  const cases: Array<[string, () => Uint8Array, string, RegExp]> = [
    ['a file shorter than the fixed header', () => good.subarray(0, 200), 'truncated', /200 bytes: shorter than the 256-byte/],
    ['a file cut inside the signal headers', () => good.subarray(0, 600), 'truncated', /shorter than its own 768-byte header/],
    ['a file cut inside the data', () => good.subarray(0, good.length - 3), 'truncated', /header says 2 data records .* holds 1 whole records of 768 bytes and 765 bytes more/],
    ['extra bytes after the last record', () => new Uint8Array([...good, 0, 0]), 'record-count', /header says 2 data records/],
    ['a header size that disagrees with the signal count', () => setField(good, 184, 8, '1024'), 'bad-header-size', /says 1024 bytes, but 2 signals need .* = 768/],
    ['a non-numeric record count', () => setField(good, 236, 8, '2x'), 'non-numeric', /number of data records \(bytes 236-243\) is "2x"/],
    ['a non-numeric physical maximum', () => setField(good, ...signalField('physMax', 1), 'abc'), 'non-numeric', /signal 1 \("EEG FP2-REF"\) physical maximum is "abc"/],
    ['a fractional digital minimum', () => setField(good, ...signalField('digMin', 0), '-3.5'), 'non-numeric', /signal 0 .* digital minimum is "-3.5": expected an integer/],
    ['zero samples per record', () => setField(good, ...signalField('samples', 1), '0'), 'zero-width-signal', /signal 1 .* has 0 samples per record/],
    ['digital min above digital max', () => setField(good, ...signalField('digMin', 0), '40000'), 'bad-digital-range', /digital range \[40000, 32767\]/],
    ['equal physical min and max', () => setField(setField(good, ...signalField('physMin', 1), '5'), ...signalField('physMax', 1), '5'), 'bad-physical-range', /both 5/],
    ['a version other than 0', () => setField(good, 0, 8, '1'), 'bad-version', /version field is "1"/],
    ['no signals', () => setField(good, 252, 4, '0'), 'bad-signal-count', /number of signals is 0/],
    ['a negative record duration', () => setField(good, 244, 8, '-1'), 'bad-record-duration', /-1 s: it cannot be negative/],
  ];
  for (const [what, make, code, message] of cases) {
    it(`rejects ${what} (${code})`, async () => {
      const e = await openError(make());
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
    });
  }

  it('derives the record count from the file size when the field is -1, ignoring a partial record', async () => {
    const unknown = setField(good, 236, 8, '-1');
    const edf = await EdfReader.open(bytesSource(new Uint8Array([...unknown, 1, 2, 3])));
    expect(edf.header.recordCountField).toBe(-1);
    expect(edf.header.recordCount).toBe(2);
    expect(edf.header.trailingBytes).toBe(3);
    const a = await edf.readAllPhysical();
    const b = await (await EdfReader.open(bytesSource(good))).readAllPhysical();
    expect(a).toEqual(b);
  });
});

describe('EDF+ annotations (TALs)', () => {
  function withSlot(tals: string): Uint8Array {
    // One data signal plus an annotation signal of 16 bytes per record; the slot of record 0 is replaced.
    const bytes = encodeEdf({ signals: [{ label: 'Fp1', sampleRate: 4, samples: new Float64Array(8) }], plus: true, annotations: [{ onset: 0.5, duration: null, text: 'abcdefghij' }] });
    const edf = bytes.slice();
    const headerBytes = 256 + 2 * 256;
    const slot = new Uint8Array(2 * Number(new TextDecoder().decode(edf.subarray(256 + 2 * 216 + 8, 256 + 2 * 216 + 16)).trim()));
    slot.set(new TextEncoder().encode(tals).subarray(0, slot.length));
    edf.set(slot, headerBytes + 8);
    return edf;
  }

  it('parses onsets, durations and several texts per TAL', async () => {
    const edf = await EdfReader.open(bytesSource(withSlot('+0\x14\x14\x00+0.25\x151.5\x14a\x14b\x14\x00')));
    const { annotations } = await edf.readAnnotations();
    expect(annotations).toEqual([
      { onset: 0.25, duration: 1.5, text: 'a' },
      { onset: 0.25, duration: 1.5, text: 'b' },
    ]);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['an onset without sign', '0.5\x14x\x14\x00', /onset "0.5" must be a sign/],
    ['a non-numeric duration', '+0\x15abc\x14x\x14\x00', /duration "abc" must be unsigned seconds/],
    ['a TAL with no 0x14', '+0.5\x00', /no 0x14 byte after the onset/],
    ['text not ended by 0x14', '+0\x14\x14\x00+1\x14oops\x00', /annotation text "oops" is not ended by 0x14/],
    ['a TAL with no terminator', '+0\x14\x14\x00+1\x14x\x14+2\x14yyyyyyyyyyyyyyy', /record 0: TAL at byte \d+ has no terminating 0x00/],
  ];
  for (const [what, tals, message] of bad) {
    it(`rejects ${what}`, async () => {
      const edf = await EdfReader.open(bytesSource(withSlot(tals)));
      const e = await edf.readAnnotations().then(() => null, (err) => err);
      expect(e).toBeInstanceOf(EdfError);
      expect(e.code).toBe('bad-annotation');
      expect(e.message).toMatch(message);
    });
  }
});

describe('montage recording', () => {
  it('refuses montage channels sampled at different rates, naming them', async () => {
    const signals = MONTAGE_CHANNELS.map((c) => ({ label: `EEG ${c.toUpperCase()}-REF`, sampleRate: c === 'Pz' ? 128 : 256, samples: new Float64Array(c === 'Pz' ? 128 : 256).fill(1) }));
    const edf = await EdfReader.open(bytesSource(encodeEdf({ signals })));
    await expect(readMontageRecording(edf)).rejects.toThrow(/different sampling rates \(Fp1 256 Hz, .* Pz 128 Hz/);
  });
});
