// The same graph, weights and input through both executors, as real processes: `ictal forward` (WebGPU) and
// `python -m ictal_backend forward` (PyTorch). Both directions: weights initialised by the lab (TypeScript) and
// weights initialised by the backend (Python). Fixtures are generated here, never committed.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeNpy, encodeNpy } from '../../src/data/npy.ts';
import { makeRng, relativeError } from '../harness/kernel-harness.ts';

/** f32 parity bound of issue 5; the f16 bound compares the f16 modes of each side with the other's f32. */
const PARITY = { f32: 1e-4, f16: 5e-2 };

const root = resolve(import.meta.dirname, '../..');
const python = join(root, 'backend/.venv/bin/python');
const inCI = Boolean(process.env.CI) && process.env.CI !== 'false';
const missing = !existsSync(python) ? `no backend environment at ${python} (scripts/setup-python.sh creates it)` : '';
if (missing) {
  if (inCI) throw new Error(`CI=true requires the backend: ${missing}`);
  console.warn(`\n!! PARITY TESTS SKIPPED: ${missing}\n`);
}

const dir = mkdtempSync(join(tmpdir(), 'ictal-parity-'));
const ictal = (...args: string[]) => execFileSync(process.execPath, [join(root, 'bin/ictal.js'), ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const backend = (...args: string[]) => execFileSync(python, ['-m', 'ictal_backend', ...args], { cwd: join(root, 'backend'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const readNpy = (path: string) => Float64Array.from(decodeNpy(readFileSync(path), path).data as Float32Array);

/**
 * A fixed seed: top-3 adjacency selection is discontinuous, and a fresh draw can put two edge weights within the
 * executors' f32 rounding of each other (a ~5 % chance per run measured on v3-tiny), flipping one selection and
 * failing a test that found no bug. Both executors are deterministic, so this input gives the same result always.
 */
const PARITY_SEED = 20261129;

function writeInput(samples: number, batch: number): string {
  const seed = PARITY_SEED;
  const rng = makeRng(seed);
  const data = new Float32Array(batch * 19 * samples).map(() => (rng() - 0.5) * 6);
  const path = join(dir, `input-${seed}.npy`);
  writeFileSync(path, encodeNpy({ dtype: 'f4', shape: [batch, 19, samples], data }));
  return path;
}

function runBoth(ir: string, weights: string, input: string, precision: 'f32' | 'f16-storage', tag: string) {
  const ts = join(dir, `${tag}-webgpu-${precision}.npy`), py = join(dir, `${tag}-torch.npy`);
  ictal('forward', '--ir', ir, '--weights', weights, '--input', input, '--output', ts, '--precision', precision);
  backend('forward', '--ir', ir, '--weights', weights, '--input', input, '--output', py, '--precision', 'f32', '--device', 'cpu');
  return { webgpu: readNpy(ts), torch: readNpy(py) };
}

describe.skipIf(Boolean(missing))('WebGPU and PyTorch agree on v3-tiny', () => {
  const ir = join(dir, 'graph.json');
  const tsWeights = join(dir, 'ts-weights.safetensors');
  ictal('graph', '--preset', 'v3-tiny', '--set', 'samples=1024', '--seed', '11', '--ir', ir, '--weights', tsWeights);
  const input = writeInput(1024, 2);

  it('on weights initialised by the lab (f32)', () => {
    const { webgpu, torch } = runBoth(ir, tsWeights, input, 'f32', 'ts');
    expect(relativeError(webgpu, torch)).toBeLessThanOrEqual(PARITY.f32);
  });

  it('on weights initialised by the backend (f32)', () => {
    const pyWeights = join(dir, 'py-weights.safetensors');
    const script = [
      'import json, sys',
      'from ictal_backend.ir import parse_ir',
      'from ictal_backend.model import GraphModel, init_parameters',
      'from ictal_backend.safetensors_io import save_weights',
      'model = GraphModel(parse_ir(json.load(open(sys.argv[1]))))',
      'init_parameters(model, 23)',
      'save_weights(model, sys.argv[2])',
    ].join('\n');
    execFileSync(python, ['-c', script, ir, pyWeights], { cwd: join(root, 'backend'), stdio: ['ignore', 'pipe', 'pipe'] });
    const { webgpu, torch } = runBoth(ir, pyWeights, input, 'f32', 'py');
    expect(relativeError(webgpu, torch)).toBeLessThanOrEqual(PARITY.f32);
  });

  it('in f16-storage against the backend in f32 (top-k keeping every edge)', () => {
    // A half's rounding can flip which of two nearly equal edge weights the top-3 keeps, a discrete change no
    // tolerance should absorb; with k = 18 every edge is kept and the comparison measures precision only.
    const irAll = join(dir, 'graph-k18.json'), wAll = join(dir, 'weights-k18.safetensors');
    ictal('graph', '--preset', 'v3-tiny', '--set', 'samples=1024', '--set', 'adjacency.k=18', '--seed', '11', '--ir', irAll, '--weights', wAll);
    const { webgpu, torch } = runBoth(irAll, wAll, input, 'f16-storage', 'ts16');
    expect(relativeError(webgpu, torch)).toBeLessThanOrEqual(PARITY.f16);
  });
});
