// `ictal train` and `ictal grad` are thin layers over the Engine: the CLI in a child process (files in, files out)
// and the Engine's methods in this one, on the same adapter and the same inputs, give the same bits: the steps'
// losses, gradient norms and scales and the trained weights; every parameter's gradient and the loss.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { useNodeGpu } from '../../src/gpu/device.ts';
import { nodeGpu } from '../../src/gpu/node-gpu.ts';
import { Engine, type TrainProgress } from '../../src/engine/engine.ts';
import { buildModel } from '../../src/engine/recording.ts';
import { serializeIr } from '../../src/graph/serialize.ts';
import { encodeWeights } from '../../src/graph/weights.ts';
import { readSafetensors, tensorValues } from '../../src/graph/safetensors.ts';
import { encodeNpy } from '../../src/data/npy.ts';
import { makeRng } from '../harness/kernel-harness.ts';
import { testGpu } from '../harness/node-gpu-session.ts';

const root = resolve(import.meta.dirname, '../..');
const gpu = await testGpu();
const dir = mkdtempSync(join(tmpdir(), 'ictal-engine-cli-'));
const ictal = (...a: string[]) => execFileSync(process.execPath, [join(root, 'bin/ictal.js'), ...a], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
/** What a step computed (its time and the arena's live bytes are the host's, not the step's). */
const numbers = (p: TrainProgress) => ({ step: p.step, loss: p.loss, gradNorm: p.gradNorm, scale: p.scale, skipped: p.skipped, lr: p.lr });

describe('a model from a graph file', () => {
  it('without a weights file starts from the seeded initial weights, as `ictal train --ir G` does', async () => {
    const preset = await buildModel({ preset: 'v3-tiny', seed: 3, overrides: ['samples=256'] });
    const m = await buildModel({ graph: new File([serializeIr(preset.ir)], 'g.json'), seed: 3 });
    expect(m.info).toMatchObject({ source: 'g.json, seeded initial weights (seed 3)', seeded: true, window: 256 });
    expect(Buffer.compare(Buffer.from(encodeWeights(m.ir, m.weights)), Buffer.from(encodeWeights(preset.ir, preset.weights)))).toBe(0);
    const other = await buildModel({ graph: new File([serializeIr(preset.ir)], 'g.json'), seed: 4 });
    expect(Buffer.compare(Buffer.from(encodeWeights(other.ir, other.weights)), Buffer.from(encodeWeights(preset.ir, preset.weights)))).not.toBe(0);
    const loaded = await buildModel({ graph: new File([serializeIr(preset.ir)], 'g.json'), weights: new File([new Uint8Array(encodeWeights(other.ir, other.weights))], 'w.safetensors') });
    expect(loaded.info).toMatchObject({ source: 'g.json + w.safetensors', seeded: false });
  });
});

describe.skipIf(!gpu.session)('the CLI and the Engine give the same numbers', () => {
  it('ictal train = Engine.train (preset, synthetic data, f16-storage with loss scaling)', async () => {
    const log = join(dir, 'train.jsonl'), saved = join(dir, 'trained.safetensors');
    const out = ictal('train', '--preset', 'v3-tiny', '--set', 'samples=256', '--data', 'synthetic', '--minutes', '1', '--steps', '3', '--batch', '2',
      '--precision', 'f16-storage', '--seed', '7', '--lr', '1e-3', '--log', log, '--save', saved);
    const cli = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainProgress);
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      const r = await engine.train({
        model: { preset: 'v3-tiny', seed: 7, overrides: ['samples=256'] }, data: { kind: 'synthetic', seed: 7, minutes: 1 },
        steps: 3, batch: 2, precision: 'f16-storage', seed: 7, lr: 1e-3,
      });
      expect(cli.map(numbers)).toEqual(r.history.map(numbers));
      expect(cli[0]!.scale).toBe(65536);
      expect(Buffer.compare(readFileSync(saved), Buffer.from(r.weights))).toBe(0);
      expect(out).toContain(`loss ${r.history[0]!.loss.toFixed(5)} -> ${r.history[2]!.loss.toFixed(5)}`);
    } finally {
      await engine.dispose();
    }
  }, 300_000);

  it('ictal grad = Engine.grad (a user graph, micro-batches)', async () => {
    const { ir, weights } = await buildModel({ preset: 'v3-tiny', seed: 3, overrides: ['samples=256'] });
    const graph = serializeIr(ir), weightBytes = encodeWeights(ir, weights);
    const rng = makeRng(5);
    const input = new Float32Array(2 * 19 * 256).map(() => (rng() - 0.5) * 4);
    const labels = new Float32Array(2 * 256).map((_, i) => Number(i % 256 >= 90 && i % 256 < 170));
    const paths = { ir: join(dir, 'g.json'), w: join(dir, 'w.safetensors'), x: join(dir, 'x.npy'), y: join(dir, 'y.npy'), out: join(dir, 'grads.safetensors') };
    writeFileSync(paths.ir, graph);
    writeFileSync(paths.w, weightBytes);
    writeFileSync(paths.x, encodeNpy({ dtype: 'f4', shape: [2, 19, 256], data: input }));
    writeFileSync(paths.y, encodeNpy({ dtype: 'f4', shape: [2, 256], data: labels }));
    const out = ictal('grad', '--ir', paths.ir, '--weights', paths.w, '--input', paths.x, '--labels', paths.y, '--output', paths.out, '--pos-weight', '2.5', '--micro-batch', '1');
    const file = readSafetensors(readFileSync(paths.out));
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      const g = await engine.grad({ graph, weights: weightBytes, input, labels, batch: 2, precision: 'f32', posWeight: 2.5, microBatch: 1 });
      expect(g.microBatch).toBe(1);
      expect(file.metadata?.loss).toBe(String(g.loss));
      expect([...file.tensors.keys()].sort()).toEqual([...g.grads.keys()].sort());
      expect(g.grads.size).toBe(Object.keys(ir.params).length);
      for (const [k, t] of file.tensors) expect(Array.from(tensorValues(t)), k).toEqual(Array.from(g.grads.get(k)!.data));
      expect(out).toContain(`micro-batch 1: loss ${g.loss}`);
    } finally {
      await engine.dispose();
    }
  }, 300_000);
});
