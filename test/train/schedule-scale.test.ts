// The learning-rate schedule and the loss scaler against the backend's own code, run in its Python environment:
// `lr_factor` from backend/ictal_backend/trainer.py, and torch's `_amp_update_scale_` (what GradScaler.update
// runs) on a random overflow sequence, so a change on either side fails here.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { lrFactor, warmupSteps } from '../../src/train/schedule.ts';
import { GRAD_SCALER_DEFAULTS, LossScaler } from '../../src/train/loss-scale.ts';
import { freshSeed, makeRng } from '../harness/kernel-harness.ts';

const root = resolve(import.meta.dirname, '../..');
const python = join(root, 'backend/.venv/bin/python');
const inCI = Boolean(process.env.CI) && process.env.CI !== 'false';
const missing = existsSync(python) ? '' : `no backend environment at ${python}`;
if (missing && inCI) throw new Error(`CI=true requires the backend: ${missing}`);

const SCHEDULES: [number, number][] = [[1, 0.03], [10, 0.03], [50, 0.03], [100, 0.03], [1000, 0.03], [17, 0.5], [8, 0], [3, 1], [250, 0.1]];

function backend(script: string, input: unknown): unknown {
  const out = execFileSync(python, ['-c', script], { cwd: join(root, 'backend'), input: JSON.stringify(input), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  return JSON.parse(out);
}

describe.skipIf(Boolean(missing))('schedule and loss scale agree with the backend', () => {
  it('lr_factor: warm-up then cosine, every step of several schedules', () => {
    const cases = SCHEDULES.flatMap(([total, frac]) => Array.from({ length: total + 2 }, (_, step) => [step, total, frac]));
    const want = backend(
      'import json, sys\nfrom ictal_backend.trainer import lr_factor\nprint(json.dumps([lr_factor(*c) for c in json.load(sys.stdin)]))',
      cases,
    ) as number[];
    cases.forEach(([step, total, frac], i) => {
      expect(lrFactor(step!, { totalSteps: total!, warmupFraction: frac! }), `step ${step} of ${total}, warm-up ${frac}`).toBeCloseTo(want[i]!, 12);
    });
  });

  it("GradScaler's update on a random overflow sequence (growth interval 3, then the defaults)", () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const flags = Array.from({ length: 60 }, () => rng() < 0.2);
    const script = [
      'import json, sys, torch',
      'c = json.load(sys.stdin)',
      'out = []',
      'for interval in (3, 2000):',
      '    s, t = torch.full((1,), 65536.0), torch.zeros(1, dtype=torch.int32)',
      '    for f in c:',
      '        torch._amp_update_scale_(s, t, torch.full((1,), 1.0 if f else 0.0), 2.0, 0.5, interval)',
      '        out.append([s.item(), int(t.item())])',
      'print(json.dumps(out))',
    ].join('\n');
    const want = backend(script, flags) as [number, number][];
    const got: [number, number][] = [];
    for (const interval of [3, GRAD_SCALER_DEFAULTS.growthInterval]) {
      const scaler = new LossScaler({ enabled: true, growthInterval: interval });
      for (const f of flags) {
        scaler.update(f);
        got.push([scaler.scale, scaler.state()._growth_tracker]);
      }
    }
    expect(got, `seed ${seed}`).toEqual(want);
  });
});

describe('schedule and loss scale on their own', () => {
  it('warm-up length and the first and last factors', () => {
    expect(warmupSteps(100, 0.03)).toBe(3);
    expect(warmupSteps(10, 0.03)).toBe(1);
    expect(warmupSteps(50, 0.03)).toBe(1);
    expect(warmupSteps(8, 0)).toBe(1);
    expect(lrFactor(0, { totalSteps: 100, warmupFraction: 0.03 })).toBeCloseTo(1 / 3, 15);
    expect(lrFactor(3, { totalSteps: 100, warmupFraction: 0.03 })).toBe(1);
    expect(lrFactor(100, { totalSteps: 100, warmupFraction: 0.03 })).toBeCloseTo(0, 15);
    expect(() => warmupSteps(0, 0.03)).toThrow(/totalSteps/);
    expect(() => warmupSteps(10, 1.5)).toThrow(/warmupFraction/);
  });

  it('an overflow halves the scale; a disabled scaler stays at 1', () => {
    const s = new LossScaler({ enabled: true });
    expect(s.scale).toBe(65536);
    s.update(true);
    expect(s.scale).toBe(32768);
    const off = new LossScaler({ enabled: false });
    off.update(true);
    expect(off.scale).toBe(1);
    expect(() => new LossScaler({ enabled: true, backoffFactor: 1 })).toThrow(/backoffFactor/);
  });
});
