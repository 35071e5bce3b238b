// The float64 backward references are what the GPU backward kernels are judged against, so they are checked
// here against central finite differences of the forward references (CPU only): L = sum(r * f(inputs)) for a
// random r, dL/dinput numerically versus the reference's gradient given dy = r.
import { describe, expect, it } from 'vitest';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';
import { matmulBackwardReference, matmulReference, type MatmulRefShape } from '../../src/kernels/matmul.ts';
import { layerNormBackwardReference, layerNormReference } from '../../src/kernels/layernorm.ts';
import { conv1dBackwardReference, conv1dReference, refOutputLength, type Conv1dRefDims } from '../../src/kernels/conv1d.ts';
import { weightNormBackwardReference, weightNormReference } from '../../src/kernels/weight-norm.ts';
import { depthwiseConvBackwardReference, depthwiseConvReference, type DepthwiseRefDims } from '../../src/kernels/depthwise-conv.ts';
import { gatedRmsNormBackwardReference, gatedRmsNormReference, type GatedRmsNormRefDims } from '../../src/kernels/gated-rmsnorm.ts';
import { upsampleBackwardReference, upsampleReference } from '../../src/kernels/head.ts';
import { reduceReference, sumKeepReference } from '../../src/kernels/reduce.ts';

type Inputs = Record<string, Float64Array>;

function random(rng: () => number, n: number, lo = -2, hi = 2): Float64Array {
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * rng());
}

/** Largest |numeric - analytic| over every input element, relative to the largest |analytic|. */
function gradientError(inputs: Inputs, outLength: number, forward: (i: Inputs) => Float64Array, analytic: (i: Inputs, dy: Float64Array) => Inputs, rng: () => number): Record<string, number> {
  const dy = random(rng, outLength);
  const grads = analytic(inputs, dy);
  const loss = (i: Inputs) => forward(i).reduce((a, v, k) => a + v * dy[k]!, 0);
  const errors: Record<string, number> = {};
  for (const [name, g] of Object.entries(grads)) {
    const x = inputs[name]!;
    let diff = 0, scale = 0;
    for (let k = 0; k < x.length; k++) {
      const h = 1e-6 * Math.max(1, Math.abs(x[k]!));
      const keep = x[k]!;
      x[k] = keep + h;
      const up = loss(inputs);
      x[k] = keep - h;
      const down = loss(inputs);
      x[k] = keep;
      diff = Math.max(diff, Math.abs((up - down) / (2 * h) - g[k]!));
      scale = Math.max(scale, Math.abs(g[k]!));
    }
    errors[name] = diff / Math.max(scale, 1e-30);
  }
  return errors;
}

const LIMIT = 1e-6;

describe('backward references agree with finite differences of the forward references', () => {
  const seed = freshSeed();
  const rng = makeRng(seed);
  const check = (errors: Record<string, number>) => {
    for (const [name, e] of Object.entries(errors)) expect(e, `${name} (seed ${seed})`).toBeLessThan(LIMIT);
  };

  it('matmul with transposes and a broadcast operand', () => {
    const sh: MatmulRefShape = { batchA: 1, batchB: 3, M: 4, N: 5, K: 6, transA: true, transB: true };
    const inputs = { a: random(rng, 4 * 6), b: random(rng, 3 * 5 * 6), bias: random(rng, 5) };
    check(gradientError(inputs, 3 * 4 * 5, (i) => matmulReference(i.a!, i.b!, sh, i.bias), (i, dy) => {
      const g = matmulBackwardReference(i.a!, i.b!, dy, sh);
      return { a: g.da, b: g.db, bias: g.dbias };
    }, rng));
  });

  it('layernorm', () => {
    const inputs = { x: random(rng, 3 * 7), gamma: random(rng, 7), beta: random(rng, 7) };
    check(gradientError(inputs, 21, (i) => layerNormReference(i.x!, i.gamma!, i.beta!, 7).y, (i, dy) => {
      const g = layerNormBackwardReference(i.x!, i.gamma!, dy, 7);
      return { x: g.dx, gamma: g.dgamma, beta: g.dbeta };
    }, rng));
  });

  for (const d of [
    { batch: 2, cIn: 3, cOut: 2, lenIn: 11, taps: 3, stride: 2, dilation: 2, padding: 2 },
    { batch: 1, cIn: 2, cOut: 3, lenIn: 12, taps: 4, stride: 4, dilation: 1, padding: 0 },
  ] as Conv1dRefDims[]) {
    it(`conv1d k${d.taps} s${d.stride} d${d.dilation} p${d.padding}`, () => {
      const inputs = { x: random(rng, d.batch * d.cIn * d.lenIn), w: random(rng, d.cOut * d.cIn * d.taps), bias: random(rng, d.cOut) };
      check(gradientError(inputs, d.batch * d.cOut * refOutputLength(d), (i) => conv1dReference(i.x!, i.w!, i.bias, d), (i, dy) => {
        const g = conv1dBackwardReference(i.x!, i.w!, dy, d);
        return { x: g.dx, w: g.dw, bias: g.db };
      }, rng));
    });
  }

  it('weight normalisation', () => {
    const inputs = { v: random(rng, 3 * 2 * 4), g: random(rng, 3) };
    check(gradientError(inputs, 24, (i) => weightNormReference(i.v!, i.g!, 3).w, (i, dy) => {
      const g = weightNormBackwardReference(i.v!, i.g!, dy, 3);
      return { v: g.dv, g: g.dg };
    }, rng));
  });

  for (const reverse of [false, true]) {
    it(`depthwise causal conv on a channel slice${reverse ? ', reversed' : ''}`, () => {
      const d: DepthwiseRefDims = { seqs: 2, steps: 6, width: 7, offset: 2, channels: 3, taps: 4, reverse };
      const inputs = { x: random(rng, 2 * 6 * 7), w: random(rng, 3 * 4), bias: random(rng, 3) };
      check(gradientError(inputs, 2 * 6 * 3, (i) => depthwiseConvReference(i.x!, i.w!, i.bias!, d), (i, dy) => {
        const g = depthwiseConvBackwardReference(i.x!, i.w!, dy, d);
        return { x: g.dx, w: g.dw, bias: g.db };
      }, rng));
    });
  }

  it('gated RMSNorm with z as a slice', () => {
    const d: GatedRmsNormRefDims = { rows: 3, cols: 5, zWidth: 9, zOffset: 3 };
    const inputs = { x: random(rng, 15), z: random(rng, 27), w: random(rng, 5) };
    check(gradientError(inputs, 15, (i) => gatedRmsNormReference(i.x!, i.z!, i.w!, d).y, (i, dy) => {
      const g = gatedRmsNormBackwardReference(i.x!, i.z!, i.w!, dy, d);
      return { x: g.dx, z: g.dz, w: g.dw };
    }, rng));
  });

  it('nearest upsampling', () => {
    const inputs = { x: random(rng, 2 * 5) };
    check(gradientError(inputs, 2 * 15, (i) => upsampleReference(i.x!, 5, 3), (_, dy) => ({ x: upsampleBackwardReference(dy, 5, 3) }), rng));
  });
});

describe('reduction references', () => {
  it('agree with direct sums on a hand-written tensor', () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]; // [2, 3, 2]
    expect([...reduceReference('sum', x, [2, 3, 2], 1)]).toEqual([9, 12, 27, 30]);
    expect([...reduceReference('mean', x, [2, 3, 2], 0)]).toEqual([4, 5, 6, 7, 8, 9]);
    expect([...reduceReference('max', x, [2, 3, 2], 2)]).toEqual([2, 4, 6, 8, 10, 12]);
    expect([...sumKeepReference(x, [2, 3, 2], 1)]).toEqual([1 + 2 + 7 + 8, 3 + 4 + 9 + 10, 5 + 6 + 11 + 12]);
  });
});
