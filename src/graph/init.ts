// Seeded initial weights for an IR document, following each parameter's init rule (docs/ir.md).
import type { IrDocument, InitRule } from './ir.ts';
import { numel } from './ir.ts';
import { streamFor } from './rng.ts';
import { GraphError } from './errors.ts';

export type WeightMap = Map<string, { shape: number[]; data: Float32Array }>;

function draw(rule: InitRule, n: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  switch (rule.dist) {
    case 'uniform':
      for (let i = 0; i < n; i++) out[i] = (2 * rand() - 1) * rule.bound;
      return out;
    case 'const':
      return out.fill(rule.value);
    case 'mamba_dt_bias':
      for (let i = 0; i < n; i++) {
        const lo = Math.log(rule.dt_min), hi = Math.log(rule.dt_max);
        const dt = Math.max(Math.exp(lo + rand() * (hi - lo)), rule.dt_floor);
        out[i] = dt + Math.log(-Math.expm1(-dt)); // inverse softplus
      }
      return out;
    case 'mamba_a_log':
      for (let i = 0; i < n; i++) out[i] = Math.log(rule.low + rand() * (rule.high - rule.low));
      return out;
    case 'weight_norm_g':
      throw new GraphError('weight_norm_g is derived from its v, not drawn');
  }
}

/** g_o = ||v_o|| over all but the first axis. */
function rowNorms(v: Float32Array, rows: number): Float32Array {
  const cols = v.length / rows;
  const g = new Float32Array(rows);
  for (let o = 0; o < rows; o++) {
    let s = 0;
    for (let k = 0; k < cols; k++) s += v[o * cols + k]! ** 2;
    g[o] = Math.sqrt(s);
  }
  return g;
}

/** Every parameter (drawn from its own stream of `seed`) and every buffer, as float32. */
export function initWeights(ir: IrDocument, seed: number): WeightMap {
  const w: WeightMap = new Map();
  const derived: [string, string][] = [];
  for (const [name, p] of Object.entries(ir.params)) {
    if (p.init.dist === 'weight_norm_g') derived.push([name, p.init.of]);
    else w.set(name, { shape: [...p.shape], data: draw(p.init, numel(p.shape), streamFor(seed, name)) });
  }
  for (const [name, of] of derived) {
    const v = w.get(of);
    if (!v) throw new GraphError(`params["${name}"]: init refers to "${of}", which is not a drawn parameter`);
    w.set(name, { shape: [...ir.params[name]!.shape], data: rowNorms(v.data, v.shape[0]!) });
  }
  for (const [name, b] of Object.entries(ir.buffers)) w.set(name, { shape: [...b.shape], data: Float32Array.from(b.values) });
  return w;
}
