// The EEG side of the lab's state (zustand): the open recording, the loaded model, the last prediction, and the
// actions that ask the engine worker for them. store.ts holds the adapter and its measurements; panels read both.
// Files are checked before anything is replaced, and a failed open or load keeps what was there.
import { createStore, type StoreApi } from 'zustand/vanilla';
import { proxy } from 'comlink';
import type { ModelInfo, ModelSpec, Prediction, RecordingView } from '../engine/engine.ts';
import type { Envelope } from '../data/envelope.ts';
import type { Precision } from '../gpu/precision.ts';
import { preset } from '../graph/config.ts';
import { DEFAULT_OVERLAP } from '../data/window-stitch.ts';
import type { EngineHandle } from './engine-client.ts';
import type { GpuQueue } from './gpu-queue.ts';
import { messageOf, runTask, type Progress, type Task } from './task.ts';

/** The lab's built-in model: the v3-tiny preset with seeded initial weights. */
export const DEFAULT_MODEL = { preset: 'v3-tiny', seed: 42 } as const;
/** The built-in recording: synthetic EEG with seizures, this long by default, and the minutes the field takes. */
export const DEFAULT_SYNTHETIC = { minutes: 2, seed: 1 } as const;
export const SYNTHETIC_MINUTES = { min: 1, max: 120 } as const;

/** A model run's progress: the probability so far (NaN columns where no window has arrived yet). */
export interface PredictionProgress extends Progress {
  probability?: Envelope;
}

/** An EDF whose header promises more records than the file holds: it can be opened up to its last whole record. */
export interface TruncatedOffer {
  edf: File;
  csvBi?: File;
  message: string;
}

export interface RecordingLabState {
  recording: Task<RecordingView>;
  model: Task<ModelInfo>;
  prediction: Task<Prediction, PredictionProgress>;
  truncated?: TruncatedOffer;
  /** Windows covering each sample: the stride is the model's window / overlap. */
  overlap: number;
  /** Windows per forward call and the precision of a detection run. */
  batch: number;
  precision: Precision;
  /** Input samples per window of the loaded model, or of the default model before one is loaded. */
  window: number;
  /** An .edf and optionally its .csv_bi, in any order. */
  openFiles(files: readonly File[]): Promise<void>;
  /** The truncated EDF last refused, up to its last whole record. */
  openWholeRecords(): Promise<void>;
  openSynthetic(options: { minutes: number; seed: number }): Promise<void>;
  /** The default model when no spec is given. */
  loadModel(spec?: ModelSpec): Promise<void>;
  /** A graph.json and a weights.safetensors, in any order. */
  loadModelFiles(files: readonly File[]): Promise<void>;
  setOverlap(overlap: number): void;
  setRun(options: { batch?: number; precision?: Precision }): void;
  /** Runs the loaded model over the open recording. */
  predict(): Promise<void>;
  cancel(): Promise<void>;
}

export type RecordingLabStore = StoreApi<RecordingLabState>;

const extension = (f: File) => /\.[^.]*$/.exec(f.name.toLowerCase())?.[0] ?? '';
const names = (files: readonly File[]) => files.map((f) => JSON.stringify(f.name)).join(', ') || 'no files';

/**
 * The .edf and its optional labels among dropped files: a .csv_bi, or TUSZ's per-channel .csv when that is all there
 * is (the same parser reads both; every channel's seizure rows are merged). Throws naming what does not fit.
 */
export function recordingFiles(files: readonly File[]): { edf: File; csvBi?: File } {
  const edfs = files.filter((f) => extension(f) === '.edf');
  const csvBi = files.filter((f) => extension(f) === '.csv_bi');
  const csv = files.filter((f) => extension(f) === '.csv');
  const other = files.filter((f) => !edfs.includes(f) && !csvBi.includes(f) && !csv.includes(f));
  if (other.length) throw new Error(`${names(other)}: not an .edf recording or a .csv_bi / .csv label file`);
  if (edfs.length !== 1) throw new Error(`one .edf file is needed (with its .csv_bi if you have one), got ${names(files)}`);
  const labels = csvBi.length ? csvBi : csv; // .csv_bi first, as the backend's cache and `ictal train` choose
  if (labels.length > 1) throw new Error(`at most one label file goes with a recording, got ${names(labels)}`);
  return { edf: edfs[0]!, csvBi: labels[0] };
}

/** The graph.json and weights.safetensors among picked files; throws naming what does not fit. */
export function modelFiles(files: readonly File[]): { graph: File; weights: File } {
  const graphs = files.filter((f) => extension(f) === '.json');
  const weights = files.filter((f) => extension(f) === '.safetensors');
  if (graphs.length !== 1 || weights.length !== 1 || files.length !== 2) {
    throw new Error(`a model is two files, a graph .json and its weights .safetensors; got ${names(files)}`);
  }
  return { graph: graphs[0]!, weights: weights[0]! };
}

/** The minutes field: a whole number in range, or an error naming what was typed. */
export function syntheticMinutes(raw: string): number {
  const m = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(m) || m < SYNTHETIC_MINUTES.min || m > SYNTHETIC_MINUTES.max) {
    throw new Error(`minutes of synthetic EEG: "${raw}" is not a whole number from ${SYNTHETIC_MINUTES.min} to ${SYNTHETIC_MINUTES.max}`);
  }
  return m;
}

export function createRecordingStore(engine: EngineHandle, queue: GpuQueue, options: { columns: number }): RecordingLabStore {
  const defaultWindow = preset(DEFAULT_MODEL.preset).samples;
  return createStore<RecordingLabState>()((set, get) => {
    type Key = 'recording' | 'model' | 'prediction';
    const task = <K extends Key, P extends Progress = Progress>(key: K, work: (onProgress: (p: P) => void) => Promise<RecordingLabState[K]['result']>, gpu?: string) =>
      runTask<unknown, P>(() => get()[key] as Task<unknown, P>, (t) => set({ [key]: t } as Partial<RecordingLabState>), work, gpu ? { queue, name: gpu } : undefined);
    const busy = () => get().recording.running || get().model.running || get().prediction.running;

    /** Opens a recording; only a successful open replaces the recording (and drops the old one's prediction). */
    async function open(work: (onProgress: (p: Progress) => void) => Promise<RecordingView>) {
      if (busy()) return;
      set({ truncated: undefined });
      const before = get().recording.result;
      await task('recording', work);
      if (get().recording.result !== before) set({ prediction: { running: false } });
    }

    async function openEdf(edf: File, csvBi: File | undefined, wholeRecords: boolean) {
      await open(async (onProgress) => {
        try {
          return await engine.openRecording(edf, csvBi, proxy(onProgress), { columns: options.columns, wholeRecords });
        } catch (e) {
          if (e instanceof Error && e.name === 'TruncatedEdfError') set({ truncated: { edf, csvBi, message: e.message } });
          throw e;
        }
      });
    }

    async function load(spec: ModelSpec): Promise<boolean> {
      const ok = await task('model', (onProgress) => engine.loadModel(spec, proxy(onProgress)), 'Load model');
      if (ok) set({ window: get().model.result!.window, prediction: { running: false } });
      return ok;
    }

    /** A refusal before any work: shown on the task, whose last result stays. */
    const refuse = (key: Key, e: unknown) => set({ [key]: { ...get()[key], running: false, error: messageOf(e), cancelled: false } } as Partial<RecordingLabState>);

    return {
      recording: { running: false },
      model: { running: false },
      prediction: { running: false },
      overlap: DEFAULT_OVERLAP,
      batch: 4,
      precision: 'f32',
      window: defaultWindow,

      async openFiles(files) {
        if (busy()) return;
        let picked: { edf: File; csvBi?: File };
        try {
          picked = recordingFiles(files);
        } catch (e) {
          return refuse('recording', e);
        }
        await openEdf(picked.edf, picked.csvBi, false);
      },

      async openWholeRecords() {
        const t = get().truncated;
        if (t) await openEdf(t.edf, t.csvBi, true);
      },

      openSynthetic: (synthetic) => open((onProgress) => engine.openSyntheticRecording(synthetic, proxy(onProgress), { columns: options.columns })),

      async loadModel(spec = { ...DEFAULT_MODEL }) {
        if (!busy()) await load(spec);
      },

      async loadModelFiles(files) {
        if (busy()) return;
        let picked: { graph: File; weights: File };
        try {
          picked = modelFiles(files);
        } catch (e) {
          return refuse('model', e);
        }
        await load(picked);
      },

      setOverlap(overlap) {
        if (!busy()) set({ overlap, prediction: { running: false } });
      },

      setRun({ batch, precision }) {
        if (busy()) return;
        if (batch !== undefined) set({ batch });
        if (precision !== undefined) set({ precision });
      },

      async predict() {
        if (busy() || !get().recording.result || !get().model.result) return;
        const { overlap, batch, precision } = get();
        await task('prediction', (onProgress: (p: PredictionProgress) => void) => engine.predict({ overlap, batch, precision, columns: options.columns }, proxy(onProgress)), 'Detection run');
      },

      async cancel() {
        await engine.cancel();
      },
    };
  });
}
