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

export class TimestampProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private readonly readBuffer: GPUBuffer;
  private readonly infos: DispatchInfo[] = [];
  private resolvedCount = 0;
  private untimed = 0;

  constructor(
    device: GPUDevice,
    readonly capacity = MAX_TIMED_PASSES,
  ) {
    if (!device.features.has('timestamp-query')) throw new Error('this device has no timestamp-query feature');
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_TIMED_PASSES) {
      throw new Error(`TimestampProfiler: capacity must be a whole number of passes from 1 to ${MAX_TIMED_PASSES} (a query set holds at most 4096 timestamps), got ${capacity}`);
    }
    this.querySet = device.createQuerySet({ type: 'timestamp', count: capacity * 2, label: 'profiler' });
    const bytes = capacity * 2 * 8;
    this.resolveBuffer = device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.readBuffer = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  get count(): number {
    return this.infos.length;
  }

  /** Timestamp writes for the next pass, or undefined once the query set is full (that pass goes untimed). */
  begin(info: DispatchInfo): GPUComputePassTimestampWrites | undefined {
    const i = this.infos.length;
    if (i >= this.capacity) {
      this.untimed++;
      return undefined;
    }
    this.infos.push(info);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Forgets passes begun since the last resolve (their commands were discarded, never submitted). */
  dropUnresolved(): void {
    this.infos.length = this.resolvedCount;
  }

  /** Encodes the bulk resolve of every query written since the last collect. */
  resolve(encoder: GPUCommandEncoder): void {
    const n = this.infos.length;
    if (n === 0) return;
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, this.readBuffer, 0, 2 * n * 8);
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
    await this.readBuffer.mapAsync(GPUMapMode.READ, 0, 2 * n * 8);
    const raw = new BigInt64Array(this.readBuffer.getMappedRange(0, 2 * n * 8).slice(0));
    this.readBuffer.unmap();
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
    this.querySet.destroy();
    this.resolveBuffer.destroy();
    this.readBuffer.destroy();
  }
}
