// Fuzz: random truncations and byte flips of valid EDF, EDF+, npz (stored and deflated), npy and .csv_bi files.
// Every damaged file must either still parse completely or be refused with a DataFormatError (a known class,
// a code and a message); any other exception, or a parse that does not finish, fails the test with the seed,
// the case number and the damage done.
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../../src/data/byte-source.ts';
import { parseCsvBi } from '../../src/data/csv-bi.ts';
import { EdfReader } from '../../src/data/edf.ts';
import { encodeEdf } from '../../src/data/edf-writer.ts';
import { DataFormatError } from '../../src/data/errors.ts';
import { decodeNpy, encodeNpy } from '../../src/data/npy.ts';
import { NpzReader } from '../../src/data/npz.ts';
import { readWindow, windowsShape } from '../../src/data/windows-npz.ts';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';
import { randomEdfInput, randomWindowsNpz, sampleCsvBi } from './edf-fixtures.ts';

const seed = freshSeed();
const CASE_LIMIT_MS = 10_000;

interface Damage {
  bytes: Uint8Array;
  what: string;
}

/** Truncates (30%) or flips 1-4 bytes, mostly inside `hot` (the regions parsers read first). */
function damage(rng: () => number, bytes: Uint8Array, hot: Array<[number, number]>): Damage {
  if (rng() < 0.3) {
    const length = Math.floor(rng() * bytes.length);
    return { bytes: bytes.subarray(0, length), what: `truncated to ${length} of ${bytes.length} bytes` };
  }
  const out = bytes.slice();
  const flips: string[] = [];
  const n = 1 + Math.floor(rng() * 4);
  for (let k = 0; k < n; k++) {
    let at: number;
    if (rng() < 0.7 && hot.length) {
      const [a, b] = hot[Math.floor(rng() * hot.length)];
      at = Math.max(0, Math.min(out.length - 1, a + Math.floor(rng() * (b - a))));
    } else at = Math.floor(rng() * out.length);
    const mask = 1 + Math.floor(rng() * 255);
    out[at] ^= mask;
    flips.push(`byte ${at} ^= 0x${mask.toString(16)}`);
  }
  return { bytes: out, what: flips.join(', ') };
}

async function parseEdfFully(bytes: Uint8Array): Promise<void> {
  const edf = await EdfReader.open(bytesSource(bytes));
  await edf.readAllPhysical('float32');
  await edf.readAnnotations();
  for (const s of edf.dataSignals) await edf.readPhysical(s.index, { start: Math.floor(edf.sampleCount(s.index) / 3), count: Math.floor(edf.sampleCount(s.index) / 3) });
}

async function parseNpzFully(bytes: Uint8Array): Promise<void> {
  const npz = await NpzReader.open(bytesSource(bytes));
  for (const name of npz.names) {
    const h = await npz.header(name);
    await npz.readArray(name);
    if (h.shape.length && h.shape[0] > 0) await npz.readRows(name, h.shape[0] - 1, 1);
  }
  const { count } = await windowsShape(npz);
  if (count) await readWindow(npz, count - 1);
}

async function withinLimit(work: Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no result after ${CASE_LIMIT_MS} ms: hang`)), CASE_LIMIT_MS)));
  try {
    await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

interface Target {
  format: string;
  cases: number;
  make: (rng: () => number) => { bytes: Uint8Array; hot: Array<[number, number]> };
  parse: (bytes: Uint8Array) => Promise<void>;
}

const utf8 = new TextDecoder();
const TARGETS: Target[] = [
  {
    format: 'EDF',
    cases: 120,
    make: (rng) => {
      const bytes = encodeEdf(randomEdfInput(rng, { records: 3 }));
      return { bytes, hot: [[0, 256 * 4]] };
    },
    parse: parseEdfFully,
  },
  {
    format: 'EDF+',
    cases: 80,
    make: (rng) => {
      const bytes = encodeEdf(randomEdfInput(rng, { records: 3, annotations: true }));
      // The header and each record's annotation slot (the last bytes of every record).
      const recordBytes = (bytes.length - 256 * 5) / 3;
      return { bytes, hot: [[0, 256 * 5], ...[0, 1, 2].map((r) => [256 * 5 + (r + 1) * recordBytes - 60, 256 * 5 + (r + 1) * recordBytes] as [number, number])] };
    },
    parse: parseEdfFully,
  },
  {
    format: 'npz (stored)',
    cases: 70,
    make: (rng) => {
      const { bytes } = randomWindowsNpz(rng, false);
      return { bytes, hot: [[0, 200], [bytes.length - 250, bytes.length]] };
    },
    parse: parseNpzFully,
  },
  {
    format: 'npz (deflated)',
    cases: 70,
    make: (rng) => {
      const { bytes } = randomWindowsNpz(rng, true);
      return { bytes, hot: [[0, 200], [bytes.length - 250, bytes.length]] };
    },
    parse: parseNpzFully,
  },
  {
    format: 'npy',
    cases: 40,
    make: (rng) => {
      const cols = 1 + Math.floor(rng() * 9);
      return { bytes: encodeNpy({ dtype: 'f4', shape: [3, cols], data: Float32Array.from({ length: 3 * cols }, rng) }), hot: [[0, 128]] };
    },
    parse: async (bytes) => void decodeNpy(bytes),
  },
  {
    format: 'csv_bi',
    cases: 60,
    make: () => {
      const bytes = new TextEncoder().encode(sampleCsvBi());
      return { bytes, hot: [[0, bytes.length]] };
    },
    parse: async (bytes) => void parseCsvBi(utf8.decode(bytes)),
  },
];

describe(`parser fuzz (seed ${seed}; KERNEL_SEED=${seed} replays)`, () => {
  for (const target of TARGETS) {
    it(`${target.format}: ${target.cases} damaged files, each parsed or refused with a DataFormatError`, async () => {
      const rng = makeRng(seed ^ target.format.length * 0x9e3779b1);
      const outcomes = new Map<string, number>();
      for (let c = 0; c < target.cases; c++) {
        const { bytes, hot } = target.make(rng);
        await target.parse(bytes); // the undamaged file must parse
        const d = damage(rng, bytes, hot);
        const where = `${target.format} case ${c} (seed ${seed}): ${d.what}`;
        let outcome = 'parsed';
        try {
          await withinLimit(target.parse(d.bytes));
        } catch (e) {
          if (!(e instanceof DataFormatError)) throw new Error(`${where}: threw ${(e as Error)?.name ?? typeof e} instead of a DataFormatError: ${(e as Error)?.message ?? e}`);
          expect(e.message.length, where).toBeGreaterThan(10);
          expect(e.code, where).toMatch(/^[a-z-]+$/);
          outcome = `${e.name}/${e.code}`;
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
      console.log(`fuzz ${target.format} seed ${seed}: ${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ')}`);
      // Most damage must be caught; if nearly everything "parsed", the damage never reached the parser.
      expect((outcomes.get('parsed') ?? 0) < target.cases).toBe(true);
    });
  }
});
