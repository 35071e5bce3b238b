// Unscale + global-norm clip + AdamW on the GPU against the float64 reference, over several steps on fresh random
// gradients (awkward sizes, both parameter groups, clipping on and off), and the skipped step on an inf or NaN.
import { describe, expect, it } from 'vitest';
import type { IrDocument, IrParam } from '../../src/graph/ir.ts';
import type { GpuTensor } from '../../src/gpu/arena.ts';
import { AdamW, decodeStats, optimizerStateBytes, optimizerStepReference, optimizerWorkspaceBytes, type AdamWConfig, type AdamWReferenceState } from '../../src/train/optimizer.ts';
import { freshSeed, makeRng, relativeError, TOLERANCE } from '../harness/kernel-harness.ts';
import { testGpu } from '../harness/node-gpu-session.ts';

const gpu = await testGpu();

/** A single element, odd lengths, more than one norm block (1024), a weight-norm-like gain without decay. */
const SHAPES: [string, number[], boolean][] = [
  ['a.weight', [1], true], ['b.bias', [7], false], ['c.weight', [3, 33], true], ['d.weight', [2500], true], ['e.weight_g', [5, 1, 1], false],
];

function graph(): Pick<IrDocument, 'name' | 'params'> {
  const params: Record<string, IrParam> = {};
  for (const [name, shape, decay] of SHAPES) params[name] = { shape, dtype: 'F32', weight_decay: decay, init: { dist: 'const', value: 0 } };
  return { name: 'optimizer-test', params };
}

async function run(config: AdamWConfig, lossScale: number, steps: { lr: number; inject?: number }[]) {
  const s = gpu.session!;
  const seed = freshSeed();
  const rng = makeRng(seed);
  const draw = (n: number, k: number) => Float64Array.from({ length: n }, () => Math.fround((rng() * 2 - 1) * k));
  const params = new Map<string, GpuTensor>(), grads = new Map<string, GpuTensor>();
  const ref: AdamWReferenceState = { params: new Map(), m: new Map(), v: new Map(), steps: 0 };
  const decays = new Map(SHAPES.map(([name, , d]) => [name, d]));
  for (const [name, shape] of SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1);
    const p = draw(n, 1);
    ref.params.set(name, p.slice());
    ref.m.set(name, new Float64Array(n));
    ref.v.set(name, new Float64Array(n));
    params.set(name, await s.arena.upload(p, shape, 'f32', name));
    grads.set(name, await s.arena.tensor(shape, 'f32', `${name}.grad`));
  }
  const lossSum = await s.arena.upload([0.75], [1], 'f32', 'loss');
  const liveBefore = s.arena.liveBytes;
  const opt = await AdamW.create(s, graph(), params, grads, config);
  const arenaBytes = s.arena.liveBytes - liveBefore;
  opt.setLossScale(lossScale);
  const log: { stats: ReturnType<typeof decodeStats>; refStats: { gradNorm: number; foundInf: boolean }; errors: Record<string, number> }[] = [];
  try {
    for (const step of steps) {
      const g = new Map<string, Float64Array>();
      for (const [name, shape] of SHAPES) {
        const v = draw(shape.reduce((a, b) => a * b, 1), 3 * lossScale);
        if (step.inject !== undefined && name === 'c.weight') v[17] = step.inject;
        g.set(name, v);
        s.device.queue.writeBuffer(grads.get(name)!.buffer, 0, Float32Array.from(v));
      }
      await opt.record(lossSum, step.lr);
      const stats = decodeStats(await s.read(opt.stats));
      opt.afterStep(stats.foundInf);
      const refStats = optimizerStepReference(ref, g, decays, config, step.lr, lossScale);
      const errors: Record<string, number> = {};
      for (const [name] of SHAPES) {
        const { m, v } = opt.moments(name);
        errors[name] = relativeError(await s.read(params.get(name)!), ref.params.get(name)!);
        errors[`${name}.m`] = relativeError(await s.read(m), ref.m.get(name)!);
        errors[`${name}.v`] = relativeError(await s.read(v), ref.v.get(name)!);
      }
      log.push({ stats, refStats, errors });
    }
    return { log, seed, steps: opt.steps, stateBytes: opt.bytes, arenaBytes };
  } finally {
    opt.release();
    for (const t of [...params.values(), ...grads.values(), lossSum]) s.arena.release(t);
  }
}

const BACKEND: AdamWConfig = { lr: 5e-5, weightDecay: 0.05, betas: [0.9, 0.999], clipNorm: 0.5 };

describe.skipIf(!gpu.session)('AdamW with global-norm clipping and loss scaling (GPU vs float64)', () => {
  it('three clipped steps at the backend settings, unscaled by 1024, match every parameter and moment', async () => {
    const r = await run(BACKEND, 1024, [{ lr: 1e-3 }, { lr: 2e-3 }, { lr: 5e-4 }]);
    for (const [k, step] of r.log.entries()) {
      expect(step.stats.foundInf, `step ${k} seed ${r.seed}`).toBe(false);
      expect(step.stats.loss).toBe(0.75);
      expect(Math.abs(step.stats.gradNorm - step.refStats.gradNorm) / step.refStats.gradNorm, `seed ${r.seed}`).toBeLessThan(TOLERANCE.f32);
      expect(step.refStats.gradNorm).toBeGreaterThan(BACKEND.clipNorm); // the clip is active
      for (const [name, e] of Object.entries(step.errors)) expect(e, `step ${k} ${name} seed ${r.seed}`).toBeLessThanOrEqual(TOLERANCE.f32);
    }
    expect(r.steps).toBe(3);
  });

  it('without clipping and with a large weight decay, the no-decay group keeps its own rule', async () => {
    const r = await run({ lr: 0, weightDecay: 0.3, betas: [0.8, 0.95], eps: 1e-6, clipNorm: Infinity }, 1, [{ lr: 0.01 }, { lr: 0.02 }]);
    for (const [k, step] of r.log.entries()) {
      for (const [name, e] of Object.entries(step.errors)) expect(e, `step ${k} ${name} seed ${r.seed}`).toBeLessThanOrEqual(TOLERANCE.f32);
    }
  });

  it.each([['inf', Infinity], ['-inf', -Infinity], ['NaN', NaN]])('an %s gradient skips the step (nothing changes) and the next step goes on', async (_, bad) => {
    const r = await run(BACKEND, 65536, [{ lr: 1e-3 }, { lr: 1e-3, inject: bad }, { lr: 1e-3 }]);
    expect(r.log.map((x) => x.stats.foundInf)).toEqual([false, true, false]);
    expect(r.log[1]!.refStats.foundInf).toBe(true);
    expect(r.steps).toBe(2); // torch's step count does not advance on a skipped step (bias correction)
    for (const [k, step] of r.log.entries()) {
      for (const [name, e] of Object.entries(step.errors)) expect(e, `step ${k} ${name} seed ${r.seed}`).toBeLessThanOrEqual(TOLERANCE.f32);
    }
  });

  it('allocates what optimizerStateBytes and optimizerWorkspaceBytes say', async () => {
    const before = gpu.session!.arena.liveBytes;
    const r = await run(BACKEND, 1, [{ lr: 1e-3 }]);
    const partialBlocks = SHAPES.reduce((a, [, shape]) => a + Math.ceil(shape.reduce((x, y) => x * y, 1) / 1024), 0);
    expect(optimizerWorkspaceBytes(graph())).toBe(8 + 16 + 4 * (partialBlocks + (partialBlocks & 1)));
    expect(r.stateBytes).toBe(optimizerStateBytes(graph()) + optimizerWorkspaceBytes(graph()));
    expect(r.arenaBytes).toBe(r.stateBytes);
    expect(gpu.session!.arena.liveBytes).toBe(before); // all released
  });
});

describe('AdamW config errors', () => {
  it.skipIf(!gpu.session)('names a bad setting and a missing gradient', async () => {
    const s = gpu.session!;
    const ir = graph();
    await expect(AdamW.create(s, ir, new Map(), new Map(), { ...BACKEND, betas: [0.9, 1] })).rejects.toThrow(/betas/);
    await expect(AdamW.create(s, ir, new Map(), new Map(), BACKEND)).rejects.toThrow(/no master weight for parameter "a.weight"/);
  });
});
