import type { KernelCase } from '../../harness/kernel-harness.ts';
import {
  type GatedRmsNormRefDims, gatedRmsNorm, gatedRmsNormBackward, gatedRmsNormBackwardReference, gatedRmsNormReference,
} from '../../../src/kernels/gated-rmsnorm.ts';
import { zeroOutsideSlice } from './channel-slice.ts';
import { withRowLanes } from './layernorm.cases.ts';

interface Case extends GatedRmsNormRefDims {
  /** Leading dimensions of x (their product is rows). */
  lead: number[];
}

/**
 * D of 1, 7 (odd), 32 and 128 (edge and node d_inner), a row longer than the workgroup, z as a slice (odd D
 * only where the slice ends the row: packed stores are whole words).
 */
export const GATED_RMSNORM_SHAPES: Case[] = [
  { lead: [1], rows: 1, cols: 1, zWidth: 1, zOffset: 0 },
  { lead: [3], rows: 3, cols: 7, zWidth: 7, zOffset: 0 },
  { lead: [2, 5], rows: 10, cols: 32, zWidth: 90, zOffset: 0 },
  { lead: [4, 3], rows: 12, cols: 128, zWidth: 290, zOffset: 0 },
  { lead: [130], rows: 130, cols: 9, zWidth: 15, zOffset: 6 },
  { lead: [5], rows: 5, cols: 2, zWidth: 8, zOffset: 2 },
  { lead: [2], rows: 2, cols: 1000, zWidth: 1000, zOffset: 0 },
];

export function gatedRmsNormCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const d of GATED_RMSNORM_SHAPES) {
    const xShape = [...d.lead, d.cols];
    const zShape = [...d.lead, d.zWidth];
    const opts = { zOffset: d.zOffset };
    const name = `[${xShape}] z [${zShape}]@${d.zOffset}`;
    cases.push({
      name: `gated_rmsnorm ${name}`,
      inputs: [{ name: 'x', shape: xShape }, { name: 'z', shape: zShape, range: [-4, 4] }, { name: 'w', shape: [d.cols] }],
      outputs: [{ name: 'y', shape: xShape }],
      run: (s, t) => gatedRmsNorm(s, t.x!, t.z!, t.w!, t.y!, undefined, opts),
      reference: (i) => ({ y: gatedRmsNormReference(i.x!, i.z!, i.w!, d).y }),
    });
    // With D = 1 the output is +-w whatever x and z: the true gradient is ~eps/g^2 and its relative error meaningless.
    if (d.cols === 1) continue;
    cases.push({
      name: `gated_rmsnorm.bwd ${name}`,
      inputs: [{ name: 'x', shape: xShape }, { name: 'z', shape: zShape, range: [-4, 4] }, { name: 'w', shape: [d.cols] }, { name: 'dy', shape: xShape }],
      outputs: [{ name: 'dx', shape: xShape }, { name: 'dz', shape: zShape }, { name: 'dw', shape: [d.cols] }],
      run: async (s, t) => {
        zeroOutsideSlice(s, t.dz!, d.zOffset, d.cols);
        const rstd = await s.scratch([d.rows], 'f32', 'rstd');
        await gatedRmsNorm(s, t.x!, t.z!, t.w!, await s.scratch(xShape, t.x!.precision, 'y'), rstd, opts);
        await gatedRmsNormBackward(s, t.x!, t.z!, t.w!, t.dy!, rstd, { dx: t.dx!, dz: t.dz!, dw: t.dw! }, opts);
      },
      reference: (i) => gatedRmsNormBackwardReference(i.x!, i.z!, i.w!, i.dy!, d),
    });
  }
  // Every lane count of the row-lanes kernels, on rows that leave the last workgroup part-filled (130 rows).
  for (const lanes of [1, 4, 16, 64]) {
    for (const c of cases.filter((k) => k.name.includes('[130,9]') || k.name.includes('[2,5,32]'))) {
      cases.push({ ...c, name: `${c.name} lanes ${lanes}`, run: withRowLanes(lanes, c.run) });
    }
  }
  return cases;
}
