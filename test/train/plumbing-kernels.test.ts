// The training plumbing kernels and dropout against float64 references, on fresh random inputs with odd shapes,
// outputs poisoned first, in every precision the adapter has (tolerances from the kernel harness).
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import { freshSeed, makeRng, relativeError, TOLERANCE } from '../harness/kernel-harness.ts';
import { accumulateF32, addInto, castFromF32, negExp, negExpBackward, sliceColumns } from '../../src/kernels/grad-plumbing.ts';
import { dropout, dropoutKey, dropoutReference } from '../../src/kernels/dropout.ts';
import type { Precision } from '../../src/gpu/precision.ts';

const gpu = await testGpu();
const seed = freshSeed();
const rng = makeRng(seed);
const rand = (n: number) => Float64Array.from({ length: n }, () => rng() * 2 - 1);

describe.skipIf(!gpu.session)('training plumbing kernels', () => {
  for (const p of gpu.precisions as Precision[]) {
    it(`${p}: cast, accumulate, add-into, slice, neg-exp, dropout (seed ${seed})`, async () => {
      const s = gpu.session!, a = s.arena, tol = TOLERANCE[p];
      const check = async (t: Parameters<typeof s.read>[0], ref: ArrayLike<number>, what: string) => expect(relativeError(await s.read(t), ref), what).toBeLessThanOrEqual(tol);
      const [R, C] = [5, 7];
      const src = rand(3 + R * C);
      const f32src = await a.upload(src, [3 + R * C], 'f32');
      const y = await a.tensor([R, C], p); a.fill(y);
      await castFromF32(s, f32src, y, 'cast', 3);
      await check(y, src.subarray(3), 'cast with offset');
      const acc = await a.upload(rand(R * C), [R, C], 'f32');
      const before = await s.read(acc);
      const yv = await s.read(y);
      await accumulateF32(s, y, acc, { keep: 1, scale: 0.5 });
      await check(acc, before.map((v, i) => v + 0.5 * yv[i]!), 'accumulate');
      a.fill(acc);
      await accumulateF32(s, y, acc, { keep: 0 });
      await check(acc, yv, 'accumulate overwrites poison');
      const g = await a.upload(rand(R * C), [R, C], p);
      const gv = await s.read(g);
      await addInto(s, g, y);
      await check(y, yv.map((v, i) => v + gv[i]!), 'add into');
      const wide = await a.upload(rand(R * 9), [R, 9], p), wv = await s.read(wide);
      const part = await a.tensor([R, 3], p); a.fill(part);
      await sliceColumns(s, wide, 5, part);
      await check(part, Array.from({ length: R * 3 }, (_, i) => wv[Math.floor(i / 3) * 9 + 5 + (i % 3)]!), 'slice');
      const aLog = await a.upload(rand(7).map((v) => 1.5 + v), [7], p), av = await s.read(aLog);
      const A = await a.tensor([7], p); a.fill(A);
      await negExp(s, aLog, A);
      await check(A, av.map((v) => -Math.exp(v)), 'neg exp');
      const dA = await a.upload(rand(7), [7], p), dAv = await s.read(dA), Av = await s.read(A);
      const dLog = await a.tensor([7], p); a.fill(dLog);
      await negExpBackward(s, A, dA, dLog);
      await check(dLog, dAv.map((v, i) => v * Av[i]!), 'neg exp backward');
      const x = await a.upload(rand(3 * 11), [3, 11], p), xv = await s.read(x);
      const out = await a.tensor([3, 11], p); a.fill(out);
      const o = { p: 0.3, key: dropoutKey(5, 2, 9), base: 33 };
      await dropout(s, x, out, o);
      const ref = dropoutReference(xv, o);
      await check(out, ref, 'dropout');
      const dropped = ref.filter((v) => v === 0).length;
      expect(dropped, 'some elements dropped, most kept').toBeGreaterThan(0);
      expect(dropped).toBeLessThan(33);
      for (const t of [f32src, y, acc, g, wide, part, aLog, A, dA, dLog, x, out]) a.release(t);
    });
  }
});
