// A long engine task as the stores keep it: running or not, its progress (with when progress started, for the
// ETA), its result or its error, and its place in the GPU queue.
import type { GpuQueue } from './gpu-queue.ts';

export interface Progress {
  done: number;
  total: number;
  message: string;
}

export interface Task<T, P extends Progress = Progress> {
  running: boolean;
  progress?: P;
  /** Wall time (ms) and `done` of the first progress report: the ETA is measured from there. */
  since?: { ms: number; done: number };
  /** Its job in the GPU queue while it waits or runs (GPU tasks only). */
  job?: number;
  result?: T;
  error?: string;
  /** The error was a cancel the user asked for. */
  cancelled?: boolean;
}

/** A task stopped because the user asked (the engine's is the same by name: comlink carries only name and message). */
export class CancelledError extends Error {
  override name = 'CancelledError';
}

/** A thrown value as the one line a person should read (comlink carries an Error's name and message). */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Seconds left at the rate since the first progress report, or undefined before there is a rate. */
export function etaSeconds(task: Task<unknown, Progress>, nowMs = performance.now()): number | undefined {
  const p = task.progress, s = task.since;
  if (!p || !s || p.done <= s.done || p.total <= p.done) return undefined;
  return ((nowMs - s.ms) / 1000 / (p.done - s.done)) * (p.total - p.done);
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)} s`;
  const m = Math.floor(s / 60), r = Math.round(s % 60);
  return m < 60 ? `${m} min ${r} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

type Setter<T, P extends Progress> = (next: Task<T, P>) => void;

/**
 * Runs one engine task, keeping its state through `set` (given the whole new task each time); through the GPU
 * queue under `gpu.name` when it uses the GPU. Returns whether it succeeded.
 */
export async function runTask<T, P extends Progress = Progress>(
  current: () => Task<T, P>,
  set: Setter<T, P>,
  work: (onProgress: (p: P) => void) => Promise<T>,
  gpu?: { queue: GpuQueue; name: string },
): Promise<boolean> {
  set({ running: true, result: current().result });
  const onProgress = (progress: P) => {
    const t = current();
    set({ ...t, progress, since: t.since ?? { ms: performance.now(), done: progress.done } });
  };
  try {
    const result = gpu ? await gpu.queue.run(gpu.name, () => work(onProgress), (job) => set({ ...current(), job })) : await work(onProgress);
    set({ running: false, result });
    return true;
  } catch (e) {
    // What was there before stays: a bad file or a failed run never destroys the last good result.
    set({ running: false, result: current().result, error: messageOf(e), cancelled: e instanceof Error && e.name === 'CancelledError' });
    return false;
  }
}
