// Timestamp-query timing of every dispatch: two query slots per compute pass, resolved in bulk.
export interface DispatchInfo {
  /** Module path or kernel name, e.g. `node.3.fwd.scan` or `matmul`. */
  label: string;
  kernel: string;
  precision: string;
  shapes: string;
  flops: number;
  bytes: number;
  workgroups: number;
  /** The part of a larger run the dispatch belongs to (a training step's forward, backward, ...), where one was set. */
  phase?: string;
}

export interface ProfileEntry extends DispatchInfo {
  startNs: number;
  durationNs: number;
  /** Shorter than the timer's quantum: the duration is a bound, not a measurement. */
  belowQuantum: boolean;
}

export interface ProfileResult {
  entries: ProfileEntry[];
  /** Sum of dispatch durations. */
  gpuNs: number;
  /** Timer granularity inferred from the raw values (Chrome rounds to 100 us unless developer features are on). */
  quantumNs: number;
  /** Dispatches recorded after the query set was full: they ran, untimed. */
  untimed: number;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a < 0n ? -a : a;
}

/** WebGPU's cap on one query set is 4096 queries: 2048 timed passes per batch. */
export const MAX_TIMED_PASSES = 2048;

/** One query set and the buffers its timestamps are resolved into and read back from. */
interface QueryChunk {
  querySet: GPUQuerySet;
  resolveBuffer: GPUBuffer;
  readBuffer: GPUBuffer;
}

export interface TimestampProfilerOptions {
  /**
   * Another query set of `capacity` passes whenever one is full, instead of leaving later passes untimed: for a
   * batch of unknown length (a training step records several thousand passes).
   */
  growable?: boolean;
}

export class TimestampProfiler {
  private readonly chunks: QueryChunk[] = [];
  private readonly growable: boolean;
  private readonly infos: DispatchInfo[] = [];
  private resolvedCount = 0;
  private untimed = 0;
  /** Stamped on every pass begun while set: whoever drives a run marks its phases here (the session knows none). */
  phase: string | undefined;

  constructor(
    private readonly device: GPUDevice,
    /** Passes one query set times (all the profiler times, unless growable). */
    readonly capacity = MAX_TIMED_PASSES,
    options: TimestampProfilerOptions = {},
  ) {
    if (!device.features.has('timestamp-query')) throw new Error('this device has no timestamp-query feature');
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_TIMED_PASSES) {
      throw new Error(`TimestampProfiler: capacity must be a whole number of passes from 1 to ${MAX_TIMED_PASSES} (a query set holds at most 4096 timestamps), got ${capacity}`);
    }
    this.growable = options.growable ?? false;
    this.addChunk();
  }

  private addChunk(): void {
    const bytes = this.capacity * 2 * 8;
    this.chunks.push({
      querySet: this.device.createQuerySet({ type: 'timestamp', count: this.capacity * 2, label: `profiler ${this.chunks.length}` }),
      resolveBuffer: this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
      readBuffer: this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
    });
  }

  get count(): number {
    return this.infos.length;
  }

  /** Passes of the first `n` that chunk c holds. */
  private passesIn(c: number, n: number): number {
    return Math.max(0, Math.min(this.capacity, n - c * this.capacity));
  }

  /** Timestamp writes for the next pass, or undefined once the query set is full and cannot grow (that pass goes untimed). */
  begin(info: DispatchInfo): GPUComputePassTimestampWrites | undefined {
    const i = this.infos.length;
    const c = Math.floor(i / this.capacity);
    if (c >= this.chunks.length) {
      if (!this.growable) {
        this.untimed++;
        return undefined;
      }
      this.addChunk();
    }
    this.infos.push(this.phase === undefined ? info : { ...info, phase: this.phase });
    const j = i - c * this.capacity;
    return { querySet: this.chunks[c]!.querySet, beginningOfPassWriteIndex: 2 * j, endOfPassWriteIndex: 2 * j + 1 };
  }

  /** Forgets passes begun since the last resolve (their commands were discarded, never submitted). */
  dropUnresolved(): void {
    this.infos.length = this.resolvedCount;
  }

  /** Encodes the bulk resolve of every query written since the last collect. */
  resolve(encoder: GPUCommandEncoder): void {
    const n = this.infos.length;
    if (n === 0) return;
    this.chunks.forEach((chunk, c) => {
      const m = this.passesIn(c, n);
      if (m === 0) return;
      encoder.resolveQuerySet(chunk.querySet, 0, 2 * m, chunk.resolveBuffer, 0);
      encoder.copyBufferToBuffer(chunk.resolveBuffer, 0, chunk.readBuffer, 0, 2 * m * 8);
    });
    this.resolvedCount = n;
  }

  /** Reads the resolved timestamps (after the resolving submit) and starts a fresh batch. */
  async collect(): Promise<ProfileResult> {
    const n = this.resolvedCount;
    const infos = this.infos.splice(0, this.infos.length);
    this.resolvedCount = 0;
    const untimed = this.untimed;
    this.untimed = 0;
    if (n === 0) return { entries: [], gpuNs: 0, quantumNs: 1, untimed };
    const raw = new BigInt64Array(2 * n);
    for (const [c, chunk] of this.chunks.entries()) {
      const m = this.passesIn(c, n);
      if (m === 0) break;
      await chunk.readBuffer.mapAsync(GPUMapMode.READ, 0, 2 * m * 8);
      raw.set(new BigInt64Array(chunk.readBuffer.getMappedRange(0, 2 * m * 8).slice(0)), 2 * c * this.capacity);
      chunk.readBuffer.unmap();
    }
    if (raw.every((v) => v === 0n)) {
      throw new Error(`profiler: none of the ${n} timed passes wrote a timestamp; the GPU rejected the batch (see the validation errors reported before)`);
    }
    const t0 = raw.reduce((m, v) => (v < m ? v : m), raw[0]!);
    let q = 0n;
    for (const v of raw) q = gcd(q, v - t0);
    const quantumNs = Number(q || 1n);
    const entries = infos.slice(0, n).map((info, i) => {
      const start = raw[2 * i]!;
      const end = raw[2 * i + 1]!;
      const durationNs = end > start ? Number(end - start) : 0;
      return { ...info, startNs: Number(start - t0), durationNs, belowQuantum: durationNs < quantumNs };
    });
    return { entries, gpuNs: entries.reduce((s, e) => s + e.durationNs, 0), quantumNs, untimed };
  }

  destroy(): void {
    for (const chunk of this.chunks) {
      chunk.querySet.destroy();
      chunk.resolveBuffer.destroy();
      chunk.readBuffer.destroy();
    }
    this.chunks.length = 0;
  }
}
