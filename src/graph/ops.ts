// The op table of docs/ir.md: attributes, shape inference and parameter shapes of every op, in one place.
// The builder, the IR validator, the accounting and the JSON Schema all read this table.
import { type AttrSpec, int, num, bool, dims } from './attrs.ts';
import type { Attrs, Dim, InitRule, Shape } from './ir.ts';
import { formatShape } from './ir.ts';
import { GraphError } from './errors.ts';

export interface ParamSpec {
  shape: number[];
  weight_decay: boolean;
  /** `weight_norm_g.of` holds a role here; the builder turns it into the parameter name. */
  init: InitRule;
}

export interface OpSpec {
  attrs: Record<string, AttrSpec>;
  /** Number of inputs, or 'many' (at least one). */
  inputs: number | 'many';
  /** Names of the input slots, for error messages. */
  inputNames: string[];
  infer(attrs: Attrs, inputs: Shape[], where: string): Shape;
  params(attrs: Attrs): Record<string, ParamSpec>;
  /** Every parameter role the op may have (which ones exist depends on attrs). */
  roles?: string[];
  buffers?(attrs: Attrs): Record<string, number[]>;
  bufferRoles?: string[];
}

// ---- shape checks: errors name the node, the input and the dimension ----
/** Exact rank, or at least `want[0]` dimensions laid out as `want[1]` describes. */
function rank(where: string, input: string, s: Shape, want: number | [number, string]): void {
  const [n, layout] = typeof want === 'number' ? [want, undefined] : want;
  if (layout === undefined ? s.length !== n : s.length < n) {
    const expected = layout === undefined ? `${n} dimensions` : `at least ${n} dimensions (${layout})`;
    throw new GraphError(`${where}: input "${input}" has shape ${formatShape(s)}, expected ${expected}`);
  }
}

function dimIs(where: string, input: string, s: Shape, axis: number, want: Dim, what: string): void {
  const a = axis < 0 ? s.length + axis : axis;
  if (s[a] !== want) throw new GraphError(`${where}: input "${input}" dimension ${a} (${what}) is ${s[a]}, expected ${want} (shape ${formatShape(s)})`);
}

const conv = (fanIn: number): InitRule => ({ dist: 'uniform', bound: 1 / Math.sqrt(fanIn) });
const ONE: InitRule = { dist: 'const', value: 1 };
const ZERO: InitRule = { dist: 'const', value: 0 };
const same = (_a: Attrs, inputs: Shape[]): Shape => [...inputs[0]!];
const none = (): Record<string, ParamSpec> => ({});

/** Mamba2 sizes derived from its attributes. */
export function mambaDims(a: Attrs) {
  const D = int(a, 'd_model'), N = int(a, 'd_state'), G = int(a, 'ngroups');
  const dInner = int(a, 'expand') * D;
  const P = int(a, 'headdim');
  const H = dInner / P;
  const convDim = dInner + 2 * G * N;
  return { D, N, G, P, H, dInner, convDim, dInProj: 2 * dInner + 2 * G * N + H, dConv: int(a, 'd_conv') };
}

export const OPS: Record<string, OpSpec> = {
  sanitize: {
    attrs: { nan: { kind: 'number' }, min: { kind: 'number' }, max: { kind: 'number' } },
    inputs: 1, inputNames: ['x'],
    infer(a, [x], where) {
      if (num(a, 'min') > num(a, 'max')) throw new GraphError(`${where}: min ${num(a, 'min')} exceeds max ${num(a, 'max')}`);
      return [...x!];
    },
    params: none,
  },
  conv1d: {
    attrs: {
      in_channels: { kind: 'int', min: 1 }, out_channels: { kind: 'int', min: 1 }, kernel_size: { kind: 'int', min: 1 },
      stride: { kind: 'int', min: 1 }, dilation: { kind: 'int', min: 1 }, padding: { kind: 'padding' },
      bias: { kind: 'bool' }, weight_norm: { kind: 'bool' },
    },
    inputs: 1, inputNames: ['x'],
    infer(a, [x], where) {
      rank(where, 'x', x!, 3);
      dimIs(where, 'x', x!, 1, int(a, 'in_channels'), 'channels');
      const L = x![2]!;
      if (L === 'B') throw new GraphError(`${where}: input "x" dimension 2 (length) cannot be the batch symbol`);
      const [l, r] = a.padding as number[];
      const span = int(a, 'dilation') * (int(a, 'kernel_size') - 1) + 1;
      const padded = L + l! + r!;
      if (padded < span) throw new GraphError(`${where}: input "x" dimension 2 (length) is ${L}: with padding ${l}+${r} it is shorter than the kernel's span ${span}`);
      return [x![0]!, int(a, 'out_channels'), Math.floor((padded - span) / int(a, 'stride')) + 1];
    },
    params(a) {
      const o = int(a, 'out_channels'), i = int(a, 'in_channels'), k = int(a, 'kernel_size');
      const p: Record<string, ParamSpec> = {};
      if (bool(a, 'weight_norm')) {
        p.weight_v = { shape: [o, i, k], weight_decay: true, init: conv(i * k) };
        p.weight_g = { shape: [o, 1, 1], weight_decay: false, init: { dist: 'weight_norm_g', of: 'weight_v' } };
      } else p.weight = { shape: [o, i, k], weight_decay: true, init: conv(i * k) };
      if (bool(a, 'bias')) p.bias = { shape: [o], weight_decay: false, init: conv(i * k) };
      return p;
    },
    roles: ['weight', 'weight_v', 'weight_g', 'bias'],
  },
  relu: { attrs: {}, inputs: 1, inputNames: ['x'], infer: same, params: none },
  softplus: { attrs: {}, inputs: 1, inputNames: ['x'], infer: same, params: none },
  dropout: { attrs: { p: { kind: 'number', min: 0, max: 1, maxExclusive: true } }, inputs: 1, inputNames: ['x'], infer: same, params: none },
  clamp: {
    attrs: { min: { kind: 'number' }, max: { kind: 'number' } },
    inputs: 1, inputNames: ['x'],
    infer(a, [x], where) {
      if (num(a, 'min') > num(a, 'max')) throw new GraphError(`${where}: min ${num(a, 'min')} exceeds max ${num(a, 'max')}`);
      return [...x!];
    },
    params: none,
  },
  add: {
    attrs: {}, inputs: 2, inputNames: ['a', 'b'],
    infer(_a, [x, y], where) {
      if (formatShape(x!) !== formatShape(y!)) throw new GraphError(`${where}: inputs "a" ${formatShape(x!)} and "b" ${formatShape(y!)} differ in shape`);
      return [...x!];
    },
    params: none,
  },
  reshape: {
    attrs: { shape: { kind: 'shape' } }, inputs: 1, inputNames: ['x'],
    infer(a, [x], where) {
      const target = dims(a, 'shape');
      if ((x![0] === 'B') !== (target[0] === 'B')) throw new GraphError(`${where}: reshape ${formatShape(x!)} -> ${formatShape(target)} must keep the batch dimension "B" first on both sides`);
      const count = (s: Shape) => s.reduce<number>((p, d) => p * (d === 'B' ? 1 : d), 1);
      if (count(x!) !== count(target)) throw new GraphError(`${where}: reshape ${formatShape(x!)} -> ${formatShape(target)} changes the element count per batch item (${count(x!)} vs ${count(target)})`);
      return [...target];
    },
    params: none,
  },
  permute: {
    attrs: { perm: { kind: 'perm' } }, inputs: 1, inputNames: ['x'],
    infer(a, [x], where) {
      const perm = a.perm as number[];
      rank(where, 'x', x!, perm.length);
      if (x![0] === 'B' && perm[0] !== 0) throw new GraphError(`${where}: perm [${perm}] moves the batch dimension; perm[0] must be 0`);
      return perm.map((p) => x![p]!);
    },
    params: none,
  },
  concat: {
    attrs: { axis: { kind: 'last-axis' } }, inputs: 'many', inputNames: ['x'],
    infer(_a, xs, where) {
      const r = Math.max(...xs.map((s) => s.length));
      const out: Dim[] = [];
      // every axis but the last broadcasts, right-aligned (a missing axis counts as size 1)
      for (let k = 0; k < r - 1; k++) {
        let d: Dim = 1;
        xs.forEach((s, i) => {
          const j = k - (r - s.length);
          const e = j >= 0 ? s[j]! : 1;
          if (e === 1) return;
          if (d !== 1 && d !== e) throw new GraphError(`${where}: input ${i} ${formatShape(s)} does not broadcast with the others at dimension ${k} (${e} vs ${d})`);
          d = e;
        });
        out.push(d);
      }
      let last = 0;
      xs.forEach((s, i) => {
        const f = s[s.length - 1]!;
        if (f === 'B') throw new GraphError(`${where}: input ${i} has the batch symbol as its last dimension`);
        last += f;
      });
      return [...out, last];
    },
    params: none,
  },
  linear: {
    attrs: { in_features: { kind: 'int', min: 1 }, out_features: { kind: 'int', min: 1 }, bias: { kind: 'bool' } },
    inputs: 1, inputNames: ['x'],
    infer(a, [x], where) {
      rank(where, 'x', x!, [1, '..., features']);
      dimIs(where, 'x', x!, -1, int(a, 'in_features'), 'features');
      return [...x!.slice(0, -1), int(a, 'out_features')];
    },
    params(a) {
      const i = int(a, 'in_features'), o = int(a, 'out_features');
      const p: Record<string, ParamSpec> = { weight: { shape: [o, i], weight_decay: true, init: conv(i) } };
      if (bool(a, 'bias')) p.bias = { shape: [o], weight_decay: false, init: conv(i) };
      return p;
    },
    roles: ['weight', 'bias'],
  },
  layer_norm: {
    attrs: { normalized_shape: { kind: 'int', min: 1 }, eps: { kind: 'number', min: 0, minExclusive: true, max: 1 } },
    inputs: 1, inputNames: ['x'],
    infer(a, [x], where) {
      rank(where, 'x', x!, [1, '..., features']);
      dimIs(where, 'x', x!, -1, int(a, 'normalized_shape'), 'features');
      return [...x!];
    },
    params(a) {
      const n = int(a, 'normalized_shape');
      return { weight: { shape: [n], weight_decay: false, init: ONE }, bias: { shape: [n], weight_decay: false, init: ZERO } };
    },
    roles: ['weight', 'bias'],
  },
  mamba2: {
    attrs: {
      d_model: { kind: 'int', min: 1 }, d_state: { kind: 'int', min: 1 }, d_conv: { kind: 'int', min: 1, max: 64 },
      expand: { kind: 'int', min: 1 }, headdim: { kind: 'int', min: 1 }, ngroups: { kind: 'int', min: 1, max: 1 },
      norm_eps: { kind: 'number', min: 0, minExclusive: true, max: 1 }, reverse: { kind: 'bool' },
    },
    inputs: 1, inputNames: ['x'],
    infer(a, [x], where) {
      const m = mambaDims(a);
      if (m.dInner % m.P !== 0) throw new GraphError(`${where}: d_inner = expand * d_model = ${m.dInner} is not a multiple of headdim ${m.P}`);
      rank(where, 'x', x!, [3, 'batch..., length, d_model']);
      dimIs(where, 'x', x!, -1, m.D, 'd_model');
      if (x![x!.length - 2] === 'B') throw new GraphError(`${where}: input "x" dimension ${x!.length - 2} (length) cannot be the batch symbol`);
      return [...x!];
    },
    params(a) {
      const m = mambaDims(a);
      return {
        'in_proj.weight': { shape: [m.dInProj, m.D], weight_decay: true, init: conv(m.D) },
        'conv1d.weight': { shape: [m.convDim, 1, m.dConv], weight_decay: true, init: conv(m.dConv) },
        'conv1d.bias': { shape: [m.convDim], weight_decay: false, init: conv(m.dConv) },
        dt_bias: { shape: [m.H], weight_decay: false, init: { dist: 'mamba_dt_bias', dt_min: 0.001, dt_max: 0.1, dt_floor: 0.0001 } },
        A_log: { shape: [m.H], weight_decay: false, init: { dist: 'mamba_a_log', low: 1, high: 16 } },
        D: { shape: [m.H], weight_decay: false, init: ONE },
        'norm.weight': { shape: [m.dInner], weight_decay: false, init: ONE },
        'out_proj.weight': { shape: [m.D, m.dInner], weight_decay: true, init: conv(m.dInner) },
      };
    },
    roles: ['in_proj.weight', 'conv1d.weight', 'conv1d.bias', 'dt_bias', 'A_log', 'D', 'norm.weight', 'out_proj.weight'],
  },
  cosine_edges: {
    attrs: { num_nodes: { kind: 'int', min: 2, max: 4096 }, eps: { kind: 'number', min: 0, minExclusive: true, max: 1 } },
    inputs: 1, inputNames: ['u'],
    infer(a, [u], where) {
      rank(where, 'u', u!, 4);
      const E = int(a, 'num_nodes');
      dimIs(where, 'u', u!, 1, E, 'nodes');
      return [u![0]!, (E * (E - 1)) / 2, u![2]!];
    },
    params: none,
  },
  topk_adjacency: {
    attrs: {
      num_nodes: { kind: 'int', min: 2, max: 4096 }, k: { kind: 'int', min: 1 },
      threshold: { kind: 'number', min: 0 }, isolated_self_loop: { kind: 'number', min: 0 },
    },
    inputs: 1, inputNames: ['w'],
    infer(a, [w], where) {
      rank(where, 'w', w!, 3);
      const E = int(a, 'num_nodes');
      if (int(a, 'k') > E - 1) throw new GraphError(`${where}: k = ${int(a, 'k')} exceeds the ${E - 1} neighbours a node can have`);
      dimIs(where, 'w', w!, 1, (E * (E - 1)) / 2, `pairs of ${E} nodes`);
      return [w![0]!, w![2]!, E, E];
    },
    params: none,
  },
  laplacian_pe: {
    attrs: { num_nodes: { kind: 'int', min: 2, max: 4096 }, edges: { kind: 'edges' }, dim: { kind: 'int', min: 1 } },
    inputs: 0, inputNames: [],
    infer(a, _x, where) {
      const E = int(a, 'num_nodes');
      if (int(a, 'dim') > E - 1) throw new GraphError(`${where}: dim = ${int(a, 'dim')} exceeds the ${E - 1} non-trivial eigenvectors of ${E} nodes`);
      (a.edges as number[][]).forEach(([i, j], k) => {
        if (i! >= E || j! >= E) throw new GraphError(`${where}: edges[${k}] = [${i}, ${j}] names a node outside 0..${E - 1}`);
      });
      return [E, int(a, 'dim')];
    },
    params: none,
    buffers: (a) => ({ value: [int(a, 'num_nodes'), int(a, 'dim')] }),
    bufferRoles: ['value'],
  },
  ssgconv: {
    attrs: {
      in_features: { kind: 'int', min: 1 }, out_features: { kind: 'int', min: 1 },
      alpha: { kind: 'number', min: 0, max: 1 }, K: { kind: 'int', min: 1, max: 64 }, bias: { kind: 'bool' },
    },
    inputs: 2, inputNames: ['x', 'adj'],
    infer(a, [x, adj], where) {
      rank(where, 'x', x!, 4);
      rank(where, 'adj', adj!, 4);
      dimIs(where, 'x', x!, 3, int(a, 'in_features'), 'features');
      const E = x![1]!;
      dimIs(where, 'adj', adj!, 0, x![0]!, 'batch');
      dimIs(where, 'adj', adj!, 1, x![2]!, 'time, as x dimension 2');
      dimIs(where, 'adj', adj!, 2, E, 'nodes, as x dimension 1');
      dimIs(where, 'adj', adj!, 3, E, 'nodes, as x dimension 1');
      return [x![0]!, E, x![2]!, int(a, 'out_features')];
    },
    params(a) {
      const i = int(a, 'in_features'), o = int(a, 'out_features');
      const p: Record<string, ParamSpec> = { 'lin.weight': { shape: [o, i], weight_decay: true, init: conv(i) } };
      if (bool(a, 'bias')) p['lin.bias'] = { shape: [o], weight_decay: false, init: conv(i) };
      return p;
    },
    roles: ['lin.weight', 'lin.bias'],
  },
  upsample_nearest: {
    attrs: { scale: { kind: 'int', min: 1 } }, inputs: 1, inputNames: ['x'],
    infer(a, [x], where) {
      rank(where, 'x', x!, 3);
      const L = x![2]!;
      if (L === 'B') throw new GraphError(`${where}: input "x" dimension 2 (length) cannot be the batch symbol`);
      return [x![0]!, x![1]!, L * int(a, 'scale')];
    },
    params: none,
  },
};

export const OP_NAMES = Object.keys(OPS);

export function opSpec(op: string, where: string): OpSpec {
  const spec = Object.hasOwn(OPS, op) ? OPS[op] : undefined;
  if (!spec) throw new GraphError(`${where}: unknown op "${op}" (known: ${OP_NAMES.join(', ')})`);
  return spec;
}
