// A per-kernel profile of the kernel families at working sizes: what `npm run bench` and the lab's profiler
// panel run. A new family adds one entry to BENCH_FAMILIES.
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import type { Precision } from '../gpu/precision.ts';
import type { ProfileResult } from '../gpu/profiler.ts';
import { profileBatch, type Batch } from '../gpu/profile-run.ts';
import { BINARY_OPS, UNARY_OPS, binary, unary, unaryBackward } from '../kernels/elementwise.ts';
import { REDUCE_OPS, reduce, reducedShape, sumKeep } from '../kernels/reduce.ts';
import { viewAs } from '../kernels/layout.ts';
import { type ScanDims, type ScanInputs, chunkedScanRuns, defaultChunk, scanBackward, scanChunked, scanFormFor, scanSequential, statesShape } from '../kernels/mamba-scan.ts';
import { cosineEdges, cosineEdgesBackward, pairCount } from '../kernels/cosine-edges.ts';
import { adjacencyShape, topkAdjacency, topkAdjacencyBackward } from '../kernels/topk-adjacency.ts';
import { ssgconvPropagate, ssgconvPropagateBackward } from '../kernels/ssgconv.ts';
import { matmul, matmulBackward } from '../kernels/matmul.ts';
import { conv1d, conv1dBackward, conv1dOutputLength } from '../kernels/conv1d.ts';
import { overrideGemmTile } from '../kernels/gemm-subgroup-matrix.ts';
import { type GemmTile, GEMM_TILES, pickGemmTile } from '../kernels/gemm-split.ts';

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

async function randomTensor(s: ComputeSession, shape: number[], precision: Precision, label: string, [lo, hi] = [-2, 2]): Promise<GpuTensor> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + Math.random() * (hi - lo);
  return s.arena.upload(data, shape, precision, label);
}

function releaser(s: ComputeSession, ts: GpuTensor[]): () => void {
  return () => ts.forEach((t) => s.arena.release(t));
}

/** Runs `run` once per GEMM tile (forced), so one bench shows both tiles' times per shape on the same GPU. */
async function eachGemmTile(ss: ComputeSession, run: (tile: GemmTile) => Promise<void>): Promise<void> {
  try {
    for (const tile of Object.keys(GEMM_TILES) as GemmTile[]) {
      overrideGemmTile(ss, tile);
      await run(tile);
    }
  } finally {
    overrideGemmTile(ss, undefined);
  }
}

/** The v3 TCN's convolutions at T 15360 (the GEMM-heavy half of the forward): batch = elements / (512 x 15360). */
const V3_CONVS: { name: string; cIn: number; cOut: number; taps: number; dilation?: number; stride?: number }[] = [
  { name: 'layers.7', cIn: 256, cOut: 512, taps: 7, dilation: 128 },
  { name: 'layers.6', cIn: 128, cOut: 256, taps: 7, dilation: 64 },
  { name: 'layers.4', cIn: 512, cOut: 64, taps: 7, dilation: 16 },
  { name: 'proj', cIn: 512, cOut: 512, taps: 1 },
  { name: 'down', cIn: 512, cOut: 512, taps: 16, stride: 16 },
];

export const BENCH_FAMILIES: BenchFamily[] = [
  {
    family: 'elementwise',
    async prepare(s, precision, elements) {
      const shape = matrixOf(elements);
      const [a, b] = [await randomTensor(s, shape, precision, 'a'), await randomTensor(s, shape, precision, 'b')];
      const y = await s.arena.tensor(shape, precision, 'y');
      // Every op on 16-byte chunks (where rows are unpadded; '.tail' rows hold the pairs after the last chunk),
      // and relu and add on pairs alone: the pair kernel's numbers beside the chunks' on the same adapter.
      const batch: Batch = async (ss) => {
        for (const op of UNARY_OPS) await unary(ss, op, a, y, op);
        for (const op of UNARY_OPS) await unaryBackward(ss, op, a, b, y, `${op}.bwd`);
        for (const op of BINARY_OPS) await binary(ss, op, a, b, y, op);
        await unary(ss, 'relu', a, y, 'relu (pairs)', false);
        await binary(ss, 'add', a, b, y, 'add (pairs)', false);
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
      // Bias gradients: a dense layer's (sum over rows, keeping the last axis) and a conv's ([B, C, L] keeping C,
      // C = 64 when the rows divide: x seen as [rows / 64, 64, cols]).
      const channels = shape[0]! % 64 === 0 ? 64 : 1;
      const perChannel = await s.arena.tensor([channels], precision, 'per_channel');
      const batch: Batch = async (ss) => {
        for (const op of REDUCE_OPS) {
          await reduce(ss, op, x, rows, 1, `reduce.${op} last axis`);
          await reduce(ss, op, x, cols, 0, `reduce.${op} first axis`);
        }
        await sumKeep(ss, x, cols, 1, 'sum_keep last axis (dense bias)');
        await sumKeep(ss, viewAs(x, [shape[0]! / channels, channels, shape[1]!]), perChannel, 1, 'sum_keep [B, C, L] keep C (conv bias)');
      };
      return { batch, release: releaser(s, [x, rows, cols, perChannel]) };
    },
  },
  {
    // The v3 streams at T 960: sequential vs chunked forward (chunk 16 and 32), and the backward. Labels name the
    // sequences and the form scanFormFor picks for them: varying --elements finds the measured crossover.
    family: 'mamba-scan',
    async prepare(s, precision, elements) {
      const made: GpuTensor[] = [];
      const keep = (t: GpuTensor) => (made.push(t), t);
      const streams: { name: string; d: ScanDims }[] = [
        { name: 'node', d: { seqs: Math.max(1, Math.round(elements / (960 * 128))), T: 960, heads: 16, headDim: 8, dState: 16 } },
        { name: 'edge', d: { seqs: Math.max(1, Math.round(elements / (960 * 32))), T: 960, heads: 8, headDim: 4, dState: 8 } },
      ];
      const runs: Batch[] = [];
      for (const { name, d } of streams) {
        const CH = d.heads * d.headDim;
        const rows = [d.seqs, d.T];
        const xbc = keep(await randomTensor(s, [...rows, CH + 2 * d.dState], precision, `${name}.xbc`, [-1, 1]));
        const dt = keep(await randomTensor(s, [...rows, d.heads], precision, `${name}.dt`, [-4, 0]));
        const inp: ScanInputs = {
          x: { tensor: xbc }, B: { tensor: xbc, offset: CH }, C: { tensor: xbc, offset: CH + d.dState }, dt: { tensor: dt },
          A: keep(await randomTensor(s, [d.heads], precision, 'A', [-8, -1])), D: keep(await randomTensor(s, [d.heads], precision, 'D', [0.5, 1.5])),
          dtBias: keep(await randomTensor(s, [d.heads], precision, 'dt_bias', [-4, -2])),
        };
        const y = { tensor: keep(await s.arena.tensor([...rows, CH], precision, 'y')) };
        const dy = { tensor: keep(await randomTensor(s, [...rows, CH], precision, 'dy')) };
        const grads = {
          dxBC: { tensor: keep(await s.arena.tensor(xbc.shape, precision, 'dxbc')), xOffset: 0, bOffset: CH, cOffset: CH + d.dState },
          ddt: { tensor: keep(await s.arena.tensor(dt.shape, precision, 'ddt')) },
          dA: keep(await s.arena.tensor([d.heads], precision, 'dA')), dD: keep(await s.arena.tensor([d.heads], precision, 'dD')),
          dDtBias: keep(await s.arena.tensor([d.heads], precision, 'ddt_bias')),
        };
        // Chunk sizes whose workgroup memory this adapter offers (node at chunk 32 needs 30 KiB).
        const room = s.device.limits.maxComputeWorkgroupStorageSize;
        const chunks = [...new Set([16, 32, defaultChunk(d.dState)])].filter((q) => chunkedScanRuns(d, precision, room, q));
        const states = new Map<number, GpuTensor>();
        for (const q of new Set([...chunks, defaultChunk(d.dState)])) states.set(q, keep(await s.arena.tensor(statesShape(d, q), 'f32', `states.${q}`)));
        const q0 = defaultChunk(d.dState);
        const rule = scanFormFor(d);
        const tag = `scan.${name} seqs ${d.seqs} (rule: ${rule === 'chunked' ? `chunked${q0}` : rule})`;
        runs.push(async (ss) => {
          await scanSequential(ss, d, inp, y, { states: states.get(q0)!, chunk: q0, label: `${tag} sequential` });
          for (const q of chunks) await scanChunked(ss, d, inp, y, states.get(q)!, { chunk: q, label: `${tag} chunked${q}` });
          await scanBackward(ss, d, inp, dy, states.get(q0)!, grads, { chunk: q0, label: tag });
        });
      }
      const batch: Batch = async (ss) => { for (const r of runs) await r(ss); };
      return { batch, release: releaser(s, made) };
    },
  },
  {
    // The v3 TCN's conv GEMMs (forward, dx, dw) on both tiles; --elements 125829120 gives batch 16, the
    // profile's b16 shapes. Labels name the tile forced and the rule's pick for the forward.
    family: 'conv1d',
    async prepare(s, precision, elements) {
      const B = Math.max(1, Math.round(elements / (512 * 15360)));
      const L = 15360;
      const made: GpuTensor[] = [];
      const keep = (t: GpuTensor) => (made.push(t), t);
      const runs: Batch[] = [];
      for (const c of V3_CONVS) {
        const geo = { stride: c.stride ?? 1, dilation: c.dilation ?? 1, padding: c.stride ? 0 : ((c.dilation ?? 1) * (c.taps - 1)) / 2 };
        const lenOut = conv1dOutputLength(L, c.taps, geo);
        const x = keep(await randomTensor(s, [B, c.cIn, L], precision, `${c.name}.x`));
        const w = keep(await randomTensor(s, [c.cOut, c.cIn, c.taps], precision, `${c.name}.w`, [-0.1, 0.1]));
        const bias = keep(await randomTensor(s, [c.cOut], precision, `${c.name}.b`));
        const y = keep(await s.arena.tensor([B, c.cOut, lenOut], precision, `${c.name}.y`));
        const dy = keep(await randomTensor(s, [B, c.cOut, lenOut], precision, `${c.name}.dy`));
        const dx = keep(await s.arena.tensor(x.shape, precision, `${c.name}.dx`));
        const dw = keep(await s.arena.tensor(w.shape, precision, `${c.name}.dw`));
        const rule = pickGemmTile({ M: c.cOut, N: lenOut, K: c.cIn * c.taps, batches: B, sumBatches: 1 }, true);
        runs.push((ss) => eachGemmTile(ss, async (tile) => {
          const label = `conv ${c.name} ${tile} (rule: ${rule})`;
          await conv1d(ss, x, w, bias, y, { ...geo, label });
          await conv1dBackward(ss, x, w, dy, { dx, dw }, { ...geo, label });
        }));
      }
      const batch: Batch = async (ss) => { for (const r of runs) await r(ss); };
      return { batch, release: releaser(s, made) };
    },
  },
  {
    // Dense products on both tiles: a square [R, 512] x [512, 512] (large by the rule from R = 2,112) and a Mamba-like
    // narrow projection [R, 64] x [64, 40] (small: N < 64), forward and backward; R = elements / 512.
    family: 'matmul',
    async prepare(s, precision, elements) {
      const R = Math.max(64, Math.round(elements / 512));
      const made: GpuTensor[] = [];
      const keep = (t: GpuTensor) => (made.push(t), t);
      const runs: Batch[] = [];
      for (const [name, K, N] of [['square', 512, 512], ['narrow', 64, 40]] as const) {
        const a = keep(await randomTensor(s, [R, K], precision, `${name}.a`));
        const b = keep(await randomTensor(s, [K, N], precision, `${name}.b`, [-0.1, 0.1]));
        const c = keep(await s.arena.tensor([R, N], precision, `${name}.c`));
        const dc = keep(await randomTensor(s, [R, N], precision, `${name}.dc`));
        const da = keep(await s.arena.tensor(a.shape, precision, `${name}.da`));
        const db = keep(await s.arena.tensor(b.shape, precision, `${name}.db`));
        const rule = pickGemmTile({ M: R, N, K, batches: 1, sumBatches: 1 }, true);
        runs.push((ss) => eachGemmTile(ss, async (tile) => {
          const label = `matmul ${name} ${tile} (rule: ${rule})`;
          await matmul(ss, a, b, c, { label });
          await matmulBackward(ss, a, b, dc, { da, db }, { label });
        }));
      }
      const batch: Batch = async (ss) => { for (const r of runs) await r(ss); };
      return { batch, release: releaser(s, made) };
    },
  },
  {
    // The graph path at T 960: cosine edges, top-k adjacency, SSGConv propagation (F 64), each with its backward.
    family: 'graph',
    async prepare(s, precision, elements) {
      const d = { B: Math.max(1, Math.round(elements / (19 * 960 * 64))), T: 960, E: 19, D: 64, F: 64 };
      const u = await randomTensor(s, [d.B, d.E, d.T, d.D], precision, 'u');
      const w = await randomTensor(s, [d.B, pairCount(d.E), d.T], precision, 'w', [0, 1]);
      const gw = await randomTensor(s, [...w.shape], precision, 'gw');
      const cos = await s.arena.tensor(w.shape, precision, 'cos');
      const du = await s.arena.tensor(u.shape, precision, 'du');
      const adj = await s.arena.tensor(adjacencyShape(d), precision, 'adj');
      const dadj = await s.arena.tensor(adjacencyShape(d), precision, 'dadj');
      const h = await s.arena.tensor(u.shape, precision, 'h');
      const batch: Batch = async (ss) => {
        await cosineEdges(ss, d, u, 'BETD', cos, 'edges.cosine');
        await cosineEdgesBackward(ss, d, u, 'BETD', gw, du, 'edges.cosine.bwd');
        await topkAdjacency(ss, d, w, adj);
        await ssgconvPropagate(ss, d, 'sequence-major', u, adj, h);
        await ssgconvPropagateBackward(ss, d, 'sequence-major', u, adj, u, du, dadj);
        await topkAdjacencyBackward(ss, d, w, dadj, gw);
      };
      return { batch, release: releaser(s, [u, w, gw, cos, du, adj, dadj, h]) };
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
