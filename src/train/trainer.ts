/**
 * The training loop of the backend's trainer (backend/ictal_backend/trainer.py) on the GPU, step by step:
 *   batch (balanced set, seeded order) -> forward + focal loss + backward into f32 gradients (the training
 *   executor, loss gradient times the loss scale) -> unscale, global-norm clip, AdamW or a skipped step
 *   (src/train/optimizer.ts) -> one read back of [grad norm, overflow flag, loss] -> loss scale update and
 *   learning rate for the next step, written to the GPU without a sync.
 * Loss scaling (GradScaler's semantics) is on in both half modes: f16-storage keeps activations and their
 * gradients in halves too, so small gradients underflow the same way. In f32 the scale is 1 and a non-finite
 * loss or gradient stops the run with an error, as the backend raises outside f16.
 *
 * Host-agnostic: Engine.train calls trainModel, in the lab's worker and for `ictal train` in Node.
 */
import type { ComputeSession } from '../gpu/session.ts';
import type { Precision } from '../gpu/precision.ts';
import type { IrDocument } from '../graph/ir.ts';
import type { WeightMap } from '../graph/init.ts';
import { encodeWeights } from '../graph/weights.ts';
import { FOCAL_RECIPE, type FocalLossParams } from '../kernels/focal-loss.ts';
import { AdamW, decodeStats } from './optimizer.ts';
import { LossScaler } from './loss-scale.ts';
import { lrFactor } from './schedule.ts';
import { TrainingExecutor } from './training-executor.ts';
import { BatchPlan, gatherBatch, positiveShare, posWeightForRate, seizureFractions, trainingWindows, type TrainWindows } from './data.ts';

/** The backend's training settings (trainer.py DEFAULTS), under the lab's names; steps, batch and precision are required. */
export interface TrainConfig {
  steps: number;
  batch: number;
  precision: Precision;
  seed?: number;
  lr?: number;
  weightDecay?: number;
  betas?: [number, number];
  warmupFraction?: number;
  clipNorm?: number;
  focalAlpha?: number;
  focalGamma?: number;
  /** null: sqrt((1 - r) / r) from the balanced training set's seizure share. */
  posWeight?: number | null;
  balanced?: boolean;
  /** Samples per micro-batch (default: what fits the binding limit, chosen by the executor). */
  microBatch?: number;
  /** GradScaler settings (defaults: torch's). */
  initScale?: number;
  growthInterval?: number;
}

export const TRAIN_DEFAULTS = {
  seed: 42, lr: 5e-5, weightDecay: 0.05, betas: [0.9, 0.999] as [number, number], warmupFraction: 0.03, clipNorm: 0.5,
  focalAlpha: FOCAL_RECIPE.alpha, focalGamma: FOCAL_RECIPE.gamma, posWeight: null as number | null, balanced: true,
};

export type ResolvedTrainConfig = Required<Omit<TrainConfig, 'microBatch' | 'initScale' | 'growthInterval' | 'posWeight'>>
  & Pick<TrainConfig, 'microBatch' | 'initScale' | 'growthInterval'> & { posWeight: number | null };

export function resolveTrainConfig(c: TrainConfig): ResolvedTrainConfig {
  const r = { ...TRAIN_DEFAULTS, ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) } as ResolvedTrainConfig;
  const positiveInt = (k: 'steps' | 'batch' | 'microBatch') => {
    const v = r[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new Error(`train: ${k} must be an integer >= 1, got ${v}`);
  };
  positiveInt('steps');
  positiveInt('batch');
  positiveInt('microBatch');
  const inRange = (k: keyof ResolvedTrainConfig, lo: number, hi: number) => {
    const v = r[k] as number;
    if (!(typeof v === 'number' && v >= lo && v <= hi)) throw new Error(`train: ${k} must be a number in [${lo}, ${hi}], got ${String(v)}`);
  };
  inRange('lr', 0, 10);
  inRange('weightDecay', 0, 10);
  inRange('warmupFraction', 0, 1);
  inRange('focalAlpha', 0, 1);
  inRange('focalGamma', 0, 10);
  if (!(r.clipNorm > 0)) throw new Error(`train: clipNorm must be > 0, got ${r.clipNorm}`);
  if (r.posWeight !== null) inRange('posWeight', 0, 1e6);
  if (!(Number.isInteger(r.seed) && r.seed >= 0)) throw new Error(`train: seed must be an integer >= 0, got ${r.seed}`);
  if (!(['f32', 'f16-storage', 'f16'] as unknown[]).includes(r.precision)) throw new Error(`train: precision must be f32, f16-storage or f16, got ${String(r.precision)}`);
  return r;
}

/** One progress event per step (the lab's Train tab reads these names). */
export interface TrainProgress {
  /** Steps done (1 after the first). */
  step: number;
  steps: number;
  /** This step's loss (the batch mean, unscaled). */
  loss: number;
  /** Global norm of the unscaled gradients before clipping (what clip_grad_norm_ returns). */
  gradNorm: number;
  /** The loss scale this step ran with. */
  scale: number;
  /** Whether this step was skipped (an inf or NaN gradient). */
  skipped: boolean;
  skippedTotal: number;
  /** The learning rate this step ran at. */
  lr: number;
  stepMs: number;
  /** GPU bytes held by the session's arena after the step. */
  memoryBytes: number;
}

export interface TrainResult {
  /** The trained weights as safetensors bytes (IR names; loads in the backend's `train --weights`). */
  weights: Uint8Array;
  history: TrainProgress[];
  /** Stopped before the last step (stopTraining). */
  stopped: boolean;
  posWeight: number;
  trainingWindows: number;
}

export interface TrainHooks {
  onProgress?: (p: TrainProgress) => void;
  /** Checked before every step: true ends the run after the current step, keeping what was learnt. */
  shouldStop?: () => boolean;
  /**
   * Test seam: inspect or alter the gradients once the backward is recorded, before the optimizer is (e.g. inject
   * an inf). The step is not submitted yet: flush the session before writing into its buffers.
   */
  afterBackward?: (executor: TrainingExecutor, step: number) => void | Promise<void>;
}

export async function trainModel(
  s: ComputeSession, ir: IrDocument, weights: WeightMap, data: TrainWindows, config: TrainConfig, hooks: TrainHooks = {},
): Promise<TrainResult> {
  const c = resolveTrainConfig(config);
  const window = ir.tensors[ir.inputs[0]!]!.shape;
  if (window[window.length - 1] !== data.windowLength) {
    throw new Error(`train: the data's windows are ${data.windowLength} samples long, graph "${ir.name}" takes ${String(window[window.length - 1])}`);
  }
  if (c.precision === 'f16' && !s.gpu.has('shader-f16')) throw new Error(`train: precision f16 needs shader-f16, which adapter "${s.gpu.info.description}" lacks (use f16-storage)`);
  const fractions = seizureFractions(data);
  const windows = trainingWindows(fractions, { seed: c.seed, balanced: c.balanced });
  const posWeight = c.posWeight ?? posWeightForRate(positiveShare(fractions, windows));
  const plan = new BatchPlan(windows, c.batch, c.seed);
  const loss: FocalLossParams = { ...FOCAL_RECIPE, alpha: c.focalAlpha, gamma: c.focalGamma, posWeight };
  const executor = await TrainingExecutor.create(s, ir, weights, c.batch, { precision: c.precision, microBatch: c.microBatch, loss });
  let optimizer: AdamW | undefined;
  try {
    optimizer = await AdamW.create(s, ir, executor.params, executor.grads, { lr: c.lr, weightDecay: c.weightDecay, betas: c.betas, clipNorm: c.clipNorm });
    const scaler = new LossScaler({ enabled: c.precision !== 'f32', initScale: c.initScale, growthInterval: c.growthInterval });
    optimizer.setLossScale(scaler.scale);
    const history: TrainProgress[] = [];
    let skippedTotal = 0;
    let stopped = false;
    for (let k = 0; k < c.steps; k++) {
      if (hooks.shouldStop?.()) {
        stopped = true;
        break;
      }
      const started = performance.now();
      const { input, labels } = gatherBatch(data, plan.nextBatch());
      const lr = c.lr * lrFactor(k, { totalSteps: c.steps, warmupFraction: c.warmupFraction });
      const scale = scaler.scale;
      await executor.step(input, labels, { lossScale: optimizer.lossScale, seed: c.seed, step: k, training: true });
      await hooks.afterBackward?.(executor, k);
      await optimizer.record(executor.lossSum, lr);
      const stats = decodeStats(await s.read(optimizer.stats)); // the step's one read back
      if (stats.foundInf && !scaler.enabled) {
        throw new Error(`train: step ${k}: the loss (${stats.loss}) or a gradient (norm ${stats.gradNorm}) is not finite in f32; lower lr or check the data`);
      }
      optimizer.afterStep(stats.foundInf);
      scaler.update(stats.foundInf);
      if (scaler.scale !== scale) optimizer.setLossScale(scaler.scale);
      if (stats.foundInf) skippedTotal += 1;
      const p: TrainProgress = {
        step: k + 1, steps: c.steps, loss: stats.loss, gradNorm: stats.gradNorm, scale, skipped: stats.foundInf, skippedTotal,
        lr, stepMs: performance.now() - started, memoryBytes: s.arena.liveBytes,
      };
      history.push(p);
      hooks.onProgress?.(p);
    }
    const trained = await executor.downloadWeights();
    return { weights: encodeWeights(ir, trained, c.seed), history, stopped, posWeight, trainingWindows: windows.length };
  } finally {
    optimizer?.release();
    executor.release();
  }
}
