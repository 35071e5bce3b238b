// The EEG side of the lab's state (zustand): the open recording, the loaded model, the last prediction, and the
// actions that ask the engine worker for them. store.ts holds the adapter and its measurements; panels read both.
import { createStore, type StoreApi } from 'zustand/vanilla';
import { proxy } from 'comlink';
import type { ModelInfo, ModelSpec, Prediction, RecordingView } from '../engine/engine.ts';
import { preset } from '../graph/config.ts';
import { DEFAULT_OVERLAP } from '../data/window-stitch.ts';
import type { EngineHandle } from './engine-client.ts';
import type { Progress, Task } from './store.ts';

/** The lab's built-in model: the v3-tiny preset with seeded initial weights. */
export const DEFAULT_MODEL = { preset: 'v3-tiny', seed: 42 } as const;
/** The built-in recording: synthetic EEG with seizures, this long by default. */
export const DEFAULT_SYNTHETIC = { minutes: 2, seed: 1 } as const;

export interface RecordingLabState {
  recording: Task<RecordingView>;
  model: Task<ModelInfo>;
  prediction: Task<Prediction>;
  /** Windows covering each sample: the stride is the model's window / overlap. */
  overlap: number;
  /** Input samples per window of the loaded model, or of the default model before one is loaded. */
  window: number;
  /** An .edf and optionally its .csv_bi, in any order. */
  openFiles(files: readonly File[]): Promise<void>;
  openSynthetic(options: { minutes: number; seed: number }): Promise<void>;
  /** The default model when no spec is given. */
  loadModel(spec?: ModelSpec): Promise<void>;
  /** A graph.json and a weights.safetensors, in any order. */
  loadModelFiles(files: readonly File[]): Promise<void>;
  setOverlap(overlap: number): void;
  /** Runs the model over the open recording (loading the default model first if none is loaded). */
  predict(): Promise<void>;
}

export type RecordingLabStore = StoreApi<RecordingLabState>;

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));
const extension = (f: File) => /\.[^.]*$/.exec(f.name.toLowerCase())?.[0] ?? '';
const names = (files: readonly File[]) => files.map((f) => JSON.stringify(f.name)).join(', ') || 'no files';

/** The .edf and the optional .csv_bi among dropped files; throws naming what does not fit. */
export function recordingFiles(files: readonly File[]): { edf: File; csvBi?: File } {
  const edfs = files.filter((f) => extension(f) === '.edf');
  const labels = files.filter((f) => extension(f) === '.csv_bi');
  const other = files.filter((f) => !edfs.includes(f) && !labels.includes(f));
  if (other.length) throw new Error(`${names(other)}: not an .edf recording or a .csv_bi label file`);
  if (edfs.length !== 1) throw new Error(`one .edf file is needed (with its .csv_bi if you have one), got ${names(files)}`);
  if (labels.length > 1) throw new Error(`at most one .csv_bi goes with a recording, got ${names(labels)}`);
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

export function createRecordingStore(engine: EngineHandle, options: { columns: number }): RecordingLabStore {
  const defaultWindow = preset(DEFAULT_MODEL.preset).samples;
  return createStore<RecordingLabState>()((set, get) => {
    type Key = 'recording' | 'model' | 'prediction';
    /** Runs one engine task, keeping its progress, result or error in `key`; true when it succeeded. */
    async function runTask<K extends Key>(key: K, work: (onProgress: (p: Progress) => void) => Promise<RecordingLabState[K]['result']>): Promise<boolean> {
      set({ [key]: { ...get()[key], running: true, progress: undefined, error: undefined } } as Partial<RecordingLabState>);
      try {
        const result = await work((progress) => set({ [key]: { ...get()[key], progress } } as Partial<RecordingLabState>));
        set({ [key]: { running: false, result } } as Partial<RecordingLabState>);
        return true;
      } catch (e) {
        set({ [key]: { running: false, error: messageOf(e) } } as Partial<RecordingLabState>);
        return false;
      }
    }
    const busy = () => get().recording.running || get().model.running || get().prediction.running;

    async function open(work: (onProgress: (p: Progress) => void) => Promise<RecordingView>) {
      if (busy()) return;
      set({ prediction: { running: false } });
      await runTask('recording', work);
    }

    async function load(spec: ModelSpec): Promise<boolean> {
      set({ prediction: { running: false } });
      const ok = await runTask('model', () => engine.loadModel(spec));
      set({ window: get().model.result?.window ?? defaultWindow });
      return ok;
    }

    return {
      recording: { running: false },
      model: { running: false },
      prediction: { running: false },
      overlap: DEFAULT_OVERLAP,
      window: defaultWindow,

      openFiles: (files) => open(async (onProgress) => {
        const { edf, csvBi } = recordingFiles(files);
        return engine.openRecording(edf, csvBi, proxy(onProgress), { columns: options.columns });
      }),

      openSynthetic: (synthetic) => open((onProgress) => engine.openSyntheticRecording(synthetic, proxy(onProgress), { columns: options.columns })),

      async loadModel(spec = { ...DEFAULT_MODEL }) {
        if (!busy()) await load(spec);
      },

      async loadModelFiles(files) {
        if (busy()) return;
        try {
          await load(modelFiles(files));
        } catch (e) {
          set({ model: { running: false, error: messageOf(e) } });
        }
      },

      setOverlap(overlap) {
        if (!busy()) set({ overlap, prediction: { running: false } });
      },

      async predict() {
        if (busy() || !get().recording.result) return;
        if (!get().model.result && !(await load({ ...DEFAULT_MODEL }))) return;
        await runTask('prediction', (onProgress) => engine.predict({ overlap: get().overlap, columns: options.columns }, proxy(onProgress)));
      },
    };
  });
}
