/**
 * Streaming EDF / EDF+ reader: the header is read and validated on open, data records on demand, range by range,
 * from any ByteSource (a Blob in the worker, a file handle in Node). Nothing reads the whole file at once.
 */
import type { ByteSource } from './byte-source.ts';
import { EdfError } from './errors.ts';
import { EDF_FIXED_HEADER_BYTES, parseEdfFixedHeader, parseEdfHeader, type EdfHeader, type EdfSignalHeader } from './edf-header.ts';
import { parseTals, type EdfAnnotation } from './edf-tal.ts';

export type { EdfHeader, EdfSignalHeader } from './edf-header.ts';
export type { EdfAnnotation } from './edf-tal.ts';

/** Reads are split into chunks of about this many bytes, so memory stays bounded on long recordings. */
const CHUNK_BYTES = 4 << 20;

export type SampleArray = Float32Array | Float64Array;

export interface EdfAnnotations {
  annotations: EdfAnnotation[];
  /** Start of each data record in seconds (from the timekeeping TALs in EDF+, else record * duration). */
  recordStarts: Float64Array;
}

export class EdfReader {
  private constructor(
    readonly source: ByteSource,
    readonly header: EdfHeader,
  ) {}

  static async open(source: ByteSource): Promise<EdfReader> {
    const fixed = await source.read(0, Math.min(EDF_FIXED_HEADER_BYTES, source.size));
    const { headerBytes } = parseEdfFixedHeader(fixed, source.size);
    const header = parseEdfHeader(await source.read(0, headerBytes), source.size);
    return new EdfReader(source, header);
  }

  /** Signals that carry samples (annotation signals left out), in file order. */
  get dataSignals(): EdfSignalHeader[] {
    return this.header.signals.filter((s) => !s.isAnnotation);
  }

  /** Total samples of a signal over the whole recording. */
  sampleCount(signal: number): number {
    return this.signal(signal).samplesPerRecord * this.header.recordCount;
  }

  /**
   * Physical values (digital scaled by the header's ranges) of one signal, `count` samples from `start`
   * (defaults: the whole signal). `out` picks the element type and receives the values when given.
   */
  async readPhysical(signal: number, options: { start?: number; count?: number; out?: SampleArray } = {}): Promise<SampleArray> {
    const s = this.signal(signal);
    if (s.isAnnotation) throw new EdfError('bad-request', `signal ${signal} (${JSON.stringify(s.label)}) is an annotation signal: use readAnnotations()`);
    const total = this.sampleCount(signal);
    const start = options.start ?? 0;
    const count = options.count ?? total - start;
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > total) {
      throw new EdfError('bad-request', `samples [${start}, ${start + count}) of signal ${signal} are outside its ${total} samples`);
    }
    const out = options.out ?? new Float64Array(count);
    if (out.length < count) throw new EdfError('bad-request', `output array holds ${out.length} values, ${count} requested`);
    if (count === 0) return out;
    const spr = s.samplesPerRecord;
    const firstRecord = Math.floor(start / spr);
    const lastRecord = Math.floor((start + count - 1) / spr);
    await this.forEachRecordChunk(firstRecord, lastRecord + 1, (view, record, n) => {
      for (let r = 0; r < n; r++) {
        const base = (record + r) * spr;
        const lo = Math.max(start, base), hi = Math.min(start + count, base + spr);
        let byte = r * this.header.recordBytes + s.recordByteOffset + 2 * (lo - base);
        for (let k = lo; k < hi; k++, byte += 2) out[k - start] = s.gain * view.getInt16(byte, true) + s.offset;
      }
    });
    return out;
  }

  /** Every data signal in one pass over the file; `float32` halves the memory. */
  async readAllPhysical(type: 'float64' | 'float32' = 'float64'): Promise<SampleArray[]> {
    const signals = this.dataSignals;
    const outs = signals.map((s) => (type === 'float32' ? new Float32Array(this.sampleCount(s.index)) : new Float64Array(this.sampleCount(s.index))));
    await this.forEachRecordChunk(0, this.header.recordCount, (view, record, n) => {
      signals.forEach((s, j) => {
        const out = outs[j];
        const spr = s.samplesPerRecord;
        for (let r = 0; r < n; r++) {
          let byte = r * this.header.recordBytes + s.recordByteOffset;
          const base = (record + r) * spr;
          for (let k = 0; k < spr; k++, byte += 2) out[base + k] = s.gain * view.getInt16(byte, true) + s.offset;
        }
      });
    });
    return outs;
  }

  /** Raw digital values of one signal over whole records [firstRecord, firstRecord + count). */
  async readDigital(signal: number, firstRecord: number, count: number): Promise<Int16Array> {
    const s = this.signal(signal);
    this.checkRecords(firstRecord, count);
    const out = new Int16Array(count * s.samplesPerRecord);
    await this.forEachRecordChunk(firstRecord, firstRecord + count, (view, record, n) => {
      for (let r = 0; r < n; r++) {
        let byte = r * this.header.recordBytes + s.recordByteOffset;
        const base = (record - firstRecord + r) * s.samplesPerRecord;
        for (let k = 0; k < s.samplesPerRecord; k++, byte += 2) out[base + k] = view.getInt16(byte, true);
      }
    });
    return out;
  }

  /** EDF+ annotations of every annotation signal, sorted by onset, and the start time of each record. */
  async readAnnotations(): Promise<EdfAnnotations> {
    const { recordCount, recordDuration } = this.header;
    const recordStarts = Float64Array.from({ length: recordCount }, (_, r) => r * recordDuration);
    const annotationSignals = this.header.signals.filter((s) => s.isAnnotation);
    const annotations: EdfAnnotation[] = [];
    if (annotationSignals.length === 0) return { annotations, recordStarts };
    await this.forEachRecordChunk(0, recordCount, (view, record, n) => {
      const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      for (let r = 0; r < n; r++) {
        annotationSignals.forEach((s, j) => {
          const at = r * this.header.recordBytes + s.recordByteOffset;
          const tals = parseTals(bytes.subarray(at, at + 2 * s.samplesPerRecord), `annotation signal ${s.index}, record ${record + r}`);
          tals.forEach((tal, t) => {
            // The first TAL of a record in the first annotation signal is its timekeeping stamp.
            if (j === 0 && t === 0 && this.header.variant !== 'EDF') recordStarts[record + r] = tal.onset;
            for (const text of tal.texts) if (text !== '') annotations.push({ onset: tal.onset, duration: tal.duration, text });
          });
        });
      }
    });
    annotations.sort((a, b) => a.onset - b.onset);
    return { annotations, recordStarts };
  }

  private signal(index: number): EdfSignalHeader {
    const s = this.header.signals[index];
    if (!Number.isInteger(index) || !s) throw new EdfError('bad-request', `signal ${index} does not exist: the file has ${this.header.signals.length} signals`);
    return s;
  }

  private checkRecords(first: number, count: number): void {
    if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 0 || first + count > this.header.recordCount) {
      throw new EdfError('bad-request', `records [${first}, ${first + count}) are outside the file's ${this.header.recordCount} records`);
    }
  }

  /** Calls fn(view over n whole records, index of the first) for records [from, to), chunk by chunk. */
  private async forEachRecordChunk(from: number, to: number, fn: (view: DataView, record: number, n: number) => void): Promise<void> {
    const { recordBytes, headerBytes } = this.header;
    const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / recordBytes));
    for (let record = from; record < to; record += perChunk) {
      const n = Math.min(perChunk, to - record);
      const bytes = await this.source.read(headerBytes + record * recordBytes, n * recordBytes);
      fn(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), record, n);
    }
  }
}
