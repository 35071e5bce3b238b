// Valid EDF / npz / csv_bi files made with the project's own writers from seeded random content: the starting
// points of the round-trip and fuzz tests.
import type { EdfInput } from '../../src/data/edf-writer.ts';
import { encodeWindowsNpz } from '../../src/data/windows-npz.ts';
import { formatCsvBi } from '../../src/data/csv-bi.ts';

export function randomSignal(rng: () => number, n: number, scale: number): Float64Array {
  const x = new Float64Array(n);
  let walk = 0;
  for (let i = 0; i < n; i++) {
    walk = 0.95 * walk + (rng() - 0.5) * scale;
    x[i] = walk + (rng() - 0.5) * 0.1 * scale;
  }
  return x;
}

/** Three signals at different rates (one not a power of two), an odd record count, optional EDF+ annotations. */
export function randomEdfInput(rng: () => number, options: { records?: number; annotations?: boolean } = {}): EdfInput {
  const records = options.records ?? 3 + Math.floor(rng() * 5);
  const recordDuration = 0.5;
  return {
    recordDuration,
    signals: [
      { label: 'EEG FP1-REF', sampleRate: 256, samples: randomSignal(rng, 128 * records, 200), physicalDimension: 'uV' },
      { label: 'EEG T7-LE', sampleRate: 250, samples: randomSignal(rng, 125 * records, 50), physicalDimension: 'uV' },
      { label: 'EKG', sampleRate: 14, samples: randomSignal(rng, 7 * records, 300), physicalDimension: 'mV', physicalMin: -5000, physicalMax: 5000, digitalMin: -2048, digitalMax: 2047 },
    ],
    annotations: options.annotations
      ? [
          { onset: 0.1, duration: 0.75, text: 'seiz' },
          { onset: Math.round(records * recordDuration * 600) / 1000, duration: null, text: 'électrode pop' },
        ]
      : undefined,
  };
}

export function randomWindowsNpz(rng: () => number, compress: boolean): { bytes: Uint8Array; windows: Float32Array; labels: Float32Array; count: number; length: number } {
  const count = 1 + Math.floor(rng() * 3), length = 7 + Math.floor(rng() * 20);
  const windows = Float32Array.from({ length: count * 19 * length }, () => (rng() - 0.5) * 20);
  const labels = Float32Array.from({ length: count * length }, () => (rng() < 0.3 ? 1 : 0));
  return { bytes: encodeWindowsNpz(windows, labels, { count, length }, { compress }), windows, labels, count, length };
}

export function sampleCsvBi(): string {
  return formatCsvBi('aaaaaaac_s001_t000', 301, [
    { start: 0, stop: 36.8868, label: 'bckg' },
    { start: 36.8868, stop: 183.3055, label: 'seiz' },
    { start: 183.3055, stop: 301, label: 'bckg' },
  ]);
}
