// The lab's view of the engine's GPU queue: the engine runs GPU tasks one at a time in the order asked, and every
// GPU action of the page goes through run() here in that same order, so a panel can say what its action waits
// behind.
export interface GpuJob {
  id: number;
  /** What the job is, in words ("Calibrate", "Model profile"). */
  name: string;
}

export class GpuQueue {
  private jobs: GpuJob[] = [];
  private next = 1;
  private readonly listeners = new Set<() => void>();

  /** Runs `work` as a job named `name`; `onJob` gets its id before it starts waiting. */
  async run<T>(name: string, work: () => Promise<T>, onJob?: (id: number) => void): Promise<T> {
    const job = { id: this.next++, name };
    this.jobs = [...this.jobs, job];
    onJob?.(job.id);
    this.notify();
    try {
      return await work();
    } finally {
      this.jobs = this.jobs.filter((j) => j !== job);
      this.notify();
    }
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

  private notify(): void {
    for (const l of this.listeners) l();
  }
}
