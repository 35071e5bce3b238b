import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { useNodeGpu } from '../../gpu/device.ts';
import { nodeGpu } from '../../gpu/node-gpu.ts';
import { formatReportTable } from '../../gpu/profile-report.ts';
import { Engine } from '../../engine/engine.ts';
import { BENCH_FAMILIES } from '../../engine/kernel-bench.ts';
import { formatCalibration } from './calibrate.ts';

const HELP = `ictal bench [--elements N] [--repeats N] [--families a,b] [--copy-mib N] [--out DIR]
  The lab's engine on this adapter, as \`npm run bench\` runs it: calibration (copy GB/s, FMA GFLOP/s), then every
  kernel family (${BENCH_FAMILIES.map((f) => f.family).join(', ')}) in every precision the device runs, timed per
  dispatch against that roofline, and the profiler's own overhead.
  --elements N    size of each family's main tensor (default 4194304)
  --repeats N     profiled runs of each family's batch (default 3)
  --families a,b  only these families
  --copy-mib N    calibration copy buffer size (default 256, within the adapter's limits)
  --out DIR       where report.json and trace.json go (default out/bench)`;

function whole(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} wants a whole number >= 1, got "${value}"`);
  return n;
}

export const bench: Command = {
  name: 'bench',
  summary: 'calibration and a per-kernel profile of every kernel family',
  async run(argv) {
    const { values } = parseOptions('bench', argv, {
      elements: { type: 'string' }, repeats: { type: 'string' }, families: { type: 'string' }, 'copy-mib': { type: 'string' },
      out: { type: 'string', default: 'out/bench' }, help: { type: 'boolean' },
    });
    if (values.help) return console.log(HELP), 0;
    const elements = whole('elements', values.elements);
    const repeats = whole('repeats', values.repeats);
    const copyMib = whole('copy-mib', values['copy-mib']);
    const families = values.families?.split(',').map((f) => f.trim()).filter(Boolean);
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      const info = await engine.gpuInfo();
      console.log(`adapter: ${info.description || info.device} (${info.driver}); features in use: ${info.features.join(', ')}\n`);
      const calibration = await engine.calibrate((p) => console.error(`calibrate [${p.done}/${p.total}] ${p.message}`), { copyBytes: copyMib && copyMib * 2 ** 20 });
      console.log(`${formatCalibration(calibration)}\n`);
      const { report, trace, failures } = await engine.profileKernels((p) => console.error(`profile [${p.done}/${p.total}] ${p.message}`), { elements, repeats, families });
      console.log(formatReportTable(report));
      mkdirSync(values.out!, { recursive: true });
      writeFileSync(join(values.out!, 'report.json'), JSON.stringify({ calibration, ...report, failures }, null, 2));
      writeFileSync(join(values.out!, 'trace.json'), JSON.stringify(trace));
      console.log(`\nreport ${join(values.out!, 'report.json')}, Chrome trace ${join(values.out!, 'trace.json')}`);
      if (failures.length) {
        console.error(`\n${failures.length} family runs failed:`);
        for (const f of failures) console.error(`  ${f.family} (${f.precision}): ${f.message}`);
        return 1;
      }
    } finally {
      await engine.dispose();
    }
    return 0;
  },
};
