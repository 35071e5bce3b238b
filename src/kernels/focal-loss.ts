/**
 * The training loss on the GPU: focal loss on BCE-with-logits with pos_weight (backend/ictal_backend/losses.py),
 * its value and its gradient with respect to the logits in one pass, with the optional clamps of the original
 * recipe (ORIGINAL_PIPELINE.md: logits to [-L, L], p_t to [eps, 1 - eps], the per-element loss to <= M; each passes
 * no gradient where it clamps, as torch.clamp does). The formula is in shaders/focal_loss.wgsl.
 *
 * Outputs: `dLogits` (the logits' shape and precision) = scale * dl/dz / meanOver, and `lossSum` (f32 [1]) =
 * sum(l) / meanOver, or lossSum + that with `accumulate` (micro-batches: meanOver is the whole batch's element
 * count, so the micro-batch sums add up to the batch mean). The loss value is never scaled; the loss scale only
 * multiplies dLogits, and may be a number or a f32 [1] tensor (the dynamic loss scale, read on the GPU: no sync).
 * In the half modes a dLogit beyond the half range is stored as infinity, so the loss scaler sees the overflow.
 *
 * Geometry: an invocation per element pair, a partial sum per workgroup of 64 (f32 scratch), then one workgroup
 * sums the partials in a fixed order: the same bits every run, no atomics. Tensors must each fit one binding.
 */
import source from '../../shaders/focal_loss.wgsl?raw';
import workgroupSumSource from '../../shaders/workgroup_sum.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { elementBytes } from '../gpu/precision.ts';
import { expectBindable, expectF32, expectShape, innermost, numel, packParams, physicalRow, samePrecision } from './layout.ts';

export const FOCAL_LOSS_SHADER = { name: 'focal_loss.wgsl', source: `${source}\n${workgroupSumSource}` };
const WG = 64;
const FLT_MAX = 3.4028234e38;

export interface FocalLossOptions {
  posWeight: number;
  alpha: number;
  gamma: number;
  /** Multiplies dLogits only (the loss scale): a number, or a f32 [1] tensor read on the GPU. */
  scale: number | GpuTensor;
  /** The loss is sum(l) / meanOver: the element count of the whole batch. */
  meanOver: number;
  /** Clamp the logits to [-logitLimit, logitLimit] first (default: no clamp). */
  logitLimit?: number;
  /** Clamp p_t to [ptEpsilon, 1 - ptEpsilon] before the power (default 0: no clamp). */
  ptEpsilon?: number;
  /** Clamp each element's loss to <= maxLoss (default: no clamp). */
  maxLoss?: number;
  /** Add to lossSum instead of overwriting it (the later micro-batches of a step). */
  accumulate?: boolean;
}

/** The loss's own settings, without the per-call scale, batch size and accumulation. */
export type FocalLossParams = Omit<FocalLossOptions, 'scale' | 'meanOver' | 'accumulate'>;

/**
 * The backend's loss (backend/ictal_backend/losses.py, the original recipe): alpha 0.5, gamma 2, logits clamped to
 * [-100, 100], p_t to [1e-7, 1 - 1e-7], each element's loss to <= 100; pos_weight comes from the data.
 */
export const FOCAL_RECIPE = { alpha: 0.5, gamma: 2, logitLimit: 100, ptEpsilon: 1e-7, maxLoss: 100 } as const;

function checkOptions(o: FocalLossOptions): void {
  const bad = (name: string, v: number, why: string) => new Error(`focalLoss: ${name} must be ${why}, got ${v}`);
  if (!(o.posWeight >= 0 && Number.isFinite(o.posWeight))) throw bad('posWeight', o.posWeight, 'a finite number >= 0');
  if (!(o.alpha >= 0 && o.alpha <= 1)) throw bad('alpha', o.alpha, 'in [0, 1]');
  if (!(o.gamma >= 0 && Number.isFinite(o.gamma))) throw bad('gamma', o.gamma, 'a finite number >= 0');
  if (!(Number.isInteger(o.meanOver) && o.meanOver >= 1)) throw bad('meanOver', o.meanOver, 'an integer >= 1');
  if (typeof o.scale === 'number' && !(o.scale > 0 && Number.isFinite(o.scale))) throw bad('scale', o.scale, 'a finite number > 0');
  if (o.logitLimit !== undefined && !(o.logitLimit > 0)) throw bad('logitLimit', o.logitLimit, '> 0');
  if (o.ptEpsilon !== undefined && !(o.ptEpsilon >= 0 && o.ptEpsilon < 0.5)) throw bad('ptEpsilon', o.ptEpsilon, 'in [0, 0.5)');
  if (o.maxLoss !== undefined && !(o.maxLoss > 0)) throw bad('maxLoss', o.maxLoss, '> 0');
}

/** Records the loss and its logits gradient (see the module comment); nothing is read back. */
export async function focalLoss(
  s: ComputeSession, logits: GpuTensor, labels: GpuTensor, out: { lossSum: GpuTensor; dLogits: GpuTensor },
  o: FocalLossOptions, label = 'focal_loss',
): Promise<void> {
  const op = 'focalLoss';
  checkOptions(o);
  samePrecision(op, logits, labels, out.dLogits);
  expectShape(op, labels, logits.shape, `the shape of ${logits.label}`);
  expectShape(op, out.dLogits, logits.shape, `the shape of ${logits.label}`);
  expectF32(op, out.lossSum);
  expectShape(op, out.lossSum, [1], 'one f32 value');
  const scaleTensor = typeof o.scale === 'number' ? undefined : o.scale;
  if (scaleTensor) {
    expectF32(op, scaleTensor);
    expectShape(op, scaleTensor, [1], 'the loss scale: one f32 value');
  }
  expectBindable(op, s, logits, labels, out.dLogits);
  const n = numel(logits.shape);
  if (n === 0) throw new Error(`focalLoss: ${logits.label} is empty (shape [${logits.shape.join(', ')}])`);
  const cols = innermost(logits);
  const rows = n / cols;
  const pairsPerRow = Math.ceil(cols / 2);
  const partials = Math.ceil((rows * pairsPerRow) / WG);
  const params = packParams([
    rows, cols, physicalRow(logits), pairsPerRow, partials, o.accumulate ? 1 : 0,
    { f32: o.posWeight }, { f32: o.alpha }, { f32: o.gamma }, { f32: typeof o.scale === 'number' ? o.scale : 1 },
    { f32: 1 / o.meanOver }, { f32: o.logitLimit ?? FLT_MAX }, { f32: o.ptEpsilon ?? 0 }, { f32: o.maxLoss ?? FLT_MAX },
  ]);
  const partial = await s.scratch([partials], 'f32', `${label} partials`);
  const bytes = 3 * n * elementBytes(logits.precision) + partials * 4;
  await s.dispatch({
    shader: FOCAL_LOSS_SHADER, entry: 'focal_elements', precision: logits.precision,
    defines: { ELEMENTS: true, SCALE_TENSOR: Boolean(scaleTensor) }, params,
    tensors: scaleTensor ? [logits, labels, out.dLogits, partial, scaleTensor] : [logits, labels, out.dLogits, partial],
    workgroups: partials, label, shapes: `[${logits.shape}]`, flops: 40 * n, bytes,
  });
  await s.dispatch({
    shader: FOCAL_LOSS_SHADER, entry: 'focal_final', precision: logits.precision, defines: { FINAL: true }, params,
    tensors: [partial, out.lossSum], workgroups: 1, label: `${label}.sum`, shapes: `${partials} partials`,
    flops: partials, bytes: partials * 4 + 8,
  });
}

// ---- float64 CPU reference ----

/** The loss (sum(l) / meanOver, unscaled) and dLogits (scale dl/dz / meanOver) in float64. */
export function focalLossReference(
  z: ArrayLike<number>, y: ArrayLike<number>, o: Omit<FocalLossOptions, 'scale' | 'accumulate'> & { scale: number },
): { loss: number; dLogits: Float64Array } {
  const L = o.logitLimit ?? Infinity;
  const eps = o.ptEpsilon ?? 0;
  const M = o.maxLoss ?? Infinity;
  const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
  const sigmoid = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
  let sum = 0;
  const d = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) {
    const zi = Math.min(Math.max(z[i]!, -L), L);
    const yi = y[i]!;
    const s = sigmoid(zi), sn = sigmoid(-zi);
    const bce = o.posWeight * yi * softplus(-zi) + (1 - yi) * softplus(zi);
    const dbce = -o.posWeight * yi * sn + (1 - yi) * s;
    let q = yi * sn + (1 - yi) * s;
    let dq = (1 - 2 * yi) * s * sn;
    if (q < eps || q > 1 - eps) {
      q = Math.min(Math.max(q, eps), 1 - eps);
      dq = 0;
    }
    const at = yi * o.alpha + (1 - yi) * (1 - o.alpha);
    const qg = o.gamma === 0 ? 1 : q ** o.gamma;
    const dqg = dq === 0 ? 0 : o.gamma * q ** (o.gamma - 1) * dq;
    const f = at * qg * bce;
    const passes = z[i]! >= -L && z[i]! <= L && f <= M;
    sum += Math.min(f, M);
    d[i] = passes ? (at * (dqg * bce + qg * dbce) * o.scale) / o.meanOver : 0;
  }
  return { loss: sum / o.meanOver, dLogits: d };
}
