// `ictal graph` as a real process: summary, IR and weights files that load back, errors on bad input.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseIr } from '../../src/graph/validate.ts';
import { loadWeights } from '../../src/graph/weights.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { preset } from '../../src/graph/config.ts';
import { serializeIr } from '../../src/graph/serialize.ts';
import { initWeights } from '../../src/graph/init.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'ictal-graph-'));
const ictal = (...args: string[]) => run(process.execPath, ['bin/ictal.js', 'graph', ...args], { cwd: join(import.meta.dirname, '../..') });

describe('ictal graph', () => {
  it('writes an IR and weights that load back, and prints the summary as JSON', async () => {
    const irFile = join(dir, 'tiny.json'), wFile = join(dir, 'tiny.safetensors');
    const { stdout } = await ictal('--preset', 'v3-tiny', '--ir', irFile, '--weights', wFile, '--seed', '7', '--json');
    const summary = JSON.parse(stdout);
    const ir = parseIr(readFileSync(irFile, 'utf8'));
    expect(readFileSync(irFile, 'utf8')).toBe(serializeIr(buildV3('v3-tiny', preset('v3-tiny'))));
    const w = loadWeights(ir, new Uint8Array(readFileSync(wFile)));
    const expected = initWeights(ir, 7);
    for (const [k, t] of expected) expect(Array.from(w.get(k)!.data), k).toEqual(Array.from(t.data));
    expect(summary.params.total).toBe(Object.values(ir.params).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0));
    expect(Object.keys(summary.activations)).toEqual(['f32', 'f16-storage', 'f16']);
    expect(summary.flops.forward).toBeGreaterThan(0);
  });

  it('applies --set overrides and prints the text summary of v3', async () => {
    const { stdout } = await ictal('--preset', 'v3', '--set', 'node.layers=2', '--batch', '2');
    expect(stdout).toMatch(/^graph v3\nparameters 8,777,864 /); // 9,040,392 - 4 * 65,632 = 262,528 node-layer parameters
    expect(stdout).toMatch(/FLOPs per batch of 2: forward [\d.]+ GFLOP/);
    expect(stdout).toMatch(/activations kept for backward, per batch of 2:\n {2}f32 +[\d.]+ MiB/);
  });

  it('fails with a message naming the bad option', async () => {
    await Promise.all([
      expect(ictal('--preset', 'v3-tiny', '--set', 'node.width=3')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('unknown key "node.width"') }),
      expect(ictal('--preset', 'nope')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('unknown preset "nope"') }),
      expect(ictal('--seed=-1')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('--seed "-1" must be an integer') }),
    ]);
  });
});
