// Accounting over a whole graph: parameters per module, FLOPs and bytes per node, at a batch size and precision.
// Feeds the profiler and headroom. What the backward keeps is the op records' declaration (a layer above this
// one: src/train/saved-activations.ts); the summary takes it as an argument.
import type { Dim, IrDocument } from './ir.ts';
import { numel } from './ir.ts';
import { type Precision, elementBytes } from '../gpu/precision.ts';
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
    // nothing to differentiate: no backward work
    if (params === 0 && !needsDx.some(Boolean)) Object.assign(cost, { flopsBackward: 0, elementsBackward: 0 });
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
  /** Bytes kept for the backward pass, per precision (src/train/saved-activations.ts, from the op records). */
  activations: Record<Precision, number>;
  /** Training state in f32: weights, gradients, AdamW moments. */
  training_state_bytes: { weights: number; gradients: number; adamw: number };
}

export function graphSummary(ir: IrDocument, batch: number, activations: Record<Precision, number>): GraphSummary {
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
  const buffers = Object.values(ir.buffers).reduce((s, b) => s + numel(b.shape), 0);
  return {
    name: ir.name, batch, params: { total, modules, buffers }, flops: fl, activations,
    training_state_bytes: { weights: 4 * total, gradients: 4 * total, adamw: 8 * total },
  };
}
