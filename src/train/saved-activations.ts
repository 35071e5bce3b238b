// What a training step's forward keeps for its backward, read from the op records' `saves` declarations (the
// same declarations planTraining sizes and times, and the executor enforces): the inputs and outputs each
// backward reads, counted once per storage (a reshape view shares its input's), plus every record's own saved
// tensors (run precision, or f32 for statistics and scan states). A per-op sum, no lifetimes: the `ictal graph`
// figure and the run API's activation limit (backend/ictal_backend/accounting.py ports it). planTraining's
// activationsKept is the pool that also overlaps these with the gradients over the step.
import type { IrDocument } from '../graph/ir.ts';
import { concreteShape } from '../graph/accounting.ts';
import { type Precision, PRECISIONS, tensorBytes } from '../gpu/precision.ts';
import { reshapeIsView } from '../executor/plan.ts';
import { nodeShapes, recordOf } from '../executor/lowerings.ts';

/** Bytes the forward keeps for the backward at this batch and precision. */
export function savedActivationBytes(ir: IrDocument, batch: number, p: Precision): number {
  const shapeOf = (name: string) => concreteShape(ir.tensors[name]!.shape, batch);
  const root = new Map<string, string>();
  const needsGrad = new Set<string>();
  const kept = new Set<string>();
  let own = 0;
  for (const node of ir.nodes) {
    const record = recordOf(node);
    const out = node.outputs[0]!;
    const src = node.inputs[0];
    // the training plan's rule: a layout-preserving reshape is a view, computing and keeping nothing
    if (src !== undefined && node.op === 'reshape' && reshapeIsView(shapeOf(src), shapeOf(out), p)) root.set(out, root.get(src) ?? src);
    const differentiated = Boolean(record.backward) && (Object.keys(node.params).length > 0 || node.inputs.some((t) => needsGrad.has(t)));
    if (!differentiated) continue;
    needsGrad.add(out);
    if (root.has(out)) continue;
    const sv = record.saves?.(node, nodeShapes(ir, node, batch));
    for (const k of sv?.inputs ?? []) kept.add(root.get(node.inputs[k]!) ?? node.inputs[k]!);
    if (sv?.output) kept.add(out);
    for (const t of sv?.tensors ?? []) own += tensorBytes(t.shape, t.f32 ? 'f32' : p);
  }
  let bytes = own;
  for (const t of kept) bytes += tensorBytes(shapeOf(t), p);
  return bytes;
}

/** savedActivationBytes in every precision (the graph summary's `activations`). */
export function savedActivations(ir: IrDocument, batch: number): Record<Precision, number> {
  return Object.fromEntries(PRECISIONS.map((p) => [p, savedActivationBytes(ir, batch, p)])) as Record<Precision, number>;
}
