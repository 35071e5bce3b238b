// Training parity with the backend, as real processes and files: three AdamW steps from the same start on the
// same batch (WebGPU trainModel vs the backend trainer's step body in test/train/train_steps_driver.py), and the
// weights files going both ways (`ictal train --save` into the backend's `train --weights`, a backend checkpoint
// into `ictal train --weights`). Dropout is off in the graph (its RNGs differ by design) and top-k keeps every
// edge, so that rounding cannot flip a selection between the two.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildV3 } from '../../src/graph/v3.ts';
import { applyOverrides, preset } from '../../src/graph/config.ts';
import { initWeights } from '../../src/graph/init.ts';
import { encodeWeights, loadWeights } from '../../src/graph/weights.ts';
import { serializeIr } from '../../src/graph/serialize.ts';
import { encodeNpy } from '../../src/data/npy.ts';
import { trainModel } from '../../src/train/trainer.ts';
import { gatherBatch, syntheticWindows } from '../../src/train/data.ts';
import { relativeError, TOLERANCE } from '../harness/kernel-harness.ts';
import { testGpu } from '../harness/node-gpu-session.ts';

const root = resolve(import.meta.dirname, '../..');
const python = join(root, 'backend/.venv/bin/python');
const inCI = Boolean(process.env.CI) && process.env.CI !== 'false';
const missing = existsSync(python) ? '' : `no backend environment at ${python} (scripts/setup-python.sh creates it)`;
if (missing) {
  if (inCI) throw new Error(`CI=true requires the backend: ${missing}`);
  console.warn(`\n!! TRAINING PARITY TESTS SKIPPED: ${missing}\n`);
}
const gpu = await testGpu();
const SAMPLES = 256;
const SETTINGS = [`samples=${SAMPLES}`, 'adjacency.k=18', 'tcn.dropout=0', 'node.dropout=0', 'edge.dropout=0', 'gnn.dropout=0'];
const dir = mkdtempSync(join(tmpdir(), 'ictal-train-parity-'));
const ictal = (...args: string[]) => execFileSync(process.execPath, [join(root, 'bin/ictal.js'), ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe.skipIf(Boolean(missing) || !gpu.session)('training agrees with the backend', () => {
  const ir = buildV3('v3-tiny', applyOverrides(preset('v3-tiny'), SETTINGS));
  const irPath = join(dir, 'graph.json');
  writeFileSync(irPath, serializeIr(ir));

  it('three AdamW steps from the same start: every parameter within 1e-4 (f32)', async () => {
    const start = initWeights(ir, 7);
    const startPath = join(dir, 'start.safetensors');
    writeFileSync(startPath, encodeWeights(ir, start));
    const all = syntheticWindows(5, SAMPLES, 2);
    const { input, labels } = gatherBatch(all, [0, 1]);
    labels.fill(0);
    labels.fill(1, SAMPLES + 0.3 * SAMPLES, SAMPLES + 0.7 * SAMPLES);
    const config = { steps: 3, lr: 3e-3, pos_weight: 1.7, warmup_fraction: 0.03 };
    const r = await trainModel(gpu.session!, ir, start, { channels: 19, windowLength: SAMPLES, count: 2, windows: input, labels },
      { steps: config.steps, batch: 2, precision: 'f32', lr: config.lr, posWeight: config.pos_weight, warmupFraction: config.warmup_fraction, balanced: false });
    const x = join(dir, 'x.npy'), y = join(dir, 'y.npy'), cfg = join(dir, 'config.json'), out = join(dir, 'torch.safetensors');
    writeFileSync(x, encodeNpy({ dtype: 'f4', shape: [2, 19, SAMPLES], data: input }));
    writeFileSync(y, encodeNpy({ dtype: 'f4', shape: [2, SAMPLES], data: labels }));
    writeFileSync(cfg, JSON.stringify(config));
    execFileSync(python, [join(root, 'test/train/train_steps_driver.py'), irPath, startPath, x, y, cfg, out], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const torch = loadWeights(ir, readFileSync(out));
    const webgpu = loadWeights(ir, r.weights);
    let moved = 0;
    for (const name of Object.keys(ir.params)) {
      const want = torch.get(name)!.data, got = webgpu.get(name)!.data;
      expect(relativeError(got, want), name).toBeLessThanOrEqual(TOLERANCE.f32);
      moved = Math.max(moved, relativeError(want, start.get(name)!.data));
    }
    // The steps really moved the weights: a tolerance far below the change (the check can fail).
    expect(moved).toBeGreaterThan(100 * TOLERANCE.f32);
  }, 600_000);

  it('weights saved by `ictal train --save` load in the backend\'s `train --weights`, and its checkpoint in `ictal train --weights`', () => {
    const saved = join(dir, 'lab.safetensors');
    ictal('train', '--ir', irPath, '--data', 'synthetic', '--minutes', '1', '--steps', '2', '--batch', '2', '--seed', '3', '--save', saved);
    const runDir = join(dir, 'run');
    const cfg = join(dir, 'backend-train.json');
    writeFileSync(cfg, JSON.stringify({ steps: 1, batch_size: 2, precision: 'f32', device: 'cpu', num_workers: 0, data: { kind: 'synthetic', seed: 1, windows: 4, val_windows: 2 } }));
    const events = execFileSync(python, ['-m', 'ictal_backend', 'train', '--ir', irPath, '--weights', saved, '--config', cfg, '--run-dir', runDir],
      { cwd: join(root, 'backend'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const result = JSON.parse(events.trim().split('\n').pop()!);
    expect(result.type).toBe('result');
    expect(result.status).toBe('succeeded');
    const checkpoint = readdirSync(join(runDir, 'checkpoints')).find((f) => f.endsWith('.safetensors') && f !== 'best.safetensors')!;
    const back = join(dir, 'lab-again.safetensors');
    const log = join(dir, 'lab-again.jsonl');
    ictal('train', '--ir', irPath, '--weights', join(runDir, 'checkpoints', checkpoint), '--data', 'synthetic', '--minutes', '1', '--steps', '1', '--batch', '2', '--save', back, '--log', log);
    expect(loadWeights(ir, readFileSync(back)).size).toBe(Object.keys(ir.params).length + Object.keys(ir.buffers).length);
    const line = JSON.parse(readFileSync(log, 'utf8').trim());
    expect(line.step).toBe(1);
    expect(Number.isFinite(line.loss)).toBe(true);
  }, 600_000);
});
