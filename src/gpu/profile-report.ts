// What a profiled batch says: a per-kernel report (JSON), a Chrome trace, performance.measure entries and a
// text table. Pure functions of a ProfileResult; the same in a browser worker and in Node.
import type { ProfileEntry, ProfileResult } from './profiler.ts';

/** The adapter's two ceilings, measured by calibrate(): copy bandwidth and FMA rate. */
export interface Roofline {
  copyGBps: number;
  fmaGflops: number;
}

/** The profiler's own cost: the same batch timed on the wall clock with and without timestamp writes. */
export interface ProfilerOverhead {
  repeats: number;
  dispatches: number;
  /** Medians over the repeats, milliseconds from first dispatch to results on the host. */
  withoutMs: number;
  withMs: number;
  /** withMs - withoutMs; below the run-to-run noise it may come out negative, and is reported as measured. */
  overheadMs: number;
  /** overheadMs / withoutMs. */
  fraction: number;
  perDispatchUs: number;
}

/** One kernel row: every dispatch with the same label, kernel, precision and shapes, summed. */
export interface KernelRow {
  label: string;
  kernel: string;
  precision: string;
  shapes: string;
  calls: number;
  timeNs: number;
  meanNs: number;
  bytes: number;
  flops: number;
  gbps: number;
  gflops: number;
  /** Of the batch's summed GPU time. */
  share: number;
  /** Roofline time bound (max of bytes / copy rate, FLOPs / FMA rate) over measured time; 1 = at the roofline. */
  rooflineShare?: number;
  bound?: 'memory' | 'compute';
  /** Some dispatch was shorter than the timer's quantum: its time is a bound, not a measurement. */
  belowQuantum: boolean;
  /** The run's phase (a training step's forward, backward, ...), where the run marked them: rows never mix phases. */
  phase?: string;
}

/** One phase of a run that marked them (a training step): its dispatches and their summed time. */
export interface PhaseRow {
  phase: string;
  dispatches: number;
  timeNs: number;
  /** Of the batch's summed GPU time: the phases' shares add up to 1. */
  share: number;
}

export interface ProfileReport {
  format: 'ictal-profile';
  version: 1;
  adapter: string;
  quantumNs: number;
  gpuNs: number;
  dispatches: number;
  /** Dispatches that ran beyond the profiler's capacity, untimed (not in the rows). */
  untimed: number;
  roofline?: Roofline;
  overhead?: ProfilerOverhead;
  kernels: KernelRow[];
  /** Per phase in order of first dispatch, where the run marked phases (a training step); their times sum to gpuNs. */
  phases?: PhaseRow[];
}

export interface ReportOptions {
  adapter?: string;
  roofline?: Roofline;
  overhead?: ProfilerOverhead;
}

/** Rows in order of first dispatch; bytes / ns is GB/s and FLOPs / ns is GFLOP/s. */
export function buildReport(result: ProfileResult, options: ReportOptions = {}): ProfileReport {
  const rows = new Map<string, KernelRow>();
  for (const e of result.entries) {
    const key = JSON.stringify([e.label, e.kernel, e.precision, e.shapes, e.phase]);
    let row = rows.get(key);
    if (!row) {
      row = { label: e.label, kernel: e.kernel, precision: e.precision, shapes: e.shapes, calls: 0, timeNs: 0, meanNs: 0, bytes: 0, flops: 0, gbps: 0, gflops: 0, share: 0, belowQuantum: false };
      if (e.phase !== undefined) row.phase = e.phase;
      rows.set(key, row);
    }
    row.calls++;
    row.timeNs += e.durationNs;
    row.bytes += e.bytes;
    row.flops += e.flops;
    row.belowQuantum ||= e.belowQuantum;
  }
  const phases = new Map<string, PhaseRow>();
  for (const e of result.entries) {
    if (e.phase === undefined) continue;
    const p = phases.get(e.phase) ?? phases.set(e.phase, { phase: e.phase, dispatches: 0, timeNs: 0, share: 0 }).get(e.phase)!;
    p.dispatches++;
    p.timeNs += e.durationNs;
  }
  for (const p of phases.values()) p.share = result.gpuNs > 0 ? p.timeNs / result.gpuNs : 0;
  const roof = options.roofline;
  for (const row of rows.values()) {
    row.meanNs = row.timeNs / row.calls;
    row.gbps = row.timeNs > 0 ? row.bytes / row.timeNs : 0;
    row.gflops = row.timeNs > 0 ? row.flops / row.timeNs : 0;
    row.share = result.gpuNs > 0 ? row.timeNs / result.gpuNs : 0;
    if (roof && row.timeNs > 0) {
      const memoryNs = row.bytes / roof.copyGBps;
      const computeNs = row.flops / roof.fmaGflops;
      row.rooflineShare = Math.max(memoryNs, computeNs) / row.timeNs;
      row.bound = computeNs > memoryNs ? 'compute' : 'memory';
    }
  }
  return {
    format: 'ictal-profile',
    version: 1,
    adapter: options.adapter ?? '',
    quantumNs: result.quantumNs,
    gpuNs: result.gpuNs,
    dispatches: result.entries.length,
    untimed: result.untimed,
    ...(roof ? { roofline: { copyGBps: roof.copyGBps, fmaGflops: roof.fmaGflops } } : {}),
    ...(options.overhead ? { overhead: options.overhead } : {}),
    kernels: [...rows.values()],
    ...(phases.size ? { phases: [...phases.values()] } : {}),
  };
}

export interface ChromeTraceEvent {
  name: string;
  cat: string;
  ph: 'X' | 'M';
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  args: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: 'ns';
}

/** Chrome trace JSON (chrome://tracing, Perfetto): one complete event ('X') per dispatch, times in microseconds. */
export function toChromeTrace(result: ProfileResult, processName = 'ictal GPU'): ChromeTrace {
  const meta: ChromeTraceEvent[] = [
    { name: 'process_name', cat: '__metadata', ph: 'M', pid: 1, tid: 1, ts: 0, args: { name: processName } },
    { name: 'thread_name', cat: '__metadata', ph: 'M', pid: 1, tid: 1, ts: 0, args: { name: 'queue' } },
  ];
  const events = result.entries.map((e): ChromeTraceEvent => ({
    name: e.label,
    cat: e.phase ?? 'gpu',
    ph: 'X',
    pid: 1,
    tid: 1,
    ts: e.startNs / 1000,
    dur: e.durationNs / 1000,
    args: entryDetail(e),
  }));
  return { traceEvents: [...meta, ...events], displayTimeUnit: 'ns' };
}

function entryDetail(e: ProfileEntry): Record<string, unknown> {
  return { kernel: e.kernel, ...(e.phase === undefined ? {} : { phase: e.phase }), precision: e.precision, shapes: e.shapes, flops: e.flops, bytes: e.bytes, workgroups: e.workgroups, belowQuantum: e.belowQuantum };
}

/**
 * One performance.measure entry per dispatch, so GPU work shows in DevTools' timeline (window or worker) and
 * in Node's perf_hooks. GPU timestamps have their own clock: the batch is placed to end at `endMs` (default:
 * now, i.e. when its results reached the host), which keeps the kernels' order and durations exact.
 */
export function markPerformance(result: ProfileResult, prefix = 'gpu ', endMs = performance.now()): PerformanceMeasure[] {
  const lastEndNs = result.entries.reduce((m, e) => Math.max(m, e.startNs + e.durationNs), 0);
  const originMs = endMs - lastEndNs / 1e6;
  return result.entries.map((e) =>
    performance.measure(`${prefix}${e.label}`, {
      start: originMs + e.startNs / 1e6,
      duration: e.durationNs / 1e6,
      detail: { devtools: { dataType: 'track-entry', track: 'GPU', trackGroup: 'ictal' }, ...entryDetail(e) },
    }),
  );
}

/** A fixed-width text table of the report (CLI, bench). */
export function formatReportTable(report: ProfileReport): string {
  // a run that marked phases (a training step) gets a phase column: conv1d forward and backward are two rows
  const phased = report.kernels.some((r) => r.phase !== undefined);
  const head = ['kernel', ...(phased ? ['phase'] : []), 'precision', 'shapes', 'calls', 'mean us', 'GB/s', 'GFLOP/s', 'share', 'roofline'];
  const body = report.kernels.map((r) => [
    r.label,
    ...(phased ? [r.phase ?? '-'] : []),
    r.precision,
    r.shapes,
    String(r.calls),
    `${(r.meanNs / 1000).toFixed(1)}${r.belowQuantum ? '*' : ''}`,
    r.gbps.toFixed(2),
    r.gflops.toFixed(2),
    percent(r.share),
    r.rooflineShare === undefined ? '-' : `${percent(r.rooflineShare)} ${r.bound}${r.rooflineShare > 1 ? ' !' : ''}`,
  ]);
  const lines = [head, ...body];
  const widths = head.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  const numeric = new Set(['calls', 'mean us', 'GB/s', 'GFLOP/s', 'share'].map((h) => head.indexOf(h)));
  const fmt = (l: string[]) => l.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  const out = [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)];
  out.push(`GPU time ${(report.gpuNs / 1e6).toFixed(3)} ms in ${report.dispatches} dispatches, timer quantum ${report.quantumNs} ns${report.kernels.some((r) => r.belowQuantum) ? ' (* shorter than the timer quantum: not resolved)' : ''}`);
  if (report.kernels.some((r) => (r.rooflineShare ?? 0) > 1)) {
    out.push('! above the roofline: no kernel can be, so its byte or FLOP count overstates the work (or the calibration was low)');
  }
  if (report.phases) out.push(...formatPhases(report.phases, report.gpuNs));
  if (report.untimed) out.push(`${report.untimed} more dispatches ran untimed: the profiler's query set was full`);
  if (report.overhead) {
    const o = report.overhead;
    out.push(`profiler overhead: ${o.overheadMs.toFixed(3)} ms per batch of ${o.dispatches} dispatches (${percent(o.fraction)}; ${o.withoutMs.toFixed(3)} ms without timestamps, ${o.withMs.toFixed(3)} ms with, medians of ${o.repeats})`);
  }
  return out.join('\n');
}

/** The phases' lines: each one's GPU time, dispatches and share, then their sum (the run's GPU time). */
function formatPhases(phases: PhaseRow[], gpuNs: number): string[] {
  const ms = (ns: number) => (ns / 1e6).toFixed(3);
  const width = Math.max(...phases.map((p) => p.phase.length));
  const lines = phases.map((p) => `  ${p.phase.padEnd(width)}  ${ms(p.timeNs).padStart(10)} ms  ${String(p.dispatches).padStart(5)} dispatches  ${percent(p.share).padStart(6)}`);
  const sum = phases.reduce((a, p) => a + p.timeNs, 0);
  return ['by phase:', ...lines, `  ${'sum'.padEnd(width)}  ${ms(sum).padStart(10)} ms  ${String(phases.reduce((a, p) => a + p.dispatches, 0)).padStart(5)} dispatches  (GPU time ${ms(gpuNs)} ms)`];
}

function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
