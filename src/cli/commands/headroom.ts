import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { useNodeGpu } from '../../gpu/device.ts';
import { nodeGpu } from '../../gpu/node-gpu.ts';
import { isPrecision, PRECISIONS } from '../../gpu/precision.ts';
import { Engine, type Headroom, type HeadroomMode, type ProbePoint } from '../../engine/engine.ts';

const HELP = `ictal headroom --preset NAME --precision P [--set k=v ...] [--max-batch N] [--budget-mib N] [--probe [--probe-mode M]] [--json]
  Predicted memory against batch size (1, 2, 4, ... up to --max-batch), for inference (one forward pass) and for
  training (one step: weights, gradients, optimizer state, activations kept, workspace), for the preset at a precision, against
  this adapter's maxBufferSize and maxStorageBufferBindingSize and an optional budget, and the largest batch
  predicted to fit. The lab's Headroom tab runs the same engine methods (Engine.headroom, Engine.probeHeadroom).
  --precision     ${PRECISIONS.join(', ')}
  --max-batch N   largest batch size tried (default 256)
  --budget-mib N  the memory the device may use, MiB (WebGPU does not report it; default: no budget)
  --probe         really allocate and run each batch size until one fails, measured against predicted
  --probe-mode M  training (default: two training steps per batch size) or inference (one forward pass)
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
      'max-batch': { type: 'string', default: '256' }, 'budget-mib': { type: 'string' }, probe: { type: 'boolean' }, 'probe-mode': { type: 'string', default: 'training' }, json: { type: 'boolean' },
      seed: { type: 'string', default: '42' }, help: { type: 'boolean' },
    });
    if (values.help) return console.log(HELP), 0;
    const precision = values.precision!;
    if (!isPrecision(precision)) throw new Error(`--precision "${precision}" is not one of ${PRECISIONS.join(', ')}`);
    const maxBatch = whole('max-batch', values['max-batch']!);
    const budgetBytes = values['budget-mib'] === undefined ? undefined : whole('budget-mib', values['budget-mib']) * 2 ** 20;
    const mode = values['probe-mode'];
    if (mode !== 'training' && mode !== 'inference') throw new Error(`--probe-mode "${mode}" is not one of training, inference`);
    const options = { model: { preset: values.preset!, seed: Number(values.seed), overrides: values.set ?? [] }, precision, maxBatch, budgetBytes };
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      const h = await engine.headroom(options);
      const probe = values.probe
        ? await engine.probeHeadroom({ ...options, mode }, (p) => console.error(`probe batch ${p.batch}: ${p.ok ? `${mib(p.measuredBytes)} measured, ${mib(p.predictedBytes)} predicted, ${p.ms.toFixed(0)} ms` : `failed: ${p.error}`}`))
        : undefined;
      if (values.json) console.log(JSON.stringify({ preset: values.preset, ...h, probe: probe && { mode, points: probe } }, null, 2));
      else console.log(formatHeadroom(h, probe && { mode, points: probe }));
    } finally {
      await engine.dispose();
    }
    return 0;
  },
};

function formatHeadroom(h: Headroom, probe: { mode: HeadroomMode; points: ProbePoint[] } | undefined): string {
  const l = h.limits;
  const lines = [`${h.model} ${h.inference.precision}: maxBufferSize ${mib(l.maxBufferSize)}, maxStorageBufferBindingSize ${mib(l.maxStorageBufferBindingSize)}, budget ${l.budgetBytes === undefined ? 'none' : mib(l.budgetBytes)}`];
  const col = (x: string) => x.padStart(11);
  for (const curve of [h.inference, h.training]) {
    const probed = probe?.mode === curve.mode ? probe.points : undefined;
    lines.push('', `${curve.mode.padEnd(10)} ${'batch'.padStart(6)} ${['weights', 'activations', 'gradients', 'optimizer', 'workspace', 'total', 'binding'].map(col).join(' ')}${probed ? ` ${col('measured')} ${'error'.padStart(7)}` : ''}`);
    for (const p of curve.points) {
      const m = probed?.find((q) => q.batch === p.batch);
      const measured = m ? (m.ok ? `${col(mib(m.measuredBytes))} ${(((m.predictedBytes - m.measuredBytes) / m.measuredBytes) * 100).toFixed(1).padStart(6)}%` : ' failed') : '';
      lines.push(`${''.padEnd(10)} ${String(p.batch).padStart(6)} ${[p.weights, p.activations, p.gradients, p.optimizerState, p.workspace, p.total, p.largestBinding].map((b) => col(mib(b))).join(' ')} ${measured}`);
    }
    lines.push(`largest batch predicted to fit (${curve.mode}): ${curve.largestFitting} (${curve.bindingLimit})`);
  }
  const failed = probe?.points.find((p) => !p.ok);
  if (failed) lines.push(`probe (${probe!.mode}): batch ${failed.batch} failed: ${failed.error}`);
  return lines.join('\n');
}
