// What a training-step profile needs of the profiler: a query set that grows past its capacity (a v3 step records
// thousands of passes), phases stamped on passes, and reports whose rows never mix phases and whose phase lines
// add up to the run's GPU time.
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import type { ComputeSession } from '../../src/gpu/session.ts';
import { unary } from '../../src/kernels/elementwise.ts';
import { withProfiler } from '../../src/gpu/profile-run.ts';
import { TimestampProfiler, type ProfileEntry, type ProfileResult } from '../../src/gpu/profiler.ts';
import { buildReport, formatReportTable, toChromeTrace } from '../../src/gpu/profile-report.ts';

const gpu = await testGpu();
const session = gpu.session;

/** `n` relu dispatches labelled op.0 .. op.{n-1}, a phase set on the profiler before each where `phaseOf` says. */
async function run(s: ComputeSession, profiler: TimestampProfiler, n: number, phaseOf: (i: number) => string | undefined): Promise<ProfileResult> {
  const x = await s.arena.tensor([4096], 'f32', 'x');
  const y = await s.arena.tensor([4096], 'f32', 'y');
  try {
    return await withProfiler(s, profiler, async () => {
      for (let i = 0; i < n; i++) {
        profiler.phase = phaseOf(i);
        await unary(s, 'relu', x, y, `op.${i}`);
      }
      return s.collectProfile();
    });
  } finally {
    s.arena.release(x);
    s.arena.release(y);
  }
}

describe.skipIf(!session)('profiler phases and growth', () => {
  it('a growable profiler times every pass past its capacity, in one timeline; a fixed one leaves them untimed', async () => {
    const grow = new TimestampProfiler(session!.device, 4, { growable: true });
    try {
      const r = await run(session!, grow, 11, () => undefined); // three query sets: 4 + 4 + 3
      expect(r.untimed).toBe(0);
      expect(r.entries.map((e) => e.label)).toEqual(Array.from({ length: 11 }, (_, i) => `op.${i}`));
      for (let i = 1; i < r.entries.length; i++) {
        const prev = r.entries[i - 1]!;
        expect(r.entries[i]!.startNs).toBeGreaterThanOrEqual(prev.startNs + prev.durationNs); // one clock across the sets
      }
      expect(r.entries.every((e) => e.durationNs > 0)).toBe(true);
      expect(r.entries.some((e) => e.phase !== undefined)).toBe(false);
      // reused for a second, shorter batch: the sets it grew stay, the timings are the new batch's
      const again = await run(session!, grow, 5, () => undefined);
      expect(again.entries).toHaveLength(5);
      expect(again.untimed).toBe(0);
    } finally {
      grow.destroy();
    }
    const fixed = new TimestampProfiler(session!.device, 4);
    try {
      const r = await run(session!, fixed, 7, () => undefined);
      expect(r.entries.map((e) => e.label)).toEqual(['op.0', 'op.1', 'op.2', 'op.3']);
      expect(r.untimed).toBe(3);
    } finally {
      fixed.destroy();
    }
  });

  it('stamps the phase set when a pass begins; rows split by phase and the phases sum to the GPU time', async () => {
    const profiler = new TimestampProfiler(session!.device, 3, { growable: true });
    const phases = ['forward', 'forward', 'forward', 'backward', 'backward', 'optimizer', 'forward', 'backward'];
    let r: ProfileResult;
    try {
      r = await run(session!, profiler, phases.length, (i) => phases[i]);
    } finally {
      profiler.destroy();
    }
    expect(r.entries.map((e) => e.phase)).toEqual(phases);
    // by kernel: every dispatch is elementwise relu, so the rows are the phases
    const byKernel = buildReport({ ...r, entries: r.entries.map((e) => ({ ...e, label: e.kernel, shapes: '' })) });
    expect(byKernel.kernels.map((k) => [k.phase, k.calls])).toEqual([['forward', 4], ['backward', 3], ['optimizer', 1]]);
    expect(byKernel.phases!.map((p) => [p.phase, p.dispatches])).toEqual([['forward', 4], ['backward', 3], ['optimizer', 1]]);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(byKernel.phases!.map((p) => p.timeNs))).toBe(r.gpuNs);
    expect(sum(byKernel.phases!.map((p) => p.share))).toBeCloseTo(1, 12);
    for (const p of byKernel.phases!) expect(p.timeNs).toBe(sum(r.entries.filter((e) => e.phase === p.phase).map((e) => e.durationNs)));
    const table = formatReportTable(byKernel);
    expect(table.split('\n')[0]).toMatch(/^kernel +phase +precision +shapes +calls/);
    expect(table).toMatch(/\n {2}backward +\d+\.\d{3} ms +3 dispatches/);
    expect(table).toContain(`  sum`);
    expect(table).toContain(`8 dispatches  (GPU time ${(r.gpuNs / 1e6).toFixed(3)} ms)`);
    const trace = toChromeTrace(r);
    expect(trace.traceEvents.filter((e) => e.ph === 'X').map((e) => e.cat)).toEqual(phases);
  });
});

describe('reports of runs without phases', () => {
  it('keep their columns and carry no phase lines', () => {
    const entry = (label: string, durationNs: number, phase?: string): ProfileEntry => ({
      label, kernel: 'k.wgsl:main', precision: 'f32', shapes: '[4]', flops: 4, bytes: 32, workgroups: 1, startNs: 0, durationNs, belowQuantum: false, ...(phase ? { phase } : {}),
    });
    const plain = buildReport({ entries: [entry('a', 10), entry('a', 30)], gpuNs: 40, quantumNs: 1, untimed: 0 });
    expect(plain.phases).toBeUndefined();
    expect(plain.kernels).toHaveLength(1);
    expect(plain.kernels[0]).not.toHaveProperty('phase');
    const table = formatReportTable(plain);
    expect(table.split('\n')[0]).toMatch(/^kernel +precision +shapes +calls +mean us/);
    expect(table).not.toContain('by phase');
    // the same label in two phases is two rows, in order of first dispatch
    const phased = buildReport({ entries: [entry('a', 10, 'forward'), entry('a', 30, 'backward'), entry('a', 5, 'forward')], gpuNs: 45, quantumNs: 1, untimed: 0 });
    expect(phased.kernels.map((k) => [k.phase, k.calls, k.timeNs])).toEqual([['forward', 2, 15], ['backward', 1, 30]]);
    expect(phased.phases).toEqual([{ phase: 'forward', dispatches: 2, timeNs: 15, share: 15 / 45 }, { phase: 'backward', dispatches: 1, timeNs: 30, share: 30 / 45 }]);
  });
});
