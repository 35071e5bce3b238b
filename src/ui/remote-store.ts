// Remote runs (zustand): a run API server (src/remote/client.ts) reached from the page with its URL and token;
// the loaded graph and its current weights submitted with a training config; the runs listed; one run followed
// live over server-sent events (reconnecting from the last event id); cancel, resume, and a checkpoint loaded
// back into the lab as the model. The token stays in sessionStorage (this tab) unless "remember" is ticked.
import { createStore, type StoreApi } from 'zustand/vanilla';
import { RunClient, toBase64 } from '../remote/client.ts';
import type { RunEvent, RunInfo, TrainSpec, DataSpec } from '../remote/types.ts';
import type { EngineHandle } from './engine-client.ts';
import type { RecordingLabStore } from './recording-store.ts';
import { messageOf, runTask, type Task } from './task.ts';

const KEYS = { server: 'ictal.remote.server', token: 'ictal.remote.token' } as const;

export interface Connection {
  server: string;
  token: string;
  remember: boolean;
}

/** One point of a run's charts: a `metrics` event of a split. */
export interface MetricPoint {
  split: string;
  step: number;
  loss: number;
  [metric: string]: unknown;
}

export interface FollowState {
  id: string;
  /** Connected and reading; `ended` after the run's end event; `failed` with why. */
  state: 'connecting' | 'live' | 'ended' | 'failed';
  events: RunEvent[];
  metrics: MetricPoint[];
  error?: string;
}

/** A followed run's events and metric points after one more event. A `rewind` (a resume cut the log back)
 * withdraws what came from its `first_dropped_id` on: those steps are trained, and sent, again. */
export function foldRunEvent(seen: Pick<FollowState, 'events' | 'metrics'>, e: RunEvent): Pick<FollowState, 'events' | 'metrics'> {
  const withdrawn = e.kind === 'rewind' ? e.first_dropped_id : Infinity;
  const kept = (x: object) => !('id' in x && typeof x.id === 'number' && x.id >= withdrawn);
  const metrics = e.kind === 'metrics' && typeof e.loss === 'number'
    ? [...seen.metrics, { ...e, split: String(e.split ?? 'train'), step: Number(e.step ?? seen.metrics.length), loss: e.loss }]
    : seen.metrics.filter(kept);
  return { events: [...seen.events.filter(kept), e], metrics };
}

export interface SubmitConfig {
  train: TrainSpec;
  data: DataSpec;
}

export interface RemoteState {
  connection: Connection;
  /** The server answered /api/health with this version (the token is checked by listing runs). */
  connected: Task<{ version: string }>;
  runs: Task<RunInfo[]>;
  submit: Task<{ id: string }>;
  follow?: FollowState;
  /** Cancel, resume or checkpoint load of the followed run. */
  action: Task<string>;
  connect(c: Connection): Promise<void>;
  refresh(): Promise<void>;
  submitRun(config: SubmitConfig): Promise<void>;
  followRun(id: string): void;
  cancelRun(id: string): Promise<void>;
  resumeRun(id: string): Promise<void>;
  /** Downloads checkpoint `name` of run `id` and loads it, with the run's graph, as the lab's model. */
  loadCheckpoint(id: string, name: string): Promise<void>;
  /** The checkpoint's bytes, for the browser to save. */
  downloadCheckpoint(id: string, name: string): Promise<Blob>;
}

export type RemoteStore = StoreApi<RemoteState>;

/** The saved connection: the server in localStorage, the token in sessionStorage unless it was remembered. */
export function savedConnection(): Connection {
  const remembered = localStorage.getItem(KEYS.token);
  return { server: localStorage.getItem(KEYS.server) ?? '', token: remembered ?? sessionStorage.getItem(KEYS.token) ?? '', remember: remembered !== null };
}

function saveConnection(c: Connection): void {
  localStorage.setItem(KEYS.server, c.server);
  if (c.remember) {
    localStorage.setItem(KEYS.token, c.token);
    sessionStorage.removeItem(KEYS.token);
  } else {
    sessionStorage.setItem(KEYS.token, c.token);
    localStorage.removeItem(KEYS.token);
  }
}

export function createRemoteStore(engine: EngineHandle, models: RecordingLabStore): RemoteStore {
  let client: RunClient | undefined;
  let following: AbortController | undefined;

  return createStore<RemoteState>()((set, get) => {
    const need = (): RunClient => {
      if (!client) throw new Error('connect to a run API first (Server URL and Token)');
      return client;
    };
    const task = <K extends 'connected' | 'runs' | 'submit' | 'action'>(key: K, work: () => Promise<RemoteState[K]['result']>) =>
      runTask(() => get()[key] as Task<unknown>, (t) => set({ [key]: t } as Partial<RemoteState>), work);

    async function follow(id: string, signal: AbortSignal) {
      const update = (f: Partial<FollowState>) => {
        const now = get().follow;
        if (now?.id === id) set({ follow: { ...now, ...f } });
      };
      try {
        for await (const e of need().follow(id, { signal, reconnects: 20, reconnectDelayMs: 1000 })) {
          const now = get().follow;
          if (!now || now.id !== id) return;
          update({ state: e.kind === 'end' ? 'ended' : 'live', ...foldRunEvent(now, e) });
          if (e.kind === 'end' || e.kind === 'status' || e.kind === 'checkpoint') void get().refresh();
        }
      } catch (e) {
        if (!signal.aborted) update({ state: 'failed', error: messageOf(e) });
      }
    }

    return {
      connection: savedConnection(),
      connected: { running: false },
      runs: { running: false },
      submit: { running: false },
      action: { running: false },

      async connect(c) {
        following?.abort();
        client = undefined;
        set({ connection: c, follow: undefined, runs: { running: false } });
        const ok = await task('connected', async () => {
          const candidate = new RunClient({ server: c.server, token: c.token });
          const health = await candidate.health();
          await candidate.list(); // the token is checked here: /api/health answers without one
          client = candidate;
          saveConnection(c);
          return { version: health.version };
        });
        if (ok) await get().refresh();
      },

      async refresh() {
        if (client) await task('runs', () => need().list());
      },

      async submitRun(config) {
        if (get().submit.running) return;
        const ok = await task('submit', async () => {
          const c = need();
          if (!models.getState().model.result) throw new Error('load a model first: the run trains the loaded graph from its current weights');
          const m = await engine.exportModel();
          const created = await c.submit({ graph: JSON.parse(m.graph), weights: toBase64(m.weights), ...config });
          return { id: created.id };
        });
        if (ok) {
          await get().refresh();
          get().followRun(get().submit.result!.id);
        }
      },

      followRun(id) {
        following?.abort();
        following = new AbortController();
        set({ follow: { id, state: 'connecting', events: [], metrics: [] } });
        void follow(id, following.signal);
      },

      async cancelRun(id) {
        await task('action', async () => `cancel asked of ${(await need().cancel(id)).id}`);
        await get().refresh();
      },

      async resumeRun(id) {
        const ok = await task('action', async () => `${(await need().resume(id)).id} queued again`);
        await get().refresh();
        if (ok) get().followRun(id);
      },

      async loadCheckpoint(id, name) {
        await task('action', async () => {
          const c = need();
          const [run, bytes, model] = await Promise.all([c.get(id), c.artifact(id, name), engine.exportModel().catch(() => undefined)]);
          // The graph the run trained: the lab's own when the names match, as the run holds only a summary of it.
          if (!model || model.name !== run.graph.name) throw new Error(`run ${id} trained graph "${run.graph.name}"; load that graph in the lab first, then its checkpoint`);
          await models.getState().loadModel({ graph: new File([model.graph], `${run.graph.name}.json`), weights: new File([bytes as BlobPart], `${id}-${name}`) });
          const loaded = models.getState().model;
          if (loaded.error) throw new Error(loaded.error);
          return `loaded ${name} of ${id} as the lab's model`;
        });
      },

      downloadCheckpoint: async (id, name) => new Blob([(await need().artifact(id, name)) as BlobPart], { type: 'application/octet-stream' }),
    };
  });
}
