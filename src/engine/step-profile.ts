// One full training step of a model profiled per dispatch: `ictal profile --step`. The step `ictal train` and the
// lab's Train tab run (src/train/trainer.ts): masters cast, forward, focal loss and backward per micro-batch,
// unscale + global-norm clip, AdamW, on a batch of the lab's synthetic EEG. Every dispatch carries the phase it
// belongs to (the executor's and the optimizer's hooks mark them on the profiler), so the report splits conv1d's
// forward from its backward and says where the step's GPU time goes, phase by phase.
import type { Precision } from '../gpu/precision.ts';
import type { ComputeSession } from '../gpu/session.ts';
import { requireTimestamps, withProfiler } from '../gpu/profile-run.ts';
import { buildReport, markPerformance, toChromeTrace, type ChromeTrace, type ProfileReport, type Roofline } from '../gpu/profile-report.ts';
import { TimestampProfiler, type ProfileResult } from '../gpu/profiler.ts';
import { FOCAL_RECIPE } from '../kernels/focal-loss.ts';
import { AdamW, decodeStats, type StepStats } from '../train/optimizer.ts';
import { LossScaler } from '../train/loss-scale.ts';
import { BatchPlan, gatherBatch, positiveShare, posWeightForRate, seizureFractions, syntheticWindows } from '../train/data.ts';
import type { TrainingBytes } from '../train/plan.ts';
import { TRAIN_DEFAULTS } from '../train/trainer.ts';
import { TrainingExecutor } from '../train/training-executor.ts';
import type { LoadedModel } from './recording.ts';

/** The phases of a step, in the order they are recorded (src/train/training-executor.ts, optimizer.ts). */
export const STEP_PHASES = ['params', 'input', 'forward', 'loss', 'backward', 'clip', 'optimizer'] as const;
export type ProfiledPhase = (typeof STEP_PHASES)[number];

export interface StepProfileOptions {
  batch: number;
  precision: Precision;
  /** Samples per recorded forward + backward; must divide batch. Default: what `ictal train` picks (the binding limit). */
  microBatch?: number;
  /** Seeds the synthetic EEG and the batch drawn from it. Default: the trainer's. */
  seed?: number;
  /** Called before each step (weights, warm-up step, timed step); the engine's cancel throws from it. */
  onProgress?: (p: { done: number; total: number; message: string }) => void;
}

/** Where the step's bytes live: the training plan's prediction, and what the executor, the optimizer and the arena hold. */
export interface StepArena {
  /** planTraining's accounting (weights, gradients, AdamW state, kept activations, workspace, total). */
  plan: TrainingBytes;
  /** Bytes the training executor allocated (the plan less the optimizer's state and workspace). */
  executorBytes: number;
  /** AdamW's moments, loss scale, stats and norm partials. */
  optimizerBytes: number;
  /** Most bytes the session's arena held during this profile. */
  peakBytes: number;
}

export interface StepProfile {
  model: string;
  source: string;
  batch: number;
  microBatch: number;
  precision: Precision;
  /** One row per module path, kernel and phase (forward and backward rows of a node are separate). */
  byNode: ProfileReport;
  /** One row per kernel (shader:entry) and phase, summed over every module. */
  byKernel: ProfileReport;
  /** Every dispatch of the step in order, its phase as the event's category. */
  trace: ChromeTrace;
  /** What the timed step did: its loss, gradient norm, and whether it was skipped (an overflow in the half modes). */
  stats: StepStats;
  lossScale: number;
  arena: StepArena;
}

/** Entries relabelled by kernel (phases kept), so that rows sum a kernel's time over every module of a phase. */
function byKernel(r: ProfileResult): ProfileResult {
  return { ...r, entries: r.entries.map((e) => ({ ...e, label: e.kernel, shapes: '' })) };
}

export async function profileStep(session: ComputeSession, model: LoadedModel, roofline: Roofline | undefined, options: StepProfileOptions): Promise<StepProfile> {
  const { batch, precision } = options;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`profile: batch wants a whole number >= 1, got ${batch}`);
  if (options.microBatch !== undefined && !(Number.isInteger(options.microBatch) && options.microBatch >= 1 && batch % options.microBatch === 0)) {
    throw new Error(`profile: the micro-batch must be a whole number >= 1 dividing the batch ${batch}, got ${options.microBatch}`);
  }
  if (precision === 'f16' && !session.gpu.has('shader-f16')) throw new Error('profile: precision f16 needs shader-f16, which this adapter lacks (use f16-storage)');
  requireTimestamps(session);
  const { ir, weights } = model;
  const seed = options.seed ?? TRAIN_DEFAULTS.seed;
  const step = (done: number, message: string) => options.onProgress?.({ done, total: 3, message: `${message} (${ir.name} training step, batch ${batch}, ${precision})` });
  step(0, 'weights, gradients and optimizer state to the GPU');
  // One batch of the synthetic EEG `ictal train --data synthetic` trains on (enough minutes for two windows; the
  // batch repeats windows when it is larger), with the trainer's pos_weight rule.
  const data = syntheticWindows(seed, model.info.window, Math.max(1, Math.ceil((2 * model.info.windowSeconds) / 60)));
  const all = Array.from({ length: data.count }, (_, i) => i);
  const { input, labels } = gatherBatch(data, new BatchPlan(all, batch, seed).nextBatch());
  const loss = { ...FOCAL_RECIPE, posWeight: posWeightForRate(positiveShare(seizureFractions(data), all)) };
  session.arena.peakBytes = session.arena.liveBytes; // this profile's peak only
  const exec = await TrainingExecutor.create(session, ir, weights, batch, { precision, microBatch: options.microBatch, loss });
  let optimizer: AdamW | undefined;
  try {
    const d = TRAIN_DEFAULTS;
    optimizer = await AdamW.create(session, ir, exec.params, exec.grads, { lr: d.lr, weightDecay: d.weightDecay, betas: d.betas, clipNorm: d.clipNorm });
    const scaler = new LossScaler({ enabled: precision !== 'f32' });
    optimizer.setLossScale(scaler.scale);
    const record = async (k: number, onPhase?: (p: ProfiledPhase) => void) => {
      await exec.step(input, labels, { lossScale: optimizer!.lossScale, seed, step: k, training: true, onPhase });
      await optimizer!.record(exec.lossSum, d.lr, onPhase);
    };
    step(1, 'warm-up step: every pipeline compiled');
    await record(0);
    optimizer.afterStep(decodeStats(await session.read(optimizer.stats)).foundInf);
    step(2, 'the timed step');
    // A query set per 2048 passes, as many as the step records: every dispatch timed, however many micro-batches.
    const profiler = new TimestampProfiler(session.device, undefined, { growable: true });
    let result: ProfileResult;
    try {
      result = await withProfiler(session, profiler, async () => {
        await record(1, (p) => {
          profiler.phase = p;
        });
        return session.collectProfile();
      });
    } finally {
      profiler.destroy();
    }
    if (result.untimed) throw new Error(`profile: ${result.untimed} dispatches of the step went untimed`);
    const stats = decodeStats(await session.read(optimizer.stats));
    markPerformance(result, `ictal ${ir.name} step `);
    const i = session.gpu.info;
    const report = { adapter: i.description || [i.vendor, i.device].filter(Boolean).join(' '), roofline };
    return {
      model: ir.name, source: model.info.source, batch, microBatch: exec.plan.batch, precision,
      byNode: buildReport(result, report),
      byKernel: buildReport(byKernel(result), report),
      trace: toChromeTrace(result, `ictal ${ir.name} ${precision} batch ${batch} training step`),
      stats, lossScale: scaler.scale,
      arena: { plan: exec.plan.bytes, executorBytes: exec.allocatedBytes, optimizerBytes: optimizer.bytes, peakBytes: session.arena.peakBytes },
    };
  } finally {
    optimizer?.release();
    exec.release();
  }
}
