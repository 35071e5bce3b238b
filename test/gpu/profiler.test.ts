// The timestamp profiler on a real adapter (Dawn on lavapipe): timings of real dispatches, the report built from
// them, the Chrome trace, performance.measure entries, and the profiler's own overhead.
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import type { ComputeSession } from '../../src/gpu/session.ts';
import type { GpuTensor } from '../../src/gpu/arena.ts';
import { unary, binary } from '../../src/kernels/elementwise.ts';
import { measureProfilerOverhead, profileBatch } from '../../src/gpu/profile-run.ts';
import { TimestampProfiler } from '../../src/gpu/profiler.ts';
import { DAWN_TOGGLES, ictalToggles, withIctalToggles } from '../../src/gpu/node-gpu.ts';
import { buildReport, formatReportTable, markPerformance, toChromeTrace } from '../../src/gpu/profile-report.ts';

const gpu = await testGpu();
const session = gpu.session;

/** A batch of elementwise kernels on a tiny and a large tensor (1M elements: many timer quanta on lavapipe). */
async function makeBatch(s: ComputeSession) {
  // 8: whole 16-byte chunks, so each op is one dispatch (7 would add a '.tail' dispatch of pairs).
  const tiny = await s.arena.tensor([8], 'f32', 'tiny');
  const tinyOut = await s.arena.tensor([8], 'f32', 'tiny.out');
  const big = await s.arena.tensor([256, 4096], 'f32', 'big');
  const bigOut = await s.arena.tensor([256, 4096], 'f32', 'big.out');
  const bigSum = await s.arena.tensor([256, 4096], 'f32', 'big.sum');
  const batch = async (ss: ComputeSession) => {
    await unary(ss, 'relu', tiny, tinyOut, 'tiny.relu');
    await unary(ss, 'gelu', big, bigOut, 'big.gelu');
    await binary(ss, 'add', big, bigOut, bigSum, 'big.add');
  };
  const release = () => [tiny, tinyOut, big, bigOut, bigSum].forEach((t: GpuTensor) => s.arena.release(t));
  return { batch, release, big };
}

describe.skipIf(!session)('timestamp profiler', () => {
  it('times every dispatch of every repeat, in order, without overlap', async () => {
    const { batch, release } = await makeBatch(session!);
    try {
      const r = await profileBatch(session!, batch, { warmup: 1, repeats: 3 });
      expect(r.entries.map((e) => e.label)).toEqual(Array.from({ length: 3 }, () => ['tiny.relu', 'big.gelu', 'big.add']).flat());
      expect(r.quantumNs).toBeGreaterThanOrEqual(1);
      expect(r.quantumNs).toBeLessThan(65_536); // Dawn's timestamp quantization is off in Node
      for (let i = 1; i < r.entries.length; i++) {
        const prev = r.entries[i - 1]!;
        expect(r.entries[i]!.startNs).toBeGreaterThanOrEqual(prev.startNs + prev.durationNs);
      }
      expect(r.gpuNs).toBe(r.entries.reduce((s, e) => s + e.durationNs, 0));
      // Real measurements: a 4M-element kernel is resolved by the timer and outlasts a 7-element one.
      const big = r.entries.filter((e) => e.label === 'big.gelu');
      const tiny = r.entries.filter((e) => e.label === 'tiny.relu');
      for (const e of big) {
        expect(e.belowQuantum).toBe(false);
        expect(e.durationNs).toBeGreaterThan(Math.max(...tiny.map((t) => t.durationNs)));
      }
      for (const e of r.entries) expect(e.belowQuantum).toBe(e.durationNs < r.quantumNs);
    } finally {
      release();
    }
  });

  it('builds a per-kernel report, a Chrome trace and performance.measure entries from one run', async () => {
    const { batch, release, big } = await makeBatch(session!);
    try {
      const r = await profileBatch(session!, batch, { repeats: 2 });
      // Far above anything lavapipe reaches, so no row can claim more than the roofline (a fixed 3 GB/s was
      // beaten by a fast CI machine).
      const roofline = { copyGBps: 1e6, fmaGflops: 1e9 };
      const report = JSON.parse(JSON.stringify(buildReport(r, { roofline, adapter: 'test adapter' })));
      expect(report).toMatchObject({ format: 'ictal-profile', version: 1, adapter: 'test adapter', dispatches: 6, roofline });
      expect(report.kernels.map((k: { label: string }) => k.label)).toEqual(['tiny.relu', 'big.gelu', 'big.add']);
      for (const row of report.kernels) {
        const mine = r.entries.filter((e) => e.label === row.label);
        const ns = mine.reduce((s, e) => s + e.durationNs, 0);
        const bytes = mine.reduce((s, e) => s + e.bytes, 0);
        const flops = mine.reduce((s, e) => s + e.flops, 0);
        expect(row).toMatchObject({ calls: 2, timeNs: ns, bytes, flops, precision: 'f32' });
        expect(row.meanNs).toBeCloseTo(ns / 2, 6);
        expect(row.share).toBeCloseTo(ns / r.gpuNs, 9);
        if (ns === 0) {
          // Shorter than the timer's quantum: no rate is claimed.
          expect(row).toMatchObject({ gbps: 0, gflops: 0, belowQuantum: true });
          expect(row.rooflineShare).toBeUndefined();
          continue;
        }
        expect(row.gbps).toBeCloseTo(bytes / ns, 9);
        expect(row.gflops).toBeCloseTo(flops / ns, 9);
        const bound = Math.max(bytes / roofline.copyGBps, flops / roofline.fmaGflops);
        expect(row.rooflineShare).toBeCloseTo(bound / ns, 9);
        expect(row.bound).toBe(flops / roofline.fmaGflops > bytes / roofline.copyGBps ? 'compute' : 'memory');
      }
      expect(report.kernels[1].timeNs).toBeGreaterThan(0);
      const gelu = report.kernels[1];
      expect(gelu.shapes).toBe(`[${big.shape}]`);
      expect(gelu.bytes).toBe(2 * 2 * big.bytes); // 2 calls, each reading x and writing y
      expect(report.kernels.reduce((s: number, k: { share: number }) => s + k.share, 0)).toBeCloseTo(1, 9);
      expect(formatReportTable(report)).toMatch(/big\.gelu\s+f32/);
      expect(formatReportTable(report)).not.toContain('above the roofline');
      // A roofline far below what was measured: every timed row claims more than is possible, and the table says so.
      const impossible = formatReportTable(buildReport(r, { roofline: { copyGBps: 1e-6, fmaGflops: 1e-6 } }));
      expect(impossible).toMatch(/big\.gelu .*% (memory|compute) !/);
      expect(impossible).toContain('! above the roofline');

      const trace = JSON.parse(JSON.stringify(toChromeTrace(r)));
      const spans = trace.traceEvents.filter((e: { ph: string }) => e.ph === 'X');
      expect(spans).toHaveLength(r.entries.length);
      spans.forEach((e: { name: string; ts: number; dur: number; args: { kernel: string } }, i: number) => {
        expect(e.name).toBe(r.entries[i]!.label);
        expect(e.ts).toBeCloseTo(r.entries[i]!.startNs / 1000, 6);
        expect(e.dur).toBeCloseTo(r.entries[i]!.durationNs / 1000, 6);
        expect(e.args.kernel).toBe(r.entries[i]!.kernel);
      });

      performance.clearMeasures();
      const end = performance.now();
      markPerformance(r, 'gpu ', end);
      const measures = performance.getEntriesByType('measure');
      expect(measures.map((m) => m.name)).toEqual(r.entries.map((e) => `gpu ${e.label}`));
      const last = measures.reduce((m, e) => Math.max(m, e.startTime + e.duration), 0);
      expect(last).toBeCloseTo(end, 3);
      measures.forEach((m, i) => expect(m.duration).toBeCloseTo(r.entries[i]!.durationNs / 1e6, 6));
      performance.clearMeasures();
    } finally {
      release();
    }
  });

  it('measures its own overhead on the same batch with and without timestamp writes', async () => {
    const { batch, release } = await makeBatch(session!);
    try {
      const o = await measureProfilerOverhead(session!, batch, 3);
      expect(o).toMatchObject({ repeats: 3, dispatches: 3 });
      expect(o.withoutMs).toBeGreaterThan(0);
      expect(o.withMs).toBeGreaterThan(0);
      expect(o.overheadMs).toBeCloseTo(o.withMs - o.withoutMs, 9);
      expect(o.fraction).toBeCloseTo(o.overheadMs / o.withoutMs, 9);
      expect(session!.profiler).toBeUndefined(); // the session's own profiler setting is restored
      const r = await profileBatch(session!, batch);
      expect(formatReportTable(buildReport(r, { overhead: o }))).toContain(`profiler overhead: ${o.overheadMs.toFixed(3)} ms per batch of 3 dispatches`);
    } finally {
      release();
    }
  });

  it('counts the dispatches beyond its capacity as untimed', async () => {
    const { batch, release } = await makeBatch(session!);
    try {
      const r = await profileBatch(session!, batch, { repeats: 2, capacity: 4 });
      expect(r.entries.map((e) => e.label)).toEqual(['tiny.relu', 'big.gelu', 'big.add', 'tiny.relu']);
      expect(r.untimed).toBe(2);
      const report = buildReport(r);
      expect(report.untimed).toBe(2);
      expect(formatReportTable(report)).toContain('2 more dispatches ran untimed');
    } finally {
      release();
    }
  });

  it('says so when the GPU rejected the batch instead of reporting zeros', async () => {
    const { release, big } = await makeBatch(session!);
    try {
      // The same buffer bound read-only and writable in one pass: a validation error, so no timestamp is written.
      const invalid = (ss: ComputeSession) => binary(ss, 'add', big, big, big, 'invalid.add');
      await expect(profileBatch(session!, invalid, { warmup: 0 })).rejects.toThrow(/validation error: .*"big"/s);
      expect(session!.profiler).toBeUndefined();
      // The session still works afterwards.
      const again = await makeBatch(session!);
      expect((await profileBatch(session!, again.batch)).entries).toHaveLength(3);
      again.release();
    } finally {
      release();
    }
  });

  it('sets its own Dawn toggles (f16 on NVIDIA, subgroup matrices, full timer resolution) and keeps the caller\'s', () => {
    expect(withIctalToggles([])).toEqual([
      'enable-dawn-features=vulkan_enable_f16_on_nvidia,allow_unsafe_apis',
      'disable-dawn-features=timestamp_quantization',
    ]);
    expect(withIctalToggles(['--foo', 'enable-dawn-features=allow_unsafe_apis', 'disable-dawn-features=foo,bar'])).toEqual([
      '--foo',
      'enable-dawn-features=vulkan_enable_f16_on_nvidia,allow_unsafe_apis',
      'disable-dawn-features=timestamp_quantization,foo,bar',
    ]);
    // Tensor cores are opt-in (slower than the tiled core where measured): allow_unsafe_apis only with =on.
    for (const env of [{}, { ICTAL_TENSOR_CORES: 'off' }]) {
      expect(withIctalToggles([], ictalToggles(env))).toEqual([
        'enable-dawn-features=vulkan_enable_f16_on_nvidia',
        'disable-dawn-features=timestamp_quantization',
      ]);
    }
    expect(ictalToggles({ ICTAL_TENSOR_CORES: 'on' })).toBe(DAWN_TOGGLES);
    expect(() => ictalToggles({ ICTAL_TENSOR_CORES: 'yes' })).toThrow(/ICTAL_TENSOR_CORES must be "on" or "off" \(default off\), got "yes"/);
  });

  it('reports the toggles it set, with why', () => {
    const names = session!.gpu.info.toggles.map((t) => `${t.state} ${t.name}`);
    expect(names).toContain('enabled vulkan_enable_f16_on_nvidia');
    expect(names).not.toContain('enabled allow_unsafe_apis');  // ICTAL_TENSOR_CORES is not on in the tests
    expect(names).toContain('disabled timestamp_quantization');
    for (const t of session!.gpu.info.toggles) expect(t.why.length).toBeGreaterThan(10);
  });

  it('rejects bad arguments with a message naming them', async () => {
    await expect(measureProfilerOverhead(session!, async () => {}, 0)).rejects.toThrow(/repeats must be at least 1, got 0/);
    expect(() => new TimestampProfiler(session!.device, 4096)).toThrow(/capacity must be a whole number of passes from 1 to 2048 .* got 4096/);
  });
});
