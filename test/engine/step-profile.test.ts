// `ictal profile --step` and Engine.profileStep on a real adapter (lavapipe): one full training step of v3-tiny
// timed per dispatch, every dispatch the session recorded for the timed step in the report, in order, each with
// its phase; the phases summing to the step's GPU time; the arena's sizes; bad options refused with their reason.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useNodeGpu } from '../../src/gpu/device.ts';
import { nodeGpu } from '../../src/gpu/node-gpu.ts';
import type { ComputeSession, DispatchSpec } from '../../src/gpu/session.ts';
import { Engine, type StepProfile } from '../../src/engine/engine.ts';
import { buildModel } from '../../src/engine/recording.ts';
import { STEP_PHASES } from '../../src/engine/step-profile.ts';
import { testGpu } from '../harness/node-gpu-session.ts';

const root = resolve(import.meta.dirname, '../..');
const gpu = await testGpu();
const ictal = (...a: string[]) => promisify(execFile)(process.execPath, [join(root, 'bin/ictal.js'), ...a], { cwd: root, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
const tiny = { preset: 'v3-tiny', seed: 3, overrides: ['samples=256'] };
const sessionOf = (engine: Engine) => (engine as unknown as { session: ComputeSession }).session;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** Consecutive runs of the same phase collapsed: the order the step went through them. */
const runsOf = (phases: (string | undefined)[]) => phases.filter((p, i) => i === 0 || p !== phases[i - 1]);

describe.skipIf(!gpu.session)('Engine.profileStep', () => {
  it('times every dispatch of one training step, in order, each with its phase, the phases summing to the step', async () => {
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      await engine.gpuInfo();
      const session = sessionOf(engine);
      // Every dispatch the session records, and where the timed step starts (the profile reports its steps first).
      const recorded: string[] = [];
      let timedFrom = -1;
      const dispatch = session.dispatch.bind(session);
      session.dispatch = async (spec: DispatchSpec) => {
        recorded.push(spec.label);
        return dispatch(spec);
      };
      const steps: string[] = [];
      let p: StepProfile;
      try {
        p = await engine.profileStep({ model: tiny, batch: 2, microBatch: 1, precision: 'f16-storage' }, (e) => {
          steps.push(`${e.done}/${e.total} ${e.message}`);
          if (e.done === 2) timedFrom = recorded.length;
        });
      } finally {
        delete (session as { dispatch?: unknown }).dispatch; // the class's own again
      }
      expect(steps).toEqual([
        '0/3 weights, gradients and optimizer state to the GPU (v3-tiny training step, batch 2, f16-storage)',
        '1/3 warm-up step: every pipeline compiled (v3-tiny training step, batch 2, f16-storage)',
        '2/3 the timed step (v3-tiny training step, batch 2, f16-storage)',
      ]);
      expect(p).toMatchObject({ model: 'v3-tiny', batch: 2, microBatch: 1, precision: 'f16-storage' });
      // Every dispatch of the timed step is in the report, in the order recorded, timed (nothing untimed).
      const timed = recorded.slice(timedFrom);
      const events = p.trace.traceEvents.filter((e) => e.ph === 'X');
      expect(events.map((e) => e.name)).toEqual(timed);
      expect(p.byNode.dispatches).toBe(timed.length);
      expect(p.byNode.untimed).toBe(0);
      expect(sum(p.byNode.kernels.map((r) => r.calls))).toBe(timed.length);
      expect(sum(p.byKernel.kernels.map((r) => r.calls))).toBe(timed.length);
      // The phases in the order a step runs them, forward, loss and backward once per micro-batch (2 here).
      const phases = events.map((e) => e.cat);
      expect(runsOf(phases)).toEqual(['params', ...Array(2).fill(['input', 'forward', 'loss', 'backward']).flat(), 'clip', 'optimizer']);
      expect(new Set(phases)).toEqual(new Set(STEP_PHASES));
      // ... and they add up to the step's GPU time, dispatch for dispatch.
      const ph = p.byNode.phases!;
      expect(ph.map((x) => x.phase)).toEqual([...STEP_PHASES]);
      expect(sum(ph.map((x) => x.timeNs))).toBe(p.byNode.gpuNs);
      expect(sum(ph.map((x) => x.dispatches))).toBe(timed.length);
      expect(sum(ph.map((x) => x.share))).toBeCloseTo(1, 9);
      expect(p.byNode.gpuNs).toBe(sum(events.map((e) => e.dur! * 1000)));
      expect(p.byKernel.phases).toEqual(ph);
      // One AdamW update and one norm partial per parameter (plus the norm's final), one cast per parameter in halves.
      const ir = (await buildModel(tiny)).ir;
      const params = Object.keys(ir.params);
      const count = (phase: string) => ph.find((x) => x.phase === phase)!.dispatches;
      expect(count('optimizer')).toBe(params.length);
      expect(count('clip')).toBe(params.length + 1);
      expect(events.filter((e) => e.cat === 'params' && e.name.endsWith('.cast')).map((e) => e.name).sort()).toEqual(params.map((n) => `${n}.cast`).sort());
      // Forward and backward kernels are told apart: a node's conv in the forward, its weight gradient in the backward.
      const row = (label: string) => p.byNode.kernels.filter((r) => r.label === label).map((r) => `${r.phase} ${r.kernel}`);
      expect(row('tcn.layers.0.conv')).toEqual(['forward conv1d.wgsl:gemm']);
      expect(row('tcn.layers.0.conv.bwd.dw')).toEqual(['backward conv1d.wgsl:gemm']);
      expect(row('tcn.layers.0.conv.bias.grad')).toEqual(['backward grad_plumbing.wgsl:accumulate']);
      const conv = p.byKernel.kernels.filter((r) => r.label === 'conv1d.wgsl:gemm');
      expect(conv.map((r) => r.phase)).toEqual(['forward', 'backward']);
      for (const r of conv) expect(r.calls).toBe(sum(p.byNode.kernels.filter((n) => n.kernel === r.label && n.phase === r.phase).map((n) => n.calls)));
      // What the step computed, and the arena: the plan's bytes are what the executor and the optimizer hold.
      expect(p.stats.foundInf).toBe(false);
      expect(p.stats.loss).toBeGreaterThan(0);
      expect(p.stats.gradNorm).toBeGreaterThan(0);
      expect(p.lossScale).toBe(65536);
      const b = p.arena.plan;
      expect(b.total).toBe(b.weights + b.gradients + b.optimizerState + b.activationsKept + b.workspace);
      expect(p.arena.executorBytes + p.arena.optimizerBytes).toBe(b.total);
      expect(p.arena.peakBytes).toBeGreaterThanOrEqual(b.total);
      expect(session.arena.liveBytes).toBeLessThan(b.total); // freed on the way out
    } finally {
      await engine.dispose();
    }
  });

  it('refuses bad options with their reason, and a cancel stops it, freeing what it held', async () => {
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      await expect(engine.profileStep({ batch: 1, precision: 'f32' })).rejects.toThrow(/no model is loaded/);
      await engine.loadModel(tiny);
      await expect(engine.profileStep({ batch: 0, precision: 'f32' })).rejects.toThrow('profile: batch wants a whole number >= 1, got 0');
      await expect(engine.profileStep({ batch: 4, microBatch: 3, precision: 'f32' })).rejects.toThrow('profile: the micro-batch must be a whole number >= 1 dividing the batch 4, got 3');
      const live = () => sessionOf(engine).arena.liveBytes;
      const before = live();
      const seen: number[] = [];
      const cancelled = engine.profileStep({ batch: 2, precision: 'f32' }, (e) => {
        seen.push(e.done);
        if (e.done === 1) void engine.cancel();
      });
      await expect(cancelled).rejects.toMatchObject({ name: 'CancelledError', message: 'training step profile cancelled' });
      expect(seen).toEqual([0, 1]);
      expect(live()).toBe(before);
      // f32, the default micro-batch (the whole batch fits here): one forward and one backward, no casts
      const p = await engine.profileStep({ batch: 2, precision: 'f32' });
      expect(p.microBatch).toBe(2);
      expect(runsOf(p.trace.traceEvents.filter((e) => e.ph === 'X').map((e) => e.cat))).toEqual(['params', 'input', 'forward', 'loss', 'backward', 'clip', 'optimizer']);
      expect(p.trace.traceEvents.some((e) => e.name.endsWith('.cast') && e.cat === 'params')).toBe(false);
      expect(p.lossScale).toBe(1);
    } finally {
      await engine.dispose();
    }
  });
});

describe('ictal profile --step', () => {
  it.skipIf(!gpu.session)('prints the table with a phase column, the phases with their sum, the arena; writes JSON and a trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ictal-profile-step-'));
    try {
      const json = join(dir, 'step.json'), trace = join(dir, 'trace.json');
      const { stdout, stderr } = await ictal('profile', '--step', '--preset', 'v3-tiny', '--set', 'samples=256', '--batch', '2', '--precision', 'f32', '--no-calibrate', '--by-node', '--json', json, '--trace', trace);
      expect(stderr).toContain('profiling v3-tiny training step batch 2 f32 on');
      const report = JSON.parse(readFileSync(json, 'utf8'));
      expect(report).toMatchObject({ format: 'ictal-profile', preset: 'v3-tiny', batch: 2, microBatch: 2, precision: 'f32', step: true, untimed: 0 });
      expect(sum(report.phases.map((x: { timeNs: number }) => x.timeNs))).toBe(report.gpuNs);
      expect(sum(report.kernels.map((x: { calls: number }) => x.calls))).toBe(report.dispatches);
      expect(report.arena.plan.total).toBe(report.arena.executorBytes + report.arena.optimizerBytes);
      const events = JSON.parse(readFileSync(trace, 'utf8')).traceEvents.filter((e: { ph: string }) => e.ph === 'X');
      expect(events).toHaveLength(report.dispatches);
      const lines = stdout.split('\n');
      expect(lines[0]).toMatch(/^kernel +phase +precision +shapes +calls +mean us/);
      expect(stdout).toMatch(/\ntcn\.layers\.0\.conv +forward +f32 /);
      expect(stdout).toMatch(/\ntcn\.layers\.0\.conv\.bwd\.dw +backward +f32 /);
      expect(stdout).toContain(`GPU time ${(report.gpuNs / 1e6).toFixed(3)} ms in ${report.dispatches} dispatches`);
      for (const x of report.phases) expect(stdout).toMatch(new RegExp(`\\n  ${x.phase} +${(x.timeNs / 1e6).toFixed(3)} ms +${x.dispatches} dispatches`));
      expect(stdout).toContain(`  sum`);
      expect(stdout).toMatch(new RegExp(`${report.dispatches} dispatches  \\(GPU time ${(report.gpuNs / 1e6).toFixed(3)} ms\\)`));
      expect(stdout).toMatch(/training step: batch 2 in micro-batches of 2, loss [\d.]+, grad norm [\d.e+-]+, loss scale 1\n/);
      expect(stdout).toMatch(/arena \(planned\): weights [\d.]+ MiB, gradients [\d.]+ MiB, AdamW state [\d.]+ MiB, activations kept [\d.]+ MiB, workspace [\d.]+ MiB; total [\d.]+ MiB/);
      expect(stdout).toMatch(/arena \(allocated\): executor [\d.]+ MiB \+ optimizer [\d.]+ MiB = [\d.]+ MiB, arena peak [\d.]+ MiB/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad options with a clear message', async () => {
    const refused = async (args: string[], message: string) => {
      const err = await ictal('profile', ...args).then(() => undefined, (e) => e);
      expect(err, args.join(' ')).toBeDefined();
      expect(err.code).toBe(1);
      expect(err.stderr).toContain(message);
    };
    await refused(['--step', '--overhead', '2'], '--overhead measures the forward pass only; leave it out with --step');
    await refused(['--micro-batch', '1'], '--micro-batch applies to --step only');
    await refused(['--step', '--batch', '4', '--micro-batch', '3'], '--micro-batch wants a whole number >= 1 dividing --batch 4, got "3"');
    await refused(['--step', '--micro-batch', 'two'], '--micro-batch wants a whole number >= 1 dividing --batch 1, got "two"');
    await refused(['--step', '--batch', '0'], '--batch wants a positive integer, got "0"');
    await refused(['--step', '--precision', 'f64'], '--precision "f64" is not one of');
    await refused(['--step', '--steps', '2'], "Unknown option '--steps'");
  });
});
