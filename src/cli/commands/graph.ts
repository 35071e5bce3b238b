import { writeFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { applyOverrides, preset, PRESETS } from '../../graph/config.ts';
import { buildV3 } from '../../graph/v3.ts';
import { serializeIr } from '../../graph/serialize.ts';
import { initWeights } from '../../graph/init.ts';
import { encodeWeights } from '../../graph/weights.ts';
import { graphSummary, formatSummary } from '../../graph/summary.ts';
import { irJsonSchema } from '../../graph/schema.ts';
import { isPrecision, PRECISIONS, type Precision } from '../../gpu/precision.ts';
import { planForward } from '../../executor/plan.ts';
import { planTraining, type TrainingBytes } from '../../train/plan.ts';
import { savedActivations } from '../../train/saved-activations.ts';

const HELP = `ictal graph --preset NAME [--set key=value ...] [--batch N] [--json] [--ir FILE] [--weights FILE] [--seed N]
  Builds a model graph and prints its parameters (total and per module), FLOPs per window and activation
  memory per window by precision.
  --preset    ${Object.keys(PRESETS).join(' | ')} (default v3)
  --set       override a preset field, e.g. --set tcn.channels=32,64,64,128,32,64,64,128 --set node.layers=2
  --batch     batch size for the memory and FLOP figures (default 1: per window)
  --json      print the summary as JSON
  --ir        write the IR (docs/ir.md) to FILE
  --weights   write seeded initial weights (safetensors, PE buffer included) to FILE
  --seed      initialisation seed (default 42)
  --schema    write the IR's JSON Schema (generated from the op table) to FILE
  --train     also print the training arena at --batch and --precision (${PRECISIONS.join(' | ')}, default f32) as the
              training executor allocates it (src/train/plan.ts), next to the inference activations`;

const MIB = 2 ** 20;

function formatTraining(batch: number, precision: Precision, inference: number, t: TrainingBytes): string {
  const row = (k: string, v: number) => `  ${k.padEnd(34)} ${(v / MIB).toFixed(2).padStart(10)} MiB`;
  return [
    `training arena, batch ${batch}, ${precision} (one pass; f32 masters, gradients and moments):`,
    row('weights (masters, copies, derived)', t.weights), row('gradients (f32)', t.gradients),
    row('optimizer state (AdamW, f32)', t.optimizerState), row('activations + their gradients', t.activationsKept),
    row('workspace', t.workspace), row('total', t.total),
    row('inference activations (same batch)', inference),
  ].join('\n');
}

export const graph: Command = {
  name: 'graph',
  summary: 'build a model graph: parameters, FLOPs, memory; export IR and weights',
  async run(argv) {
    const { values } = parseOptions('graph', argv, {
      preset: { type: 'string', default: 'v3' }, set: { type: 'string', multiple: true, default: [] },
      batch: { type: 'string', default: '1' }, json: { type: 'boolean' }, ir: { type: 'string' },
      weights: { type: 'string' }, schema: { type: 'string' }, seed: { type: 'string', default: '42' }, help: { type: 'boolean' },
      train: { type: 'boolean' }, precision: { type: 'string', default: 'f32' },
    });
    if (values.help) return console.log(HELP), 0;
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) throw new Error(`--seed "${values.seed}" must be an integer in [0, 2^32 - 1]`);
    const batch = Number(values.batch);
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch "${values.batch}" must be a positive integer`);
    const config = applyOverrides(preset(values.preset), values.set);
    const ir = buildV3(values.preset, config);
    if (values.schema) writeFileSync(values.schema, JSON.stringify(irJsonSchema(), null, 2) + '\n');
    if (values.ir) writeFileSync(values.ir, serializeIr(ir));
    if (values.weights) writeFileSync(values.weights, encodeWeights(ir, initWeights(ir, seed), seed));
    const summary = graphSummary(ir, batch, savedActivations(ir, batch));
    const precision = values.precision!;
    if (!isPrecision(precision)) throw new Error(`--precision "${precision}" is not one of ${PRECISIONS.join(', ')}`);
    const training = values.train ? { precision, bytes: planTraining(ir, batch, precision).bytes, inferenceActivations: planForward(ir, batch, precision).activationBytes } : undefined;
    if (values.json) console.log(JSON.stringify(training ? { ...summary, training } : summary, null, 2));
    else console.log(formatSummary(summary) + (training ? `\n\n${formatTraining(batch, precision, training.inferenceActivations, training.bytes)}` : ''));
    return 0;
  },
};
