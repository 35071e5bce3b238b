// The lab's state (zustand, no framework): what the engine said, and the actions that ask it. The EEG side
// (recording, model, detection) is recording-store.ts; remote runs are remote-store.ts.
import { createStore, type StoreApi } from 'zustand/vanilla';
import { proxy } from 'comlink';
import type { Calibration, GpuInfo, Headroom, HeadroomMode, KernelProfile, ModelProfile, ProbePoint } from '../engine/engine.ts';
import type { Precision } from '../gpu/precision.ts';
import type { EngineHandle } from './engine-client.ts';
import type { GpuQueue } from './gpu-queue.ts';
import { messageOf, runTask, type Progress, type Task } from './task.ts';

export type { Progress, Task };

export type AdapterState =
  | { status: 'connecting' }
  | { status: 'ready'; info: GpuInfo }
  /** No WebGPU here: the message says what is missing. */
  | { status: 'unavailable'; message: string }
  | { status: 'failed'; message: string };

export interface ProbeResult {
  mode: HeadroomMode;
  points: ProbePoint[];
}

/** A headroom probe's progress carries the points measured so far, for drawing them as they come. */
export interface ProbeProgress extends Progress {
  mode: HeadroomMode;
  points: ProbePoint[];
}

export interface LabState {
  adapter: AdapterState;
  calibration: Task<Calibration>;
  profile: Task<KernelProfile>;
  modelProfile: Task<ModelProfile>;
  headroom: Task<Headroom>;
  probe: Task<ProbeResult, ProbeProgress>;
  connect(): Promise<void>;
  calibrate(): Promise<void>;
  profileKernels(): Promise<void>;
  profileModel(options: { batch: number; precision: Precision }): Promise<void>;
  predictHeadroom(options: HeadroomRequest): Promise<void>;
  probeHeadroom(options: HeadroomRequest & { mode: HeadroomMode }): Promise<void>;
  /** Stops the GPU task that is running now (at its next step). */
  cancel(): Promise<void>;
  /** The page cannot go on (the engine worker died, or the URL asked for something invalid). */
  fail(message: string): void;
}

export interface HeadroomRequest {
  precision: Precision;
  maxBatch: number;
  budgetBytes?: number;
}

export type LabStore = StoreApi<LabState>;

/** What the lab measures and how big (URL parameters `copy-mib`, `elements`, `families`; see main.ts). */
export interface LabOptions {
  /** Each calibration copy buffer; default: calibrate()'s (256 MiB, within the adapter's limits). */
  copyBytes?: number;
  /** Main tensor of each kernel family in a profile; default 1M elements (seconds on a software adapter). */
  profileElements?: number;
  /** Only these kernel families in a profile (default: all). */
  families?: string[];
}

type TaskKey = 'calibration' | 'profile' | 'modelProfile' | 'headroom' | 'probe';

export function createLabStore(engine: EngineHandle, queue: GpuQueue, options: LabOptions = {}): LabStore {
  return createStore<LabState>()((set, get) => {
    /** Runs one GPU task named `name` in the queue, keeping its state in `key`. */
    async function gpuTask<K extends TaskKey, P extends Progress = Progress>(key: K, name: string, work: (onProgress: (p: P) => void) => Promise<LabState[K]['result']>) {
      if (get()[key].running || get().adapter.status !== 'ready') return;
      await runTask<unknown, P>(() => get()[key] as Task<unknown, P>, (t) => set({ [key]: t } as Partial<LabState>), work, { queue, name });
    }

    return {
      adapter: { status: 'connecting' },
      calibration: { running: false },
      profile: { running: false },
      modelProfile: { running: false },
      headroom: { running: false },
      probe: { running: false },

      async connect() {
        try {
          set({ adapter: { status: 'ready', info: await engine.gpuInfo() } });
        } catch (e) {
          const unavailable = e instanceof Error && e.name === 'NoWebGpuError';
          set({ adapter: { status: unavailable ? 'unavailable' : 'failed', message: messageOf(e) } });
        }
      },

      calibrate: () => gpuTask('calibration', 'Calibrate', (onProgress) => engine.calibrate(proxy(onProgress), { copyBytes: options.copyBytes })),

      profileKernels: () => gpuTask('profile', 'Profile kernels', (onProgress) =>
        engine.profileKernels(proxy(onProgress), { elements: options.profileElements ?? 2 ** 20, families: options.families })),

      profileModel: ({ batch, precision }) => gpuTask('modelProfile', 'Model profile', (onProgress) => engine.profileModel({ batch, precision }, proxy(onProgress))),

      // Plain arithmetic over the plans, but it reads the loaded model and the adapter: no GPU work, no queue.
      async predictHeadroom(request) {
        if (get().headroom.running) return;
        await runTask(() => get().headroom, (headroom) => set({ headroom }), () => engine.headroom(request));
      },

      probeHeadroom: (request) => gpuTask('probe', 'Headroom probe', async (onProgress: (p: ProbeProgress) => void) => {
        const points: ProbePoint[] = [];
        const total = Math.floor(Math.log2(request.maxBatch)) + 1;
        onProgress({ done: 0, total, message: `batch 1 (${request.mode})`, mode: request.mode, points: [] });
        const measured = await engine.probeHeadroom(request, proxy((p: ProbePoint) => {
          points.push(p);
          onProgress({ done: points.length, total, message: p.ok ? `batch ${p.batch} ran; next batch ${2 * p.batch}` : `batch ${p.batch} failed`, mode: request.mode, points: [...points] });
        }));
        return { mode: request.mode, points: measured };
      }),

      async cancel() {
        await engine.cancel();
      },

      fail(message) {
        set({ adapter: { status: 'failed', message } });
      },
    };
  });
}
