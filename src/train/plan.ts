// The static training tape: forward and backward planned together over one timeline, so that every buffer's
// lifetime is known before anything runs. Times: forward of node i at i, the loss at N, backward of node i at
// 2N - i. Activations live from their producer to their last reader, forward or backward (what the op records'
// `saves` declare); a record's own saved tensors from its forward to its backward; an activation's gradient from
// its first contribution (the last consumer, the first to run backward) to its producer's backward, summed in
// place where a tensor feeds several consumers. One greedy best-fit pool holds all of these, so activations freed
// during the backward make room for gradients. The training executor allocates exactly what this plan says
// (test/train/training-arena.test.ts counts it).
import type { IrDocument, IrNode } from '../graph/ir.ts';
import { numel } from '../graph/ir.ts';
import { concreteShape } from '../graph/accounting.ts';
import { type Precision, tensorBytes } from '../gpu/precision.ts';
import { reshapeIsView, type ArenaSlot } from '../executor/plan.ts';
import { nodeShapes, recordOf } from '../executor/lowerings.ts';
import type { OpRecord, SavedTensor } from '../executor/lowering.ts';
import { optimizerStateBytes, optimizerWorkspaceBytes } from './optimizer.ts';

export interface TrainTensor {
  name: string;
  shape: number[];
  bytes: number;
  /** Shares the buffer (and the gradient buffer) of this tensor: a layout-preserving reshape. */
  viewOf?: string;
  slot: number;
  /** Whether a gradient flows into it (a parameter lies upstream). */
  needsGrad: boolean;
}

export interface TrainGrad {
  /** The activation (a root, never a view) whose gradient this is. */
  of: string;
  slot: number;
}

export interface TrainStep {
  node: IrNode;
  index: number;
  record: OpRecord;
  /** No kernel: the output is a view of the input. */
  view: boolean;
  /** Runs in the backward pass. */
  backward: boolean;
  /** Per input: the gradient goes straight into the input's gradient buffer (its first contribution), into a
   * temporary slot added afterwards (a later one), or nowhere. */
  dInputs: ({ kind: 'direct' } | { kind: 'added'; slot: number } | undefined)[];
  /** Saved tensors of this node: name -> slot. */
  saved: Map<string, { slot: number; tensor: SavedTensor }>;
  /** Parameter roles whose gradient the backward writes, in staging order (derived roles first). */
  gradRoles: string[];
}

export interface TrainParam {
  name: string;
  /** IR shape (f32 master, gradient, Adam moments). */
  shape: number[];
  /** Shape the kernels take it in (the record's paramShape). */
  kernelShape: number[];
}

export interface TrainDerived {
  node: IrNode;
  role: string;
  from: string[];
  shape: number[];
  aux: SavedTensor[];
}

export interface TrainingBytes {
  /** f32 masters, the run-precision working copies (none in f32), derived parameters and their aux, buffers. */
  weights: number;
  /** f32 parameter gradients. */
  gradients: number;
  /** AdamW's two f32 moments per parameter element (allocated by the optimizer, src/train/optimizer.ts). */
  optimizerState: number;
  /** The one pool of activations, saved tensors and activation gradients, with their lifetimes overlapped. */
  activationsKept: number;
  /**
   * Node workspace, parameter-gradient staging, the step's input and labels, loss sum, optimizer workspace, and
   * the kernels' own scratch (partial sums, split-K) once `withKernelScratch` has sized it.
   */
  workspace: number;
  total: number;
}

export interface TrainingPlan {
  ir: IrDocument;
  /** Samples of one recorded pass (the micro-batch). */
  batch: number;
  precision: Precision;
  steps: TrainStep[];
  tensors: Map<string, TrainTensor>;
  /** Gradient buffers by activation root. */
  grads: Map<string, TrainGrad>;
  slots: ArenaSlot[];
  /** Positional workspace: a node's j-th declared workspace tensor uses slot j (nodes run one at a time). */
  workspaceSlots: ArenaSlot[];
  /** Positional run-precision staging of a node's j-th parameter gradient. */
  gradStagingSlots: ArenaSlot[];
  /**
   * Positional kernel scratch: the j-th ComputeSession.scratch request of a node's forward (or backward, or the
   * loss) is a view of slot j. Empty until `withKernelScratch`: the kernels pick partial sums and split-K by
   * adapter, so the sizes come from recording a step on the adapter (TrainingExecutor.create).
   */
  kernelScratchSlots: ArenaSlot[];
  params: TrainParam[];
  derived: TrainDerived[];
  /** Per-sample logits length; the labels are shaped like the logits. */
  labelShape: number[];
  bytes: TrainingBytes;
  /** The largest single buffer bound to a kernel (must fit maxStorageBufferBindingSize). */
  largestBinding: number;
  /** The whole batch the step takes (its f32 input and labels are uploaded once per step). */
  stepBatch: number;
}

const tb = (t: SavedTensor, p: Precision) => tensorBytes(t.shape, t.f32 ? 'f32' : p);

/** A greedy best-fit pool: a buffer taken at some time goes back after its last use; slots keep their size. */
class Pool {
  readonly slots: ArenaSlot[] = [];
  private readonly free: number[] = [];
  take(bytes: number): number {
    let best = -1;
    for (const s of this.free) if (this.slots[s]!.bytes >= bytes && (best < 0 || this.slots[s]!.bytes < this.slots[best]!.bytes)) best = s;
    if (best >= 0) this.free.splice(this.free.indexOf(best), 1);
    else {
      best = this.slots.length;
      this.slots.push({ bytes });
    }
    return best;
  }
  give(slot: number): void {
    this.free.push(slot);
  }
}

/** Grows positional slot j to hold `bytes`. */
function fit(slots: ArenaSlot[], j: number, bytes: number): void {
  while (slots.length <= j) slots.push({ bytes: 0 });
  slots[j]!.bytes = Math.max(slots[j]!.bytes, bytes);
}

/**
 * Plans one training step of `stepBatch` samples run as micro-batches of `batch` (which must divide it).
 * `precision` is the run precision; parameters, gradients and moments are f32 whatever it is.
 */
export function planTraining(ir: IrDocument, batch: number, precision: Precision, stepBatch = batch): TrainingPlan {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`planTraining: the micro-batch must be a positive integer, got ${batch}`);
  if (!Number.isInteger(stepBatch) || stepBatch < batch || stepBatch % batch !== 0) throw new Error(`planTraining: the micro-batch ${batch} must divide the batch ${stepBatch}`);
  if (ir.inputs.length !== 1 || ir.outputs.length !== 1) throw new Error(`planTraining: graph "${ir.name}" has ${ir.inputs.length} inputs and ${ir.outputs.length} outputs; training takes one of each`);
  const N = ir.nodes.length;
  const bwdTime = (i: number) => 2 * N - i;
  const shapeOf = (name: string) => concreteShape(ir.tensors[name]!.shape, batch);

  // ---- tensors, views, gradient flow ----
  const tensors = new Map<string, TrainTensor>();
  for (const name of ir.inputs) tensors.set(name, { name, shape: shapeOf(name), bytes: tensorBytes(shapeOf(name), precision), slot: -1, needsGrad: false });
  const steps: TrainStep[] = ir.nodes.map((node, index) => {
    const record = recordOf(node);
    const out = node.outputs[0]!;
    const shape = shapeOf(out);
    const src = node.inputs[0] ? tensors.get(node.inputs[0]) : undefined;
    const view = Boolean(src && node.op === 'reshape' && reshapeIsView(src.shape, shape, precision));
    const hasParams = Object.keys(node.params).length > 0;
    const needsGrad = Boolean(record.backward) && (hasParams || node.inputs.some((t) => tensors.get(t)!.needsGrad));
    tensors.set(out, { name: out, shape, bytes: tensorBytes(shape, precision), slot: -1, needsGrad, ...(view ? { viewOf: src!.viewOf ?? src!.name } : {}) });
    const derived = (record.derived ?? []).filter((d) => d.applies(node)).map((d) => d.role);
    const stored = Object.keys(node.params).filter((r) => !(record.derived ?? []).some((d) => d.applies(node) && d.from.includes(r)));
    return { node, index, record, view, backward: needsGrad && !view, dInputs: [], saved: new Map(), gradRoles: [...derived, ...stored, ...derived.flatMap((r) => record.derived!.find((d) => d.role === r)!.from)] };
  });
  const root = (name: string) => {
    const t = tensors.get(name)!;
    return t.viewOf ? tensors.get(t.viewOf)! : t;
  };
  const output = root(ir.outputs[0]!);
  if (!output.needsGrad) throw new Error(`planTraining: no parameter of graph "${ir.name}" reaches its output ${ir.outputs[0]}`);

  // ---- lifetimes ----
  type Life = { bytes: number; born: number; last: number; set: (slot: number) => void };
  const lives: Life[] = [];
  const lastRead = new Map<string, number>(); // activation root -> last time read
  const read = (name: string, t: number) => {
    const r = root(name).name;
    lastRead.set(r, Math.max(lastRead.get(r) ?? -1, t));
  };
  for (const st of steps) {
    if (st.view) continue;
    st.node.inputs.forEach((t) => read(t, st.index));
    if (!st.backward) continue;
    const sv = st.record.saves?.(st.node, nodeShapes(ir, st.node, batch));
    for (const k of sv?.inputs ?? []) read(st.node.inputs[k]!, bwdTime(st.index));
    if (sv?.output) read(st.node.outputs[0]!, bwdTime(st.index));
    for (const t of sv?.tensors ?? []) {
      const entry = { slot: -1, tensor: t };
      st.saved.set(t.name, entry);
      lives.push({ bytes: tb(t, precision), born: st.index, last: bwdTime(st.index), set: (s) => { entry.slot = s; } });
    }
  }
  read(output.name, N); // the loss
  const producer = new Map<string, number>();
  steps.forEach((st) => producer.set(st.node.outputs[0]!, st.index));
  for (const t of tensors.values()) {
    if (t.viewOf) continue;
    const born = producer.get(t.name) ?? -1;
    lives.push({ bytes: t.bytes, born, last: lastRead.get(t.name) ?? born, set: (s) => { t.slot = s; } });
  }

  // gradients: contributions in backward order; the first one into a root writes its buffer directly
  const grads = new Map<string, TrainGrad>();
  const gradBorn = new Map<string, number>([[output.name, N]]);
  grads.set(output.name, { of: output.name, slot: -1 });
  for (const st of [...steps].reverse()) {
    if (!st.backward) continue;
    st.dInputs = st.node.inputs.map((name) => {
      if (!tensors.get(name)!.needsGrad) return undefined;
      const r = root(name);
      if (!grads.has(r.name)) {
        grads.set(r.name, { of: r.name, slot: -1 });
        gradBorn.set(r.name, bwdTime(st.index));
        return { kind: 'direct' as const };
      }
      const added = { kind: 'added' as const, slot: -1 };
      lives.push({ bytes: tensorBytes(shapeOf(name), precision), born: bwdTime(st.index), last: bwdTime(st.index), set: (s) => { added.slot = s; } });
      return added;
    });
  }
  for (const st of steps) {
    if (st.backward && !grads.has(root(st.node.outputs[0]!).name)) throw new Error(`planTraining: node ${st.node.id}'s output does not reach the loss, so its parameters get no gradient`);
  }
  for (const [name, g] of grads) {
    const p = producer.get(name);
    if (p === undefined) throw new Error(`planTraining: a gradient flows into graph input ${name}`);
    lives.push({ bytes: tensors.get(name)!.bytes, born: gradBorn.get(name)!, last: bwdTime(p), set: (s) => { g.slot = s; } });
  }

  // ---- one pool over the timeline: take what is born at t, then give back what was last used at t ----
  const pool = new Pool();
  const slotOf = new Map<Life, number>();
  for (let t = -1; t <= 2 * N; t++) {
    for (const l of lives) {
      if (l.born !== t) continue;
      const slot = pool.take(l.bytes);
      slotOf.set(l, slot);
      l.set(slot);
    }
    for (const l of lives) if (l.last === t) pool.give(slotOf.get(l)!);
  }

  // ---- parameters, derived parameters, positional workspace and gradient staging ----
  const params: TrainParam[] = [];
  const derived: TrainDerived[] = [];
  const workspaceSlots: ArenaSlot[] = [];
  const gradStagingSlots: ArenaSlot[] = [];
  const kernelShape = new Map<string, number[]>();
  for (const st of steps) {
    for (const [role, name] of Object.entries(st.node.params)) {
      const shape = [...ir.params[name]!.shape];
      const ks = st.record.paramShape?.(role, shape) ?? shape;
      kernelShape.set(name, ks);
      params.push({ name, shape, kernelShape: ks });
    }
    for (const d of st.record.derived ?? []) {
      if (!d.applies(st.node)) continue;
      const shape = kernelShape.get(st.node.params[d.from[0]!]!)!;
      derived.push({ node: st.node, role: d.role, from: d.from, shape, aux: d.aux?.(st.node, shape) ?? [] });
    }
    const ws = st.record.workspace?.(st.node, nodeShapes(ir, st.node, batch));
    ws?.forward.forEach((t, j) => fit(workspaceSlots, j, tb(t, precision)));
    if (st.backward) {
      ws?.backward.forEach((t, j) => fit(workspaceSlots, j, tb(t, precision)));
      st.gradRoles.forEach((role, j) => {
        const d = derived.find((x) => x.node === st.node && x.role === role);
        const shape = d ? d.shape : kernelShape.get(st.node.params[role]!)!;
        fit(gradStagingSlots, j, tensorBytes(shape, precision));
      });
    }
  }
  const unused = Object.keys(ir.params).filter((n) => !kernelShape.has(n));
  if (unused.length) throw new Error(`planTraining: parameter(s) ${unused.join(', ')} belong to no node`);

  // ---- bytes ----
  const labelShape = shapeOf(ir.outputs[0]!);
  const f32 = (shape: readonly number[]) => tensorBytes(shape, 'f32');
  const masters = params.reduce((a, p) => a + f32(p.shape), 0);
  const working = precision === 'f32' ? 0 : params.reduce((a, p) => a + tensorBytes(p.kernelShape, precision), 0);
  const derivedBytes = derived.reduce((a, d) => a + tensorBytes(d.shape, precision) + d.aux.reduce((x, t) => x + tb(t, precision), 0), 0);
  const buffers = Object.values(ir.buffers).reduce((a, b) => a + tensorBytes(b.shape, precision), 0);
  const sum = (slots: ArenaSlot[]) => slots.reduce((a, s) => a + s.bytes, 0);
  const inputShape = concreteShape(ir.tensors[ir.inputs[0]!]!.shape, stepBatch);
  const stepLabels = concreteShape(ir.tensors[ir.outputs[0]!]!.shape, stepBatch);
  const io = f32(inputShape) + f32(stepLabels) + tensorBytes(labelShape, precision) + f32([1]);
  const bytes: TrainingBytes = {
    weights: masters + working + derivedBytes + buffers,
    gradients: masters,
    optimizerState: optimizerStateBytes(ir),
    activationsKept: sum(pool.slots),
    workspace: sum(workspaceSlots) + sum(gradStagingSlots) + io + optimizerWorkspaceBytes(ir),
    total: 0,
  };
  bytes.total = bytes.weights + bytes.gradients + bytes.optimizerState + bytes.activationsKept + bytes.workspace;
  const largestBinding = Math.max(
    ...pool.slots.map((s) => s.bytes), ...workspaceSlots.map((s) => s.bytes), ...gradStagingSlots.map((s) => s.bytes),
    f32(inputShape), f32(stepLabels), ...params.map((p) => f32(p.shape)),
  );
  return {
    ir, batch, precision, steps, tensors, grads, slots: pool.slots, workspaceSlots, gradStagingSlots, kernelScratchSlots: [], params, derived,
    labelShape, bytes, largestBinding, stepBatch,
  };
}

/** The plan with its kernel scratch sized: slot j holds the largest j-th request of any node (bytes, from a recorded step). */
export function withKernelScratch(plan: TrainingPlan, slotBytes: readonly number[]): TrainingPlan {
  if (plan.kernelScratchSlots.length) throw new Error('planTraining: the kernel scratch is sized already');
  const kernelScratchSlots = slotBytes.map((bytes) => ({ bytes }));
  const extra = slotBytes.reduce((a, b) => a + b, 0);
  const bytes = { ...plan.bytes, workspace: plan.bytes.workspace + extra, total: plan.bytes.total + extra };
  return { ...plan, kernelScratchSlots, bytes, largestBinding: Math.max(plan.largestBinding, ...slotBytes) };
}

/** The largest micro-batch dividing `batch` whose every binding fits `maxBinding`. */
export function fittingTrainingMicroBatch(ir: IrDocument, batch: number, precision: Precision, maxBinding: number): number {
  for (let b = batch; b >= 1; b--) {
    if (batch % b !== 0) continue;
    if (planTraining(ir, b, precision, batch).largestBinding <= maxBinding) return b;
  }
  throw new Error(`train: even a micro-batch of 1 of "${ir.name}" has a buffer over this adapter's maxStorageBufferBindingSize (${maxBinding} bytes) in ${precision}`);
}

/** Elements per sample of the graph's output (the labels' length). */
export function samplesPerWindow(ir: IrDocument): number {
  return numel(concreteShape(ir.tensors[ir.outputs[0]!]!.shape, 1));
}
