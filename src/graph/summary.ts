// Human-readable form of a graph summary (the `ictal graph` report).
import type { GraphSummary } from './accounting.ts';
export { graphSummary } from './accounting.ts';

const si = (x: number, unit: string) => {
  const p = [['T', 1e12], ['G', 1e9], ['M', 1e6], ['k', 1e3]] as const;
  for (const [s, v] of p) if (Math.abs(x) >= v) return `${(x / v).toFixed(2)} ${s}${unit}`;
  return `${x} ${unit}`;
};
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

export function formatSummary(s: GraphSummary): string {
  const per = s.batch === 1 ? 'per window' : `per batch of ${s.batch}`;
  const width = Math.max(...Object.keys(s.params.modules).map((m) => m.length), 8);
  const lines = [
    `graph ${s.name}`,
    `parameters ${s.params.total.toLocaleString('en-US')} (+ ${s.params.buffers} buffer values)`,
    ...Object.entries(s.params.modules).map(([m, n]) => `  ${m.padEnd(width)} ${n.toLocaleString('en-US').padStart(11)}  ${((100 * n) / s.params.total).toFixed(1).padStart(5)}%`),
    `FLOPs ${per}: forward ${si(s.flops.forward, 'FLOP')}, backward ${si(s.flops.backward, 'FLOP')}`,
    ...Object.entries(s.flops.modules).filter(([, f]) => f.forward > 0).map(([m, f]) => `  ${m.padEnd(width)} fwd ${si(f.forward, 'FLOP').padStart(13)}  bwd ${si(f.backward, 'FLOP').padStart(13)}`),
    `activations kept for backward, ${per}:`,
    ...Object.entries(s.activations).map(([p, b]) => `  ${p.padEnd(width)} ${mib(b)}`),
    `training state (f32 weights, gradients, AdamW moments): ${mib(s.training_state_bytes.weights + s.training_state_bytes.gradients + s.training_state_bytes.adamw)}`,
  ];
  return lines.join('\n');
}
