import type { KernelCase } from '../../harness/kernel-harness.ts';
import { layerNorm, layerNormBackward, layerNormBackwardReference, layerNormReference } from '../../../src/kernels/layernorm.ts';
import { numel } from '../../../src/kernels/layout.ts';
import { forceRowLanes } from '../../../src/kernels/row-lanes.ts';

/** Rows of 1, 7 (odd), 64 (the model's width), 1000 (more than one pass of the workgroup); leading dims 1..3. */
export const LAYERNORM_SHAPES: number[][] = [[1, 1], [7], [3, 7], [2, 19, 64], [5, 1000], [300, 16], [1, 33]];

export function layerNormCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const shape of LAYERNORM_SHAPES) {
    const cols = shape[shape.length - 1]!;
    const rows = numel(shape) / cols;
    const stats = async (s: Parameters<KernelCase['run']>[0]) => ({
      mean: await s.scratch([rows], 'f32', 'mean'),
      rstd: await s.scratch([rows], 'f32', 'rstd'),
    });
    cases.push({
      name: `layernorm [${shape}]`,
      inputs: [{ name: 'x', shape, range: [-3, 5] }, { name: 'gamma', shape: [cols] }, { name: 'beta', shape: [cols] }],
      outputs: [{ name: 'y', shape }],
      run: async (s, t) => layerNorm(s, t.x!, t.gamma!, t.beta!, t.y!, await stats(s)),
      reference: (i) => ({ y: layerNormReference(i.x!, i.gamma!, i.beta!, cols).y }),
    });
    cases.push({
      name: `layernorm.bwd [${shape}]`,
      inputs: [{ name: 'x', shape, range: [-3, 5] }, { name: 'gamma', shape: [cols] }, { name: 'beta', shape: [cols] }, { name: 'dy', shape }],
      outputs: [{ name: 'dx', shape }, { name: 'dgamma', shape: [cols] }, { name: 'dbeta', shape: [cols] }],
      run: async (s, t) => {
        const st = await stats(s);
        const y = await s.scratch(shape, t.x!.precision, 'y');
        await layerNorm(s, t.x!, t.gamma!, t.beta!, y, st);
        await layerNormBackward(s, t.x!, t.gamma!, t.dy!, st, { dx: t.dx!, dgamma: t.dgamma!, dbeta: t.dbeta! });
      },
      reference: (i) => layerNormBackwardReference(i.x!, i.gamma!, i.dy!, cols),
    });
  }
  // Every lane count of the row-lanes kernels (the rule picks 4 - 64 by width; on CPU adapters short forward rows
  // otherwise take an invocation each), on rows that leave the last workgroup part-filled.
  for (const lanes of [1, 4, 16, 64]) {
    for (const c of cases.filter((k) => ['[300,16]', '[3,7]', '[2,19,64]', '[1,33]'].some((sh) => k.name.endsWith(sh)))) {
      cases.push({ ...c, name: `${c.name} lanes ${lanes}`, run: withRowLanes(lanes, c.run) });
    }
  }
  return cases;
}

/** The case run with `lanes` lanes per row forced (and the rule back afterwards, whatever happens). */
export function withRowLanes(lanes: number, run: KernelCase['run']): KernelCase['run'] {
  return async (s, t, precision) => {
    forceRowLanes(lanes);
    try {
      await run(s, t, precision);
    } finally {
      forceRowLanes(undefined);
    }
  };
}
