import type { Command } from '../command.ts';
import { parseOptions } from '../command.ts';
import { useNodeGpu } from '../../gpu/device.ts';
import { nodeGpu } from '../../gpu/node-gpu.ts';
import { Engine, type Calibration } from '../../engine/engine.ts';

const HELP = `ictal calibrate [--json] [--copy-mib N] [--repeats N] [--target-ms N]
  Measures this adapter's roofline: copy bandwidth (GB/s, bytes read + written) and FMA rate (GFLOP/s, f32).
  --copy-mib N    size of each copy buffer (default 256, capped by the adapter's limits)
  --repeats N     timed runs of each kernel, the best counts (default 5)
  --target-ms N   the FMA kernel grows until one run takes about this long (default 20)
  --json          the whole measurement as JSON on stdout (no progress lines)`;

/** A positive number from option `name`, or an error naming the option and the value. */
function positive(name: string, value: string | undefined, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} wants a positive number, got "${value}"`);
  return n;
}

export function formatCalibration(c: Calibration): string {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(b % 2 ** 20 ? 2 : 0)} MiB`;
  return [
    `adapter  ${c.adapter}`,
    `timing   ${c.timing}${c.timing === 'timestamp-query' ? ` (timer quantum ${c.quantumNs} ns)` : ''}`,
    `copy     ${c.copyGBps.toFixed(2)} GB/s best, ${c.copy.median.toFixed(2)} GB/s median (2 x ${mib(c.copy.bufferBytes)}, ${c.copy.runs} runs)`,
    `fma      ${c.fmaGflops.toFixed(2)} GFLOP/s best, ${c.fma.median.toFixed(2)} GFLOP/s median (${c.fma.invocations} invocations x ${c.fma.trips} trips, ${c.fma.runs} runs)`,
    `ridge    ${c.ridge.toFixed(2)} FLOP/byte`,
  ].join('\n');
}

export const calibrate: Command = {
  name: 'calibrate',
  summary: "this adapter's roofline: copy GB/s and FMA GFLOP/s",
  async run(argv) {
    const { values } = parseOptions('calibrate', argv, {
      json: { type: 'boolean' },
      help: { type: 'boolean' },
      'copy-mib': { type: 'string' },
      repeats: { type: 'string' },
      'target-ms': { type: 'string' },
    });
    if (values.help) return console.log(HELP), 0;
    const copyMib = positive('copy-mib', values['copy-mib'], undefined);
    const repeats = positive('repeats', values.repeats, undefined);
    if (repeats !== undefined && !Number.isInteger(repeats)) throw new Error(`--repeats wants a whole number, got "${values.repeats}"`);
    const targetMs = positive('target-ms', values['target-ms'], undefined);
    useNodeGpu(nodeGpu);
    const engine = new Engine();
    try {
      const result = await engine.calibrate(values.json ? undefined : (p) => console.error(`[${p.done}/${p.total}] ${p.message}`), {
        copyBytes: copyMib === undefined ? undefined : Math.round(copyMib * 2 ** 20),
        repeats,
        targetMs,
      });
      console.log(values.json ? JSON.stringify(result, null, 2) : formatCalibration(result));
    } finally {
      await engine.dispose();
    }
    return 0;
  },
};
