import type { KernelCase } from '../../harness/kernel-harness.ts';
import type { Activation } from '../../../src/kernels/matmul.ts';
import {
  type Conv1dRefDims, conv1d, conv1dBackward, conv1dBackwardReference, conv1dReference, refOutputLength,
} from '../../../src/kernels/conv1d.ts';

interface ConvCase extends Conv1dRefDims {
  bias?: boolean;
  activation?: Activation;
  why: string;
}

/** The v3 TCN's forms at small sizes, plus the awkward ones (a dilation wider than the input, odd patches). */
export const CONV1D_SHAPES: ConvCase[] = [
  { batch: 1, cIn: 1, cOut: 1, lenIn: 1, taps: 1, stride: 1, dilation: 1, padding: 0, why: 'single element' },
  { batch: 2, cIn: 3, cOut: 5, lenIn: 37, taps: 7, stride: 1, dilation: 1, padding: 3, bias: true, activation: 'relu', why: 'same k7 d1' },
  { batch: 1, cIn: 4, cOut: 6, lenIn: 20, taps: 7, stride: 1, dilation: 4, padding: 12, bias: true, why: 'same k7 d4' },
  { batch: 2, cIn: 2, cOut: 3, lenIn: 10, taps: 7, stride: 1, dilation: 8, padding: 24, why: 'dilation span beyond the input' },
  { batch: 1, cIn: 40, cOut: 70, lenIn: 100, taps: 7, stride: 1, dilation: 2, padding: 6, bias: true, activation: 'relu', why: 'several tiles' },
  { batch: 2, cIn: 33, cOut: 7, lenIn: 19, taps: 1, stride: 1, dilation: 1, padding: 0, bias: true, why: '1x1 projection' },
  { batch: 2, cIn: 5, cOut: 6, lenIn: 64, taps: 16, stride: 16, dilation: 1, padding: 0, bias: true, why: 'k16 s16 downsampler' },
  { batch: 2, cIn: 3, cOut: 4, lenIn: 15, taps: 3, stride: 2, dilation: 1, padding: 1, why: 'stride 2 with padding' },
  { batch: 1, cIn: 2, cOut: 3, lenIn: 12, taps: 3, stride: 3, dilation: 1, padding: 0, why: 'odd patches' },
  { batch: 1, cIn: 2, cOut: 3, lenIn: 23, taps: 5, stride: 5, dilation: 1, padding: 0, why: 'patches not tiling the input' },
  { batch: 2, cIn: 80, cOut: 3, lenIn: 9, taps: 7, stride: 1, dilation: 1, padding: 3, bias: true, activation: 'relu', why: 'split-K forward' },
  { batch: 3, cIn: 2, cOut: 3, lenIn: 200, taps: 3, stride: 1, dilation: 1, padding: 1, why: 'split-K dw across batches' },
  { batch: 2, cIn: 32, cOut: 48, lenIn: 80, taps: 7, stride: 1, dilation: 4, padding: 12, bias: true, activation: 'gelu', why: 'whole and half blocks for the subgroup-matrix core' },
  // Cin and Cout multiples of 32: forward and dx tap-major (one tap per K slice); M whole, N ragged on both tiles.
  { batch: 2, cIn: 64, cOut: 128, lenIn: 129, taps: 3, stride: 1, dilation: 2, padding: 2, bias: true, activation: 'relu', why: 'tap-major, whole and ragged large tiles' },
];

function shapes(c: ConvCase): { x: number[]; w: number[]; y: number[] } {
  return { x: [c.batch, c.cIn, c.lenIn], w: [c.cOut, c.cIn, c.taps], y: [c.batch, c.cOut, refOutputLength(c)] };
}

export function conv1dCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const cc of CONV1D_SHAPES) {
    const sh = shapes(cc);
    const geometry = { stride: cc.stride, dilation: cc.dilation, padding: cc.padding };
    const name = `[${sh.x}] w [${sh.w}] s${cc.stride} d${cc.dilation} p${cc.padding} (${cc.why})`;
    cases.push({
      name: `conv1d ${name}${cc.activation ? ` ${cc.activation}` : ''}`,
      inputs: [{ name: 'x', shape: sh.x }, { name: 'w', shape: sh.w }, ...(cc.bias ? [{ name: 'bias', shape: [cc.cOut] }] : [])],
      outputs: [{ name: 'y', shape: sh.y }],
      run: (s, t) => conv1d(s, t.x!, t.w!, t.bias, t.y!, { ...geometry, activation: cc.activation }),
      reference: (i) => ({ y: conv1dReference(i.x!, i.w!, i.bias, cc, cc.activation) }),
    });
    cases.push({
      name: `conv1d.bwd ${name}`,
      inputs: [{ name: 'x', shape: sh.x }, { name: 'w', shape: sh.w }, { name: 'dy', shape: sh.y }],
      outputs: [{ name: 'dx', shape: sh.x }, { name: 'dw', shape: sh.w }, { name: 'db', shape: [cc.cOut] }],
      run: (s, t) => conv1dBackward(s, t.x!, t.w!, t.dy!, { dx: t.dx, dw: t.dw, db: t.db }, geometry),
      reference: (i) => conv1dBackwardReference(i.x!, i.w!, i.dy!, cc),
    });
  }
  return cases;
}
