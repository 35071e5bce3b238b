// Loading an IR document: every rule of docs/ir.md "Validation on load", each failure a GraphError whose
// message names the path (e.g. nodes[12] "tcn.layers.3.conv") and what is wrong.
import type { Attrs, Dim, InitRule, IrBuffer, IrDocument, IrNode, IrParam, Shape } from './ir.ts';
import { IR_VERSION, formatShape, numel } from './ir.ts';
import { MAX_DIM, checkAttrs } from './attrs.ts';
import { opSpec } from './ops.ts';
import { GraphError } from './errors.ts';

/** Elements per batch item beyond this are refused as absurd. */
export const MAX_ELEMENTS = 2 ** 40;
/** Nesting of free-form values (config) beyond this is refused; real documents nest 3 deep. */
export const MAX_DEPTH = 64;
const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function obj(v: unknown, where: string): Obj {
  if (!isObj(v)) throw new GraphError(`${where}: expected an object, got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return typeof v === 'object' ? 'an object' : JSON.stringify(v);
}

function exactKeys(o: Obj, where: string, required: string[]): void {
  for (const k of required) if (!Object.hasOwn(o, k)) throw new GraphError(`${where}: missing field "${k}"`);
  for (const k of Object.keys(o)) if (!required.includes(k)) throw new GraphError(`${where}: unknown field "${k}" (allowed: ${required.join(', ')})`);
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new GraphError(`${where}: expected a string, got ${describe(v)}`);
  return v;
}

function strings(v: unknown, where: string, minItems = 0): string[] {
  if (!Array.isArray(v)) throw new GraphError(`${where}: expected an array of strings, got ${describe(v)}`);
  if (v.length < minItems) throw new GraphError(`${where}: needs at least ${minItems} entr${minItems === 1 ? 'y' : 'ies'}`);
  return v.map((s, i) => str(s, `${where}[${i}]`));
}

function finiteNumber(v: unknown, where: string): number {
  if (typeof v !== 'number') throw new GraphError(`${where}: expected a number, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw new GraphError(`${where}: ${v} is not finite`);
  return v;
}

/** A shape: positive integer dims (at most 2^31 - 1), "B" only first when allowed, sane element count. */
function shape(v: unknown, where: string, batchAllowed: boolean): Shape {
  if (!Array.isArray(v)) throw new GraphError(`${where}: shape must be an array, got ${describe(v)}`);
  if (batchAllowed && v.length === 0) throw new GraphError(`${where}: shape must have at least one dimension`);
  const out: Dim[] = v.map((d, i) => {
    if (d === 'B') {
      if (!batchAllowed) throw new GraphError(`${where}: dimension ${i} is "B", but this shape is fixed (no batch dimension)`);
      if (i !== 0) throw new GraphError(`${where}: dimension ${i} is "B"; the batch symbol may only be dimension 0`);
      return 'B';
    }
    if (typeof d === 'number' && !Number.isFinite(d)) throw new GraphError(`${where}: dimension ${i} is ${d}, not finite`);
    if (!Number.isInteger(d) || d < 1) throw new GraphError(`${where}: dimension ${i} is ${describe(d)}; dimensions are positive integers${batchAllowed ? ' or "B"' : ''}`);
    if (d > MAX_DIM) throw new GraphError(`${where}: dimension ${i} is ${d}, absurdly large (limit ${MAX_DIM})`);
    return d as number;
  });
  const n = out.reduce<number>((a, d) => a * (d === 'B' ? 1 : d), 1);
  if (n > MAX_ELEMENTS) throw new GraphError(`${where}: shape ${formatShape(out)} holds ${n} elements per batch item, absurdly many (limit 2^40)`);
  return out;
}

function initRule(v: unknown, where: string): InitRule {
  const o = obj(v, where);
  const dist = str(o.dist, `${where}.dist`);
  const fields: Record<string, string[]> = {
    uniform: ['bound'], const: ['value'], weight_norm_g: ['of'], mamba_dt_bias: ['dt_min', 'dt_max', 'dt_floor'], mamba_a_log: ['low', 'high'],
  };
  const f = Object.hasOwn(fields, dist) ? fields[dist] : undefined;
  if (!f) throw new GraphError(`${where}.dist: unknown init "${dist}" (known: ${Object.keys(fields).join(', ')})`);
  exactKeys(o, where, ['dist', ...f]);
  if (dist === 'weight_norm_g') return { dist, of: str(o.of, `${where}.of`) };
  for (const k of f) finiteNumber(o[k], `${where}.${k}`);
  return structuredClone(o) as unknown as InitRule;
}

function param(v: unknown, where: string): IrParam {
  const o = obj(v, where);
  exactKeys(o, where, ['shape', 'dtype', 'weight_decay', 'init']);
  if (o.dtype !== 'F32') throw new GraphError(`${where}.dtype: must be "F32", got ${describe(o.dtype)}`);
  if (typeof o.weight_decay !== 'boolean') throw new GraphError(`${where}.weight_decay: must be true or false, got ${describe(o.weight_decay)}`);
  return { shape: shape(o.shape, `${where}.shape`, false) as number[], dtype: 'F32', weight_decay: o.weight_decay, init: initRule(o.init, `${where}.init`) };
}

function buffer(v: unknown, where: string): IrBuffer {
  const o = obj(v, where);
  exactKeys(o, where, ['shape', 'dtype', 'values']);
  if (o.dtype !== 'F32') throw new GraphError(`${where}.dtype: must be "F32", got ${describe(o.dtype)}`);
  const s = shape(o.shape, `${where}.shape`, false) as number[];
  if (!Array.isArray(o.values)) throw new GraphError(`${where}.values: expected an array of numbers, got ${describe(o.values)}`);
  if (o.values.length !== numel(s)) throw new GraphError(`${where}.values: ${o.values.length} values for shape ${formatShape(s)} (needs ${numel(s)})`);
  const values = o.values.map((x, i) => finiteNumber(x, `${where}.values[${i}]`));
  return { shape: s, dtype: 'F32', values };
}

/** Every number in a free-form value is finite and it nests at most MAX_DEPTH deep; walked without
 *  recursion, so a hostile document cannot overflow the stack here or in structuredClone later. */
function checkFinite(v: unknown, where: string): void {
  const stack: [unknown, string, number][] = [[v, where, 0]];
  while (stack.length > 0) {
    const [x, at, depth] = stack.pop()!;
    if (typeof x === 'number' && !Number.isFinite(x)) throw new GraphError(`${at}: ${x} is not finite`);
    if (x === null || typeof x !== 'object') continue;
    if (depth >= MAX_DEPTH) throw new GraphError(`${at}: nested more than ${MAX_DEPTH} levels deep`);
    if (Array.isArray(x)) x.forEach((y, i) => stack.push([y, `${at}[${i}]`, depth + 1]));
    else for (const [k, y] of Object.entries(x)) stack.push([y, `${at}.${k}`, depth + 1]);
  }
}

/** Parses and validates an IR document (JSON text or an already-parsed value); anything it cannot read is a
 *  GraphError. */
export function parseIr(input: string | unknown): IrDocument {
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch (e) {
      // SyntaxError for bad text; RangeError where the engine runs out of stack on deep nesting
      throw new GraphError(`IR is not valid JSON: ${(e as Error).message}`);
    }
  }
  const top = obj(doc, 'IR document');
  if (!Object.hasOwn(top, 'ictal_ir')) throw new GraphError('IR document: missing field "ictal_ir" (the format version); is this an Ictal IR file?');
  if (top.ictal_ir !== IR_VERSION) throw new GraphError(`ictal_ir: version ${describe(top.ictal_ir)} is not supported (this reader understands version ${IR_VERSION})`);
  exactKeys(top, 'IR document', ['ictal_ir', 'name', 'config', 'inputs', 'outputs', 'tensors', 'params', 'buffers', 'nodes']);
  const name = str(top.name, 'name');
  const config = obj(top.config, 'config');
  checkFinite(config, 'config');
  const inputs = strings(top.inputs, 'inputs', 1);
  const outputs = strings(top.outputs, 'outputs', 1);

  const tensors: Record<string, { shape: Shape }> = {};
  for (const [t, v] of Object.entries(obj(top.tensors, 'tensors'))) {
    const o = obj(v, `tensors["${t}"]`);
    exactKeys(o, `tensors["${t}"]`, ['shape']);
    tensors[t] = { shape: shape(o.shape, `tensors["${t}"].shape`, true) };
  }
  const params: Record<string, IrParam> = {};
  for (const [p, v] of Object.entries(obj(top.params, 'params'))) params[p] = param(v, `params["${p}"]`);
  const buffers: Record<string, IrBuffer> = {};
  for (const [b, v] of Object.entries(obj(top.buffers, 'buffers'))) buffers[b] = buffer(v, `buffers["${b}"]`);
  for (const [p, q] of Object.entries(params)) {
    if (q.init.dist === 'weight_norm_g' && !(Object.hasOwn(params, q.init.of) && params[q.init.of]!.init.dist !== 'weight_norm_g')) {
      throw new GraphError(`params["${p}"].init.of: "${q.init.of}" is not a declared parameter it can be derived from`);
    }
  }

  const produced = new Set<string>();
  for (const [i, t] of inputs.entries()) {
    if (!Object.hasOwn(tensors, t)) throw new GraphError(`inputs[${i}]: tensor "${t}" is not declared in "tensors"`);
    if (produced.has(t)) throw new GraphError(`inputs[${i}]: "${t}" is listed twice`);
    produced.add(t);
  }
  if (!Array.isArray(top.nodes)) throw new GraphError(`nodes: expected an array, got ${describe(top.nodes)}`);
  if (top.nodes.length === 0) throw new GraphError('nodes: the graph has no nodes');
  const ids = new Set<string>();
  const usedParams = new Map<string, string>();
  const usedBuffers = new Map<string, string>();
  const nodes: IrNode[] = top.nodes.map((raw, k) => {
    let where = `nodes[${k}]`;
    const n = obj(raw, where);
    const id = str(n.id, `${where}.id`);
    where = `nodes[${k}] "${id}"`;
    exactKeys(n, where, ['id', 'op', 'inputs', 'outputs', 'attrs', 'params', 'buffers']);
    if (!PATH.test(id)) throw new GraphError(`${where}: id must be a dotted path of letters, digits and underscores`);
    if (ids.has(id)) throw new GraphError(`${where}: duplicate node id "${id}"`);
    ids.add(id);
    const op = str(n.op, `${where}.op`);
    where = `nodes[${k}] "${id}" (${op})`;
    const spec = opSpec(op, where);
    const attrs = obj(n.attrs, `${where}.attrs`) as Attrs;
    checkFinite(attrs, `${where}.attrs`);
    checkAttrs(where, spec.attrs, attrs);
    const ins = strings(n.inputs, `${where}.inputs`);
    if (spec.inputs === 'many' ? ins.length === 0 : ins.length !== spec.inputs) {
      throw new GraphError(`${where}: takes ${spec.inputs === 'many' ? 'at least 1' : spec.inputs} input(s), got ${ins.length}`);
    }
    ins.forEach((t, i) => {
      if (!produced.has(t)) {
        throw new GraphError(`${where}.inputs[${i}]: tensor "${t}" is ${Object.hasOwn(tensors, t) ? 'not produced by any earlier node or graph input (dangling, or nodes out of order)' : 'not declared anywhere (dangling reference)'}`);
      }
    });
    const outs = strings(n.outputs, `${where}.outputs`);
    if (outs.length !== 1) throw new GraphError(`${where}.outputs: every op has exactly 1 output, got ${outs.length}`);
    const out = outs[0]!;
    if (!Object.hasOwn(tensors, out)) throw new GraphError(`${where}.outputs[0]: tensor "${out}" is not declared in "tensors"`);
    if (produced.has(out)) throw new GraphError(`${where}.outputs[0]: tensor "${out}" is already produced ${inputs.includes(out) ? 'as a graph input' : 'by an earlier node'}`);
    const inferred = spec.infer(attrs, ins.map((t) => tensors[t]!.shape), where);
    const declared = tensors[out]!.shape;
    if (formatShape(inferred) !== formatShape(declared)) {
      const d = inferred.length !== declared.length ? -1 : inferred.findIndex((x, i) => x !== declared[i]);
      throw new GraphError(`${where}: output "${out}" is declared ${formatShape(declared)} but the op gives ${formatShape(inferred)}${d >= 0 ? ` (dimension ${d}: ${declared[d]} vs ${inferred[d]})` : ' (rank differs)'}`);
    }
    produced.add(out);

    const roles = obj(n.params, `${where}.params`);
    const want = spec.params(attrs);
    for (const role of Object.keys(roles)) if (!Object.hasOwn(want, role)) throw new GraphError(`${where}.params: this op has no parameter "${role}" here (expected: ${Object.keys(want).join(', ') || 'none'})`);
    const nodeParams: Record<string, string> = {};
    for (const [role, p] of Object.entries(want)) {
      if (!Object.hasOwn(roles, role)) throw new GraphError(`${where}.params: parameter "${role}" is missing`);
      const pname = str(roles[role], `${where}.params.${role}`);
      if (pname !== `${id}.${role}`) throw new GraphError(`${where}.params.${role}: named "${pname}"; parameter names are "<node id>.<role>", here "${id}.${role}"`);
      if (!Object.hasOwn(params, pname)) throw new GraphError(`${where}.params.${role}: parameter "${pname}" is not declared in "params"`);
      if (formatShape(params[pname]!.shape) !== formatShape(p.shape)) throw new GraphError(`${where}.params.${role}: "${pname}" is declared ${formatShape(params[pname]!.shape)} but the op needs ${formatShape(p.shape)}`);
      if (usedParams.has(pname)) throw new GraphError(`${where}.params.${role}: parameter "${pname}" is already used by node "${usedParams.get(pname)}"`);
      usedParams.set(pname, id);
      nodeParams[role] = pname;
    }
    const broles = obj(n.buffers, `${where}.buffers`);
    const bwant = spec.buffers?.(attrs) ?? {};
    for (const role of Object.keys(broles)) if (!Object.hasOwn(bwant, role)) throw new GraphError(`${where}.buffers: this op has no buffer "${role}" (expected: ${Object.keys(bwant).join(', ') || 'none'})`);
    const nodeBuffers: Record<string, string> = {};
    for (const [role, bshape] of Object.entries(bwant)) {
      if (!Object.hasOwn(broles, role)) throw new GraphError(`${where}.buffers: buffer "${role}" is missing`);
      const bname = str(broles[role], `${where}.buffers.${role}`);
      if (bname !== `${id}.${role}`) throw new GraphError(`${where}.buffers.${role}: named "${bname}"; buffer names are "<node id>.<role>", here "${id}.${role}"`);
      if (!Object.hasOwn(buffers, bname)) throw new GraphError(`${where}.buffers.${role}: buffer "${bname}" is not declared in "buffers"`);
      if (formatShape(buffers[bname]!.shape) !== formatShape(bshape)) throw new GraphError(`${where}.buffers.${role}: "${bname}" is declared ${formatShape(buffers[bname]!.shape)} but the op needs ${formatShape(bshape)}`);
      usedBuffers.set(bname, id);
      nodeBuffers[role] = bname;
    }
    return { id, op, inputs: ins, outputs: outs, attrs: structuredClone(attrs), params: nodeParams, buffers: nodeBuffers };
  });

  for (const p of Object.keys(params)) if (!usedParams.has(p)) throw new GraphError(`params["${p}"]: declared but no node uses it`);
  for (const b of Object.keys(buffers)) if (!usedBuffers.has(b)) throw new GraphError(`buffers["${b}"]: declared but no node uses it`);
  for (const t of Object.keys(tensors)) if (!produced.has(t)) throw new GraphError(`tensors["${t}"]: declared but neither a graph input nor produced by any node`);
  outputs.forEach((t, i) => {
    if (!produced.has(t)) throw new GraphError(`outputs[${i}]: tensor "${t}" is never produced`);
  });
  return { ictal_ir: IR_VERSION, name, config: structuredClone(config) as Attrs, inputs, outputs, tensors, params, buffers, nodes };
}
