// The lab's engine: the one place that touches WebGPU. It runs in a Web Worker (src/engine/worker.ts exposes it
// with comlink) or in Node; the UI only calls these methods. Every method is async and returns plain data.
import { DeviceKeeper, type GpuInfo } from '../gpu/device.ts';
import { ComputeSession } from '../gpu/session.ts';
import { calibrate, type Calibration, type CalibrateOptions, type CalibrateProgress } from '../gpu/calibrate.ts';
import { buildReport, markPerformance, toChromeTrace, type ChromeTrace, type KernelRow, type ProfileReport } from '../gpu/profile-report.ts';
import { measureProfilerOverhead } from '../gpu/profile-run.ts';
import type { Precision } from '../gpu/precision.ts';
import { BENCH_FAMILIES, benchKernels, type BenchFailure } from './kernel-bench.ts';
import { batchLadder, headroomCurve, predictInference, predictTraining, probeStep, type HeadroomCurve, type HeadroomLimits, type HeadroomMode, type ProbePoint } from './headroom.ts';
import { serializeIr } from '../graph/serialize.ts';
import { encodeWeights, loadWeights } from '../graph/weights.ts';
import { parseIr } from '../graph/validate.ts';
import { ForwardExecutor } from '../executor/forward-executor.ts';
import { profileModel, type ModelProfile, type ModelProfileOptions } from './model-profile.ts';
import { profileStep, type StepProfile, type StepProfileOptions } from './step-profile.ts';
import { trainModel, TRAIN_DEFAULTS, type TrainConfig, type TrainProgress, type TrainResult } from '../train/trainer.ts';
import { syntheticWindows, type TrainWindows } from '../train/data.ts';
import { TrainingExecutor } from '../train/training-executor.ts';
import { GRAD_SCALER_DEFAULTS } from '../train/loss-scale.ts';
import { FOCAL_RECIPE } from '../kernels/focal-loss.ts';
import type { WeightMap } from '../graph/init.ts';
import { buildModel, RecordingBench, type LoadedModel, type PredictProgress, type ModelInfo, type ModelSpec, type OpenOptions, type Prediction, type PredictOptions, type RecordingView, type SyntheticRecordingOptions } from './recording.ts';

export type { GpuInfo, Calibration, CalibrateProgress, ProfileReport, KernelRow, ChromeTrace, BenchFailure };
export type { ModelProfile, ModelProfileOptions, StepProfile, StepProfileOptions, HeadroomCurve, HeadroomLimits, HeadroomMode, ProbePoint };
export type { ModelInfo, ModelSpec, Prediction, PredictOptions, PredictProgress, RecordingView, SyntheticRecordingOptions };
export type { TrainConfig, TrainProgress, TrainResult };

/** Training data for Engine.train: the lab's synthetic EEG, or windows the caller already holds (e.g. from files). */
export type TrainDataSpec =
  | { kind: 'synthetic'; seed?: number; minutes?: number }
  /** The recording open in the lab (Recordings tab), with its labels. */
  | { kind: 'recording' }
  | { kind: 'windows'; windows: Float32Array; labels: Float32Array };

export interface EngineTrainConfig extends TrainConfig {
  /** Default: the loaded model (its current weights are the start). */
  model?: ModelSpec;
  data: TrainDataSpec;
}

export type Progress = (p: { done: number; total: number; message: string }) => void;

/** One batch for Engine.grad: any graph (IR JSON, safetensors bytes, as files hold them) and its inputs and labels. */
export interface GradOptions {
  graph: string;
  weights: Uint8Array;
  /** [batch, ...graph input] and [batch, ...graph output], labels in [0, 1]. */
  input: Float32Array;
  labels: Float32Array;
  batch: number;
  precision: Precision;
  /** Default 1. */
  posWeight?: number;
  /** Samples per micro-batch; must divide batch (default: what fits the binding limit). */
  microBatch?: number;
  /**
   * Multiplies the loss gradient on the GPU; the result is divided by it. Default 1 in f32 and GradScaler's initial
   * scale in the half modes: unscaled, gradients of order 1e-7 underflow halves.
   */
  lossScale?: number;
}

export interface GradResult {
  graph: string;
  /** The batch's focal loss (unscaled). */
  loss: number;
  microBatch: number;
  lossScale: number;
  /** Every parameter's gradient in f32, keyed by IR name. */
  grads: WeightMap;
}

export interface KernelProfile {
  report: ProfileReport;
  trace: ChromeTrace;
  /** Families that could not run at some precision, with why; the report holds the others. */
  failures: BenchFailure[];
}

export interface DeviceLoss {
  reason: string;
  message: string;
}

export interface HeadroomOptions {
  /** Default: the loaded model. */
  model?: ModelSpec;
  precision: Precision;
  /** Batch sizes 1, 2, 4, ... up to this. */
  maxBatch: number;
  /** The memory the user allows (browsers do not report device memory). */
  budgetBytes?: number;
}

export interface Headroom {
  model: string;
  limits: HeadroomLimits;
  inference: HeadroomCurve;
  training: HeadroomCurve;
}

/** A long task stopped by cancel(). */
export class CancelledError extends Error {
  override name = 'CancelledError';
}

export class Engine {
  private session: ComputeSession | undefined;
  private calibration: Calibration | undefined;
  private readonly losses: DeviceLoss[] = [];
  private readonly keeper = new DeviceKeeper({}, (loss) => {
    // Every buffer and pipeline went with the device: the next call builds a new session on a new device.
    this.session = undefined;
    this.losses.push(loss);
  });
  private readonly recordings = new RecordingBench(() => this.current());
  /** GPU work runs one task at a time: two tasks on one session would interleave their commands and profilers. */
  private gpuTasks: Promise<unknown> = Promise.resolve();
  /** Set by cancel(); long tasks clear it when they start and check it between steps. */
  private cancelRequested = false;
  /** Set by stopTraining(); Engine.train clears it when it starts and checks it before every step. */
  private stopTrainingRequested = false;

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.gpuTasks.then(task, task);
    this.gpuTasks = run.catch(() => undefined);
    return run;
  }

  private async current(): Promise<ComputeSession> {
    const gpu = await this.keeper.get();
    if (this.session?.gpu !== gpu) this.session = new ComputeSession(gpu);
    return this.session;
  }

  /** The adapter, its features and limits (throws NoWebGpuError, with what is missing, where there is none). */
  async gpuInfo(): Promise<GpuInfo> {
    return (await this.current()).gpu.info;
  }

  /** Measures the roofline (copy GB/s, FMA GFLOP/s); later kernel profiles are placed against it. */
  async calibrate(onProgress?: (p: CalibrateProgress) => void, options: Omit<CalibrateOptions, 'onProgress'> = {}): Promise<Calibration> {
    return this.exclusive(async () => {
      const session = await this.current();
      this.calibration = await calibrate(session, { ...options, onProgress: this.cancellable('calibration', onProgress) });
      return this.calibration;
    });
  }

  /**
   * Profiles every kernel family at every precision this device runs, with the profiler's own overhead, and
   * puts each dispatch on the host's performance timeline (DevTools, or Node's perf_hooks).
   */
  async profileKernels(onProgress?: Progress, options: { elements?: number; repeats?: number; families?: string[] } = {}): Promise<KernelProfile> {
    return this.exclusive(() => this.profileKernelsNow(this.cancellable('kernel profile', onProgress), options));
  }

  private async profileKernelsNow(onProgress: Progress | undefined, options: { elements?: number; repeats?: number; families?: string[] }): Promise<KernelProfile> {
    const session = await this.current();
    const precisions: Precision[] = ['f32', 'f16-storage'];
    if (session.gpu.has('shader-f16')) precisions.push('f16');
    const { result, failures } = await benchKernels(session, { ...options, precisions, onProgress });
    markPerformance(result, 'ictal ');
    const probe = BENCH_FAMILIES[0]!;
    const set = await probe.prepare(session, 'f32', options.elements ?? 2 ** 22);
    let overhead;
    try {
      overhead = await measureProfilerOverhead(session, set.batch, 3);
    } finally {
      set.release();
    }
    const i = session.gpu.info;
    const report = buildReport(result, { adapter: i.description || i.device || i.vendor, roofline: this.calibration, overhead });
    return { report, trace: toChromeTrace(result), failures };
  }

  /** An EDF recording (streamed from the File) and optionally its .csv_bi labels, preprocessed and kept for predict(). */
  async openRecording(edf: File, csvBi?: File, onProgress?: Progress, options?: OpenOptions): Promise<RecordingView> {
    return this.recordings.openEdf(edf, csvBi, this.cancellable(`reading ${edf.name}`, onProgress), options);
  }

  /** The built-in data: a synthetic recording with its labels, through the same EDF path as a user's file. */
  async openSyntheticRecording(synthetic: SyntheticRecordingOptions, onProgress?: Progress, options?: OpenOptions): Promise<RecordingView> {
    return this.recordings.openSynthetic(synthetic, this.cancellable('the synthetic recording', onProgress), options);
  }

  /**
   * A preset with seeded weights, or a user's graph.json + weights.safetensors, for predict(). Reading and checking
   * take a fraction of a second even for v3 (36 MB of weights): the wait worth cancelling is the one before it, for
   * the GPU (the lab's queue cancels a load still waiting there).
   */
  async loadModel(spec: ModelSpec, onProgress?: Progress): Promise<ModelInfo> {
    return this.exclusive(() => {
      onProgress?.({ done: 0, total: 1, message: `reading and checking ${'preset' in spec ? `preset ${spec.preset}` : spec.graph.name}` });
      return this.recordings.loadModel(spec);
    });
  }

  /** The loaded model over every window of the open recording: probabilities, events, and metrics where labelled. */
  async predict(options?: PredictOptions, onProgress?: PredictProgress): Promise<Prediction> {
    return this.exclusive(() => this.recordings.predict(options, this.cancellable('model run', onProgress)));
  }

  /**
   * One forward pass of a model timed per dispatch (by node, by kernel, the dispatch timeline), against the last
   * calibration's roofline if there was one. `model`: a spec to build for this profile only; default the loaded model.
   */
  async profileModel(options: ModelProfileOptions & { model?: ModelSpec }, onProgress?: Progress): Promise<ModelProfile> {
    return this.exclusive(async () => {
      const report = this.cancellable('model profile', onProgress ?? options.onProgress);
      return profileModel(await this.current(), await this.modelFor(options.model), this.calibration, { ...options, onProgress: report });
    });
  }

  /**
   * One full training step of a model (forward, loss, backward, clip, AdamW on a batch of synthetic EEG) timed per
   * dispatch, each dispatch labelled with its phase; `ictal profile --step`. `model` as for profileModel.
   */
  async profileStep(options: StepProfileOptions & { model?: ModelSpec }, onProgress?: Progress): Promise<StepProfile> {
    return this.exclusive(async () => {
      const report = this.cancellable('training step profile', onProgress ?? options.onProgress);
      return profileStep(await this.current(), await this.modelFor(options.model), this.calibration, { ...options, onProgress: report });
    });
  }

  /** Predicted memory against batch size for the model at a precision, against this adapter's limits and a budget. */
  async headroom(options: HeadroomOptions): Promise<Headroom> {
    const model = await this.modelFor(options.model);
    const limits = await this.headroomLimits(options.budgetBytes);
    const batches = batchLadder(options.maxBatch);
    const inference = batches.map((b) => predictInference(model.ir, b, options.precision));
    const training = batches.map((b) => predictTraining(model.ir, b, options.precision));
    return {
      model: model.ir.name, limits,
      inference: headroomCurve('inference', options.precision, inference, limits),
      training: headroomCurve('training', options.precision, training, limits),
    };
  }

  /**
   * Really allocates and runs the model (a forward pass, or two training steps) at batch 1, 2, 4, ... until a step fails (out of memory or a limit,
   * caught by error scopes) or `maxBatch` is done; each point goes to `onPoint` as it is measured. After a
   * failure the session is dropped (freeing every buffer) and the next task starts on a fresh one.
   */
  async probeHeadroom(options: HeadroomOptions & { mode: HeadroomMode }, onPoint?: (p: ProbePoint) => void): Promise<ProbePoint[]> {
    return this.exclusive(async () => {
      this.cancelRequested = false;
      const model = await this.modelFor(options.model);
      const points: ProbePoint[] = [];
      for (const batch of batchLadder(options.maxBatch)) {
        if (this.cancelRequested) throw new CancelledError(`headroom probe cancelled after ${points.length} batch sizes`);
        const session = await this.current();
        if (options.precision === 'f16' && !session.gpu.has('shader-f16')) throw new Error('headroom probe: precision f16 needs shader-f16, which this adapter lacks (use f16-storage)');
        const point = await probeStep(session, options.mode, model.ir, model.weights, batch, options.precision);
        points.push(point);
        onPoint?.(point);
        if (!point.ok) {
          session.destroy();
          if (this.session === session) this.session = undefined;
          break;
        }
      }
      return points;
    });
  }

  /**
   * Trains a model on this GPU with the backend's recipe (src/train/trainer.ts), one progress event per step; the
   * result holds the trained weights as safetensors bytes (loadable by the backend) and the step history.
   * stopTraining() ends it after the current step, keeping what was learnt.
   */
  async train(config: EngineTrainConfig, onProgress?: (p: TrainProgress) => void): Promise<TrainResult> {
    const { model: spec, data, ...train } = config;
    const model = await this.modelFor(spec);
    const windows = data.kind === 'recording' ? this.recordings.trainingWindows(model.info.window) : trainData(data, model.info.window, train.seed ?? TRAIN_DEFAULTS.seed);
    return this.exclusive(async () => {
      this.stopTrainingRequested = false;
      return trainModel(await this.current(), model.ir, model.weights, windows, train, {
        onProgress, shouldStop: () => this.stopTrainingRequested,
      });
    });
  }

  /**
   * The focal loss's gradient (the backend's recipe) for every parameter on one batch: dropout off, no optimizer
   * step, as the backend's `grad` computes with autograd (the gradient parity test compares the two).
   */
  async grad(options: GradOptions): Promise<GradResult> {
    const ir = parseIr(options.graph);
    const weights = loadWeights(ir, options.weights);
    const lossScale = options.lossScale ?? (options.precision === 'f32' ? 1 : GRAD_SCALER_DEFAULTS.initScale);
    if (!(lossScale > 0 && Number.isFinite(lossScale))) throw new Error(`grad: the loss scale must be a finite number > 0, got ${lossScale}`);
    return this.exclusive(async () => {
      const s = await this.current();
      const scale = await s.arena.upload([lossScale], [1], 'f32', 'loss scale');
      let exec: TrainingExecutor | undefined;
      try {
        exec = await TrainingExecutor.create(s, ir, weights, options.batch, {
          precision: options.precision, microBatch: options.microBatch, loss: { ...FOCAL_RECIPE, posWeight: options.posWeight ?? 1 },
        });
        await exec.step(options.input, options.labels, { lossScale: scale, seed: 0, step: 0, training: false });
        const loss = (await s.read(exec.lossSum))[0]!;
        const grads = await exec.downloadGrads();
        for (const g of grads.values()) g.data.forEach((v, i) => { g.data[i] = v / lossScale; });
        const bad = [...grads].filter(([, g]) => g.data.some((v) => !Number.isFinite(v))).map(([k]) => k);
        if (bad.length) throw new Error(`the gradient of ${bad.slice(0, 4).join(', ')}${bad.length > 4 ? ' ...' : ''} is not finite (loss scale ${lossScale}: lower it)`);
        return { graph: ir.name, loss, microBatch: exec.plan.batch, lossScale, grads };
      } finally {
        exec?.release();
        s.arena.release(scale);
      }
    });
  }

  /** Asks a running Engine.train to stop after its current step (it then returns what it has). */
  async stopTraining(): Promise<void> {
    this.stopTrainingRequested = true;
  }

  /** Asks the running long task (calibration, a kernel or model profile, reading a recording, a model run, a probe) to stop at its next step. */
  async cancel(): Promise<void> {
    this.cancelRequested = true;
  }

  /**
   * A task's progress callback that throws CancelledError once cancel() was asked: every long task reports
   * progress between its steps, so this stops it there (its finally blocks free what it held). Clears any
   * earlier request: a cancel is for the task running when it was asked.
   */
  private cancellable<P>(what: string, onProgress: ((p: P) => void) | undefined): (p: P) => void {
    this.cancelRequested = false;
    return (p) => {
      if (this.cancelRequested) {
        this.cancelRequested = false;
        throw new CancelledError(`${what} cancelled`);
      }
      onProgress?.(p);
    };
  }

  private async headroomLimits(budgetBytes: number | undefined): Promise<HeadroomLimits> {
    if (budgetBytes !== undefined && !(Number.isFinite(budgetBytes) && budgetBytes > 0)) throw new Error(`headroom: the memory budget wants a number of bytes > 0, got ${budgetBytes}`);
    const l = (await this.gpuInfo()).limits;
    return { maxBufferSize: l.maxBufferSize!, maxStorageBufferBindingSize: l.maxStorageBufferBindingSize!, budgetBytes };
  }

  /**
   * Any graph (not only a detector) on a host input [batch, ...]: the WebGPU forward at a precision, batched
   * under the binding limit. `graph` is IR JSON and `weights` safetensors bytes, as files hold them.
   */
  async forward(options: { graph: string; weights: Uint8Array; input: Float32Array; batch: number; precision: Precision }): Promise<{ output: Float64Array; shape: number[] }> {
    const ir = parseIr(options.graph);
    const weights = loadWeights(ir, options.weights);
    return this.exclusive(async () => {
      const s = await this.current();
      if (options.precision === 'f16' && !s.gpu.has('shader-f16')) throw new Error(`precision f16 needs shader-f16, which adapter "${s.gpu.info.description}" lacks (use f16-storage)`);
      const exec = await ForwardExecutor.create(s, ir, weights, options.batch, { precision: options.precision });
      try {
        const output = await exec.run(options.input, options.batch);
        return { output, shape: [options.batch, ...exec.plan.tensors.get(ir.outputs[0]!)!.shape.slice(1)] };
      } finally {
        exec.destroy();
      }
    });
  }

  /** The loaded model as files: its graph (IR JSON) and its current weights (safetensors), to submit or save. */
  async exportModel(): Promise<{ name: string; graph: string; weights: Uint8Array }> {
    const m = await this.modelFor(undefined);
    return { name: m.ir.name, graph: serializeIr(m.ir), weights: encodeWeights(m.ir, m.weights) };
  }

  private async modelFor(spec: ModelSpec | undefined): Promise<LoadedModel> {
    if (spec) return buildModel(spec);
    const loaded = this.recordings.loaded;
    if (!loaded) throw new Error('no model is loaded: load a preset or a graph .json + weights .safetensors first');
    return loaded;
  }

  /** Names and durations of the performance.measure entries this engine's host holds. */
  async performanceMeasures(): Promise<{ name: string; duration: number }[]> {
    return performance.getEntriesByType('measure').map((m) => ({ name: m.name, duration: m.duration }));
  }

  /** Device losses seen so far (each one was followed by a new device on the next call). */
  async deviceLosses(): Promise<DeviceLoss[]> {
    return [...this.losses];
  }

  async dispose(): Promise<void> {
    this.session?.destroy();
    this.session = undefined;
    await this.keeper.destroy();
  }
}

function trainData(d: Exclude<TrainDataSpec, { kind: 'recording' }>, windowLength: number, seed: number): TrainWindows {
  if (d.kind === 'synthetic') return syntheticWindows(d.seed ?? seed, windowLength, d.minutes ?? 10);
  const per = 19 * windowLength;
  const count = d.labels.length / windowLength;
  if (!Number.isInteger(count) || count < 1 || d.windows.length !== count * per) {
    throw new Error(`train: ${d.windows.length} input values and ${d.labels.length} labels are not whole windows of [19, ${windowLength}] and [${windowLength}]`);
  }
  return { channels: 19, windowLength, count, windows: d.windows, labels: d.labels };
}
