// The lab's EEG bench, on the engine's side (the worker): a recording streamed from an EDF File (or made by the
// synthetic generator and read through the same path), mapped onto the 19 montage channels, preprocessed; then a
// model run over it window by window on the engine's GPU session, the windows' predictions stitched into one
// probability per sample (src/data/window-stitch.ts says how), post-processed into events and, when the recording
// came with labels, scored. Everything returned is plain data, reduced for drawing (min/max per pixel column).
import { blobSource, bytesSource, type ByteSource } from '../data/byte-source.ts';
import { parseCsvBi, seizureIntervals } from '../data/csv-bi.ts';
import { EdfReader } from '../data/edf.ts';
import { DataFormatError } from '../data/errors.ts';
import { minMaxEnvelope, type Envelope } from '../data/envelope.ts';
import { evaluate, type OperatingPoint } from '../data/metrics.ts';
import { MONTAGE_CHANNELS } from '../data/montage.ts';
import { DEFAULT_POSTPROCESS, postprocess, type DetectedEvent, type PostprocessParams } from '../data/postprocess.ts';
import { preprocessRecording, TARGET_FS, type ChannelMatrix } from '../data/preprocess.ts';
import { readMontageRecording } from '../data/recording.ts';
import { synthesizeEeg } from '../data/synthetic-eeg.ts';
import { syntheticCsvBi, syntheticEdf, syntheticName } from '../data/synthetic-files.ts';
import { gatherWindows, planWindows, strideFor, WindowStitcher, DEFAULT_OVERLAP } from '../data/window-stitch.ts';
import { labelsFromEvents, windows } from '../data/windows.ts';
import type { TrainWindows } from '../train/data.ts';
import { applyOverrides, preset } from '../graph/config.ts';
import { initWeights, type WeightMap } from '../graph/init.ts';
import { formatShape, numel, type IrDocument } from '../graph/ir.ts';
import { parseIr } from '../graph/validate.ts';
import { loadWeights } from '../graph/weights.ts';
import { buildV3 } from '../graph/v3.ts';
import { ForwardExecutor } from '../executor/forward-executor.ts';
import type { Precision } from '../gpu/precision.ts';
import type { ComputeSession } from '../gpu/session.ts';

export type { Envelope, DetectedEvent, PostprocessParams, OperatingPoint };

export type RecordingProgress = (p: { done: number; total: number; message: string }) => void;
/** Progress of a model run, with the probability so far (NaN where no window has arrived yet). */
export type PredictProgress = (p: { done: number; total: number; message: string; probability?: Envelope }) => void;

/** What the EDF header and the channel mapping say about a recording. */
export interface RecordingFacts {
  name: string;
  /** 'EDF', 'EDF+C' or 'EDF+D'. */
  format: string;
  start: string;
  patientId: string;
  recordingId: string;
  durationSeconds: number;
  records: number;
  recordSeconds: number;
  /** Signals that carry samples (annotation signals left out). */
  signals: number;
  /** Rate of the montage channels in the file (before resampling to 256 Hz). */
  sampleRate: number;
  references: string[];
  /** The EDF label each montage channel was read from, in MONTAGE_CHANNELS order. */
  sourceLabels: string[];
}

export interface RecordingView {
  facts: RecordingFacts;
  channels: string[];
  /** Of the preprocessed signal: 256 Hz. */
  sampleRate: number;
  samples: number;
  /** The preprocessed (filtered, z-scored, clipped) signal of each channel, reduced to `columns` min/max pairs. */
  envelopes: Envelope[];
  /** Seizures from the .csv_bi that came along (seconds), or null without one. */
  labels: { source: string; seizures: [number, number][] } | null;
}

export interface OpenOptions {
  /** Pixel columns the channel plot has (default 800). */
  columns?: number;
  /** Read a truncated EDF's whole records and ignore the rest, instead of refusing it. */
  wholeRecords?: boolean;
}

/** An EDF whose header announces more records than the file holds; `wholeRecords: true` opens what is there. */
export class TruncatedEdfError extends Error {
  override name = 'TruncatedEdfError';
}

/** The source with its header's record count read as -1 (unknown): the reader then takes the whole records present. */
function wholeRecordsSource(source: ByteSource): ByteSource {
  const FIELD = 236, WIDTH = 8;
  const unknown = new TextEncoder().encode('-1'.padEnd(WIDTH, ' '));
  return {
    size: source.size,
    async read(offset, length) {
      const bytes = await source.read(offset, length);
      if (offset >= FIELD + WIDTH || offset + length <= FIELD) return bytes;
      const out = bytes.slice();
      for (let i = Math.max(offset, FIELD); i < Math.min(offset + length, FIELD + WIDTH); i++) out[i - offset] = unknown[i - FIELD]!;
      return out;
    },
  };
}

export interface SyntheticRecordingOptions {
  minutes: number;
  seed: number;
}

/** A preset with seeded initial weights, or a user's graph.json with its weights.safetensors or seeded initial weights. */
export type ModelSpec =
  | { preset: string; seed: number; /** `key=value` config overrides (ictal graph --set). */ overrides?: string[] }
  | { graph: File; weights: File }
  | { graph: File; seed: number };

export interface ModelInfo {
  name: string;
  /** Where it came from, in words. */
  source: string;
  /** Input samples per window (the IR's), and seconds at 256 Hz. */
  window: number;
  windowSeconds: number;
  parameters: number;
  /** Seeded initial weights (a preset): untrained, its output is chance level. */
  seeded: boolean;
}

/** An operating point, and whether its events are too broad to mean anything. */
export interface ScoredOperatingPoint extends OperatingPoint {
  /** Share of the recording inside the events detected at this point's threshold; null when not reached. */
  coverage: number | null;
  /** Why the point is degenerate (its events cover most of the recording, so every seizure is "detected"), or null. */
  degenerate: string | null;
}

/** Events covering more than this share of a recording detect every seizure by covering everything. */
export const DEGENERATE_COVERAGE = 0.5;

export interface PredictOptions {
  /** Windows covering each sample: the stride is window / overlap (default 6). */
  overlap?: number;
  /** Windows per forward call (default 4). */
  batch?: number;
  precision?: Precision;
  /** Pixel columns of the probability plot (default 800). */
  columns?: number;
}

export interface Prediction {
  model: string;
  precision: Precision;
  /** Windows per forward call, as asked (the last call takes what is left). */
  batch: number;
  window: number;
  stride: number;
  windows: number;
  samples: number;
  /** The stitched per-sample probability, reduced to min/max per column. */
  probability: Envelope;
  events: DetectedEvent[];
  postprocess: PostprocessParams;
  /** Scored against the recording's labels; null without labels. */
  evaluation: { auroc: number | null; referenceEvents: number; hours: number; operatingPoints: ScoredOperatingPoint[] } | null;
  /** Wall time of the model run (all windows, stitching included), measured in the worker. */
  seconds: number;
}

interface OpenRecording {
  matrix: ChannelMatrix;
  /** Per-sample 0/1 labels at 256 Hz, or null. */
  labels: Float32Array | null;
}

export interface LoadedModel {
  ir: IrDocument;
  weights: WeightMap;
  info: ModelInfo;
}

const DEFAULT_COLUMNS = 800;

export class RecordingBench {
  private recording: OpenRecording | undefined;
  private model: LoadedModel | undefined;

  /** `session` gives the engine's current GPU session (a new one after a device loss). */
  constructor(private readonly session: () => Promise<ComputeSession>) {}

  /** An EDF File (read range by range, never whole) and optionally its .csv_bi labels. */
  async openEdf(edf: File, csvBi?: File, onProgress?: RecordingProgress, options: OpenOptions = {}): Promise<RecordingView> {
    const labels = csvBi && { name: csvBi.name, text: await csvBi.text() };
    const source = options.wholeRecords ? wholeRecordsSource(blobSource(edf)) : blobSource(edf);
    try {
      return await this.open(source, edf.name, labels, onProgress, options);
    } catch (e) {
      if (e instanceof DataFormatError && e.format === 'edf' && e.code === 'truncated' && /but the file holds [1-9]/.test(e.message)) {
        throw new TruncatedEdfError(e.message);
      }
      throw e;
    }
  }

  /** The synthetic EEG generator's recording, written as EDF + .csv_bi bytes and read back like a user's files. */
  async openSynthetic(s: SyntheticRecordingOptions, onProgress?: RecordingProgress, options: OpenOptions = {}): Promise<RecordingView> {
    onProgress?.({ done: 0, total: 1, message: `synthesizing ${s.minutes} min of EEG (seed ${s.seed})` });
    const rec = synthesizeEeg(s);
    const name = syntheticName(s.seed);
    const edf = syntheticEdf(rec);
    return this.open(bytesSource(edf), `${name}.edf`, { name: `${name}.csv_bi`, text: syntheticCsvBi(rec, name) }, onProgress, options);
  }

  private async open(source: ByteSource, name: string, csv: { name: string; text: string } | undefined, onProgress: RecordingProgress | undefined, options: OpenOptions): Promise<RecordingView> {
    const C = MONTAGE_CHANNELS.length;
    const steps = C + 2;
    const progress = (done: number, message: string) => onProgress?.({ done, total: steps, message });
    progress(0, `${name}: reading the header`);
    const edf = await named(name, () => EdfReader.open(source));
    const seizures = csv ? await named(csv.name, () => seizureIntervals(parseCsvBi(csv.text, csv.name))) : null;
    progress(1, `${name}: reading the ${C} montage channels`);
    const montage = await named(name, () => readMontageRecording(edf));
    // One channel at a time (every step is per channel): the same result as all at once, with progress.
    let matrix: ChannelMatrix | undefined;
    for (let c = 0; c < C; c++) {
      progress(2 + c, `preprocessing ${MONTAGE_CHANNELS[c]} (${c + 1} of ${C})`);
      const one = preprocessRecording([montage.signals[c]!], montage.sampleRate);
      matrix ??= { channels: C, samples: one.samples, data: new Float32Array(C * one.samples) };
      matrix.data.set(one.data, c * one.samples);
      montage.signals[c] = new Float64Array(0); // the raw channel is no longer needed
    }
    const m = matrix!;
    this.recording = { matrix: m, labels: seizures && labelsFromEvents(seizures, m.samples, TARGET_FS) };
    const columns = options.columns ?? DEFAULT_COLUMNS;
    const h = edf.header;
    progress(steps, 'done');
    return {
      facts: {
        name, format: h.variant, start: `${h.startDate} ${h.startTime}`, patientId: h.patientId, recordingId: h.recordingId,
        durationSeconds: h.durationSeconds, records: h.recordCount, recordSeconds: h.recordDuration,
        signals: edf.dataSignals.length, sampleRate: montage.sampleRate, references: montage.references, sourceLabels: montage.sourceLabels,
      },
      channels: [...MONTAGE_CHANNELS],
      sampleRate: TARGET_FS,
      samples: m.samples,
      envelopes: MONTAGE_CHANNELS.map((_, c) => minMaxEnvelope(m.data.subarray(c * m.samples, (c + 1) * m.samples), columns)),
      labels: seizures && csv ? { source: csv.name, seizures } : null,
    };
  }

  /** Builds (preset) or reads and checks (files) a model and keeps it for predict(). */
  async loadModel(spec: ModelSpec): Promise<ModelInfo> {
    this.model = await buildModel(spec);
    return this.model.info;
  }

  /**
   * Training windows of the open recording, cut as recordingWindows cuts a file's (the window long, a sixth of it
   * apart, a partial tail dropped); a recording without labels is all background.
   */
  trainingWindows(windowLength: number): TrainWindows {
    const rec = this.recording;
    if (!rec) throw new Error('train on the recording: no recording is open (open one in the Recordings tab)');
    const w = windows(rec.matrix, rec.labels ?? new Float32Array(rec.matrix.samples), windowLength, Math.max(1, Math.round(windowLength / 6)));
    if (!w.count) throw new Error(`train on the recording: its ${rec.matrix.samples} samples hold no window of ${windowLength}`);
    return { channels: w.channels, windowLength, count: w.count, windows: w.windows, labels: w.labels };
  }

  /** The model loadModel() keeps (for the profiler, headroom and training), or undefined. */
  get loaded(): LoadedModel | undefined {
    return this.model;
  }

  /** Runs the loaded model over every window of the open recording, in batches, reporting each batch. */
  async predict(options: PredictOptions = {}, onProgress?: PredictProgress): Promise<Prediction> {
    const rec = this.recording, model = this.model;
    if (!rec) throw new Error('open a recording first');
    if (!model) throw new Error('load a model first');
    const t0 = performance.now();
    const { window } = model.info;
    const batch = options.batch ?? 4;
    const precision = options.precision ?? 'f32';
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch ${batch} is not a whole number >= 1`);
    const plan = planWindows(rec.matrix.samples, window, strideFor(window, options.overlap ?? DEFAULT_OVERLAP));
    const total = plan.starts.length;
    onProgress?.({ done: 0, total, message: `${total} window${total === 1 ? '' : 's'} of ${window} samples, stride ${plan.stride}: preparing ${model.info.name}` });
    const session = await this.session();
    if (precision === 'f16' && !session.gpu.has('shader-f16')) throw new Error('precision f16 needs shader-f16, which this adapter lacks (use f16-storage)');
    const exec = await ForwardExecutor.create(session, model.ir, model.weights, Math.min(batch, total), { precision });
    const stitcher = new WindowStitcher(plan);
    try {
      const input = new Float32Array(Math.min(batch, total) * rec.matrix.channels * window);
      for (let k0 = 0; k0 < total; k0 += batch) {
        const starts = plan.starts.slice(k0, k0 + batch);
        const logits = await exec.run(gatherWindows(rec.matrix, starts, window, input), starts.length);
        starts.forEach((_, j) => stitcher.add(k0 + j, logits.subarray(j * window, (j + 1) * window)));
        const columns = options.columns ?? DEFAULT_COLUMNS;
        onProgress?.({ done: k0 + starts.length, total, message: `window ${k0 + starts.length} of ${total}`, probability: minMaxEnvelope(stitcher.partial(), columns) });
      }
    } finally {
      exec.destroy();
    }
    const probabilities = stitcher.probabilities();
    const seconds = (performance.now() - t0) / 1000;
    const evaluation = rec.labels && evaluate([{ probabilities, labels: rec.labels }]);
    return {
      model: model.info.name, precision, batch, window, stride: plan.stride, windows: total, samples: plan.samples,
      probability: minMaxEnvelope(probabilities, options.columns ?? DEFAULT_COLUMNS),
      events: postprocess(probabilities),
      postprocess: { ...DEFAULT_POSTPROCESS },
      evaluation: evaluation && {
        auroc: evaluation.auroc, referenceEvents: evaluation.referenceEvents, hours: evaluation.hours,
        operatingPoints: evaluation.operatingPoints.map((o) => scorePoint(o, probabilities)),
      },
      seconds,
    };
  }
}

/** How much of the recording the point's events cover; degenerate above DEGENERATE_COVERAGE. */
export function scorePoint(o: OperatingPoint, probabilities: Float32Array): ScoredOperatingPoint {
  if (o.threshold === null) return { ...o, coverage: null, degenerate: null };
  const events = postprocess(probabilities, { onThreshold: o.threshold, offThreshold: o.offThreshold ?? undefined });
  const seconds = probabilities.length / DEFAULT_POSTPROCESS.fs;
  const covered = events.reduce((a, [s, e]) => a + (e - s), 0);
  const coverage = seconds > 0 ? covered / seconds : 0;
  const degenerate = coverage > DEGENERATE_COVERAGE
    ? `${events.length} event${events.length === 1 ? '' : 's'} cover${events.length === 1 ? 's' : ''} ${(100 * coverage).toFixed(0)} % of the recording: the sensitivity counts seizures found by covering everything`
    : null;
  return { ...o, coverage, degenerate };
}

/** Every error names its file: the parsers' messages say what is wrong, not in which file. */
async function named<T>(file: string, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof Error && !e.message.startsWith(`${file}: `)) e.message = `${file}: ${e.message}`;
    throw e;
  }
}

/** A preset or a user's graph, with seeded weights or the user's, checked: it must take [B, 19, S] at 256 Hz and give [B, S]. */
export async function buildModel(spec: ModelSpec): Promise<LoadedModel> {
  const fromPreset = 'preset' in spec;
  const overrides = fromPreset ? spec.overrides ?? [] : [];
  const ir = fromPreset ? buildV3(spec.preset, applyOverrides(preset(spec.preset), overrides)) : await named(spec.graph.name, async () => parseIr(await spec.graph.text()));
  const window = checkDetector(ir, fromPreset ? `preset ${spec.preset}` : spec.graph.name);
  const file = 'weights' in spec ? spec.weights : undefined;
  const seed = 'seed' in spec ? spec.seed : 0;
  const weights = file ? await named(file.name, async () => loadWeights(ir, new Uint8Array(await file.arrayBuffer()))) : initWeights(ir, seed);
  const set = overrides.length ? ` with ${overrides.join(' ')}` : '';
  const seeded = `seeded initial weights (seed ${seed})`;
  const source = fromPreset ? `preset ${spec.preset}${set}, ${seeded}` : file ? `${spec.graph.name} + ${file.name}` : `${spec.graph.name}, ${seeded}`;
  const parameters = Object.values(ir.params).reduce((a, p) => a + numel(p.shape), 0);
  return { ir, weights, info: { name: ir.name, source, window, windowSeconds: window / TARGET_FS, parameters, seeded: !file } };
}

/** The window length of a graph that maps [B, 19, S] EEG at 256 Hz to [B, S] logits; throws saying what differs. */
function checkDetector(ir: IrDocument, what: string): number {
  const C = MONTAGE_CHANNELS.length;
  const shapes = (names: string[]) => names.map((n) => `${n} ${formatShape(ir.tensors[n]!.shape)}`).join(', ') || 'nothing';
  const input = ir.inputs.length === 1 ? ir.tensors[ir.inputs[0]!]!.shape : [];
  const S = input[2];
  if (input.length !== 3 || input[0] !== 'B' || input[1] !== C || typeof S !== 'number') {
    throw new Error(`${what} ("${ir.name}") takes ${shapes(ir.inputs)}; a detector takes one input [B, ${C}, samples]`);
  }
  const output = ir.outputs.length === 1 ? ir.tensors[ir.outputs[0]!]!.shape : [];
  if (output.length !== 2 || output[0] !== 'B' || output[1] !== S) {
    throw new Error(`${what} ("${ir.name}") gives ${shapes(ir.outputs)}; a detector of ${S}-sample windows gives one logit per sample, [B, ${S}]`);
  }
  const rate = ir.config.sample_rate;
  if (rate !== undefined && rate !== TARGET_FS) throw new Error(`${what} ("${ir.name}") was built for ${String(rate)} Hz; recordings are preprocessed to ${TARGET_FS} Hz`);
  return S;
}
