// Calibration: this adapter's copy bandwidth and FMA rate, the two ceilings of its roofline.
import source from '../../shaders/calibrate.wgsl?raw';
import type { ComputeSession } from './session.ts';
import type { GpuTensor } from './arena.ts';
import { TimestampProfiler } from './profiler.ts';
import { median, withProfiler } from './profile-run.ts';
import type { Roofline } from './profile-report.ts';

export const CALIBRATE_SHADER = { name: 'calibrate.wgsl', source };

const WG = 256;
/** 8 chains x vec4 x (multiply + add). */
const FLOPS_PER_TRIP = 8 * 4 * 2;
/** 4096 workgroups of 256: a million invocations fill the largest GPUs several times over. */
const MAX_FMA_WORKGROUPS = 4096;
const MAX_FMA_TRIPS = 1 << 22;
const FMA_PROBES = 3;
/** Timed runs of one kernel go in one batch: the clock's timestamp pairs. */
const MAX_REPEATS = 64;

export interface CalibrateProgress {
  phase: 'copy' | 'fma';
  done: number;
  total: number;
  message: string;
}

export interface CalibrateOptions {
  /** Size of each of the two copy buffers; default 256 MiB, capped by the adapter's binding and buffer limits. */
  copyBytes?: number;
  /** Timed runs of each kernel; the best one counts. Default 5. */
  repeats?: number;
  /** The FMA kernel is scaled until one run takes about this long. Default 20 ms. */
  targetMs?: number;
  onProgress?: (p: CalibrateProgress) => void;
}

/** Timed runs of one kernel; rates are work per nanosecond (bytes/ns = GB/s, FLOPs/ns = GFLOP/s). */
export interface RateMeasurement {
  work: number;
  runs: number;
  bestNs: number;
  medianNs: number;
  best: number;
  median: number;
}

export interface Calibration extends Roofline {
  adapter: string;
  timing: 'timestamp-query' | 'wall-clock';
  /** Timer granularity seen (1 for wall-clock timing, which is in fractions of a millisecond anyway). */
  quantumNs: number;
  /** work = bytes read + bytes written. */
  copy: RateMeasurement & { bufferBytes: number };
  /** work = FLOPs (an FMA counts 2). */
  fma: RateMeasurement & { invocations: number; trips: number };
  /** FLOPs per byte where the two ceilings meet. */
  ridge: number;
}

export async function calibrate(session: ComputeSession, options: CalibrateOptions = {}): Promise<Calibration> {
  const repeats = options.repeats ?? 5;
  const targetMs = options.targetMs ?? 20;
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > MAX_REPEATS) throw new Error(`calibrate: repeats must be a whole number from 1 to ${MAX_REPEATS}, got ${repeats}`);
  if (!(targetMs > 0)) throw new Error(`calibrate: targetMs must be > 0, got ${targetMs}`);
  const limits = session.device.limits;
  const wanted = options.copyBytes ?? 256 * 2 ** 20;
  if (!(wanted >= 16)) throw new Error(`calibrate: copyBytes must be at least 16, got ${wanted}`);
  const bufferBytes = Math.floor(Math.min(wanted, limits.maxStorageBufferBindingSize, limits.maxBufferSize) / 16) * 16;

  const total = 1 + repeats + 1 + FMA_PROBES + repeats;
  let done = 0;
  const step = (phase: CalibrateProgress['phase'], message: string, n = 1) => {
    done += n;
    options.onProgress?.({ phase, done, total, message });
  };
  const clock = new RunClock(session);
  try {
    const copy = await measureCopy(session, clock, bufferBytes, repeats, (m, n) => step('copy', m, n));
    const fma = await measureFma(session, clock, targetMs * 1e6, repeats, (m, n) => step('fma', m, n));
    const i = session.gpu.info;
    return {
      adapter: i.description || i.device || i.vendor,
      timing: clock.kind,
      quantumNs: clock.quantumNs,
      copyGBps: copy.best,
      fmaGflops: fma.best,
      copy,
      fma,
      ridge: fma.best / copy.best,
    };
  } finally {
    clock.destroy();
  }
}

async function measureCopy(s: ComputeSession, clock: RunClock, bufferBytes: number, repeats: number, progress: (m: string, n?: number) => void) {
  const count = bufferBytes / 16;
  const src = await s.arena.tensor([count * 4], 'f32', 'calibrate.src');
  const dst = await s.arena.tensor([count * 4], 'f32', 'calibrate.dst');
  try {
    const run = () => dispatchCopy(s, src, dst);
    await clock.time(run, 2);
    progress(`copy: warm-up over ${mib(bufferBytes)}`);
    const ns = await clock.time(run, repeats);
    progress(`copy: ${repeats} runs, best ${(2 * bufferBytes / Math.min(...ns)).toFixed(2)} GB/s`, repeats);
    return { ...rates(2 * bufferBytes, ns), bufferBytes };
  } finally {
    s.arena.release(src);
    s.arena.release(dst);
  }
}

async function measureFma(s: ComputeSession, clock: RunClock, targetNs: number, repeats: number, progress: (m: string, n?: number) => void) {
  const sink = await s.arena.tensor([4], 'f32', 'calibrate.sink');
  let workgroups = 64;
  let trips = 256;
  const run = () => dispatchFma(s, sink, workgroups, trips);
  try {
    const saved = trips;
    trips = 1;
    await clock.time(run, 2); // compiles the pipeline outside any timed run
    trips = saved;
    progress('fma: warm-up');
    // Grow the run until it lasts about targetNs: more invocations first (to fill the GPU), then longer chains.
    let probes = 0;
    while (probes < FMA_PROBES) {
      const [ns] = await clock.time(run, 1);
      probes++;
      progress(`fma: sizing, ${workgroups * WG} invocations x ${trips} trips took ${(ns! / 1e6).toFixed(2)} ms`);
      if (ns! >= targetNs / 2) break;
      let factor = Math.min(64, targetNs / Math.max(ns!, clock.quantumNs, 1000));
      const grow = Math.min(factor, MAX_FMA_WORKGROUPS / workgroups);
      workgroups = Math.ceil(workgroups * grow);
      factor /= grow;
      trips = Math.min(MAX_FMA_TRIPS, Math.ceil(trips * factor));
    }
    if (probes < FMA_PROBES) progress('fma: sized', FMA_PROBES - probes);
    const invocations = workgroups * WG;
    const flops = invocations * trips * FLOPS_PER_TRIP;
    const ns = await clock.time(run, repeats);
    progress(`fma: ${repeats} runs, best ${(flops / Math.min(...ns)).toFixed(2)} GFLOP/s`, repeats);
    return { ...rates(flops, ns), invocations, trips };
  } finally {
    s.arena.release(sink);
  }
}

/** One copy of src into dst (same size, a multiple of 16 bytes): 2 x src.bytes moved. */
export function dispatchCopy(s: ComputeSession, src: GpuTensor, dst: GpuTensor): Promise<void> {
  if (src.bytes !== dst.bytes || src.bytes % 16) {
    throw new Error(`calibrate copy: src (${src.bytes} bytes) and dst (${dst.bytes} bytes) must have one size, a multiple of 16`);
  }
  const count = src.bytes / 16;
  return s.dispatch({
    shader: CALIBRATE_SHADER, entry: 'copy', precision: 'f32', params: calibrateParams(count, 0), tensors: [src, dst],
    workgroups: Math.ceil(count / WG), label: 'calibrate.copy', shapes: `[${count}] vec4`, bytes: 2 * src.bytes,
  });
}

/** workgroups x 256 invocations, each running the FMA chains for `trips` trips; `sink` holds at least one f32. */
export function dispatchFma(s: ComputeSession, sink: GpuTensor, workgroups: number, trips: number): Promise<void> {
  const invocations = workgroups * WG;
  return s.dispatch({
    shader: CALIBRATE_SHADER, entry: 'fma_chains', precision: 'f32', params: calibrateParams(invocations, trips), tensors: [sink],
    workgroups, label: 'calibrate.fma', shapes: `${invocations} x ${trips} trips`, flops: invocations * trips * FLOPS_PER_TRIP,
  });
}

/** The calibrate.wgsl parameter struct: count, trips, and the chains' multiplier and addend. */
function calibrateParams(count: number, trips: number): ArrayBuffer {
  const buf = new ArrayBuffer(16);
  const v = new DataView(buf);
  v.setUint32(0, count, true);
  v.setUint32(4, trips, true);
  v.setFloat32(8, 0.999, true);
  v.setFloat32(12, 0.001, true);
  return buf;
}

function rates(work: number, ns: number[]): RateMeasurement {
  const bestNs = Math.min(...ns);
  const medianNs = median(ns);
  return { work, runs: ns.length, bestNs, medianNs, best: work / bestNs, median: work / medianNs };
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes % 2 ** 20 ? 2 : 0)} MiB`;
}

/**
 * GPU time of recorded runs: by timestamp queries where the device has them (all runs in one batch, resolved
 * together, which also shows the timer's quantum), else on the wall clock from submit to completion of each
 * run (which then includes the submit and the wait).
 */
class RunClock {
  readonly kind: Calibration['timing'];
  /**
   * Timer quantum: the smallest inferred over batches of several runs (a gcd of few timestamps can only come out
   * too large; one run's two stamps say nothing). 1 until a batch of several runs was timed.
   */
  get quantumNs(): number {
    return Number.isFinite(this.smallestQuantum) ? this.smallestQuantum : 1;
  }
  private smallestQuantum = Infinity;
  private readonly profiler: TimestampProfiler | undefined;

  constructor(private readonly session: ComputeSession) {
    this.profiler = session.device.features.has('timestamp-query') ? new TimestampProfiler(session.device, MAX_REPEATS) : undefined;
    this.kind = this.profiler ? 'timestamp-query' : 'wall-clock';
  }

  /** Nanoseconds of each of `runs` runs of `record` (one dispatch each). */
  async time(record: () => Promise<void>, runs: number): Promise<number[]> {
    const s = this.session;
    if (!this.profiler) {
      const ns: number[] = [];
      for (let r = 0; r < runs; r++) {
        await s.flush();
        const t0 = performance.now();
        await record();
        await s.flush();
        ns.push((performance.now() - t0) * 1e6);
      }
      return ns;
    }
    const result = await withProfiler(s, this.profiler, async () => {
      for (let r = 0; r < runs; r++) await record();
      return s.collectProfile();
    });
    if (result.entries.length !== runs) throw new Error(`calibrate: ${runs} runs recorded but ${result.entries.length} timed`);
    if (runs > 1) this.smallestQuantum = Math.min(this.smallestQuantum, result.quantumNs);
    return result.entries.map((e) => e.durationNs);
  }

  destroy(): void {
    this.profiler?.destroy();
  }
}
