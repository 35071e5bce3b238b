// The kernel test harness: a GPU kernel against its float64 CPU reference on fresh random inputs, with
// outputs poisoned first. Host-agnostic: vitest in Node (Dawn) and the browser suite (Chromium) both use it.
import type { ComputeSession } from '../../src/gpu/session.ts';
import type { GpuTensor } from '../../src/gpu/arena.ts';
import type { Precision } from '../../src/gpu/precision.ts';
import { roundToHalf } from '../../src/gpu/half.ts';

/**
 * Tolerances, declared once. The error measure is the normalised max error
 *   max_i |got_i - ref_i| / max_i |ref_i|
 * (a NaN or infinity anywhere is an infinite error, so an unwritten poisoned output always fails).
 * f16 modes get inputs already rounded to half, so the bound covers the kernel's own arithmetic and storage.
 * The subgroup-matrix GEMM core (tensor cores: f16 operands, f32 accumulation) runs in the f16 modes only, on the
 * halves they hold anyway, so their bound is its bound too (f32 never takes it: its products would lose bits).
 */
export const TOLERANCE: Record<Precision, number> = { f32: 1e-4, 'f16-storage': 1e-2, f16: 1e-2 };

export function relativeError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) return Infinity;
  let maxDiff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const g = got[i]!, r = ref[i]!;
    if (!Number.isFinite(g) || !Number.isFinite(r)) return Infinity;
    maxDiff = Math.max(maxDiff, Math.abs(g - r));
    scale = Math.max(scale, Math.abs(r));
  }
  return scale === 0 ? maxDiff : maxDiff / scale;
}

/** mulberry32: small, seedable, good enough for test data. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A fresh seed per run (printed with every failure so it can be replayed with KERNEL_SEED). */
export function freshSeed(): number {
  const fixed = typeof process !== 'undefined' ? process.env?.KERNEL_SEED : undefined;
  return fixed ? Number(fixed) : Math.floor(Math.random() * 2 ** 31);
}

export interface TensorSpec {
  name: string;
  shape: number[];
  /** Uniform range of random values (default [-2, 2]). */
  range?: [number, number];
  /** A tensor pinned to one precision whatever the case runs in (e.g. a f32 [1] loss or loss scale). */
  precision?: Precision;
}

export interface KernelCase {
  /** e.g. `silu [7]`. */
  name: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  run(s: ComputeSession, t: Record<string, GpuTensor>, precision: Precision): Promise<void>;
  reference(inputs: Record<string, Float64Array>): Record<string, Float64Array>;
  /** Extra uploaded values that are not random (e.g. integer indices), given the random inputs. */
}

export interface CaseResult {
  name: string;
  precision: Precision;
  seed: number;
  tolerance: number;
  errors: Record<string, number>;
  pass: boolean;
}

export async function runKernelCase(s: ComputeSession, c: KernelCase, precision: Precision, seed = freshSeed()): Promise<CaseResult> {
  const rng = makeRng(seed);
  const host: Record<string, Float64Array> = {};
  const tensors: Record<string, GpuTensor> = {};
  let flushed = false;
  try {
    for (const spec of c.inputs) {
      const [lo, hi] = spec.range ?? [-2, 2];
      const p = spec.precision ?? precision;
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const x = lo + (hi - lo) * rng();
        v[i] = p === 'f32' ? Math.fround(x) : roundToHalf(x);
      }
      host[spec.name] = v;
      tensors[spec.name] = await s.arena.upload(v, spec.shape, p, spec.name);
    }
    for (const spec of c.outputs) {
      tensors[spec.name] = await s.arena.tensor(spec.shape, spec.precision ?? precision, spec.name);
      s.arena.fill(tensors[spec.name]!); // poison: NaN in every precision's encoding
    }
    await c.run(s, tensors, precision);
    await s.flush();
    flushed = true;
    const ref = c.reference(host);
    const errors: Record<string, number> = {};
    for (const spec of c.outputs) {
      const want = ref[spec.name];
      if (!want) throw new Error(`${c.name}: the reference returned no "${spec.name}"`);
      errors[spec.name] = relativeError(await s.read(tensors[spec.name]!), want);
    }
    const tolerance = TOLERANCE[precision];
    const pass = Object.values(errors).every((e) => e <= tolerance);
    return { name: c.name, precision, seed, tolerance, errors, pass };
  } finally {
    if (!flushed) await s.discard(); // a kernel call threw: drop its half-recorded commands
    for (const t of Object.values(tensors)) s.arena.release(t);
  }
}

export function describeResult(r: CaseResult): string {
  const errs = Object.entries(r.errors).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ');
  return `${r.pass ? 'ok  ' : 'FAIL'} ${r.name} (${r.precision}): ${errs} (tolerance ${r.tolerance}, seed ${r.seed})`;
}
