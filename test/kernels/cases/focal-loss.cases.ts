import type { KernelCase } from '../../harness/kernel-harness.ts';
import { focalLoss, focalLossReference, type FocalLossOptions } from '../../../src/kernels/focal-loss.ts';

type Opts = Omit<FocalLossOptions, 'scale' | 'meanOver' | 'accumulate'>;
const BACKEND: Opts = { posWeight: 1, alpha: 0.5, gamma: 2 };
/** The original recipe's clamps (ORIGINAL_PIPELINE.md), with a pos_weight large enough for the loss clamp to bite. */
const CLAMPED: Opts = { posWeight: 3, alpha: 0.5, gamma: 2, logitLimit: 100, ptEpsilon: 1e-7, maxLoss: 100 };

/**
 * One element, odd rows (f16-storage padding), more partials than a workgroup sums in one step, the v3 head's
 * [B, 15360]; soft labels in [0, 1]; gammas 0, 1.5, 2; logits far past the clamps; the loss scale as a number
 * and as a GPU tensor; accumulation over two calls.
 */
const SHAPES: { shape: number[]; opts: Opts; range?: [number, number]; scale: number | 'tensor'; twice?: boolean }[] = [
  { shape: [1], opts: BACKEND, scale: 1 },
  { shape: [3, 33], opts: { posWeight: 2.7, alpha: 0.25, gamma: 1.5 }, range: [-6, 6], scale: 1 },
  { shape: [2, 15360], opts: BACKEND, range: [-8, 8], scale: 'tensor' },
  { shape: [5, 999], opts: { posWeight: 0.6, alpha: 0.7, gamma: 0 }, scale: 1024 },
  { shape: [4, 257], opts: CLAMPED, range: [-130, 130], scale: 'tensor' },
  { shape: [7, 65], opts: CLAMPED, range: [-20, 20], scale: 8, twice: true },
];

export function focalLossCases(): KernelCase[] {
  return SHAPES.map(({ shape, opts, range, scale, twice }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const meanOver = twice ? n : n + 5; // a micro-batch's share of a larger batch
    const inputs: KernelCase['inputs'] = [{ name: 'logits', shape, range }, { name: 'labels', shape, range: [0, 1] }];
    if (scale === 'tensor') inputs.push({ name: 'scale', shape: [1], range: [1, 65536], precision: 'f32' });
    return {
      name: `focal loss [${shape}] pw ${opts.posWeight} alpha ${opts.alpha} gamma ${opts.gamma}${opts.maxLoss ? ' clamped' : ''} scale ${scale}${twice ? ' accumulated twice' : ''}`,
      inputs,
      outputs: [{ name: 'dLogits', shape }, { name: 'loss', shape: [1], precision: 'f32' }],
      run: async (s, t) => {
        const o: FocalLossOptions = { ...opts, meanOver, scale: scale === 'tensor' ? t.scale! : scale };
        const out = { lossSum: t.loss!, dLogits: t.dLogits! };
        await focalLoss(s, t.logits!, t.labels!, out, o);
        if (twice) await focalLoss(s, t.logits!, t.labels!, out, { ...o, accumulate: true });
      },
      reference: (i) => {
        const k = scale === 'tensor' ? i.scale![0]! : scale;
        const r = focalLossReference(i.logits!, i.labels!, { ...opts, meanOver, scale: k });
        return { dLogits: r.dLogits, loss: Float64Array.of(twice ? 2 * r.loss : r.loss) };
      },
    };
  });
}
