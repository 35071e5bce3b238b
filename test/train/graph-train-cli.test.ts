// `ictal graph --train`: the training arena it prints is planTraining's (the plan the executor allocates).
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { applyOverrides, preset } from '../../src/graph/config.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { planTraining } from '../../src/train/plan.ts';

const root = resolve(import.meta.dirname, '../..');

describe('ictal graph --train', () => {
  it('prints the planned training arena next to the inference one', () => {
    const out = execFileSync(process.execPath, [join(root, 'bin/ictal.js'), 'graph', '--preset', 'v3-tiny', '--train', '--batch', '3', '--precision', 'f16-storage', '--json'], { cwd: root, encoding: 'utf8' });
    const j = JSON.parse(out) as { training: { precision: string; bytes: { total: number; activationsKept: number }; inferenceActivations: number } };
    const plan = planTraining(buildV3('v3-tiny', applyOverrides(preset('v3-tiny'), [])), 3, 'f16-storage');
    expect(j.training.precision).toBe('f16-storage');
    expect(j.training.bytes).toEqual(plan.bytes);
    expect(j.training.inferenceActivations).toBeLessThan(j.training.bytes.activationsKept);
    expect(() => execFileSync(process.execPath, [join(root, 'bin/ictal.js'), 'graph', '--preset', 'v3-tiny', '--train', '--precision', 'f8'], { cwd: root, stdio: 'pipe' })).toThrow(/--precision "f8"/);
  });
});
