// Accounting over a whole graph: parameters per module, FLOPs and bytes per node, and the activation memory a
// training step keeps for the backward pass, at a batch size and precision. Feeds the profiler and headroom.
import type { Dim, IrDocument } from './ir.ts';
import { numel } from './ir.ts';
import { type Precision, PRECISIONS, elementBytes, tensorBytes } from '../gpu/precision.ts';
import { COSTS, type OpCost } from './cost.ts';

export interface NodeAccount extends OpCost {
  id: string;
  op: string;
  params: number;
  /** Shapes with the batch substituted. */
  inputShapes: number[][];
  outputShape: number[];
}

export function concreteShape(shape: readonly Dim[], batch: number): number[] {
  return shape.map((d) => (d === 'B' ? batch : d));
}

/** Cost of every node at this batch size, in node order. */
export function accountNodes(ir: IrDocument, batch: number): NodeAccount[] {
  // a tensor needs a gradient when a parameter lies upstream of it
  const needsGrad = new Set<string>();
  const out: NodeAccount[] = [];
  for (const n of ir.nodes) {
    const params = Object.values(n.params).reduce((s, p) => s + numel(ir.params[p]!.shape), 0);
    const inputShapes = n.inputs.map((t) => concreteShape(ir.tensors[t]!.shape, batch));
    const outputShape = concreteShape(ir.tensors[n.outputs[0]!]!.shape, batch);
    const needsDx = n.inputs.map((t) => needsGrad.has(t));
    const cost = COSTS[n.op]!({ attrs: n.attrs, inputs: inputShapes, output: outputShape, needsDx, params });
    if (params > 0 || needsDx.some(Boolean)) for (const o of n.outputs) needsGrad.add(o);
    if (params === 0 && !needsDx.some(Boolean)) {
      // nothing to differentiate: no backward work, nothing kept
      Object.assign(cost, { flopsBackward: 0, elementsBackward: 0, savedInputs: [], savedOutput: false, extraAct: 0, extraF32: 0, extraBytes: 0 });
    }
    out.push({ id: n.id, op: n.op, params, inputShapes, outputShape, ...cost });
  }
  return out;
}

/**
 * Bytes a node moves at a precision: activations at the precision's element size, weights likewise (kernels
 * read weights in the working precision); backward also writes f32 weight gradients.
 */
export function movedBytes(a: NodeAccount, p: Precision): { forward: number; backward: number } {
  const eb = elementBytes(p);
  const backward = a.flopsBackward === 0 && a.elementsBackward === 0 ? 0 : a.elementsBackward * eb + a.params * (eb + 4);
  return { forward: (a.elementsForward + a.params) * eb, backward };
}

/** Bytes the forward pass keeps for backward: saved tensors counted once (views share storage), plus extras. */
export function savedActivationBytes(ir: IrDocument, accounts: NodeAccount[], batch: number, p: Precision): number {
  const root = new Map<string, string>();
  for (const n of ir.nodes) if (n.op === 'reshape') root.set(n.outputs[0]!, root.get(n.inputs[0]!) ?? n.inputs[0]!);
  const saved = new Set<string>();
  let extra = 0;
  ir.nodes.forEach((n, i) => {
    const a = accounts[i]!;
    for (const k of a.savedInputs) saved.add(root.get(n.inputs[k]!) ?? n.inputs[k]!);
    if (a.savedOutput) saved.add(root.get(n.outputs[0]!) ?? n.outputs[0]!);
    extra += a.extraAct * elementBytes(p) + a.extraF32 * 4 + a.extraBytes;
  });
  let bytes = extra;
  for (const t of saved) bytes += tensorBytes(concreteShape(ir.tensors[t]!.shape, batch), p);
  return bytes;
}

/** Module of a node or parameter: the first segment of its dotted path. */
export const moduleOf = (path: string): string => path.split('.')[0]!;

export function paramsByModule(ir: IrDocument): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, p] of Object.entries(ir.params)) out[moduleOf(name)] = (out[moduleOf(name)] ?? 0) + numel(p.shape);
  return out;
}

export interface GraphSummary {
  name: string;
  batch: number;
  params: { total: number; modules: Record<string, number>; buffers: number };
  /** Per batch of `batch` windows. */
  flops: { forward: number; backward: number; modules: Record<string, { forward: number; backward: number }> };
  /** Bytes kept for the backward pass, per precision. */
  activations: Record<Precision, number>;
  /** Training state in f32: weights, gradients, AdamW moments. */
  training_state_bytes: { weights: number; gradients: number; adamw: number };
}

export function graphSummary(ir: IrDocument, batch: number): GraphSummary {
  const accounts = accountNodes(ir, batch);
  const modules = paramsByModule(ir);
  const total = Object.values(modules).reduce((a, b) => a + b, 0);
  const fl: GraphSummary['flops'] = { forward: 0, backward: 0, modules: {} };
  for (const a of accounts) {
    const m = (fl.modules[moduleOf(a.id)] ??= { forward: 0, backward: 0 });
    m.forward += a.flopsForward;
    m.backward += a.flopsBackward;
    fl.forward += a.flopsForward;
    fl.backward += a.flopsBackward;
  }
  const activations = Object.fromEntries(PRECISIONS.map((p) => [p, savedActivationBytes(ir, accounts, batch, p)])) as Record<Precision, number>;
  const buffers = Object.values(ir.buffers).reduce((s, b) => s + numel(b.shape), 0);
  return {
    name: ir.name, batch, params: { total, modules, buffers }, flops: fl, activations,
    training_state_bytes: { weights: 4 * total, gradients: 4 * total, adamw: 8 * total },
  };
}
