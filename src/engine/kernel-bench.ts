// A per-kernel profile of the kernel families at working sizes: what `npm run bench` and the lab's profiler
// panel run. A new family adds one entry to BENCH_FAMILIES.
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import type { Precision } from '../gpu/precision.ts';
import type { ProfileResult } from '../gpu/profiler.ts';
import { profileBatch, type Batch } from '../gpu/profile-run.ts';
import { BINARY_OPS, UNARY_OPS, binary, unary, unaryBackward } from '../kernels/elementwise.ts';
import { REDUCE_OPS, reduce, reducedShape } from '../kernels/reduce.ts';

/** The dispatches of one family at one precision, on tensors it allocated (released by `release`). */
export interface BenchSet {
  batch: Batch;
  release(): void;
}

export interface BenchFamily {
  family: string;
  /** `elements`: the size of the family's main tensor. */
  prepare(s: ComputeSession, precision: Precision, elements: number): Promise<BenchSet>;
}

/** A [rows, 1024] view of about `elements` values (1024: a typical channels-last row of the v3 model). */
function matrixOf(elements: number): number[] {
  const cols = Math.min(1024, elements);
  return [Math.max(1, Math.round(elements / cols)), cols];
}

async function randomTensor(s: ComputeSession, shape: number[], precision: Precision, label: string): Promise<GpuTensor> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.random() * 4 - 2;
  return s.arena.upload(data, shape, precision, label);
}

function releaser(s: ComputeSession, ts: GpuTensor[]): () => void {
  return () => ts.forEach((t) => s.arena.release(t));
}

export const BENCH_FAMILIES: BenchFamily[] = [
  {
    family: 'elementwise',
    async prepare(s, precision, elements) {
      const shape = matrixOf(elements);
      const [a, b] = [await randomTensor(s, shape, precision, 'a'), await randomTensor(s, shape, precision, 'b')];
      const y = await s.arena.tensor(shape, precision, 'y');
      const batch: Batch = async (ss) => {
        for (const op of UNARY_OPS) await unary(ss, op, a, y, op);
        for (const op of UNARY_OPS) await unaryBackward(ss, op, a, b, y, `${op}.bwd`);
        for (const op of BINARY_OPS) await binary(ss, op, a, b, y, op);
      };
      return { batch, release: releaser(s, [a, b, y]) };
    },
  },
  {
    family: 'reduce',
    async prepare(s, precision, elements) {
      const shape = matrixOf(elements);
      const x = await randomTensor(s, shape, precision, 'x');
      const rows = await s.arena.tensor(reducedShape(shape, 1), precision, 'rows');
      const cols = await s.arena.tensor(reducedShape(shape, 0), precision, 'cols');
      const batch: Batch = async (ss) => {
        for (const op of REDUCE_OPS) {
          await reduce(ss, op, x, rows, 1, `reduce.${op} last axis`);
          await reduce(ss, op, x, cols, 0, `reduce.${op} first axis`);
        }
      };
      return { batch, release: releaser(s, [x, rows, cols]) };
    },
  },
];

export interface KernelBenchOptions {
  precisions: readonly Precision[];
  /** Size of each family's main tensor. Default 2^22 (16 MiB in f32). */
  elements?: number;
  /** Profiled runs of each batch (one warm-up run first). Default 3. */
  repeats?: number;
  families?: readonly string[];
  onProgress?: (p: { done: number; total: number; message: string }) => void;
}

/** A family that could not run at one precision (a pipeline this adapter refuses, say): the others still run. */
export interface BenchFailure {
  family: string;
  precision: Precision;
  message: string;
}

export interface KernelBench {
  /** Every family that ran, concatenated in order on one time line. */
  result: ProfileResult;
  failures: BenchFailure[];
}

/** Every family at every precision, profiled; a family that fails is reported and the others go on. */
export async function benchKernels(s: ComputeSession, options: KernelBenchOptions): Promise<KernelBench> {
  const { precisions, elements = 2 ** 22, repeats = 3 } = options;
  if (!(Number.isInteger(elements) && elements >= 1)) throw new Error(`benchKernels: elements must be a whole number >= 1, got ${elements}`);
  const known = BENCH_FAMILIES.map((f) => f.family);
  const unknown = (options.families ?? []).filter((f) => !known.includes(f));
  if (unknown.length) throw new Error(`benchKernels: unknown kernel family ${unknown.join(', ')} (known: ${known.join(', ')})`);
  const families = BENCH_FAMILIES.filter((f) => !options.families || options.families.includes(f.family));
  const total = families.length * precisions.length;
  const parts: ProfileResult[] = [];
  const failures: BenchFailure[] = [];
  let done = 0;
  for (const precision of precisions) {
    for (const f of families) {
      let set: BenchSet | undefined;
      let failed = false;
      try {
        set = await f.prepare(s, precision, elements);
        parts.push(await profileBatch(s, set.batch, { warmup: 1, repeats }));
      } catch (e) {
        failed = true;
        failures.push({ family: f.family, precision, message: e instanceof Error ? e.message : String(e) });
      } finally {
        set?.release();
      }
      options.onProgress?.({ done: ++done, total, message: `${f.family} (${precision})${failed ? ': failed' : ''}` });
    }
  }
  return { result: concatResults(parts), failures };
}

/** Results of separate batches on one time line, each batch after the previous one. */
export function concatResults(parts: ProfileResult[]): ProfileResult {
  const out: ProfileResult = { entries: [], gpuNs: 0, quantumNs: 0, untimed: 0 };
  let offset = 0;
  for (const p of parts) {
    let end = 0;
    for (const e of p.entries) {
      out.entries.push({ ...e, startNs: e.startNs + offset });
      end = Math.max(end, e.startNs + e.durationNs);
    }
    offset += end;
    out.gpuNs += p.gpuNs;
    out.untimed += p.untimed;
    out.quantumNs = out.quantumNs ? Math.min(out.quantumNs, p.quantumNs) : p.quantumNs;
  }
  out.quantumNs ||= 1;
  return out;
}
