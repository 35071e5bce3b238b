// The forward plan: node order (the IR's), which tensors are views of others, when each buffer is last read,
// and the arena those lifetimes imply. The executor allocates exactly what this plan says, so the plan's
// peak is the arena's real size (the headroom explorer relies on that).
import type { IrDocument, IrNode } from '../graph/ir.ts';
import { concreteShape } from '../graph/accounting.ts';
import { type Precision, rowStride, tensorBytes } from '../gpu/precision.ts';

export interface PlannedTensor {
  name: string;
  shape: number[];
  bytes: number;
  /** Index of the producing step; -1 for a graph input. */
  producer: number;
  /** Set when the tensor shares its producer input's buffer (inference dropout, layout-preserving reshape). */
  viewOf?: string;
  /** Last step that reads this tensor's buffer (through any view); Infinity for graph outputs. */
  lastUse: number;
  /** Arena slot holding the buffer (views use their root's). */
  slot: number;
}

export interface ArenaSlot {
  bytes: number;
}

export interface ForwardPlan {
  ir: IrDocument;
  batch: number;
  precision: Precision;
  steps: IrNode[];
  tensors: Map<string, PlannedTensor>;
  slots: ArenaSlot[];
  /** Bytes of all activation slots (the arena's size for activations). */
  activationBytes: number;
}

/** Ops that never move data in the forward pass at inference. */
const ALWAYS_VIEW = new Set(['dropout']);

/** A reshape keeps the physical layout unless f16-storage row padding changes with the innermost length. */
export function reshapeIsView(from: readonly number[], to: readonly number[], p: Precision): boolean {
  const a = from[from.length - 1] ?? 1, b = to[to.length - 1] ?? 1;
  return rowStride(a, p) === a && rowStride(b, p) === b ? true : a === b;
}

/** `keep`: tensors whose buffers must outlive the pass (to be read back afterwards, e.g. for inspection). */
export function planForward(ir: IrDocument, batch: number, precision: Precision, keep: readonly string[] = []): ForwardPlan {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`plan: batch must be a positive integer, got ${batch}`);
  const tensors = new Map<string, PlannedTensor>();
  const shapeOf = (name: string) => concreteShape(ir.tensors[name]!.shape, batch);
  for (const name of ir.inputs) tensors.set(name, { name, shape: shapeOf(name), bytes: tensorBytes(shapeOf(name), precision), producer: -1, lastUse: -1, slot: -1 });
  ir.nodes.forEach((n, i) => {
    for (const out of n.outputs) {
      const shape = shapeOf(out);
      const t: PlannedTensor = { name: out, shape, bytes: tensorBytes(shape, precision), producer: i, lastUse: -1, slot: -1 };
      const src = n.inputs[0] ? tensors.get(n.inputs[0]) : undefined;
      if (src && (ALWAYS_VIEW.has(n.op) || (n.op === 'reshape' && reshapeIsView(src.shape, shape, precision)))) {
        t.viewOf = src.viewOf ?? src.name;
      }
      tensors.set(out, t);
    }
  });
  const root = (t: PlannedTensor) => (t.viewOf ? tensors.get(t.viewOf)! : t);
  ir.nodes.forEach((n, i) => {
    for (const input of n.inputs) {
      const r = root(tensors.get(input)!);
      r.lastUse = Math.max(r.lastUse, i);
    }
  });
  for (const name of [...ir.outputs, ...keep]) {
    const t = tensors.get(name);
    if (!t) throw new Error(`plan: graph "${ir.name}" has no tensor "${name}" to keep`);
    root(t).lastUse = Infinity;
  }

  // Greedy slot reuse in step order: a buffer goes back to the pool after its last reader; a new one takes the
  // smallest free slot that is large enough (growing it never happens: slots keep their first size).
  const slots: ArenaSlot[] = [];
  const free: number[] = [];
  const take = (t: PlannedTensor) => {
    let best = -1;
    for (const s of free) if (slots[s]!.bytes >= t.bytes && (best < 0 || slots[s]!.bytes < slots[best]!.bytes)) best = s;
    if (best >= 0) free.splice(free.indexOf(best), 1);
    else {
      best = slots.length;
      slots.push({ bytes: t.bytes });
    }
    t.slot = best;
  };
  for (const name of ir.inputs) take(tensors.get(name)!);
  ir.nodes.forEach((n, i) => {
    for (const out of n.outputs) {
      const t = tensors.get(out)!;
      if (t.viewOf) t.slot = tensors.get(t.viewOf)!.slot;
      else take(t);
    }
    // release buffers whose last reader is this step (never a graph output)
    for (const t of tensors.values()) if (!t.viewOf && t.lastUse === i) free.push(t.slot);
    for (const out of n.outputs) {
      const t = tensors.get(out)!;
      if (!t.viewOf && t.lastUse === -1) free.push(t.slot); // produced and never read
    }
  });
  const activationBytes = slots.reduce((s, x) => s + x.bytes, 0);
  return { ir, batch, precision, steps: ir.nodes, tensors, slots, activationBytes };
}
