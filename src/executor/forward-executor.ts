// The WebGPU forward executor: plans the IR (plan.ts), uploads the weights once, allocates the arena the plan
// asks for, and records one dispatch sequence per micro-batch through the op lowerings. Works wherever a
// ComputeSession does (browser worker, Node/Dawn). Training will add a backward walk over the same plan.
import type { IrDocument } from '../graph/ir.ts';
import type { WeightMap } from '../graph/init.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import type { ComputeSession } from '../gpu/session.ts';
import { type Precision, tensorBytes } from '../gpu/precision.ts';
import { encodeTensor } from '../gpu/tensor-codec.ts';
import { type ForwardPlan, planForward } from './plan.ts';
import type { LowerContext, Lowering } from './lowering.ts';
import { LOWERINGS, scratchBytesEstimate } from './lowerings.ts';

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
    const largest = Math.max(...[...plan.tensors.values()].map((t) => t.bytes), scratchBytesEstimate(ir, b, precision));
    if (largest <= maxBinding) return b;
    if (b === 1) break;
  }
  throw new Error(`forward: even batch 1 of "${ir.name}" has a tensor over this adapter's maxStorageBufferBindingSize (${maxBinding} bytes) in ${precision}`);
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
    for (const n of plan.steps) if (!plan.tensors.get(n.outputs[0]!)!.viewOf && !LOWERINGS[n.op]) throw new Error(`forward: op "${n.op}" (node ${n.id}) has no WebGPU lowering`);
    const uploaded = new Map<string, GpuTensor>();
    for (const [name, w] of weights) {
      // Weight-norm gains [Cout, 1, 1] go up as [Cout] (same element order), the shape the kernel takes: in
      // f16-storage a row of length 1 would be padded to 2.
      const shape = name.endsWith('.weight_g') ? [w.shape[0]!] : w.shape;
      uploaded.set(name, await s.arena.upload(w.data, shape, opts.precision, name));
      if (name.endsWith('.A_log')) {
        // The scan takes A = -exp(A_log): exact on the host, and a derived parameter of its own name.
        const a = name.replace(/A_log$/, 'A');
        uploaded.set(a, await s.arena.upload(w.data.map((v) => -Math.exp(v)), shape, opts.precision, a));
      }
    }
    const slots: GpuTensor[] = [];
    for (const [i, slot] of plan.slots.entries()) slots.push(await s.arena.tensor([slot.bytes / 4], 'f32', `activation slot ${i}`));
    return new ForwardExecutor(s, plan, uploaded, slots);
  }

  private tensor(name: string): GpuTensor {
    const t = this.plan.tensors.get(name)!;
    return { buffer: this.slots[t.slot]!.buffer, shape: t.shape, precision: this.plan.precision, bytes: t.bytes, label: name };
  }

  private async takeWorkspace(shape: readonly number[], precision: Precision, label: string, taken: GpuTensor[]): Promise<GpuTensor> {
    const bytes = tensorBytes(shape, precision);
    let t = this.workspace.get(bytes)?.pop();
    if (!t) {
      t = await this.s.arena.tensor(shape, precision, label);
      this.workspaceAll.push(t);
    }
    taken.push(t);
    return { ...t, shape: [...shape], precision, label };
  }

  /** Records the whole graph for one micro-batch already uploaded into the input slot (no flush). */
  async record(): Promise<void> {
    for (const node of this.plan.steps) {
      const taken: GpuTensor[] = [];
      const out = this.plan.tensors.get(node.outputs[0]!)!;
      if (out.viewOf) continue; // a view: nothing to compute
      const lower: Lowering = LOWERINGS[node.op]!;
      const c: LowerContext = {
        s: this.s,
        node,
        inputs: node.inputs.map((n) => this.tensor(n)),
        output: this.tensor(node.outputs[0]!),
        precision: this.plan.precision,
        param: (role) => {
          const name = node.params[role] ?? node.buffers[role] ?? `${node.id}.${role}`;
          const t = this.weights.get(name);
          if (!t) throw new Error(`forward: node ${node.id} has no parameter "${role}" in the weights`);
          return t;
        },
        scratch: (shape, label, precision) => this.takeWorkspace(shape, precision ?? this.plan.precision, `${node.id}.${label}`, taken),
      };
      await lower(c);
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

