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
  --schema    write the IR's JSON Schema (generated from the op table) to FILE`;

export const graph: Command = {
  name: 'graph',
  summary: 'build a model graph: parameters, FLOPs, memory; export IR and weights',
  async run(argv) {
    const { values } = parseOptions('graph', argv, {
      preset: { type: 'string', default: 'v3' }, set: { type: 'string', multiple: true, default: [] },
      batch: { type: 'string', default: '1' }, json: { type: 'boolean' }, ir: { type: 'string' },
      weights: { type: 'string' }, schema: { type: 'string' }, seed: { type: 'string', default: '42' }, help: { type: 'boolean' },
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
    const summary = graphSummary(ir, batch);
    console.log(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
    return 0;
  },
};
