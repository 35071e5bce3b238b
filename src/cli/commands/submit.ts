import { readFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { applyOverrides, preset } from '../../graph/config.ts';
import { buildV3 } from '../../graph/v3.ts';
import { RunClient, toBase64 } from '../../remote/client.ts';
import { STREAM_END_STATUSES, type DataSpec, type RunEvent, type RunRequest, type TrainSpec } from '../../remote/types.ts';

const HELP = `ictal submit --server URL --token T --preset NAME [--set key=value ...] --config FILE [--weights FILE]
  Builds the preset's graph, submits it to a run API (npm run backend -- serve), follows the run's events
  to its end and exits 0 if it succeeded, 1 otherwise.
  --token      the server's bearer token (default: $ICTAL_API_TOKEN, which is better: an argument shows in ps)
  --set        a graph configuration override, as for ictal graph (repeatable)
  --config     JSON: {"train": {"steps" or "epochs", "batch_size", "precision", ...},
                      "data": {"kind": "synthetic", "seed": N} | {"kind": "npz", "path": "..."}}
               (data defaults to synthetic windows with seed 0)
  --weights    a safetensors file with every parameter (default: the server initialises from train.seed)
  Ctrl-C stops following; the run goes on (its id is printed first).`;

interface SubmitConfig {
  train: TrainSpec;
  data: DataSpec;
}

function readConfig(path: string): SubmitConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`--config ${path}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`--config ${path}: not JSON (${(e as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`--config ${path}: expected a JSON object with "train" (and "data")`);
  const { train, data, ...rest } = parsed as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) throw new Error(`--config ${path}: unknown key(s) ${extra.map((k) => `"${k}"`).join(', ')} (allowed: "train", "data")`);
  if (!train || typeof train !== 'object' || Array.isArray(train)) throw new Error(`--config ${path}: "train" must be an object like {"steps": 100, "batch_size": 4}`);
  if (data !== undefined && (!data || typeof data !== 'object' || Array.isArray(data))) throw new Error(`--config ${path}: "data" must be an object like {"kind": "synthetic", "seed": 0}`);
  return { train: train as TrainSpec, data: (data as DataSpec | undefined) ?? { kind: 'synthetic', seed: 0 } };
}

function formatValue(v: unknown): string {
  if (typeof v !== 'number' || Number.isInteger(v)) return String(v);
  return Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toPrecision(5);
}

/** One line of progress per event (heartbeats are brief). */
export function describeEvent(e: RunEvent): string | undefined {
  switch (e.kind) {
    case 'log': return `${e.level === 'info' ? '' : `${e.level}: `}${e.message}`;
    case 'metrics': {
      const { kind: _k, id: _i, time: _t, split, ...values } = e;
      const shown = Object.entries(values).filter(([, v]) => v !== null && v !== undefined);
      return `[${typeof split === 'string' ? split : 'train'}] ${shown.map(([k, v]) => `${k} ${formatValue(v)}`).join('  ')}`;
    }
    case 'checkpoint': return `checkpoint ${e.name ?? ''}`.trim();
    case 'rewind': return e.message;
    case 'heartbeat': return `  (alive${typeof e.elapsed_s === 'number' ? `, ${e.elapsed_s} s` : ''})`;
    // The end event reports the final status; a status line is for the way there (queued, running).
    case 'status': return STREAM_END_STATUSES.includes(e.status) ? undefined : `status: ${e.status}`;
    case 'end': return undefined;
    case 'other': return undefined;
  }
}

export const submit: Command = {
  name: 'submit',
  summary: 'submit a preset graph to a run API and follow the run to its end',
  async run(argv) {
    const { values } = parseOptions('submit', argv, {
      server: { type: 'string' }, token: { type: 'string' }, preset: { type: 'string' },
      set: { type: 'string', multiple: true }, config: { type: 'string' }, weights: { type: 'string' },
      help: { type: 'boolean' },
    });
    if (values.help) return console.log(HELP), 0;
    // A token on the command line is visible to every local user in the process list: allowed, but warned about.
    if (values.token !== undefined) console.error('ictal submit: warning: --token is visible in the process list to other users of this machine; set ICTAL_API_TOKEN instead');
    const token = values.token ?? process.env.ICTAL_API_TOKEN;
    for (const [name, v] of [['--server', values.server], ['--token', token], ['--preset', values.preset], ['--config', values.config]] as const) {
      if (!v) throw new Error(`${name} is required (see ictal submit --help)`);
    }
    const { train, data } = readConfig(values.config!);
    const graph = buildV3(values.preset!, applyOverrides(preset(values.preset!), values.set ?? []));
    const request: RunRequest = { graph, train, data };
    if (values.weights) {
      try {
        request.weights = toBase64(readFileSync(values.weights));
      } catch (e) {
        throw new Error(`--weights ${values.weights}: ${(e as Error).message}`);
      }
    }
    const client = new RunClient({ server: values.server!, token: token! });
    const created = await client.submit(request);
    console.log(`run ${created.id} ${created.status} on ${values.server} (${graph.name}, ${graph.nodes.length} nodes)`);
    for await (const event of client.follow(created.id)) {
      if (event.kind === 'end') {
        const ok = event.status === 'succeeded';
        const info = await client.get(created.id);
        console.log(`run ${created.id} ${event.status}${event.error ? `: ${event.error}` : ''}`);
        if (info.artifacts.length) console.log(`artifacts: ${info.artifacts.join(', ')}`);
        return ok ? 0 : 1;
      }
      const line = describeEvent(event);
      if (line !== undefined) console.log(line);
    }
    throw new Error(`the event stream of run ${created.id} ended without an end event`);
  },
};
