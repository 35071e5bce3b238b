// Local training (zustand): Engine.train on the loaded model, its per-step progress kept for the charts, stop
// (keeps what was learnt), resume (the trained weights become the model, then the remaining steps run), and
// the trained weights handed to the rest of the lab as its model.
import { createStore, type StoreApi } from 'zustand/vanilla';
import { proxy } from 'comlink';
import type { TrainProgress, TrainResult } from '../engine/engine.ts';
import type { Precision } from '../gpu/precision.ts';
import type { EngineHandle } from './engine-client.ts';
import type { GpuQueue } from './gpu-queue.ts';
import type { RecordingLabStore } from './recording-store.ts';
import { runTask, type Progress, type Task } from './task.ts';

export interface TrainForm {
  steps: number;
  batch: number;
  precision: Precision;
  lr: number;
  seed: number;
  /** Minutes of synthetic EEG to cut into training windows. */
  minutes: number;
  /** Synthetic EEG, or the recording open in the Recordings tab (with its labels). */
  data: 'synthetic' | 'recording';
}

export interface TrainRunProgress extends Progress {
  history: TrainProgress[];
}

export interface TrainState {
  run: Task<TrainResult, TrainRunProgress>;
  /** Every step so far, over resumes: the charts' data. */
  history: TrainProgress[];
  /** The config the last run started with (resume runs its remaining steps). */
  form?: TrainForm;
  /** Weights handed to the lab: an error or what was loaded. */
  handoff: Task<string>;
  train(form: TrainForm): Promise<void>;
  stop(): Promise<void>;
  resume(): Promise<void>;
  /** Makes the trained weights the lab's model (Recordings, Model profile, Remote runs use it at once). */
  useWeights(): Promise<boolean>;
}

export type TrainStore = StoreApi<TrainState>;

export function createTrainStore(engine: EngineHandle, queue: GpuQueue, models: RecordingLabStore): TrainStore {
  return createStore<TrainState>()((set, get) => {
    async function start(form: TrainForm, keepHistory: boolean) {
      if (get().run.running) return;
      const before = keepHistory ? get().history : [];
      set({ form, history: before });
      await runTask<TrainResult, TrainRunProgress>(() => get().run, (run) => set({ run }), (onProgress) =>
        engine.train({ steps: form.steps, batch: form.batch, precision: form.precision, lr: form.lr, seed: form.seed, data: form.data === 'recording' ? { kind: 'recording' } : { kind: 'synthetic', seed: form.seed, minutes: form.minutes } },
          proxy((p: TrainProgress) => {
            const history = [...get().history, { ...p, step: before.length + p.step }];
            set({ history });
            onProgress({ done: p.step, total: p.steps, message: `step ${p.step} of ${p.steps}: loss ${p.loss.toFixed(4)}, ${p.stepMs.toFixed(0)} ms`, history });
          })), { queue, name: 'Training' });
    }

    return {
      run: { running: false },
      history: [],
      handoff: { running: false },

      train: (form) => start(form, false),

      async stop() {
        await engine.stopTraining();
      },

      async resume() {
        const r = get().run.result, form = get().form;
        if (!r || !form || !r.stopped) return;
        const left = form.steps - r.history.length;
        if (left < 1 || !(await get().useWeights())) return;
        await start({ ...form, steps: left }, true);
      },

      async useWeights() {
        const r = get().run.result;
        if (!r) return false;
        return runTask(() => get().handoff, (handoff) => set({ handoff }), async () => {
          const m = await engine.exportModel();
          await models.getState().loadModel({ graph: new File([m.graph], `${m.name}.json`), weights: new File([r.weights as BlobPart], `${m.name}-trained.safetensors`) });
          const loaded = models.getState().model;
          if (loaded.error) throw new Error(loaded.error);
          return `the trained weights are the lab's model (${m.name}-trained.safetensors)`;
        });
      },
    };
  });
}
