// v3 model configuration: the presets, `--set key=value` overrides, and the checks a configuration must pass.
import { GraphError } from './errors.ts';

export interface V3Config {
  samples: number;
  sample_rate: number;
  sanitize: { nan: number; clamp: number };
  tcn: { channels: number[]; dilations: number[]; kernel: number; dropout: number; weight_norm: boolean; downsample: number };
  /** D: features per electrode after the TCN (node stream d_model). */
  electrode_dim: number;
  node: { layers: number; d_state: number; d_conv: number; expand: number; headdim: number; dropout: number };
  edge: { d_model: number; layers: number; d_state: number; d_conv: number; expand: number; headdim: number; dropout: number; cosine_eps: number };
  adjacency: { k: number; threshold: number };
  pe: { dim: number };
  gnn: { layers: number; hidden: number; alpha: number; K: number; dropout: number };
  head: { hidden: number; clamp_mid: number | null; clamp_out: number | null };
}

/** V3_MODEL.md at full size. */
const V3: V3Config = {
  samples: 15360,
  sample_rate: 256,
  sanitize: { nan: 0, clamp: 10 },
  tcn: { channels: [64, 128, 256, 512, 64, 128, 256, 512], dilations: [1, 2, 4, 8, 16, 32, 64, 128], kernel: 7, dropout: 0.15, weight_norm: true, downsample: 16 },
  electrode_dim: 64,
  node: { layers: 6, d_state: 16, d_conv: 4, expand: 2, headdim: 8, dropout: 0.1 },
  edge: { d_model: 16, layers: 2, d_state: 8, d_conv: 4, expand: 2, headdim: 4, dropout: 0.1, cosine_eps: 1e-8 },
  adjacency: { k: 3, threshold: 1e-4 },
  pe: { dim: 16 },
  gnn: { layers: 2, hidden: 64, alpha: 0.05, K: 2, dropout: 0.1 },
  head: { hidden: 512, clamp_mid: 50, clamp_out: 100 },
};

/** Same topology, 10 s windows (T = 160), narrow widths: a float64 CPU forward takes seconds. */
const V3_TINY: V3Config = {
  ...V3,
  samples: 2560,
  tcn: { ...V3.tcn, channels: [8, 16, 16, 32, 8, 16, 16, 32] },
  electrode_dim: 16,
  node: { ...V3.node, layers: 2, d_state: 8, headdim: 4 },
  edge: { ...V3.edge, d_model: 8, layers: 1, d_state: 4, headdim: 4 },
  gnn: { ...V3.gnn, hidden: 16 },
  head: { ...V3.head, hidden: 32 },
};

export const PRESETS: Record<string, V3Config> = { v3: V3, 'v3-tiny': V3_TINY };

export function preset(name: string): V3Config {
  const p = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  if (!p) throw new GraphError(`unknown preset "${name}" (known: ${Object.keys(PRESETS).join(', ')})`);
  return structuredClone(p);
}

type FieldKind = 'int' | 'number' | 'bool' | 'int[]' | 'number|null';
/** Every overridable field, its kind and smallest allowed value. */
const FIELDS: Record<string, { kind: FieldKind; min?: number; max?: number; maxExclusive?: boolean }> = {
  samples: { kind: 'int', min: 1 },
  sample_rate: { kind: 'number', min: 1 },
  'sanitize.nan': { kind: 'number' },
  'sanitize.clamp': { kind: 'number', min: 0 },
  'tcn.channels': { kind: 'int[]', min: 1 },
  'tcn.dilations': { kind: 'int[]', min: 1 },
  'tcn.kernel': { kind: 'int', min: 1 },
  'tcn.dropout': { kind: 'number', min: 0, max: 1, maxExclusive: true },
  'tcn.weight_norm': { kind: 'bool' },
  'tcn.downsample': { kind: 'int', min: 1 },
  electrode_dim: { kind: 'int', min: 1 },
  'node.layers': { kind: 'int', min: 0 },
  'node.d_state': { kind: 'int', min: 1 },
  'node.d_conv': { kind: 'int', min: 1 },
  'node.expand': { kind: 'int', min: 1 },
  'node.headdim': { kind: 'int', min: 1 },
  'node.dropout': { kind: 'number', min: 0, max: 1, maxExclusive: true },
  'edge.d_model': { kind: 'int', min: 1 },
  'edge.layers': { kind: 'int', min: 0 },
  'edge.d_state': { kind: 'int', min: 1 },
  'edge.d_conv': { kind: 'int', min: 1 },
  'edge.expand': { kind: 'int', min: 1 },
  'edge.headdim': { kind: 'int', min: 1 },
  'edge.dropout': { kind: 'number', min: 0, max: 1, maxExclusive: true },
  'edge.cosine_eps': { kind: 'number', min: 0 },
  'adjacency.k': { kind: 'int', min: 1, max: 18 },
  'adjacency.threshold': { kind: 'number', min: 0 },
  'pe.dim': { kind: 'int', min: 1, max: 18 },
  'gnn.layers': { kind: 'int', min: 1 },
  'gnn.hidden': { kind: 'int', min: 1 },
  'gnn.alpha': { kind: 'number', min: 0, max: 1 },
  'gnn.K': { kind: 'int', min: 1 },
  'gnn.dropout': { kind: 'number', min: 0, max: 1, maxExclusive: true },
  'head.hidden': { kind: 'int', min: 1 },
  'head.clamp_mid': { kind: 'number|null', min: 0 },
  'head.clamp_out': { kind: 'number|null', min: 0 },
};

export const CONFIG_KEYS = Object.keys(FIELDS);

function parseNumber(key: string, text: string, int: boolean): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new GraphError(`--set ${key}: "${text}" is not a finite number`);
  if (int && !Number.isInteger(v)) throw new GraphError(`--set ${key}: "${text}" is not an integer`);
  return v;
}

function checkRange(key: string, v: number, f: (typeof FIELDS)[string]): void {
  if (f.min !== undefined && v < f.min) throw new GraphError(`--set ${key}: ${v} is below the minimum ${f.min}`);
  if (f.max !== undefined && (f.maxExclusive ? v >= f.max : v > f.max)) throw new GraphError(`--set ${key}: ${v} must be ${f.maxExclusive ? 'below' : 'at most'} ${f.max}`);
}

/** Applies `key=value` overrides (arrays comma-separated, `null` to drop a clamp), then checks the result. */
export function applyOverrides(config: V3Config, assignments: readonly string[]): V3Config {
  const out = structuredClone(config);
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new GraphError(`--set "${a}": expected key=value`);
    const key = a.slice(0, eq).trim(), text = a.slice(eq + 1).trim();
    const f = Object.hasOwn(FIELDS, key) ? FIELDS[key] : undefined;
    if (!f) throw new GraphError(`--set: unknown key "${key}" (keys: ${CONFIG_KEYS.join(', ')})`);
    let value: unknown;
    switch (f.kind) {
      case 'int': case 'number':
        value = parseNumber(key, text, f.kind === 'int');
        checkRange(key, value as number, f);
        break;
      case 'number|null':
        if (text === 'null' || text === 'none') value = null;
        else { value = parseNumber(key, text, false); checkRange(key, value as number, f); }
        break;
      case 'bool':
        if (text !== 'true' && text !== 'false') throw new GraphError(`--set ${key}: "${text}" is not true or false`);
        value = text === 'true';
        break;
      case 'int[]':
        value = text.split(',').map((t) => {
          const v = parseNumber(key, t, true);
          checkRange(key, v, f);
          return v;
        });
        break;
    }
    const path = key.split('.');
    let obj = out as unknown as Record<string, unknown>;
    for (const p of path.slice(0, -1)) obj = obj[p] as Record<string, unknown>;
    obj[path[path.length - 1]!] = value;
  }
  checkConfig(out);
  return out;
}

/** Cross-field rules; shape inference catches the rest and names the module. */
export function checkConfig(c: V3Config): void {
  const t = c.tcn;
  if (t.channels.length === 0) throw new GraphError('tcn.channels: needs at least one layer');
  if (t.dilations.length !== t.channels.length) throw new GraphError(`tcn.dilations has ${t.dilations.length} entries but tcn.channels has ${t.channels.length}: one dilation per layer`);
  t.dilations.forEach((d, i) => {
    if (((t.kernel - 1) * d) % 2 !== 0) throw new GraphError(`tcn layer ${i}: "same" padding needs (kernel - 1) * dilation even, got (${t.kernel} - 1) * ${d}`);
  });
  if (c.samples % t.downsample !== 0) throw new GraphError(`samples ${c.samples} is not a multiple of tcn.downsample ${t.downsample}`);
  for (const [name, m] of [['node', { ...c.node, d_model: c.electrode_dim }], ['edge', c.edge]] as const) {
    if ((m.expand * m.d_model) % m.headdim !== 0) throw new GraphError(`${name}: expand * d_model = ${m.expand * m.d_model} is not a multiple of ${name}.headdim ${m.headdim}`);
  }
}
