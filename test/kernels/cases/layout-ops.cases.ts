import type { KernelCase } from '../../harness/kernel-harness.ts';
import { concatLast, concatLastReference, permute, permuteReference, repack } from '../../../src/kernels/layout-ops.ts';

export function layoutOpsCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  const perms: [number[], number[]][] = [
    [[2, 3, 5, 7], [0, 1, 3, 2]],
    [[1, 19, 5, 3], [0, 1, 3, 2]],
    [[3, 7], [1, 0]],
    [[2, 3, 4], [2, 0, 1]],
    [[1], [0]],
  ];
  for (const [shape, perm] of perms) {
    const out = perm.map((p) => shape[p]!);
    cases.push({
      name: `permute [${shape}] by [${perm}]`,
      inputs: [{ name: 'x', shape }],
      outputs: [{ name: 'y', shape: out }],
      run: (s, t) => permute(s, t.x!, perm, t.y!),
      reference: (i) => ({ y: permuteReference(i.x!, shape, perm) }),
    });
  }
  const reshapes: [number[], number[]][] = [[[3, 7], [3, 7, 1]], [[2, 5, 1], [2, 5]], [[4, 6], [8, 3]], [[7], [1, 7]]];
  for (const [from, to] of reshapes) {
    cases.push({
      name: `repack [${from}] -> [${to}]`,
      inputs: [{ name: 'x', shape: from }],
      outputs: [{ name: 'y', shape: to }],
      run: (s, t) => repack(s, t.x!, t.y!),
      reference: (i) => ({ y: i.x!.slice() }),
    });
  }
  const concats: [number[], number[], number[]][] = [
    [[2, 3, 4], [2, 3, 4], [2, 3, 8]],
    // Whole 16-byte chunks per row in every precision, no broadcast: concat_chunks (the v3 streams' 16 + 16, 64 + 16)
    [[5, 3, 16], [5, 3, 16], [5, 3, 32]],
    [[7, 64], [7, 16], [7, 80]],
    [[3, 8], [3, 24], [3, 32]],
    [[2, 19, 5, 16], [19, 1, 16], [2, 19, 5, 32]],
    [[3, 5], [3, 1], [3, 6]],
    [[1, 7], [1, 3], [1, 10]],
  ];
  for (const [as, bs, ys] of concats) {
    cases.push({
      name: `concat [${as}] [${bs}] -> [${ys}]`,
      inputs: [{ name: 'a', shape: as }, { name: 'b', shape: bs }],
      outputs: [{ name: 'y', shape: ys }],
      run: (s, t) => concatLast(s, t.a!, t.b!, t.y!),
      reference: (i) => ({ y: concatLastReference(i.a!, as, i.b!, bs, ys) }),
    });
  }
  return cases;
}
