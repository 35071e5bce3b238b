import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { useNodeGpu } from '../../gpu/device.ts';
import { nodeGpu } from '../../gpu/node-gpu.ts';
import { isPrecision, PRECISIONS } from '../../gpu/precision.ts';
import { Engine, type Headroom, type ProbePoint } from '../../engine/engine.ts';

const HELP = `ictal headroom --preset NAME --precision P [--set k=v ...] [--max-batch N] [--budget-mib N] [--probe] [--json]
  Predicted memory against batch size (1, 2, 4, ... up to --max-batch) for the preset at a precision, against
  this adapter's maxBufferSize and maxStorageBufferBindingSize and an optional budget, and the largest batch
  predicted to fit. The lab's Headroom tab runs the same engine methods (Engine.headroom, Engine.probeHeadroom).
  --precision     ${PRECISIONS.join(', ')}
  --max-batch N   largest batch size tried (default 256)
  --budget-mib N  the memory the device may use, MiB (WebGPU does not report it; default: no budget)
  --probe         really allocate and run each batch size until one fails, measured against predicted
  --json          the result as JSON on stdout`;

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function whole(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} wants a whole number >= 1, got "${value}"`);
  return n;
}

export const headroom: Command = {
  name: 'headroom',
  summary: 'predicted (and with --probe, measured) memory against batch size on this GPU',
  async run(argv) {
    const { values } = parseOptions('headroom', argv, {
      preset: { type: 'string', default: 'v3-tiny' }, precision: { type: 'string', default: 'f32' }, set: { type: 'string', multiple: true },
      'max-batch': { type: 'string', default: '256' }, 'budget-mib': { type: 'string' }, probe: { type: 'boolean' }, json: { type: 'boolean' },
      seed: { type: 'string', default: '42' }, help: { type: 'boolean' },
    });
    if (values.help) return console.log(HELP), 0;
    const precision = values.precision!;
    if (!isPrecision(precision)) throw new Error(`--precision "${precision}" is not one of ${PRECISIONS.join(', ')}`);
    const maxBatch = whole('max-batch', values['max-batch']!);
    const budgetBytes = values['budget-mib'] === undefined ? undefined : whole('budget-mib', values['budget-mib']) * 2 ** 20;
    const options = { model: { preset: values.preset!, seed: Number(values.seed), overrides: values.set ?? [] }, precision, maxBatch, budgetBytes };
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      const h = await engine.headroom(options);
      const probe = values.probe
        ? await engine.probeHeadroom(options, (p) => console.error(`probe batch ${p.batch}: ${p.ok ? `${mib(p.measuredBytes)} measured, ${mib(p.predictedBytes)} predicted, ${p.ms.toFixed(0)} ms` : `failed: ${p.error}`}`))
        : undefined;
      if (values.json) console.log(JSON.stringify({ preset: values.preset, ...h, probe }, null, 2));
      else console.log(formatHeadroom(h, probe));
    } finally {
      await engine.dispose();
    }
    return 0;
  },
};

function formatHeadroom(h: Headroom, probe: ProbePoint[] | undefined): string {
  const l = h.limits;
  const lines = [
    `${h.model} ${h.inference.precision}: maxBufferSize ${mib(l.maxBufferSize)}, maxStorageBufferBindingSize ${mib(l.maxStorageBufferBindingSize)}, budget ${l.budgetBytes === undefined ? 'none' : mib(l.budgetBytes)}`,
    '',
    `inference   ${'batch'.padStart(6)} ${'weights'.padStart(11)} ${'activations'.padStart(11)} ${'workspace'.padStart(11)} ${'total'.padStart(11)} ${'binding'.padStart(11)}${probe ? ` ${'measured'.padStart(11)} ${'error'.padStart(7)}` : ''}`,
  ];
  for (const p of h.inference.points) {
    const m = probe?.find((q) => q.batch === p.batch);
    const measured = m ? (m.ok ? `${mib(m.measuredBytes).padStart(11)} ${(((m.predictedBytes - m.measuredBytes) / m.measuredBytes) * 100).toFixed(1).padStart(6)}%` : ' failed') : '';
    lines.push(`            ${String(p.batch).padStart(6)} ${mib(p.weights).padStart(11)} ${mib(p.activations).padStart(11)} ${mib(p.workspace).padStart(11)} ${mib(p.total).padStart(11)} ${mib(p.largestBinding).padStart(11)} ${measured}`);
  }
  lines.push('', `largest batch predicted to fit (inference): ${h.inference.largestFitting} (${h.inference.bindingLimit})`);
  const failed = probe?.find((p) => !p.ok);
  if (failed) lines.push(`probe: batch ${failed.batch} failed: ${failed.error}`);
  return lines.join('\n');
}
