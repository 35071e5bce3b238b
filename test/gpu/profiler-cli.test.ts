// `ictal calibrate` and `ictal bench` as real processes: JSON on stdout and in files, plain errors for bad options.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';

const run = promisify(execFile);
const gpu = await testGpu();

function ictal(...args: string[]) {
  return run(process.execPath, ['bin/ictal.js', ...args], { env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
}

describe('ictal calibrate and bench', () => {
  it.skipIf(!gpu.session)('prints the measurement as JSON', async () => {
    const { stdout } = await ictal('calibrate', '--json', '--copy-mib', '1', '--repeats', '2', '--target-ms', '2');
    const c = JSON.parse(stdout);
    expect(c.adapter).toBe(gpu.session!.gpu.info.description);
    expect(c.copy.bufferBytes).toBe(2 ** 20);
    expect(c.copy.runs).toBe(2);
    expect(c.copyGBps).toBeGreaterThan(0);
    expect(c.fmaGflops).toBeGreaterThan(0);
    expect(c.ridge).toBeCloseTo(c.fmaGflops / c.copyGBps, 9);
  });

  it.skipIf(!gpu.session)('ictal bench writes a report and a trace covering the families asked for in every precision', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ictal-bench-'));
    try {
      const { stdout } = await ictal('bench', '--elements', '3000', '--repeats', '1', '--copy-mib', '1', '--families', 'elementwise,reduce', '--out', out);
      expect(stdout).toMatch(/copy +\d+\.\d\d GB\/s best/);
      expect(stdout).toMatch(/profiler overhead: /);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      expect(report.calibration.copy.bufferBytes).toBe(2 ** 20);
      expect(report.roofline).toEqual({ copyGBps: report.calibration.copyGBps, fmaGflops: report.calibration.fmaGflops });
      const seen = new Set(report.kernels.map((k: { kernel: string; precision: string }) => `${k.kernel.split(':')[0]} ${k.precision}`));
      const families = { elementwise: 'elementwise.wgsl', reduce: 'reduce.wgsl' };
      for (const precision of gpu.precisions) for (const shader of Object.values(families)) expect(seen).toContain(`${shader} ${precision}`);
      const trace = JSON.parse(readFileSync(join(out, 'trace.json'), 'utf8'));
      expect(trace.traceEvents.filter((e: { ph: string }) => e.ph === 'X')).toHaveLength(report.dispatches);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('names a bad option value', async () => {
    const err = await ictal('calibrate', '--repeats', 'many').catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toContain('--repeats wants a positive number, got "many"');
  });
});
