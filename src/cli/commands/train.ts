import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { loadTrainWindows } from '../train-data.ts';
import { PRESETS } from '../../graph/config.ts';
import { useNodeGpu } from '../../gpu/device.ts';
import { nodeGpu } from '../../gpu/node-gpu.ts';
import { isPrecision, PRECISIONS } from '../../gpu/precision.ts';
import { Engine, type ModelSpec, type TrainProgress } from '../../engine/engine.ts';
import { TRAIN_DEFAULTS } from '../../train/trainer.ts';

const HELP = `ictal train (--preset ${Object.keys(PRESETS).join('|')} [--set key=value ...] | --ir G.json) [--weights W.safetensors]
            --data synthetic|NPZ_DIR|EDF_DIR --steps N --batch B [--precision P] [--seed S]
            [--save OUT.safetensors] [--log OUT.jsonl] [--lr X] [--micro-batch M] [--pos-weight W] [--minutes M]
  Trains the graph on this machine's GPU with the backend's recipe (focal loss with pos_weight, AdamW with its
  parameter groups, warm-up + cosine, clip 0.5, loss scaling in the half modes). Without --weights it starts from
  the seeded initial weights. --data: the lab's synthetic EEG (--minutes long, default 10), a directory of
  *_windows.npz files, or a directory of EDF recordings with their .csv_bi labels (else TUSZ's per-channel .csv).
  --precision: ${PRECISIONS.join(', ')} (default f32). --save writes the trained weights (IR names: the backend's
  train --weights loads them); --log writes one JSON line per step. Defaults: seed ${TRAIN_DEFAULTS.seed}, lr ${TRAIN_DEFAULTS.lr};
  pos_weight from the data. The lab's Train tab runs the same engine method (Engine.train).`;

function bar(p: TrainProgress): string {
  const width = 24;
  const done = Math.round((p.step / p.steps) * width);
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${p.step}/${p.steps} loss ${p.loss.toFixed(5)} |g| ${p.gradNorm.toPrecision(3)} `
    + `scale ${p.scale} skipped ${p.skippedTotal} lr ${p.lr.toExponential(2)} ${p.stepMs.toFixed(0)} ms/step`;
}

export const train: Command = {
  name: 'train',
  summary: 'train a graph on this GPU (the backend\'s recipe) and save its weights',
  async run(argv) {
    const { values } = parseOptions('train', argv, {
      preset: { type: 'string' }, set: { type: 'string', multiple: true }, ir: { type: 'string' }, weights: { type: 'string' },
      data: { type: 'string' }, steps: { type: 'string' }, batch: { type: 'string' }, precision: { type: 'string', default: 'f32' },
      seed: { type: 'string', default: String(TRAIN_DEFAULTS.seed) }, save: { type: 'string' }, log: { type: 'string' },
      lr: { type: 'string' }, 'micro-batch': { type: 'string' }, 'pos-weight': { type: 'string' }, minutes: { type: 'string', default: '10' },
      help: { type: 'boolean' },
    });
    if (values.help) return console.log(HELP), 0;
    if (Boolean(values.preset) === Boolean(values.ir)) throw new Error(`give exactly one of --preset and --ir\n${HELP}`);
    if (values.set && !values.preset) throw new Error('--set applies to --preset only');
    for (const k of ['data', 'steps', 'batch'] as const) if (!values[k]) throw new Error(`--${k} is required\n${HELP}`);
    const precision = values.precision!;
    if (!isPrecision(precision)) throw new Error(`--precision "${precision}" is not one of ${PRECISIONS.join(', ')}`);
    const int = (name: string, v: string | undefined) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got "${v}"`);
      return n;
    };
    const num = (name: string, v: string | undefined) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${v}"`);
      return n;
    };
    const seed = int('seed', values.seed)!;
    const file = (path: string) => new File([readFileSync(path)], basename(path));
    // Without --weights the run starts from the graph's seeded initial weights, seeded as the run is.
    const model: ModelSpec = values.preset ? { preset: values.preset, seed, overrides: values.set ?? [] }
      : values.weights ? { graph: file(values.ir!), weights: file(values.weights) } : { graph: file(values.ir!), seed };
    const config = {
      steps: int('steps', values.steps)!, batch: int('batch', values.batch)!, precision, seed,
      lr: num('lr', values.lr), microBatch: int('micro-batch', values['micro-batch']), posWeight: num('pos-weight', values['pos-weight']),
    };
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      const m = await engine.loadModel(model);
      const { windows, source } = await loadTrainWindows(values.data!, m.window, seed, num('minutes', values.minutes));
      if (values.log) writeFileSync(values.log, '');
      const tty = Boolean(process.stderr.isTTY);
      const info = await engine.gpuInfo();
      console.error(`training ${m.name} on ${info.description || info.device} in ${precision}: ${windows.count} windows from ${source}`);
      const result = await engine.train({ ...config, data: { kind: 'windows', windows: windows.windows, labels: windows.labels } }, (p) => {
        if (values.log) appendFileSync(values.log, JSON.stringify(p) + '\n');
        if (tty) process.stderr.write(`\r${bar(p)}\x1b[K`);
        else if (p.step === p.steps || p.step % 10 === 0) console.error(bar(p));
      });
      if (tty) process.stderr.write('\n');
      const last = result.history[result.history.length - 1];
      console.log(`trained ${result.history.length} steps (${result.trainingWindows} training windows, pos_weight ${result.posWeight.toFixed(4)}): `
        + `loss ${result.history[0]?.loss.toFixed(5)} -> ${last?.loss.toFixed(5)}, ${last ? last.skippedTotal : 0} skipped`);
      if (values.save) writeFileSync(values.save, result.weights);
    } finally {
      await engine.dispose();
    }
    return 0;
  },
};
