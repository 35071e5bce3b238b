// `ictal calibrate` as a real process: JSON on stdout, plain errors for bad options.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';

const run = promisify(execFile);
const gpu = await testGpu();

function ictal(...args: string[]) {
  return run(process.execPath, ['bin/ictal.js', ...args], { env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
}

describe('ictal calibrate', () => {
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

  it('names a bad option value', async () => {
    const err = await ictal('calibrate', '--repeats', 'many').catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toContain('--repeats wants a positive number, got "many"');
  });
});
