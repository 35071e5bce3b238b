// A long series reduced for drawing: the minimum and maximum of each of `columns` consecutive spans, which is
// exactly what a line through every sample shows at one pixel column per span (spikes and all).

export interface Envelope {
  /** Spans actually made: min(columns asked, samples). */
  columns: number;
  /** The series' length: span c covers samples [floor(c * samples / columns), floor((c + 1) * samples / columns)). */
  samples: number;
  min: Float32Array;
  max: Float32Array;
}

export function minMaxEnvelope(values: ArrayLike<number>, columns: number): Envelope {
  if (!Number.isInteger(columns) || columns < 1) throw new Error(`minMaxEnvelope: columns ${columns} is not a positive integer`);
  const n = values.length;
  const cols = Math.min(columns, n);
  const min = new Float32Array(cols), max = new Float32Array(cols);
  for (let c = 0; c < cols; c++) {
    const from = Math.floor((c * n) / cols), to = Math.floor(((c + 1) * n) / cols);
    let lo = Infinity, hi = -Infinity;
    for (let i = from; i < to; i++) {
      const v = values[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    min[c] = lo;
    max[c] = hi;
  }
  return { columns: cols, samples: n, min, max };
}
