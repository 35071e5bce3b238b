// One forward pass of a model profiled per dispatch: the same code behind `ictal profile` and the lab's Model
// profile tab. Reports by node (module path and kernel) and by kernel (summed over modules), and a Chrome trace
// whose events are the dispatch timeline.
import type { Precision } from '../gpu/precision.ts';
import type { ComputeSession } from '../gpu/session.ts';
import { measureProfilerOverhead, profileBatch } from '../gpu/profile-run.ts';
import { buildReport, markPerformance, toChromeTrace, type ChromeTrace, type ProfileReport, type Roofline } from '../gpu/profile-report.ts';
import type { ProfileResult } from '../gpu/profiler.ts';
import { ForwardExecutor } from '../executor/forward-executor.ts';
import { numel } from '../graph/ir.ts';
import type { LoadedModel } from './recording.ts';

export interface ModelProfileOptions {
  batch: number;
  precision: Precision;
  /** Also measure the profiler's own cost over this many runs with and without timestamps (2N more passes). */
  overheadRuns?: number;
  /**
   * Called before each step (upload, warm-up, timed pass, overhead runs); the engine's cancel throws from it, and
   * the executor is freed on the way out.
   */
  onProgress?: (p: { done: number; total: number; message: string }) => void;
}

export interface ModelProfile {
  model: string;
  source: string;
  batch: number;
  precision: Precision;
  /** One row per module path and kernel (e.g. node.layers.3.fwd.scan). */
  byNode: ProfileReport;
  /** One row per kernel (shader:entry), summed over every module. */
  byKernel: ProfileReport;
  /** Every dispatch in order, with GPU start and duration: the timeline. */
  trace: ChromeTrace;
  activationBytes: number;
  /** Most bytes the arena held during this profile: weights, activations, workspace, and what was live before. */
  arenaPeakBytes: number;
}

/** Entries relabelled by kernel, so that rows sum a kernel's time over every module. */
function byKernel(r: ProfileResult): ProfileResult {
  return { ...r, entries: r.entries.map((e) => ({ ...e, label: e.kernel, shapes: '' })) };
}

export async function profileModel(session: ComputeSession, model: LoadedModel, roofline: Roofline | undefined, options: ModelProfileOptions): Promise<ModelProfile> {
  const { batch, precision } = options;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`profile: batch wants a whole number >= 1, got ${batch}`);
  if (precision === 'f16' && !session.gpu.has('shader-f16')) throw new Error('profile: precision f16 needs shader-f16, which this adapter lacks (use f16-storage)');
  const overheadRuns = options.overheadRuns ?? 0;
  if (!Number.isInteger(overheadRuns) || overheadRuns < 0) throw new Error(`profile: overhead runs want a count >= 0, got ${overheadRuns}`);
  const { ir, weights } = model;
  const total = overheadRuns ? 4 : 3;
  const step = (done: number, message: string) => options.onProgress?.({ done, total, message: `${message} (${ir.name}, batch ${batch}, ${precision})` });
  step(0, 'weights to the GPU');
  // Peak of this profile only (a calibration before it may have held larger buffers on the same arena).
  session.arena.peakBytes = session.arena.liveBytes;
  // The whole batch in one recorded pass: the profile is of that batch, not of micro-batches of it.
  const exec = await ForwardExecutor.create(session, ir, weights, batch, { precision, microBatch: batch });
  try {
    const inputName = ir.inputs[0]!;
    const size = numel(exec.plan.tensors.get(inputName)!.shape);
    const input = new Float32Array(size).map((_, i) => Math.sin(i * 0.013) * 3 + Math.cos(i * 0.0007));
    step(1, 'warm-up pass: the input uploaded, every pipeline compiled');
    await exec.run(input, batch); // the warm-up: uploads the input and compiles every pipeline
    step(2, 'the timed pass');
    const result = await profileBatch(session, () => exec.record(), { warmup: 0 });
    markPerformance(result, `ictal ${ir.name} `);
    if (overheadRuns) step(3, `the profiler's own cost: ${overheadRuns} passes with and ${overheadRuns} without timestamps`);
    const overhead = overheadRuns ? await measureProfilerOverhead(session, () => exec.record(), overheadRuns) : undefined;
    const i = session.gpu.info;
    const report = { adapter: i.description || [i.vendor, i.device].filter(Boolean).join(' '), roofline, overhead };
    return {
      model: ir.name, source: model.info.source, batch, precision,
      byNode: buildReport(result, report),
      byKernel: buildReport(byKernel(result), report),
      trace: toChromeTrace(result, `ictal ${ir.name} ${precision} batch ${batch}`),
      activationBytes: exec.plan.activationBytes,
      arenaPeakBytes: session.arena.peakBytes,
    };
  } finally {
    exec.destroy();
  }
}
