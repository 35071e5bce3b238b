import type { KernelCase } from '../../harness/kernel-harness.ts';
import { weightNorm, weightNormBackward, weightNormBackwardReference, weightNormReference } from '../../../src/kernels/weight-norm.ts';

/** [Cout, Cin, k]: single element, odd everything, k 7 and 16 (the TCN's), a row longer than the workgroup. */
export const WEIGHT_NORM_SHAPES: number[][] = [[1, 1, 1], [1, 1, 2], [3, 5, 7], [4, 2, 16], [7, 19, 7], [2, 300, 1]];

export function weightNormCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const shape of WEIGHT_NORM_SHAPES) {
    const cOut = shape[0]!;
    cases.push({
      name: `weight_norm [${shape}]`,
      inputs: [{ name: 'v', shape }, { name: 'g', shape: [cOut] }],
      outputs: [{ name: 'w', shape }],
      run: async (s, t) => weightNorm(s, t.v!, t.g!, t.w!, await s.scratch([cOut], 'f32', 'norm')),
      reference: (i) => ({ w: weightNormReference(i.v!, i.g!, cOut).w }),
    });
    // One element has no direction to move in: dv is exactly 0 there and its relative error meaningless.
    if (shape.every((d) => d === 1)) continue;
    cases.push({
      name: `weight_norm.bwd [${shape}]`,
      inputs: [{ name: 'v', shape }, { name: 'g', shape: [cOut] }, { name: 'dw', shape }],
      outputs: [{ name: 'dv', shape }, { name: 'dg', shape: [cOut] }],
      run: async (s, t) => {
        const norm = await s.scratch([cOut], 'f32', 'norm');
        await weightNorm(s, t.v!, t.g!, await s.scratch(shape, t.v!.precision, 'w'), norm);
        await weightNormBackward(s, t.v!, t.g!, norm, t.dw!, t.dv!, t.dg!);
      },
      reference: (i) => weightNormBackwardReference(i.v!, i.g!, i.dw!, cOut),
    });
  }
  return cases;
}
