import type { KernelCase } from '../../harness/kernel-harness.ts';
import {
  type DepthwiseRefDims, depthwiseConv, depthwiseConvBackward, depthwiseConvBackwardReference, depthwiseConvReference,
} from '../../../src/kernels/depthwise-conv.ts';
import { zeroOutsideSlice } from './channel-slice.ts';

/**
 * Mamba2's k = 4 at awkward sizes: one element, odd channel counts, a channel slice of a wider row (as [x, B, C]
 * sits in the in_proj output), the reversed direction, a sequence longer than the workgroup, odd taps.
 */
export const DEPTHWISE_SHAPES: DepthwiseRefDims[] = [
  { seqs: 1, steps: 1, width: 1, offset: 0, channels: 1, taps: 1, reverse: false },
  { seqs: 2, steps: 7, width: 5, offset: 0, channels: 5, taps: 4, reverse: false },
  { seqs: 3, steps: 50, width: 13, offset: 2, channels: 8, taps: 4, reverse: false },
  { seqs: 3, steps: 50, width: 13, offset: 2, channels: 8, taps: 4, reverse: true },
  { seqs: 2, steps: 33, width: 21, offset: 4, channels: 17, taps: 4, reverse: true },
  { seqs: 1, steps: 1000, width: 3, offset: 0, channels: 3, taps: 4, reverse: false },
  { seqs: 2, steps: 9, width: 6, offset: 0, channels: 6, taps: 3, reverse: true },
];

export function depthwiseConvCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const d of DEPTHWISE_SHAPES) {
    const xShape = [d.seqs, d.steps, d.width];
    const yShape = [d.seqs, d.steps, d.channels];
    const opts = { channelOffset: d.offset, reverse: d.reverse };
    const name = `[${xShape}] ch ${d.offset}+${d.channels} k${d.taps}${d.reverse ? ' reversed' : ''}`;
    cases.push({
      name: `depthwise_conv ${name}`,
      inputs: [{ name: 'x', shape: xShape }, { name: 'w', shape: [d.channels, d.taps] }, { name: 'bias', shape: [d.channels] }],
      outputs: [{ name: 'y', shape: yShape }],
      run: (s, t) => depthwiseConv(s, t.x!, t.w!, t.bias!, t.y!, opts),
      reference: (i) => ({ y: depthwiseConvReference(i.x!, i.w!, i.bias!, d) }),
    });
    cases.push({
      name: `depthwise_conv.bwd ${name}`,
      inputs: [{ name: 'x', shape: xShape }, { name: 'w', shape: [d.channels, d.taps] }, { name: 'dy', shape: yShape }],
      outputs: [{ name: 'dx', shape: xShape }, { name: 'dw', shape: [d.channels, d.taps] }, { name: 'db', shape: [d.channels] }],
      run: (s, t) => {
        zeroOutsideSlice(s, t.dx!, d.offset, d.channels);
        return depthwiseConvBackward(s, t.x!, t.w!, t.dy!, { dx: t.dx, dw: t.dw, db: t.db }, opts);
      },
      reference: (i) => depthwiseConvBackwardReference(i.x!, i.w!, i.dy!, d),
    });
  }
  return cases;
}
