import { writeFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { useNodeGpu } from '../../gpu/device.ts';
import { nodeGpu } from '../../gpu/node-gpu.ts';
import { isPrecision, PRECISIONS } from '../../gpu/precision.ts';
import { formatReportTable } from '../../gpu/profile-report.ts';
import { applyOverrides, preset } from '../../graph/config.ts';
import { Engine, type StepProfile } from '../../engine/engine.ts';

const HELP = `ictal profile --preset NAME --batch B --precision P [--step [--micro-batch M]] [--set k=v ...] [--by-node] [--json FILE] [--trace FILE]
  Times every dispatch of one forward pass of the preset (seeded random weights and input) and prints a table
  per kernel: time, share of the total, GB/s, GFLOP/s and share of this adapter's calibrated roofline.
  The lab's Model profile tab runs the same engine method (Engine.profileModel).
  --step        one full training step instead (Engine.profileStep): masters cast, forward, focal loss, backward,
                unscale + clip, AdamW on a batch of synthetic EEG, as \`ictal train\` runs it; every row names its
                phase (params, input, forward, loss, backward, clip, optimizer), the phases' GPU times are listed
                with their sum, then the step's loss, loss scale and the arena's sizes
  --micro-batch samples per recorded forward + backward with --step (default: what ictal train picks)
  --precision   ${PRECISIONS.join(', ')}
  --by-node     one row per module path and kernel (e.g. node.layers.3.fwd.scan) instead of per kernel
  --json FILE   the full report (per module path) as JSON
  --trace FILE  a Chrome trace (chrome://tracing, Perfetto) of the dispatches
  --no-calibrate  skip the roofline measurement (no roofline column)
  --overhead N  also measure the profiler's own cost over N runs with and without timestamps (2N more passes)`;

export const profile: Command = {
  name: 'profile',
  summary: 'per-kernel timings of a forward pass (or, with --step, a training step) of a preset on this GPU',
  async run(argv) {
    const { values } = parseOptions('profile', argv, {
      preset: { type: 'string', default: 'v3-tiny' }, batch: { type: 'string', default: '1' }, precision: { type: 'string', default: 'f32' },
      set: { type: 'string', multiple: true }, 'by-node': { type: 'boolean' }, json: { type: 'string' }, trace: { type: 'string' },
      'no-calibrate': { type: 'boolean' }, overhead: { type: 'string', default: '0' }, seed: { type: 'string', default: '42' }, help: { type: 'boolean' },
      step: { type: 'boolean' }, 'micro-batch': { type: 'string' },
    });
    if (values.help) return console.log(HELP), 0;
    const precision = values.precision!;
    if (!isPrecision(precision)) throw new Error(`--precision "${precision}" is not one of ${PRECISIONS.join(', ')}`);
    const batch = Number(values.batch);
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch wants a positive integer, got "${values.batch}"`);
    const overheadRuns = Number(values.overhead);
    if (!Number.isInteger(overheadRuns) || overheadRuns < 0) throw new Error(`--overhead wants a count >= 0, got "${values.overhead}"`);
    if (values.step && overheadRuns) throw new Error('--overhead measures the forward pass only; leave it out with --step');
    if (values['micro-batch'] !== undefined && !values.step) throw new Error('--micro-batch applies to --step only');
    const microBatch = values['micro-batch'] === undefined ? undefined : Number(values['micro-batch']);
    if (microBatch !== undefined && !(Number.isInteger(microBatch) && microBatch >= 1 && batch % microBatch === 0)) {
      throw new Error(`--micro-batch wants a whole number >= 1 dividing --batch ${batch}, got "${values['micro-batch']}"`);
    }
    const overrides = values.set ?? [];
    const config = applyOverrides(preset(values.preset!), overrides);
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      const info = await engine.gpuInfo();
      console.error(`profiling ${values.preset}${values.step ? ' training step' : ''} batch ${batch} ${precision} on ${info.description || [info.vendor, info.device].filter(Boolean).join(' ')}`);
      if (!values['no-calibrate']) await engine.calibrate(undefined, { copyBytes: 64 * 2 ** 20, repeats: 3 });
      if (values.step) {
        const model = { preset: values.preset!, seed: Number(values.seed), overrides };
        const p = await engine.profileStep({ model, batch, precision, microBatch, seed: Number(values.seed) });
        console.log(formatReportTable(values['by-node'] ? p.byNode : p.byKernel));
        console.log(formatStepSummary(p));
        if (values.json) writeFileSync(values.json, JSON.stringify({ preset: values.preset, batch, microBatch: p.microBatch, precision, step: true, config, stats: p.stats, lossScale: p.lossScale, arena: p.arena, ...p.byNode }, null, 2));
        if (values.trace) writeFileSync(values.trace, JSON.stringify(p.trace));
        return 0;
      }
      const p = await engine.profileModel({ model: { preset: values.preset!, seed: Number(values.seed), overrides }, batch, precision, overheadRuns });
      console.log(formatReportTable(values['by-node'] ? p.byNode : p.byKernel));
      console.log(`activation arena ${(p.activationBytes / 2 ** 20).toFixed(1)} MiB, arena peak ${(p.arenaPeakBytes / 2 ** 20).toFixed(1)} MiB`);
      if (values.json) writeFileSync(values.json, JSON.stringify({ preset: values.preset, batch, precision, config, ...p.byNode }, null, 2));
      if (values.trace) writeFileSync(values.trace, JSON.stringify(p.trace));
    } finally {
      await engine.dispose();
    }
    return 0;
  },
};

/** The step's outcome and where its bytes live (the table says where its time goes). */
function formatStepSummary(p: StepProfile): string {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const a = p.arena, b = a.plan;
  return [
    `training step: batch ${p.batch} in micro-batches of ${p.microBatch}, loss ${p.stats.loss.toPrecision(5)}, grad norm ${p.stats.gradNorm.toPrecision(4)}, `
      + `loss scale ${p.lossScale}${p.stats.foundInf ? ', skipped (a gradient overflowed)' : ''}`,
    `arena (planned): weights ${mib(b.weights)}, gradients ${mib(b.gradients)}, AdamW state ${mib(b.optimizerState)}, `
      + `activations kept ${mib(b.activationsKept)}, workspace ${mib(b.workspace)}; total ${mib(b.total)}`,
    `arena (allocated): executor ${mib(a.executorBytes)} + optimizer ${mib(a.optimizerBytes)} = ${mib(a.executorBytes + a.optimizerBytes)}, arena peak ${mib(a.peakBytes)}`,
  ].join('\n');
}
