/**
 * Tiled batched matmul: C[b] = act(op(A[b]) op(B[b]) + bias), op an optional transpose of either operand,
 * a batch-1 operand broadcast over the other's batches, bias per output column, activation none / relu / silu /
 * gelu / softplus. Backward = matmuls with transposes (and a batch-summing contraction for a broadcast
 * operand) plus `sumKeep` for the bias.
 *
 * Shapes: A [M, K] or [Ba, M, K] ([K, M] / [Ba, K, M] when transA), B [K, N] or [Bb, K, N] ([N, K] ... when
 * transB), C [M, N] when both are 2-D, else [batch, M, N] with batch = max(Ba, Bb) and Ba, Bb in {1, batch}.
 * Geometry: one workgroup per 32 x 32 (or, for big products, 64 x 64: pickGemmTile in gemm-split.ts) tile of C per
 * batch (gemm_tile.wgsl, or in the f16 modes the subgroup-matrix core where the device offers it:
 * gemm-subgroup-matrix.ts), grid linearised; few tiles with a
 * long K run split-K (gemm-split.ts: f32 partials, fixed-order combine).
 * Sizes: each operand must fit one storage binding (maxStorageBufferBindingSize: 128 MiB on lavapipe = 33.5M
 * f32 / 67M half elements; 2 GiB - 4 on the H200); offsets are u32 (batch x rows x row length < 2^32).
 */
import matmulSource from '../../shaders/matmul.wgsl?raw';
import activationSource from '../../shaders/activation.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { expectBindable, expectShape, numel, packParams, physicalRow, samePrecision, viewAs } from './layout.ts';
import { sumKeep } from './reduce.ts';
import { combineSplits } from './gemm-split.ts';
import { erf } from './math.ts';
import { TILED_CORE, gemmShader, planGemm } from './gemm-subgroup-matrix.ts';

/** Operand access and epilogue; the GEMM core is appended by gemmShader. */
const MATMUL_PARTS = { name: 'matmul.wgsl', source: `${matmulSource}\n${activationSource}` };
export const MATMUL_SHADER = gemmShader(MATMUL_PARTS, TILED_CORE);
export const ACTIVATIONS = ['none', 'relu', 'silu', 'gelu', 'softplus'] as const;
export type Activation = (typeof ACTIVATIONS)[number];
export const ACTIVATION_CODE: Record<Activation, number> = { none: 0, relu: 1, silu: 2, gelu: 3, softplus: 4 };
/** FLOPs per element of the epilogue activation (transcendentals count 1), as elementwise.ts counts them. */
export const ACTIVATION_FLOPS: Record<Activation, number> = { none: 0, relu: 1, silu: 4, gelu: 12, softplus: 5 };

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** [N], added to every row of C before the activation. */
  bias?: GpuTensor;
  activation?: Activation;
  label?: string;
}

export interface MatmulDims {
  batch: number;
  M: number;
  N: number;
  K: number;
  aBatched: boolean;
  bBatched: boolean;
}

/** Checks the operand shapes and returns the problem size; errors name the dimension that disagrees. */
export function matmulDims(a: GpuTensor, b: GpuTensor, transA = false, transB = false): MatmulDims {
  for (const t of [a, b]) {
    if (t.shape.length !== 2 && t.shape.length !== 3) throw new Error(`matmul: ${t.label} must be 2-D or 3-D (batch first), got [${t.shape.join(', ')}]`);
  }
  const ra = a.shape.length, rb = b.shape.length;
  const M = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kB = transB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const N = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (K !== kB) {
    throw new Error(`matmul: inner dimension K differs: ${a.label} [${a.shape.join(', ')}]${transA ? ' (transposed)' : ''} has K = ${K}, ${b.label} [${b.shape.join(', ')}]${transB ? ' (transposed)' : ''} has K = ${kB}`);
  }
  const Ba = ra === 3 ? a.shape[0]! : 1;
  const Bb = rb === 3 ? b.shape[0]! : 1;
  if (Ba !== Bb && Ba !== 1 && Bb !== 1) throw new Error(`matmul: batch sizes ${Ba} (${a.label}) and ${Bb} (${b.label}) differ and neither is 1`);
  return { batch: Math.max(Ba, Bb), M, N, K, aBatched: Ba > 1, bBatched: Bb > 1 };
}

function outShape(d: MatmulDims, a: GpuTensor, b: GpuTensor): number[] {
  return a.shape.length === 3 || b.shape.length === 3 ? [d.batch, d.M, d.N] : [d.M, d.N];
}

export interface MatmulCost {
  flops: number;
  bytes: number;
}

/** 2 M N K per batch plus the epilogue; bytes of both operands read once and C written once. */
export function matmulCost(a: GpuTensor, b: GpuTensor, c: GpuTensor, d: MatmulDims, activation: Activation = 'none', bias = false): MatmulCost {
  const outs = d.batch * d.M * d.N;
  return { flops: 2 * d.K * outs + outs * (ACTIVATION_FLOPS[activation] + (bias ? 1 : 0)), bytes: a.bytes + b.bytes + c.bytes };
}

/** An operand as the GEMM core reads it. */
interface Operand {
  t: GpuTensor;
  trans: boolean;
  /** Stored elements between batches; 0 broadcasts. */
  batchStride: number;
}

function operand(t: GpuTensor, trans: boolean, batched: boolean): Operand {
  const r = t.shape.length;
  return { t, trans, batchStride: batched ? t.shape[r - 2]! * physicalRow(t) : 0 };
}

interface GemmRun {
  lhs: Operand;
  rhs: Operand;
  out: GpuTensor;
  M: number;
  N: number;
  K: number;
  /** Output batches (grid) and batches summed inside the contraction. */
  batches: number;
  sumBatches: number;
  bias?: GpuTensor;
  activation: Activation;
  label: string;
  flops: number;
  bytes: number;
}

async function runGemm(s: ComputeSession, g: GemmRun): Promise<void> {
  const shape = { M: g.M, N: g.N, K: g.K, batches: g.batches, sumBatches: g.sumBatches };
  const { plan, tile, shader, defines } = await planGemm(s, g.out.precision, MATMUL_PARTS, shape);
  const outBatch = g.batches > 1 ? g.M * physicalRow(g.out) : 0;
  const params = packParams([
    g.M, g.N, g.K, g.batches, g.sumBatches, plan.tilesM, plan.tilesN, plan.splits, plan.splitTiles,
    physicalRow(g.lhs.t), physicalRow(g.rhs.t), physicalRow(g.out), g.lhs.batchStride, g.rhs.batchStride, outBatch,
    g.lhs.trans ? 1 : 0, g.rhs.trans ? 1 : 0, ACTIVATION_CODE[g.activation],
  ]);
  const split = plan.splits > 1;
  const partial = split ? await s.scratch([plan.partialElements], 'f32', `${g.label} split-K partials`) : undefined;
  const tensors = [g.lhs.t, g.rhs.t, partial ?? g.out];
  if (g.bias && !split) tensors.push(g.bias);
  await s.dispatch({
    shader, entry: 'gemm', precision: g.out.precision,
    defines: { BIAS: Boolean(g.bias) && !split, SPLIT_K: split, ...defines }, params, tensors,
    workgroups: plan.workgroups, label: g.label, flops: g.flops, bytes: g.bytes,
    shapes: `${g.batches * g.sumBatches}x[${g.M}x${g.K}]${g.lhs.trans ? 'T' : ''}.[${g.K}x${g.N}]${g.rhs.trans ? 'T' : ''} ${tile}${split ? ` split ${plan.splits}` : ''}`,
  });
  if (partial) {
    await combineSplits(s, {
      shape, plan, partial, out: g.out, outStride: physicalRow(g.out), outBatch: g.M * physicalRow(g.out),
      bias: g.bias ? { t: g.bias, per: 'column' } : undefined, activation: ACTIVATION_CODE[g.activation], label: g.label,
    });
  }
}

export async function matmul(s: ComputeSession, a: GpuTensor, b: GpuTensor, c: GpuTensor, opts: MatmulOptions = {}): Promise<void> {
  const transA = opts.transA ?? false, transB = opts.transB ?? false, activation = opts.activation ?? 'none';
  const d = matmulDims(a, b, transA, transB);
  const tensors = opts.bias ? [a, b, c, opts.bias] : [a, b, c];
  samePrecision('matmul', ...tensors);
  expectShape('matmul', c, outShape(d, a, b), 'the product of the operands');
  if (opts.bias) expectShape('matmul', opts.bias, [d.N], 'one bias per output column N');
  expectBindable('matmul', s, ...tensors);
  if (d.M === 0 || d.N === 0) return;
  const cost = matmulCost(a, b, c, d, activation, Boolean(opts.bias));
  await runGemm(s, {
    lhs: operand(a, transA, d.aBatched), rhs: operand(b, transB, d.bBatched), out: c, M: d.M, N: d.N, K: d.K,
    batches: d.batch, sumBatches: 1, bias: opts.bias, activation, label: opts.label ?? 'matmul', ...cost,
  });
}

export interface MatmulGrads {
  /** Shape of a: gets dL/dA (summed over the batch when a is broadcast). */
  da?: GpuTensor;
  db?: GpuTensor;
  /** [N]: dL/dbias = dC summed over batch and rows. */
  dbias?: GpuTensor;
}

/**
 * Gradients of C = op(A) op(B) + bias given dc = dL/dC taken before the activation (run the activation's
 * backward from elementwise.ts first when the forward fused one).
 */
export async function matmulBackward(s: ComputeSession, a: GpuTensor, b: GpuTensor, dc: GpuTensor, grads: MatmulGrads, opts: Omit<MatmulOptions, 'bias' | 'activation'> = {}): Promise<void> {
  const transA = opts.transA ?? false, transB = opts.transB ?? false, label = opts.label ?? 'matmul';
  const d = matmulDims(a, b, transA, transB);
  samePrecision('matmul backward', a, b, dc, ...[grads.da, grads.db, grads.dbias].filter((t): t is GpuTensor => Boolean(t)));
  expectShape('matmul backward', dc, outShape(d, a, b), 'dL/dC has the shape of C');
  if (grads.da) expectShape('matmul backward', grads.da, a.shape, `dL/dA has the shape of ${a.label}`);
  if (grads.db) expectShape('matmul backward', grads.db, b.shape, `dL/dB has the shape of ${b.label}`);
  if (grads.dbias) expectShape('matmul backward', grads.dbias, [d.N], 'one bias per output column N');
  const dcBatched = d.batch > 1;
  const flops = 2 * d.batch * d.M * d.N * d.K;
  if (grads.da) {
    expectBindable('matmul backward', s, a, b, dc, grads.da);
    const dcOp = (trans: boolean) => operand(dc, trans, dcBatched);
    const bOp = (trans: boolean) => operand(b, trans, d.bBatched);
    // dA = dC op(B)^T, or stored transposed: op(B) dC^T.
    const [lhs, rhs, M, N] = transA ? [bOp(transB), dcOp(true), d.K, d.M] : [dcOp(false), bOp(!transB), d.M, d.K];
    const batches = d.aBatched ? d.batch : 1;
    await runGemm(s, {
      lhs, rhs, out: grads.da, M, N, K: d.N, batches, sumBatches: d.batch / batches, activation: 'none',
      label: `${label}.bwd.da`, flops, bytes: b.bytes + dc.bytes + grads.da.bytes,
    });
  }
  if (grads.db) {
    expectBindable('matmul backward', s, a, b, dc, grads.db);
    const dcOp = (trans: boolean) => operand(dc, trans, dcBatched);
    const aOp = (trans: boolean) => operand(a, trans, d.aBatched);
    // dB = op(A)^T dC, or stored transposed: dC^T op(A).
    const [lhs, rhs, M, N] = transB ? [dcOp(true), aOp(transA), d.N, d.K] : [aOp(!transA), dcOp(false), d.K, d.N];
    const batches = d.bBatched ? d.batch : 1;
    await runGemm(s, {
      lhs, rhs, out: grads.db, M, N, K: d.M, batches, sumBatches: d.batch / batches, activation: 'none',
      label: `${label}.bwd.db`, flops, bytes: a.bytes + dc.bytes + grads.db.bytes,
    });
  }
  if (grads.dbias) await sumKeep(s, viewAs(dc, [numel(dc.shape) / d.N, d.N]), grads.dbias, 1, `${label}.bwd.dbias`);
}

// ---- float64 CPU references ----

export function activationReference(kind: Activation, v: number): number {
  switch (kind) {
    case 'relu': return Math.max(v, 0);
    case 'silu': return v / (1 + Math.exp(-v));
    case 'gelu': return 0.5 * v * (1 + erf(v / Math.SQRT2));
    case 'softplus': return Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    default: return v;
  }
}

export interface MatmulRefShape {
  batchA: number;
  batchB: number;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
}

/** Logical index of op(A)[m, k] and op(B)[k, n] in their stored row-major layouts. */
function indexers(sh: MatmulRefShape): { aIdx: (bi: number, m: number, k: number) => number; bIdx: (bi: number, k: number, n: number) => number } {
  const { M, N, K } = sh;
  return {
    aIdx: (bi, m, k) => (sh.batchA > 1 ? bi : 0) * M * K + (sh.transA ? k * M + m : m * K + k),
    bIdx: (bi, k, n) => (sh.batchB > 1 ? bi : 0) * K * N + (sh.transB ? n * K + k : k * N + n),
  };
}

/** C = act(op(A) op(B) + bias), row-major logical values; batch = max(batchA, batchB). */
export function matmulReference(a: ArrayLike<number>, b: ArrayLike<number>, sh: MatmulRefShape, bias?: ArrayLike<number>, activation: Activation = 'none'): Float64Array {
  const batch = Math.max(sh.batchA, sh.batchB);
  const { M, N, K } = sh;
  const { aIdx, bIdx } = indexers(sh);
  const c = new Float64Array(batch * M * N);
  for (let bi = 0; bi < batch; bi++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = bias ? bias[n]! : 0;
        for (let k = 0; k < K; k++) acc += a[aIdx(bi, m, k)]! * b[bIdx(bi, k, n)]!;
        c[(bi * M + m) * N + n] = activationReference(activation, acc);
      }
    }
  }
  return c;
}

/** dA, dB (summed over batches where broadcast) and dbias from dC, by the definition of the product. */
export function matmulBackwardReference(a: ArrayLike<number>, b: ArrayLike<number>, dc: ArrayLike<number>, sh: MatmulRefShape): { da: Float64Array; db: Float64Array; dbias: Float64Array } {
  const batch = Math.max(sh.batchA, sh.batchB);
  const { M, N, K } = sh;
  const da = new Float64Array(sh.batchA * M * K);
  const db = new Float64Array(sh.batchB * K * N);
  const dbias = new Float64Array(N);
  const { aIdx, bIdx } = indexers(sh);
  for (let bi = 0; bi < batch; bi++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        const g = dc[(bi * M + m) * N + n]!;
        dbias[n]! += g;
        for (let k = 0; k < K; k++) {
          da[aIdx(bi, m, k)]! += g * b[bIdx(bi, k, n)]!;
          db[bIdx(bi, k, n)]! += g * a[aIdx(bi, m, k)]!;
        }
      }
    }
  }
  return { da, db, dbias };
}
