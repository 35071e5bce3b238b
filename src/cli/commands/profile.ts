import { writeFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { cliGpu } from '../node-session.ts';
import { applyOverrides, preset } from '../../graph/config.ts';
import { buildV3 } from '../../graph/v3.ts';
import { initWeights } from '../../graph/init.ts';
import { ComputeSession } from '../../gpu/session.ts';
import { isPrecision, PRECISIONS, type Precision } from '../../gpu/precision.ts';
import { calibrate } from '../../gpu/calibrate.ts';
import { measureProfilerOverhead, profileBatch } from '../../gpu/profile-run.ts';
import { buildReport, formatReportTable, toChromeTrace } from '../../gpu/profile-report.ts';
import type { ProfileResult } from '../../gpu/profiler.ts';
import { ForwardExecutor } from '../../executor/forward-executor.ts';

const HELP = `ictal profile --preset NAME --batch B --precision P [--set k=v ...] [--by-node] [--json FILE] [--trace FILE]
  Times every dispatch of one forward pass of the preset (seeded random weights and input) and prints a table
  per kernel: time, share of the total, GB/s, GFLOP/s and share of this adapter's calibrated roofline.
  --precision   ${PRECISIONS.join(', ')}
  --by-node     one row per module path and kernel (e.g. node.layers.3.fwd.scan) instead of per kernel
  --json FILE   the full report (per module path) as JSON
  --trace FILE  a Chrome trace (chrome://tracing, Perfetto) of the dispatches
  --no-calibrate  skip the roofline measurement (no roofline column)
  --overhead N  also measure the profiler's own cost over N runs with and without timestamps (2N more passes)`;

/** Entries relabelled by kernel (shader:entry), so that rows sum a kernel's time over every module. */
function byKernel(r: ProfileResult): ProfileResult {
  return { ...r, entries: r.entries.map((e) => ({ ...e, label: e.kernel, shapes: '' })) };
}

export const profile: Command = {
  name: 'profile',
  summary: 'per-kernel timings of a forward pass of a preset on this GPU',
  async run(argv) {
    const { values } = parseOptions('profile', argv, {
      preset: { type: 'string', default: 'v3-tiny' }, batch: { type: 'string', default: '1' }, precision: { type: 'string', default: 'f32' },
      set: { type: 'string', multiple: true }, 'by-node': { type: 'boolean' }, json: { type: 'string' }, trace: { type: 'string' },
      'no-calibrate': { type: 'boolean' }, overhead: { type: 'string', default: '0' }, seed: { type: 'string', default: '42' }, help: { type: 'boolean' },
    });
    if (values.help) return console.log(HELP), 0;
    const precision = values.precision!;
    if (!isPrecision(precision)) throw new Error(`--precision "${precision}" is not one of ${PRECISIONS.join(', ')}`);
    const batch = Number(values.batch);
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch wants a positive integer, got "${values.batch}"`);
    const config = applyOverrides(preset(values.preset!), values.set ?? []);
    const ir = buildV3(values.preset!, config);
    const weights = initWeights(ir, Number(values.seed));
    const s = new ComputeSession(await cliGpu());
    if (precision === 'f16' && !s.gpu.has('shader-f16')) throw new Error(`--precision f16 needs shader-f16, which this adapter lacks (use f16-storage)`);
    const info = s.gpu.info;
    const adapter = info.description || [info.vendor, info.device].filter(Boolean).join(' ');
    console.error(`profiling ${values.preset} batch ${batch} ${precision} on ${adapter}`);
    const exec = await ForwardExecutor.create(s, ir, weights, batch, { precision: precision as Precision, microBatch: batch });
    const inputShape = exec.plan.tensors.get(ir.inputs[0]!)!.shape;
    const input = new Float32Array(inputShape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i * 0.013) * 3 + Math.cos(i * 0.0007));
    const overheadRuns = Number(values.overhead);
    if (!Number.isInteger(overheadRuns) || overheadRuns < 0) throw new Error(`--overhead wants a count >= 0, got "${values.overhead}"`);
    await exec.run(input, batch); // the warm-up: uploads the input and compiles every pipeline
    const result = await profileBatch(s, () => exec.record(), { warmup: 0 });
    const overhead = overheadRuns ? await measureProfilerOverhead(s, () => exec.record(), overheadRuns) : undefined;
    const roofline = values['no-calibrate'] ? undefined : await calibrate(s, { copyBytes: 64 * 2 ** 20, repeats: 3 });
    const options = { adapter, roofline, overhead };
    const report = buildReport(result, options);
    console.log(formatReportTable(values['by-node'] ? report : buildReport(byKernel(result), options)));
    console.log(`activation arena ${(exec.plan.activationBytes / 2 ** 20).toFixed(1)} MiB, arena peak ${(s.arena.peakBytes / 2 ** 20).toFixed(1)} MiB`);
    if (values.json) writeFileSync(values.json, JSON.stringify({ preset: values.preset, batch, precision, config, ...report }, null, 2));
    if (values.trace) writeFileSync(values.trace, JSON.stringify(toChromeTrace(result, `ictal ${values.preset} ${precision}`)));
    s.device.destroy();
    return 0;
  },
};
