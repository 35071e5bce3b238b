import type { KernelCase } from '../../harness/kernel-harness.ts';
import {
  type Activation, type MatmulRefShape, matmul, matmulBackward, matmulBackwardReference, matmulReference,
} from '../../../src/kernels/matmul.ts';

interface MatmulCase extends MatmulRefShape {
  /** Rank of each operand: 2 (no batch dimension) or 3. */
  rankA: 2 | 3;
  rankB: 2 | 3;
  bias?: boolean;
  activation?: Activation;
}

/** Sizes 1, 7, 1000 and non-multiples of the 32 x 32 tile, every transpose, batches and broadcasts. */
export const MATMUL_SHAPES: MatmulCase[] = [
  { batchA: 1, batchB: 1, rankA: 2, rankB: 2, M: 1, N: 1, K: 1 },
  { batchA: 1, batchB: 1, rankA: 2, rankB: 2, M: 7, N: 7, K: 7, bias: true },
  { batchA: 1, batchB: 1, rankA: 2, rankB: 2, M: 7, N: 7, K: 1000 },
  { batchA: 1, batchB: 1, rankA: 2, rankB: 2, M: 1000, N: 33, K: 7, bias: true, activation: 'relu' },
  { batchA: 1, batchB: 1, rankA: 2, rankB: 2, M: 3, N: 1000, K: 65, transA: true },
  { batchA: 1, batchB: 1, rankA: 2, rankB: 2, M: 40, N: 31, K: 17, transB: true, bias: true, activation: 'gelu' },
  { batchA: 1, batchB: 1, rankA: 2, rankB: 2, M: 9, N: 10, K: 35, transA: true, transB: true, activation: 'silu' },
  { batchA: 3, batchB: 3, rankA: 3, rankB: 3, M: 33, N: 40, K: 17 },
  { batchA: 1, batchB: 3, rankA: 2, rankB: 3, M: 33, N: 40, K: 17, bias: true, activation: 'softplus' },
  { batchA: 4, batchB: 1, rankA: 3, rankB: 2, M: 7, N: 9, K: 5, transB: true },
  { batchA: 1, batchB: 2, rankA: 3, rankB: 3, M: 5, N: 6, K: 70, transA: true },
  // Split-K: a long K on one tile (bias and activation applied when the splits are combined), batched, and a
  // broadcast operand's gradient whose splits cross batch boundaries (da sums 3 batches of 13 K slices).
  { batchA: 1, batchB: 1, rankA: 2, rankB: 2, M: 5, N: 9, K: 600, bias: true, activation: 'gelu' },
  { batchA: 2, batchB: 2, rankA: 3, rankB: 3, M: 3, N: 4, K: 520, transB: true },
  { batchA: 1, batchB: 3, rankA: 2, rankB: 3, M: 6, N: 200, K: 5 },
  // For the subgroup-matrix core (f16 modes where the device offers it; 16 x 16 x 16 tiles on NVIDIA): one matrix
  // tile exactly, whole 32 x 32 blocks, half blocks at the edges with K off the 16-slice, and a larger ragged one.
  { batchA: 2, batchB: 2, rankA: 3, rankB: 3, M: 16, N: 16, K: 16 },
  { batchA: 1, batchB: 1, rankA: 2, rankB: 2, M: 64, N: 64, K: 64, bias: true },
  { batchA: 1, batchB: 1, rankA: 2, rankB: 2, M: 48, N: 80, K: 40, transA: true, bias: true, activation: 'relu' },
  { batchA: 1, batchB: 1, rankA: 2, rankB: 2, M: 130, N: 70, K: 300, transB: true },
  // For the large tile (64 x 64, K slices of 32; forced in gemm-core.test.ts and run-cases): whole tiles with K
  // on the slice, ragged by one on every edge with transposes, and a broadcast operand's gradient over batches.
  { batchA: 1, batchB: 1, rankA: 2, rankB: 2, M: 128, N: 192, K: 96, bias: true, activation: 'silu' },
  { batchA: 1, batchB: 1, rankA: 2, rankB: 2, M: 65, N: 129, K: 33, transA: true, transB: true },
  { batchA: 1, batchB: 3, rankA: 2, rankB: 3, M: 70, N: 66, K: 40, transA: true },
];

function shapes(c: MatmulCase): { a: number[]; b: number[]; c: number[] } {
  const a2 = c.transA ? [c.K, c.M] : [c.M, c.K];
  const b2 = c.transB ? [c.N, c.K] : [c.K, c.N];
  const batch = Math.max(c.batchA, c.batchB);
  return {
    a: c.rankA === 3 ? [c.batchA, ...a2] : a2,
    b: c.rankB === 3 ? [c.batchB, ...b2] : b2,
    c: c.rankA === 3 || c.rankB === 3 ? [batch, c.M, c.N] : [c.M, c.N],
  };
}

function describe(c: MatmulCase): string {
  const sh = shapes(c);
  const ops = `[${sh.a}]${c.transA ? 'T' : ''} x [${sh.b}]${c.transB ? 'T' : ''}`;
  return `${ops}${c.bias ? ' +bias' : ''}${c.activation ? ` ${c.activation}` : ''}`;
}

export function matmulCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const mc of MATMUL_SHAPES) {
    const sh = shapes(mc);
    const opts = { transA: mc.transA, transB: mc.transB };
    cases.push({
      name: `matmul ${describe(mc)}`,
      inputs: [{ name: 'a', shape: sh.a }, { name: 'b', shape: sh.b }, ...(mc.bias ? [{ name: 'bias', shape: [mc.N] }] : [])],
      outputs: [{ name: 'c', shape: sh.c }],
      run: (s, t) => matmul(s, t.a!, t.b!, t.c!, { ...opts, bias: t.bias, activation: mc.activation }),
      reference: (i) => ({ c: matmulReference(i.a!, i.b!, mc, i.bias, mc.activation) }),
    });
    cases.push({
      name: `matmul.bwd ${describe(mc)}`,
      inputs: [{ name: 'a', shape: sh.a }, { name: 'b', shape: sh.b }, { name: 'dc', shape: sh.c }],
      outputs: [{ name: 'da', shape: sh.a }, { name: 'db', shape: sh.b }, { name: 'dbias', shape: [mc.N] }],
      run: (s, t) => matmulBackward(s, t.a!, t.b!, t.dc!, { da: t.da, db: t.db, dbias: t.dbias }, opts),
      reference: (i) => matmulBackwardReference(i.a!, i.b!, i.dc!, mc),
    });
  }
  return cases;
}
