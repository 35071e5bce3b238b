// The harness must be able to fail: deliberately wrong kernels (test/kernels/fixtures) run through the real
// modules' geometry and parameters (the session's dispatch swaps in the fixture shader) and must be caught,
// while the real kernels pass the very same cases.
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import { describeResult, runKernelCase, type KernelCase } from '../harness/kernel-harness.ts';
import type { ComputeSession, DispatchSpec } from '../../src/gpu/session.ts';
import { PRECISIONS } from '../../src/gpu/precision.ts';
import { reduce, reduceReference } from '../../src/kernels/reduce.ts';
import { unary, unaryReference } from '../../src/kernels/elementwise.ts';
import offByOne from './fixtures/reduce_off_by_one.wgsl?raw';
import skipsLast from './fixtures/reduce_skips_last_output.wgsl?raw';
import wrongConstant from './fixtures/silu_wrong_constant.wgsl?raw';

const gpu = await testGpu();

/** The session with every dispatch redirected to `source` (same entry names, params and bindings). */
function withShader(s: ComputeSession, name: string, source: string): ComputeSession {
  const swapped = Object.create(s) as ComputeSession;
  swapped.dispatch = (spec: DispatchSpec) => s.dispatch({ ...spec, shader: { name, source } });
  return swapped;
}

function redirected(c: KernelCase, shader?: { name: string; source: string }): KernelCase {
  return shader ? { ...c, run: (s, t, p) => c.run(withShader(s, shader.name, shader.source), t, p) } : c;
}

const rowSum: KernelCase = {
  name: 'reduce sum [16, 7] axis 1',
  inputs: [{ name: 'x', shape: [16, 7] }],
  outputs: [{ name: 'y', shape: [16] }],
  run: (s, t) => reduce(s, 'sum', t.x!, t.y!, 1),
  reference: (i) => ({ y: reduceReference('sum', i.x!, [16, 7], 1) }),
};

const silu: KernelCase = {
  name: 'silu [5, 33]',
  inputs: [{ name: 'x', shape: [5, 33], range: [-6, 6] }],
  outputs: [{ name: 'y', shape: [5, 33] }],
  run: (s, t) => unary(s, 'silu', t.x!, t.y!),
  reference: (i) => ({ y: unaryReference('silu', i.x!) }),
};

const wrong = [
  { what: 'an off-by-one loop bound', c: rowSum, shader: { name: 'fixture:reduce_off_by_one.wgsl', source: offByOne } },
  { what: 'a wrong constant', c: silu, shader: { name: 'fixture:silu_wrong_constant.wgsl', source: wrongConstant } },
  { what: 'an output it never writes', c: rowSum, shader: { name: 'fixture:reduce_skips_last_output.wgsl', source: skipsLast } },
];

describe.each(PRECISIONS)('kernel harness catches wrong kernels (%s)', (precision) => {
  const available = gpu.precisions.includes(precision);
  for (const { what, c, shader } of wrong) {
    it.skipIf(!available)(`a kernel with ${what} fails ${c.name}; the real kernel passes it`, async () => {
      const good = await runKernelCase(gpu.session!, c, precision);
      expect(good.pass, describeResult(good)).toBe(true);
      const bad = await runKernelCase(gpu.session!, redirected(c, shader), precision, good.seed);
      expect(bad.pass, `the harness accepted ${shader.name}: ${describeResult(bad)}`).toBe(false);
      if (what.includes('never writes')) {
        // The unwritten element still holds the poison (NaN), which reads as an infinite error.
        expect(bad.errors.y).toBe(Infinity);
      }
    });
  }
});
