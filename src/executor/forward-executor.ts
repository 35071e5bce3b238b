// The WebGPU forward executor: plans the IR (plan.ts), uploads the weights once and derives the computed
// parameters from them on the GPU (the op records' `derived`), allocates the arena the plan asks for, and records
// one dispatch sequence per micro-batch through the op records. Works wherever a ComputeSession does (browser
// worker, Node/Dawn). The training executor (src/train/training-executor.ts) runs the same records with backward.
import type { IrDocument, IrNode } from '../graph/ir.ts';
import type { WeightMap } from '../graph/init.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import type { ComputeSession } from '../gpu/session.ts';
import { type Precision, tensorBytes } from '../gpu/precision.ts';
import { encodeTensor } from '../gpu/tensor-codec.ts';
import { type ForwardPlan, planForward } from './plan.ts';
import { INFERENCE, type LowerContext, type SavedTensor } from './lowering.ts';
import { largestNodeTensor, nodeShapes, recordOf } from './lowerings.ts';

export interface ForwardOptions {
  precision: Precision;
  /** Batch of one recorded pass; larger inputs run as several passes. Default: the largest that fits. */
  microBatch?: number;
  /** Tensors kept alive to the end of a pass, so readTensor can read them back. */
  keep?: string[];
}

/** The largest micro-batch (<= batch) whose every tensor and workspace fits one storage binding. */
export function fittingMicroBatch(ir: IrDocument, batch: number, precision: Precision, maxBinding: number): number {
  for (let b = batch; b >= 1; b = b === 1 ? 0 : Math.ceil(b / 2)) {
    const plan = planForward(ir, b, precision);
    const largest = Math.max(...[...plan.tensors.values()].map((t) => t.bytes), largestNodeTensor(ir, b, precision));
    if (largest <= maxBinding) return b;
    if (b === 1) break;
  }
  throw new Error(`forward: even batch 1 of "${ir.name}" has a tensor over this adapter's maxStorageBufferBindingSize (${maxBinding} bytes) in ${precision}`);
}

/** Name of a parameter derived on the GPU (e.g. `tcn.layers.0.conv.weight` from weight_v and weight_g). */
export const derivedName = (node: IrNode, role: string): string => `${node.id}.${role}`;

/**
 * Uploads stored weights in the kernels' shapes and computes every derived parameter from them (recorded, not
 * flushed). Returns the tensors by name: stored under their IR names, derived under `derivedName`.
 */
export async function uploadWeights(s: ComputeSession, ir: IrDocument, weights: WeightMap, precision: Precision): Promise<Map<string, GpuTensor>> {
  const shapeOf = new Map<string, number[]>();
  for (const n of ir.nodes) {
    const r = recordOf(n);
    for (const [role, name] of Object.entries(n.params)) shapeOf.set(name, r.paramShape?.(role, ir.params[name]!.shape) ?? [...ir.params[name]!.shape]);
  }
  const out = new Map<string, GpuTensor>();
  for (const [name, w] of weights) out.set(name, await s.arena.upload(w.data, shapeOf.get(name) ?? w.shape, precision, name));
  for (const n of ir.nodes) {
    for (const d of recordOf(n).derived ?? []) {
      if (!d.applies(n)) continue;
      const from = d.from.map((role) => out.get(n.params[role]!)!);
      const name = derivedName(n, d.role);
      const t = await s.arena.tensor(from[0]!.shape, precision, name);
      const aux: GpuTensor[] = [];
      // aux tensors (e.g. norms) only matter to a backward: inference drops them with the next flush
      for (const a of d.aux?.(n, [...from[0]!.shape]) ?? []) aux.push(await s.scratch(a.shape, a.f32 ? 'f32' : precision, `${name}.${a.name}`));
      await d.forward(s, n, from, t, aux);
      out.set(name, t);
    }
  }
  return out;
}

/** Finds a declared tensor by name or says which names the record declares. */
export function declared(list: readonly SavedTensor[], name: string, node: IrNode, what: string): SavedTensor {
  const t = list.find((x) => x.name === name);
  if (!t) throw new Error(`${node.id} (${node.op}): asks for ${what} "${name}", which its record does not declare (declared: ${list.map((x) => x.name).join(', ') || 'none'})`);
  return t;
}

export class ForwardExecutor {
  /** Workspace of finished nodes, by byte size: a later node of the same pass reuses it (passes run in order). */
  private readonly workspace = new Map<number, GpuTensor[]>();
  private readonly workspaceAll: GpuTensor[] = [];

  private constructor(
    readonly s: ComputeSession,
    readonly plan: ForwardPlan,
    private readonly weights: Map<string, GpuTensor>,
    private readonly slots: GpuTensor[],
  ) {}

  static async create(s: ComputeSession, ir: IrDocument, weights: WeightMap, batch: number, opts: ForwardOptions): Promise<ForwardExecutor> {
    const micro = opts.microBatch ?? fittingMicroBatch(ir, batch, opts.precision, s.device.limits.maxStorageBufferBindingSize);
    const plan = planForward(ir, micro, opts.precision, opts.keep);
    for (const n of plan.steps) if (!plan.tensors.get(n.outputs[0]!)!.viewOf) recordOf(n);
    const uploaded = await uploadWeights(s, ir, weights, opts.precision);
    await s.flush();
    const slots: GpuTensor[] = [];
    for (const [i, slot] of plan.slots.entries()) slots.push(await s.arena.tensor([slot.bytes / 4], 'f32', `activation slot ${i}`));
    return new ForwardExecutor(s, plan, uploaded, slots);
  }

  private tensor(name: string): GpuTensor {
    const t = this.plan.tensors.get(name)!;
    return { buffer: this.slots[t.slot]!.buffer, shape: t.shape, precision: this.plan.precision, bytes: t.bytes, label: name };
  }

  private async takeWorkspace(t: SavedTensor, label: string, taken: GpuTensor[]): Promise<GpuTensor> {
    const precision = t.f32 ? 'f32' : this.plan.precision;
    const bytes = tensorBytes(t.shape, precision);
    let w = this.workspace.get(bytes)?.pop();
    if (!w) {
      w = await this.s.arena.tensor(t.shape, precision, label);
      this.workspaceAll.push(w);
    }
    taken.push(w);
    return { ...w, shape: [...t.shape], precision, label };
  }

  /** Records the whole graph for one micro-batch already uploaded into the input slot (no flush). */
  async record(): Promise<void> {
    const { ir, batch } = this.plan;
    for (const [index, node] of this.plan.steps.entries()) {
      const taken: GpuTensor[] = [];
      const out = this.plan.tensors.get(node.outputs[0]!)!;
      if (out.viewOf) continue; // a view: nothing to compute
      const record = recordOf(node);
      const shapes = nodeShapes(ir, node, batch);
      const c: LowerContext = {
        s: this.s,
        node,
        index,
        inputs: node.inputs.map((n) => this.tensor(n)),
        output: this.tensor(node.outputs[0]!),
        precision: this.plan.precision,
        mode: INFERENCE,
        keepForBackward: false,
        param: (role) => {
          const name = record.derived?.some((d) => d.role === role && d.applies(node)) ? derivedName(node, role) : (node.params[role] ?? node.buffers[role] ?? `${node.id}.${role}`);
          const t = this.weights.get(name);
          if (!t) throw new Error(`forward: node ${node.id} has no parameter "${role}" in the weights`);
          return t;
        },
        scratch: (name) => this.takeWorkspace(declared(record.workspace?.(node, shapes).forward ?? [], name, node, 'workspace'), `${node.id}.${name}`, taken),
        save: (name) => this.takeWorkspace(declared(record.saves?.(node, shapes).tensors ?? [], name, node, 'a saved tensor'), `${node.id}.${name}`, taken),
      };
      await record.forward(c);
      for (const t of taken) this.workspace.set(t.bytes, [...(this.workspace.get(t.bytes) ?? []), t]);
    }
  }

  /** Runs the graph on host input [batch, ...] (any batch: split into micro-batches) and returns the output. */
  async run(input: ArrayLike<number>, batch: number): Promise<Float64Array> {
    const { ir, batch: micro, precision } = this.plan;
    const inName = ir.inputs[0]!, outName = ir.outputs[0]!;
    const inPer = this.plan.tensors.get(inName)!.shape.slice(1).reduce((a, b) => a * b, 1);
    const outShape = this.plan.tensors.get(outName)!.shape;
    const outPer = outShape.slice(1).reduce((a, b) => a * b, 1);
    if (input.length !== batch * inPer) throw new Error(`forward: input holds ${input.length} values, expected batch ${batch} x ${inPer}`);
    const result = new Float64Array(batch * outPer);
    const inTensor = this.tensor(inName);
    for (let b0 = 0; b0 < batch; b0 += micro) {
      const n = Math.min(micro, batch - b0);
      const chunk = new Float64Array(micro * inPer);
      for (let i = 0; i < n * inPer; i++) chunk[i] = input[b0 * inPer + i]!;
      this.s.device.queue.writeBuffer(inTensor.buffer, 0, encodeTensor(chunk, inTensor.shape, precision));
      await this.record();
      const out = await this.s.read(this.tensor(outName));
      result.set(out.subarray(0, n * outPer), b0 * outPer);
    }
    return result;
  }

  /** A tensor of the last micro-batch run: a graph output or one named in `keep` (others may be overwritten). */
  async readTensor(name: string): Promise<Float64Array> {
    if (!this.plan.tensors.has(name)) throw new Error(`forward: graph "${this.plan.ir.name}" has no tensor "${name}"`);
    return this.s.read(this.tensor(name));
  }

  /** Frees everything this executor holds on the session (weights, activation slots, workspace). */
  destroy(): void {
    for (const t of [...this.weights.values(), ...this.slots, ...this.workspaceAll]) this.s.arena.release(t);
    this.workspace.clear();
    this.s.releaseScratchPool();
  }
}
