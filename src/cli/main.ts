// `ictal <command> [options]`: the lab's engine from Node. Each command lives in src/cli/commands/<name>.ts.
import type { Command } from './command.ts';
import { gpuInfo } from './commands/gpu-info.ts';
import { edfInfo } from './commands/edf-info.ts';
import { synth } from './commands/synth.ts';
import { calibrate } from './commands/calibrate.ts';
import { bench } from './commands/bench.ts';
import { graph } from './commands/graph.ts';
import { submit } from './commands/submit.ts';
import { forward } from './commands/forward.ts';
import { profile } from './commands/profile.ts';
import { headroom } from './commands/headroom.ts';
import { train } from './commands/train.ts';
import { grad } from './commands/grad.ts';

/** Every command, in the order `ictal help` lists them. */
const COMMANDS: Command[] = [gpuInfo, calibrate, bench, graph, forward, grad, train, profile, headroom, submit, edfInfo, synth];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return ['usage: ictal <command> [options]', '', ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`), '', 'ictal <command> --help for its options'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`ictal: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    const err = e as Error;
    console.error(`ictal ${name}: ${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`);
    if (process.env.ICTAL_DEBUG) console.error(err.stack);
    return 1;
  }
}
