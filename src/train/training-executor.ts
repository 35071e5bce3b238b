// The training executor: one step = parameter preparation (f32 masters cast to the run precision, derived
// parameters computed), then per micro-batch the forward keeping what the op records declare, the focal loss,
// and the backward into f32 gradients summed over the micro-batches. Everything is recorded on the session with
// no host sync: the caller (the training loop) reads the loss once per step with the optimizer's flag. All
// buffers come from the plan (plan.ts), so the arena it predicts is the arena allocated: the kernels' own scratch
// (partial sums, split-K) too, sized by recording one step on this adapter without submitting it, then served
// from the plan's slots by position within each node (ComputeSession.usePlannedScratch).
import type { IrDocument } from '../graph/ir.ts';
import type { WeightMap } from '../graph/init.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import type { ComputeSession } from '../gpu/session.ts';
import type { Precision } from '../gpu/precision.ts';
import { tensorBytes } from '../gpu/precision.ts';
import { accumulateF32, addInto, castFromF32 } from '../kernels/grad-plumbing.ts';
import { focalLoss, type FocalLossParams } from '../kernels/focal-loss.ts';
import { declared } from '../executor/forward-executor.ts';
import type { BackwardContext, LowerContext, PassMode } from '../executor/lowering.ts';
import { nodeShapes } from '../executor/lowerings.ts';
import { fittingTrainingMicroBatch, planTraining, withKernelScratch, type TrainingPlan, type TrainStep } from './plan.ts';

export interface TrainingExecutorOptions {
  precision: Precision;
  /** Samples per recorded pass; must divide the batch. Default: the largest divisor that fits the binding limit. */
  microBatch?: number;
  loss: FocalLossParams;
}

export interface StepOptions {
  /** f32 [1] on the GPU: multiplies the loss gradient (GradScaler's scale; 1 in f32). */
  lossScale: GpuTensor;
  seed: number;
  step: number;
  /** Dropout on (training) or off (evaluation, gradient checks). */
  training: boolean;
  /**
   * Profiler hook (src/engine/step-profile.ts): called as the step starts recording each phase, before its first
   * dispatch, so a timestamp profiler can tell which phase a dispatch belongs to. Called per micro-batch.
   */
  onPhase?: (phase: StepPhase) => void;
}

/**
 * What a step records, in order: the masters cast and derived parameters once, then per micro-batch the input
 * and labels cast, the forward, the loss and the backward (with the gradients' accumulation). The optimizer
 * (optimizer.ts) follows, outside the executor.
 */
export type StepPhase = 'params' | 'input' | 'forward' | 'loss' | 'backward';

export class TrainingExecutor {
  private readonly owned: GpuTensor[] = [];
  /** f32 master weights by IR parameter name (the optimizer updates them in place). */
  readonly params = new Map<string, GpuTensor>();
  /** f32 gradients, same names and shapes: dL/dθ times the loss scale, summed over the step's micro-batches. */
  readonly grads = new Map<string, GpuTensor>();
  /** f32 [1]: the step's loss (mean over the whole batch), unscaled. */
  lossSum!: GpuTensor;
  /** Run-precision parameters the kernels read: working copies of the masters, derived ones, buffers. */
  private readonly working = new Map<string, GpuTensor>();
  private readonly derivedAux = new Map<string, GpuTensor[]>();
  private slots: GpuTensor[] = [];
  private workspace: GpuTensor[] = [];
  private staging: GpuTensor[] = [];
  private kernelScratch: GpuTensor[] = [];
  private stepInput!: GpuTensor;
  private stepLabels!: GpuTensor;
  private labels!: GpuTensor;

  private constructor(
    readonly s: ComputeSession,
    private sized: TrainingPlan,
    private readonly loss: FocalLossParams,
    private readonly buffers: WeightMap,
  ) {}

  /** The plan this executor allocated, its kernel scratch sized. */
  get plan(): TrainingPlan {
    return this.sized;
  }

  static async create(s: ComputeSession, ir: IrDocument, weights: WeightMap, batch: number, o: TrainingExecutorOptions): Promise<TrainingExecutor> {
    const micro = o.microBatch ?? fittingTrainingMicroBatch(ir, batch, o.precision, s.device.limits.maxStorageBufferBindingSize);
    if (o.precision === 'f16' && !s.gpu.has('shader-f16')) throw new Error(`train: precision f16 needs shader-f16, which this adapter lacks (use f16-storage)`);
    const plan = planTraining(ir, micro, o.precision, batch);
    const buffers: WeightMap = new Map([...weights].filter(([name]) => name in ir.buffers));
    const x = new TrainingExecutor(s, plan, o.loss, buffers);
    try {
      await x.allocate(weights);
      await x.sizeKernelScratch();
    } catch (e) {
      x.release();
      throw e;
    }
    return x;
  }

  private async alloc(shape: readonly number[], precision: Precision, label: string): Promise<GpuTensor> {
    const t = await this.s.arena.tensor(shape, precision, label);
    this.owned.push(t);
    return t;
  }

  private async allocate(weights: WeightMap): Promise<void> {
    const { plan, s } = this;
    const p = plan.precision;
    for (const prm of plan.params) {
      const w = weights.get(prm.name);
      if (!w) throw new Error(`train: the weights lack parameter "${prm.name}"`);
      if (w.shape.join(',') !== prm.shape.join(',')) throw new Error(`train: weight "${prm.name}" has shape [${w.shape}], the graph declares [${prm.shape}]`);
      const master = await s.arena.upload(w.data, prm.shape, 'f32', prm.name);
      this.owned.push(master);
      this.params.set(prm.name, master);
      this.grads.set(prm.name, await this.alloc(prm.shape, 'f32', `${prm.name}.grad`));
      // in f32 the kernels read the master itself (same bytes in either shape)
      this.working.set(prm.name, p === 'f32' ? { ...master, shape: prm.kernelShape } : await this.alloc(prm.kernelShape, p, `${prm.name}.${p}`));
    }
    for (const d of plan.derived) {
      const name = `${d.node.id}.${d.role}`;
      this.working.set(name, await this.alloc(d.shape, p, name));
      const aux: GpuTensor[] = [];
      for (const a of d.aux) aux.push(await this.alloc(a.shape, a.f32 ? 'f32' : p, `${name}.${a.name}`));
      this.derivedAux.set(name, aux);
    }
    for (const [name, b] of Object.entries(plan.ir.buffers)) {
      const w = this.buffers.get(name);
      if (!w) throw new Error(`train: the weights lack buffer "${name}"`);
      const t = await s.arena.upload(w.data, b.shape, p, name);
      this.owned.push(t);
      this.working.set(name, t);
    }
    const words = (bytes: number) => [bytes / 4];
    for (const [i, sl] of plan.slots.entries()) this.slots.push(await this.alloc(words(sl.bytes), 'f32', `training slot ${i}`));
    for (const [i, sl] of plan.workspaceSlots.entries()) this.workspace.push(await this.alloc(words(sl.bytes), 'f32', `training workspace ${i}`));
    for (const [i, sl] of plan.gradStagingSlots.entries()) this.staging.push(await this.alloc(words(sl.bytes), 'f32', `gradient staging ${i}`));
    const inShape = plan.tensors.get(plan.ir.inputs[0]!)!.shape.slice(1);
    this.stepInput = await this.alloc([plan.stepBatch, ...inShape], 'f32', 'step input');
    this.stepLabels = await this.alloc([plan.stepBatch, ...plan.labelShape.slice(1)], 'f32', 'step labels');
    this.labels = await this.alloc(plan.labelShape, p, 'labels');
    this.lossSum = await this.alloc([1], 'f32', 'loss sum');
  }

  /**
   * Records one step with the session noting every kernel scratch request per node instead of allocating, drops
   * the recording, and allocates the slots the plan then holds (the largest j-th request of any node).
   */
  private async sizeKernelScratch(): Promise<void> {
    const s = this.s;
    await s.flush(); // what the caller recorded runs; only the sizing pass's commands are dropped
    const scale = await s.arena.upload([1], [1], 'f32', 'loss scale (scratch sizing)');
    await s.beginScratchSizing();
    let recorded: unknown;
    try {
      await this.recordStep({ lossScale: scale, seed: 0, step: 0, training: true });
    } catch (e) {
      recorded = e;
    }
    await s.discard();
    const slots = s.endScratchSizing();
    s.arena.release(scale);
    if (recorded) throw recorded;
    this.sized = withKernelScratch(this.sized, slots);
    for (const [i, sl] of this.plan.kernelScratchSlots.entries()) this.kernelScratch.push(await this.alloc([sl.bytes / 4], 'f32', `kernel scratch ${i}`));
  }

  /** A tensor over a slot's buffer (the slot may be larger). */
  private over(slot: GpuTensor, shape: readonly number[], precision: Precision, label: string): GpuTensor {
    return { buffer: slot.buffer, shape: [...shape], precision, bytes: tensorBytes(shape, precision), label };
  }

  private activation(name: string): GpuTensor {
    const t = this.plan.tensors.get(name)!;
    const r = t.viewOf ? this.plan.tensors.get(t.viewOf)! : t;
    return this.over(this.slots[r.slot]!, t.shape, this.plan.precision, name);
  }

  private gradOf(name: string): GpuTensor {
    const t = this.plan.tensors.get(name)!;
    const g = this.plan.grads.get(t.viewOf ?? name);
    if (!g) throw new Error(`train: no gradient is planned for ${name}`);
    return this.over(this.slots[g.slot]!, t.shape, this.plan.precision, `d ${name}`);
  }

  private paramOf(st: TrainStep, role: string): GpuTensor {
    const derived = this.plan.derived.some((d) => d.node === st.node && d.role === role);
    const name = derived ? `${st.node.id}.${role}` : (st.node.params[role] ?? st.node.buffers[role]);
    const t = name === undefined ? undefined : this.working.get(name);
    if (!t) throw new Error(`train: node ${st.node.id} has no parameter "${role}"`);
    return t;
  }

  /** Casts the masters to the run precision and computes the derived parameters (once per step). */
  private async prepareParams(): Promise<void> {
    const p = this.plan.precision;
    this.s.scratchScope();
    if (p !== 'f32') for (const prm of this.plan.params) await castFromF32(this.s, this.params.get(prm.name)!, this.working.get(prm.name)!, `${prm.name}.cast`);
    for (const d of this.plan.derived) {
      this.s.scratchScope();
      const name = `${d.node.id}.${d.role}`;
      const rec = this.plan.steps.find((st) => st.node === d.node)!.record.derived!.find((x) => x.role === d.role)!;
      await rec.forward(this.s, d.node, d.from.map((r) => this.working.get(d.node.params[r]!)!), this.working.get(name)!, this.derivedAux.get(name)!);
    }
  }

  /**
   * Records one training step on host input [batch, ...] and labels [batch, ...logits]: forward, loss, backward
   * per micro-batch, gradients summed into `grads` (overwritten by the first micro-batch), the loss into `lossSum`.
   * Nothing is read back.
   */
  async step(input: Float32Array, labels: Float32Array, o: StepOptions): Promise<void> {
    const { plan, s } = this;
    const B = plan.stepBatch;
    const inPer = this.stepInput.shape.slice(1).reduce((a, b) => a * b, 1), labPer = this.stepLabels.shape.slice(1).reduce((a, b) => a * b, 1);
    if (input.length !== B * inPer) throw new Error(`train: input holds ${input.length} values, expected batch ${B} x ${inPer}`);
    if (labels.length !== B * labPer) throw new Error(`train: labels hold ${labels.length} values, expected batch ${B} x ${labPer}`);
    s.device.queue.writeBuffer(this.stepInput.buffer, 0, input);
    s.device.queue.writeBuffer(this.stepLabels.buffer, 0, labels);
    s.usePlannedScratch(this.kernelScratch);
    try {
      await this.recordStep(o);
    } finally {
      s.usePlannedScratch(undefined);
    }
  }

  /** The step's dispatches on the uploaded input and labels; kernel scratch as the session is set to serve it. */
  private async recordStep(o: StepOptions): Promise<void> {
    const { plan, s } = this;
    const B = plan.stepBatch, micro = plan.batch;
    const inPer = this.stepInput.shape.slice(1).reduce((a, b) => a * b, 1), labPer = this.stepLabels.shape.slice(1).reduce((a, b) => a * b, 1);
    o.onPhase?.('params');
    await this.prepareParams();
    const inName = plan.ir.inputs[0]!, outName = plan.ir.outputs[0]!;
    for (let b0 = 0; b0 < B; b0 += micro) {
      const mode: PassMode = { training: o.training, seed: o.seed, step: o.step, sampleOffset: b0 };
      o.onPhase?.('input');
      await castFromF32(s, this.stepInput, this.activation(inName), 'step input.cast', b0 * inPer);
      await castFromF32(s, this.stepLabels, this.labels, 'labels.cast', b0 * labPer);
      o.onPhase?.('forward');
      await this.forward(mode);
      o.onPhase?.('loss');
      s.scratchScope();
      await focalLoss(s, this.activation(outName), this.labels, { lossSum: this.lossSum, dLogits: this.gradOf(outName) }, {
        ...this.loss, scale: o.lossScale, meanOver: B * labPer, accumulate: b0 > 0,
      });
      o.onPhase?.('backward');
      await this.backward(mode, b0 > 0);
    }
  }

  private async forward(mode: PassMode): Promise<void> {
    const { plan } = this;
    for (const st of plan.steps) {
      if (st.view) continue;
      this.s.scratchScope();
      const shapes = nodeShapes(plan.ir, st.node, plan.batch);
      const ws = st.record.workspace?.(st.node, shapes).forward ?? [];
      const written = new Set<string>();
      const c: LowerContext = {
        s: this.s, node: st.node, index: st.index, precision: plan.precision, mode, keepForBackward: st.backward,
        inputs: st.node.inputs.map((n) => this.activation(n)),
        output: this.activation(st.node.outputs[0]!),
        param: (role) => this.paramOf(st, role),
        scratch: async (name) => this.workspaceTensor(ws, name, st),
        save: async (name) => {
          const sv = st.saved.get(name);
          if (sv) {
            written.add(name);
            return this.over(this.slots[sv.slot]!, sv.tensor.shape, sv.tensor.f32 ? 'f32' : plan.precision, `${st.node.id}.${name}`);
          }
          // a node without backward saves nothing: its "saved" tensors are workspace past the declared ones
          const t = declared(st.record.saves?.(st.node, shapes).tensors ?? [], name, st.node, 'a saved tensor');
          throw new Error(`${st.node.id}: saves ${t.name} though it runs no backward`);
        },
      };
      await st.record.forward(c);
      const unwritten = [...st.saved.keys()].filter((n) => !written.has(n));
      if (unwritten.length) throw new Error(`${st.node.id} (${st.node.op}): its record declares ${unwritten.join(', ')} in saves.tensors, which its forward never writes`);
    }
  }

  private workspaceTensor(list: readonly { name: string; shape: number[]; f32?: boolean }[], name: string, st: TrainStep): GpuTensor {
    const j = list.findIndex((t) => t.name === name);
    const t = declared(list, name, st.node, 'workspace');
    return this.over(this.workspace[j]!, t.shape, t.f32 ? 'f32' : this.plan.precision, `${st.node.id}.${name}`);
  }

  private async backward(mode: PassMode, keep: boolean): Promise<void> {
    const { plan, s } = this;
    for (const st of [...plan.steps].reverse()) {
      if (!st.backward) continue;
      s.scratchScope();
      const shapes = nodeShapes(plan.ir, st.node, plan.batch);
      const ws = st.record.workspace?.(st.node, shapes).backward ?? [];
      const sv = st.record.saves?.(st.node, shapes);
      const read = new Set<string>(); // what the backward read of its declaration (an unread one would be kept for nothing)
      const dInputs = st.dInputs.map((d, i) => {
        const name = st.node.inputs[i]!;
        if (!d) return undefined;
        if (d.kind === 'direct') return this.gradOf(name);
        return this.over(this.slots[d.slot]!, plan.tensors.get(name)!.shape, plan.precision, `d ${name} (${st.node.id})`);
      });
      const staging = (role: string) => {
        const j = st.gradRoles.indexOf(role);
        if (j < 0) throw new Error(`${st.node.id}: no gradient is planned for parameter "${role}"`);
        return this.over(this.staging[j]!, this.paramOf(st, role).shape, plan.precision, `d ${st.node.id}.${role}`);
      };
      const c: BackwardContext = {
        s, node: st.node, index: st.index, precision: plan.precision, mode, shapes,
        input: (i) => {
          if (!sv?.inputs.includes(i)) throw new Error(`${st.node.id}: its backward reads input ${i}, which its record does not declare in saves.inputs`);
          read.add(`input ${i}`);
          return this.activation(st.node.inputs[i]!);
        },
        output: () => {
          if (!sv?.output) throw new Error(`${st.node.id}: its backward reads the output, which its record does not declare in saves.output`);
          read.add('the output');
          return this.activation(st.node.outputs[0]!);
        },
        saved: (name) => {
          const t = st.saved.get(name);
          if (!t) throw new Error(`${st.node.id}: its backward reads "${name}", which its record does not declare in saves.tensors`);
          read.add(name);
          return this.over(this.slots[t.slot]!, t.tensor.shape, t.tensor.f32 ? 'f32' : plan.precision, `${st.node.id}.${name}`);
        },
        dOutput: this.gradOf(st.node.outputs[0]!),
        dInput: (i) => dInputs[i],
        param: (role) => this.paramOf(st, role),
        dParam: staging,
        scratch: async (name) => this.workspaceTensor(ws, name, st),
      };
      await st.record.backward!(c);
      const unread = [...(sv?.inputs ?? []).map((i) => `input ${i}`), ...(sv?.output ? ['the output'] : []), ...st.saved.keys()].filter((n) => !read.has(n));
      if (unread.length) throw new Error(`${st.node.id} (${st.node.op}): its record declares ${unread.join(', ')} in saves, which its backward never reads (the plan would keep it for nothing)`);
      for (const [i, d] of st.dInputs.entries()) if (d?.kind === 'added') await addInto(s, dInputs[i]!, this.gradOf(st.node.inputs[i]!), `${st.node.id}.bwd.sum${i}`);
      for (const d of plan.derived) {
        if (d.node !== st.node) continue;
        const name = `${d.node.id}.${d.role}`;
        const rec = st.record.derived!.find((x) => x.role === d.role)!;
        await rec.backward(s, st.node, d.from.map((r) => this.paramOf(st, r)), this.working.get(name)!, this.derivedAux.get(name)!, staging(d.role), d.from.map((r) => staging(r)));
      }
      for (const [role, name] of Object.entries(st.node.params)) {
        await accumulateF32(s, staging(role), this.grads.get(name)!, { keep: keep ? 1 : 0, label: `${name}.grad` });
      }
    }
  }

  /** The f32 master weights and the buffers as a WeightMap (IR names and shapes). */
  async downloadWeights(): Promise<WeightMap> {
    const out: WeightMap = new Map();
    for (const [name, t] of this.params) out.set(name, { shape: [...t.shape], data: Float32Array.from(await this.s.read(t)) });
    for (const [name, w] of this.buffers) out.set(name, w);
    return out;
  }

  /** The f32 gradients (dL/dθ times the loss scale) as a WeightMap. */
  async downloadGrads(): Promise<WeightMap> {
    const out: WeightMap = new Map();
    for (const [name, t] of this.grads) out.set(name, { shape: [...t.shape], data: Float32Array.from(await this.s.read(t)) });
    return out;
  }

  /** Bytes this executor allocated (what plan.bytes predicts, less the optimizer's state and workspace). */
  get allocatedBytes(): number {
    return this.owned.reduce((a, t) => a + t.bytes, 0);
  }

  release(): void {
    for (const t of this.owned) this.s.arena.release(t);
    this.owned.length = 0;
    this.s.releaseScratchPool();
  }
}
