// The lab's GPU queue: the engine runs GPU tasks one at a time, and every GPU action of the page goes through run()
// here, which hands a job to the engine only when the jobs before it have finished. So a panel can say what its
// action waits behind, and a job still waiting can be cancelled here without the engine ever seeing it (the
// engine's own cancel() stops only the task it is running).
import { CancelledError } from './task.ts';

export interface GpuJob {
  id: number;
  /** What the job is, in words ("Calibrate", "Model profile"). */
  name: string;
}

interface Waiting extends GpuJob {
  /** Ends the wait: the job's work starts, or (with an error) never does. */
  release(error?: Error): void;
  started: boolean;
}

export class GpuQueue {
  private jobs: Waiting[] = [];
  private next = 1;
  private readonly listeners = new Set<() => void>();

  /** Runs `work` as a job named `name` once every job before it is done; `onJob` gets its id before it waits. */
  async run<T>(name: string, work: () => Promise<T>, onJob?: (id: number) => void): Promise<T> {
    let release!: (error?: Error) => void;
    const turn = new Promise<void>((ok, fail) => (release = (error) => (error ? fail(error) : ok())));
    const job: Waiting = { id: this.next++, name, release, started: false };
    this.jobs = [...this.jobs, job];
    onJob?.(job.id);
    this.notify();
    this.startFirst();
    try {
      await turn;
      return await work();
    } finally {
      this.jobs = this.jobs.filter((j) => j !== job);
      this.notify();
      this.startFirst();
    }
  }

  /** Takes a job that has not started out of the queue: its run() rejects with CancelledError. False if it runs already. */
  cancel(id: number | undefined): boolean {
    const job = this.jobs.find((j) => j.id === id);
    if (!job || job.started) return false;
    job.release(new CancelledError(`${job.name.toLowerCase()} cancelled while queued`));
    return true;
  }

  /** Names of the jobs ahead of job `id` (empty once it runs, or when it is not queued). */
  ahead(id: number | undefined): string[] {
    const i = this.jobs.findIndex((j) => j.id === id);
    return i < 0 ? [] : this.jobs.slice(0, i).map((j) => j.name);
  }

  get size(): number {
    return this.jobs.length;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private startFirst(): void {
    const first = this.jobs[0];
    if (first && !first.started) {
      first.started = true;
      first.release();
    }
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}
