// Running a batch of dispatches under the timestamp profiler: its timings, and the profiler's own cost.
import type { ComputeSession } from './session.ts';
import { MAX_TIMED_PASSES, TimestampProfiler, type ProfileResult } from './profiler.ts';
import type { ProfilerOverhead } from './profile-report.ts';

/** Records dispatches on the session (kernel calls); the caller flushes. */
export type Batch = (session: ComputeSession) => Promise<void>;

/**
 * Runs fn with `profiler` as the session's profiler (undefined: none) and puts the previous one back. Work
 * recorded before is flushed first, so its timestamps stay with the profiler that was on when it was recorded.
 */
export async function withProfiler<T>(session: ComputeSession, profiler: TimestampProfiler | undefined, fn: () => Promise<T>): Promise<T> {
  await session.flush();
  const saved = session.profiler;
  session.profiler = profiler;
  try {
    return await fn();
  } finally {
    try {
      await session.flush();
    } finally {
      session.profiler = saved;
    }
  }
}

export function requireTimestamps(session: ComputeSession): void {
  if (!session.device.features.has('timestamp-query')) {
    const i = session.gpu.info;
    throw new Error(`profiling needs the timestamp-query feature, which adapter "${i.description || i.device || i.vendor}" does not offer`);
  }
}

export interface ProfileBatchOptions {
  /** Unprofiled runs first (pipelines compile, buffers are touched). Default 1. */
  warmup?: number;
  /** Profiled runs, all collected together. Default 1. */
  repeats?: number;
  /** Timed passes available (at most MAX_TIMED_PASSES, the default); dispatches beyond it go untimed. */
  capacity?: number;
}

/** Timings of every dispatch of `repeats` runs of the batch. */
export async function profileBatch(session: ComputeSession, batch: Batch, options: ProfileBatchOptions = {}): Promise<ProfileResult> {
  requireTimestamps(session);
  const { warmup = 1, repeats = 1, capacity = MAX_TIMED_PASSES } = options;
  for (let i = 0; i < warmup; i++) {
    await batch(session);
    await session.flush();
  }
  const profiler = new TimestampProfiler(session.device, capacity);
  try {
    return await withProfiler(session, profiler, async () => {
      for (let i = 0; i < repeats; i++) await batch(session);
      return session.collectProfile();
    });
  } finally {
    profiler.destroy();
  }
}

/**
 * The profiler's own cost: the batch timed on the wall clock (recording, submit, GPU, results back) with and
 * without timestamp writes, alternating so that drift hits both alike; medians of `repeats` each. The timed run
 * includes the resolve and the read-back of the timestamps, the profiler's whole cost.
 */
export async function measureProfilerOverhead(session: ComputeSession, batch: Batch, repeats = 5): Promise<ProfilerOverhead> {
  requireTimestamps(session);
  if (!(repeats >= 1)) throw new Error(`measureProfilerOverhead: repeats must be at least 1, got ${repeats}`);
  await withProfiler(session, undefined, async () => {
    await batch(session); // warm-up
  });
  const without: number[] = [];
  const withTimestamps: number[] = [];
  let dispatches = 0;
  const profiler = new TimestampProfiler(session.device);
  try {
    for (let r = 0; r < repeats; r++) {
      without.push(
        await withProfiler(session, undefined, async () => {
          const t0 = performance.now();
          await batch(session);
          await session.flush();
          return performance.now() - t0;
        }),
      );
      withTimestamps.push(
        await withProfiler(session, profiler, async () => {
          const t0 = performance.now();
          await batch(session);
          dispatches = (await session.collectProfile()).entries.length;
          return performance.now() - t0;
        }),
      );
    }
  } finally {
    profiler.destroy();
  }
  const withoutMs = median(without);
  const withMs = median(withTimestamps);
  const overheadMs = withMs - withoutMs;
  return {
    repeats,
    dispatches,
    withoutMs,
    withMs,
    overheadMs,
    fraction: withoutMs > 0 ? overheadMs / withoutMs : 0,
    perDispatchUs: dispatches > 0 ? (1000 * overheadMs) / dispatches : 0,
  };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
