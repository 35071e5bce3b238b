/**
 * The optimizer step of the backend's trainer on the GPU, with no host sync:
 *   GradScaler.unscale_ -> clip_grad_norm_(clipNorm) -> GradScaler.step(AdamW)
 * The gradients stay scaled in their buffers; grad_norm.wgsl computes the norm of the unscaled gradients, the
 * overflow flag and one multiplier (unscale x clip), and adamw.wgsl applies it while updating the f32 master
 * weights and moments, or changes nothing when the flag is set (the step is skipped, as GradScaler does).
 * The flag, the norm and the loss land in one f32 [4] `stats` tensor: the trainer's one read back per step.
 * The optimizer also holds the f32 [1] loss-scale tensor the loss kernel reads (so the training plan counts it
 * with the optimizer's workspace).
 *
 * Parameter groups as `make_optimizer` in backend/ictal_backend/trainer.py: the IR's weight_decay flag puts a
 * parameter in the decay group (weightDecay) or the no-decay group (0); lr and betas are shared.
 * `steps` counts the steps AdamW took (torch's per-parameter `step`, which a skipped step does not advance); the
 * trainer calls `afterStep(foundInf)` once it has read the flag.
 */
import adamwSource from '../../shaders/adamw.wgsl?raw';
import gradNormSource from '../../shaders/grad_norm.wgsl?raw';
import workgroupSumSource from '../../shaders/workgroup_sum.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { tensorBytes } from '../gpu/precision.ts';
import type { IrDocument } from '../graph/ir.ts';
import { expectF32, expectShape, numel, packParams } from '../kernels/layout.ts';

export const ADAMW_SHADER = { name: 'adamw.wgsl', source: adamwSource };
export const GRAD_NORM_SHADER = { name: 'grad_norm.wgsl', source: `${gradNormSource}\n${workgroupSumSource}` };
const WG = 64;
/** Elements a grad_norm.wgsl workgroup sums (WG x PER_INVOCATION there). */
const NORM_BLOCK = WG * 16;

export interface AdamWConfig {
  lr: number;
  weightDecay: number;
  betas: [number, number];
  /** torch's default 1e-8. */
  eps?: number;
  /** Global-norm clip of the unscaled gradients (the backend's clip_norm, 0.5); Infinity turns it off. */
  clipNorm: number;
}

/** Bytes of AdamW's state: two f32 moments per parameter element (what planTraining counts as optimizerState). */
export function optimizerStateBytes(ir: Pick<IrDocument, 'params'>): number {
  return Object.values(ir.params).reduce((a, p) => a + 2 * tensorBytes(p.shape, 'f32'), 0);
}

/** Bytes of the optimizer's own workspace: the loss scale, the stats tensor and the norm's partial sums. */
export function optimizerWorkspaceBytes(ir: Pick<IrDocument, 'params'>): number {
  const partials = Object.values(ir.params).reduce((a, p) => a + Math.ceil(numel(p.shape) / NORM_BLOCK), 0);
  return tensorBytes([1], 'f32') + tensorBytes([4], 'f32') + tensorBytes([Math.max(1, partials)], 'f32');
}

/** What one read of `stats` says about a step. */
export interface StepStats {
  gradNorm: number;
  foundInf: boolean;
  loss: number;
}

export function decodeStats(v: ArrayLike<number>): StepStats {
  return { gradNorm: v[0]!, foundInf: v[1] !== 0, loss: v[3]! };
}

interface Slot {
  name: string;
  param: GpuTensor;
  grad: GpuTensor;
  m: GpuTensor;
  v: GpuTensor;
  weightDecay: number;
  partialOffset: number;
  partials: number;
}

function checkConfig(c: AdamWConfig): void {
  if (!(c.lr >= 0 && Number.isFinite(c.lr))) throw new Error(`AdamW: lr must be a finite number >= 0, got ${c.lr}`);
  if (!(c.weightDecay >= 0 && Number.isFinite(c.weightDecay))) throw new Error(`AdamW: weightDecay must be a finite number >= 0, got ${c.weightDecay}`);
  if (!(c.betas.length === 2 && c.betas.every((b) => b >= 0 && b < 1))) throw new Error(`AdamW: betas must be two numbers in [0, 1), got [${c.betas.join(', ')}]`);
  if (c.eps !== undefined && !(c.eps > 0)) throw new Error(`AdamW: eps must be > 0, got ${c.eps}`);
  if (!(c.clipNorm > 0)) throw new Error(`AdamW: clipNorm must be > 0 (Infinity for no clipping), got ${c.clipNorm}`);
}

export class AdamW {
  /** AdamW steps taken (skipped steps excluded), as torch's optimizer state counts them. */
  steps = 0;

  private constructor(
    private readonly s: ComputeSession,
    readonly config: AdamWConfig,
    private readonly slots: Slot[],
    /** f32 [4]: norm, overflow flag, gradient multiplier, loss (see grad_norm.wgsl). */
    readonly stats: GpuTensor,
    private readonly partial: GpuTensor,
    /** f32 [1]: the loss scale the loss kernel multiplies dlogits by and the optimizer divides out (starts at 1). */
    readonly lossScale: GpuTensor,
  ) {}

  /**
   * Moments start at zero. `params` and `grads` are the f32 master weights and gradients by IR parameter name
   * (every parameter of the IR, same shapes).
   */
  static async create(s: ComputeSession, ir: Pick<IrDocument, 'name' | 'params'>, params: Map<string, GpuTensor>, grads: Map<string, GpuTensor>, config: AdamWConfig): Promise<AdamW> {
    checkConfig(config);
    const slots: Slot[] = [];
    let offset = 0;
    const made: GpuTensor[] = [];
    try {
      for (const [name, p] of Object.entries(ir.params)) {
        const param = params.get(name);
        const grad = grads.get(name);
        if (!param) throw new Error(`AdamW: no master weight for parameter "${name}"`);
        if (!grad) throw new Error(`AdamW: no gradient for parameter "${name}"`);
        for (const t of [param, grad]) {
          expectF32('AdamW', t);
          expectShape('AdamW', t, p.shape, `parameter ${name}`);
        }
        const n = numel(p.shape);
        const m = await s.arena.upload(new Float32Array(n), p.shape, 'f32', `${name}.adam_m`);
        made.push(m);
        const v = await s.arena.upload(new Float32Array(n), p.shape, 'f32', `${name}.adam_v`);
        made.push(v);
        const partials = Math.ceil(n / NORM_BLOCK);
        slots.push({ name, param, grad, m, v, weightDecay: p.weight_decay ? config.weightDecay : 0, partialOffset: offset, partials });
        offset += partials;
      }
      const known = new Set(Object.keys(ir.params));
      for (const name of grads.keys()) if (!known.has(name)) throw new Error(`AdamW: gradient "${name}" is not a parameter of graph "${ir.name}"`);
      const stats = await s.arena.upload([0, 0, 0, 0], [4], 'f32', 'optimizer stats');
      made.push(stats);
      const partial = await s.arena.tensor([Math.max(1, offset)], 'f32', 'grad norm partials');
      made.push(partial);
      const lossScale = await s.arena.upload([1], [1], 'f32', 'loss scale');
      made.push(lossScale);
      return new AdamW(s, config, slots, stats, partial, lossScale);
    } catch (e) {
      for (const t of made) s.arena.release(t);
      throw e;
    }
  }

  /** Sets the loss scale for the next steps (queue.writeBuffer: no sync). */
  setLossScale(scale: number): void {
    if (!(scale > 0 && Number.isFinite(scale))) throw new Error(`AdamW: the loss scale must be a finite number > 0, got ${scale}`);
    this.s.device.queue.writeBuffer(this.lossScale.buffer, 0, Float32Array.of(scale));
  }

  /**
   * Records unscale + clip + AdamW at learning rate `lr` for the gradients now in the buffers (scaled by
   * `lossScale`), and copies the f32 [1] `lossSum` into stats. Nothing is read back. `onPhase` (the step
   * profiler's hook) hears 'clip' before the norm's dispatches and 'optimizer' before AdamW's.
   */
  async record(lossSum: GpuTensor, lr: number, onPhase?: (phase: 'clip' | 'optimizer') => void): Promise<void> {
    const s = this.s;
    const lossScale = this.lossScale;
    if (!(lr >= 0 && Number.isFinite(lr))) throw new Error(`AdamW: lr must be a finite number >= 0, got ${lr}`);
    expectF32('AdamW.record', lossSum);
    expectShape('AdamW.record', lossSum, [1]);
    onPhase?.('clip');
    for (const sl of this.slots) {
      const n = numel(sl.param.shape);
      await s.dispatch({
        shader: GRAD_NORM_SHADER, entry: 'sumsq_partial', precision: 'f32', defines: { PARTIAL: true },
        params: packParams([n, sl.partialOffset, { f32: 0 }]), tensors: [sl.grad, this.partial, lossScale],
        workgroups: sl.partials, label: `grad_norm.${sl.name}`, flops: 3 * n, bytes: 4 * n,
      });
    }
    await s.dispatch({
      shader: GRAD_NORM_SHADER, entry: 'norm_final', precision: 'f32', defines: { FINAL: true },
      params: packParams([numel(this.partial.shape), 0, { f32: Math.min(this.config.clipNorm, 3.4028234e38) }]),
      tensors: [this.partial, lossScale, lossSum, this.stats], workgroups: 1, label: 'grad_norm.final',
    });
    const t = this.steps + 1;
    const [b1, b2] = this.config.betas;
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    const eps = this.config.eps ?? 1e-8;
    onPhase?.('optimizer');
    for (const sl of this.slots) {
      const n = numel(sl.param.shape);
      await s.dispatch({
        shader: ADAMW_SHADER, entry: 'adamw_step', precision: 'f32',
        params: packParams([n, { f32: lr }, { f32: sl.weightDecay }, { f32: b1 }, { f32: b2 }, { f32: eps }, { f32: lr / bc1 }, { f32: Math.sqrt(bc2) }]),
        tensors: [sl.param, sl.grad, sl.m, sl.v, this.stats], workgroups: Math.ceil(n / WG), label: `adamw.${sl.name}`,
        flops: 14 * n, bytes: 7 * 4 * n,
      });
    }
  }

  /** After the step's stats were read: a skipped step leaves torch's step count where it was. */
  afterStep(foundInf: boolean): void {
    if (!foundInf) this.steps += 1;
  }

  /** The moments of one parameter (tests, checkpoints). */
  moments(name: string): { m: GpuTensor; v: GpuTensor } {
    const sl = this.slots.find((x) => x.name === name);
    if (!sl) throw new Error(`AdamW: no parameter "${name}"`);
    return { m: sl.m, v: sl.v };
  }

  /** Bytes this optimizer allocated: moments, loss scale, stats and partials. */
  get bytes(): number {
    return this.slots.reduce((a, sl) => a + sl.m.bytes + sl.v.bytes, 0) + this.lossScale.bytes + this.stats.bytes + this.partial.bytes;
  }

  release(): void {
    for (const sl of this.slots) {
      this.s.arena.release(sl.m);
      this.s.arena.release(sl.v);
    }
    this.s.arena.release(this.stats);
    this.s.arena.release(this.partial);
    this.s.arena.release(this.lossScale);
  }
}

// ---- float64 CPU reference ----

export interface AdamWReferenceState {
  params: Map<string, Float64Array>;
  m: Map<string, Float64Array>;
  v: Map<string, Float64Array>;
  steps: number;
}

/**
 * One step of unscale + clip + AdamW in float64 on scaled gradients, as the trainer does with torch; returns the
 * stats and updates `state` in place unless a gradient is not finite (then nothing changes).
 */
export function optimizerStepReference(
  state: AdamWReferenceState, grads: Map<string, ArrayLike<number>>, decays: Map<string, boolean>, c: AdamWConfig, lr: number, lossScale: number,
): { gradNorm: number; foundInf: boolean } {
  let sumsq = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) sumsq += (g[i]! / lossScale) ** 2;
  const norm = Math.sqrt(sumsq);
  if (!Number.isFinite(norm)) return { gradNorm: norm, foundInf: true };
  const coef = Math.min(1, c.clipNorm / (norm + 1e-6)) / lossScale;
  const t = state.steps + 1;
  const [b1, b2] = c.betas;
  const bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
  const eps = c.eps ?? 1e-8;
  for (const [name, p] of state.params) {
    const g = grads.get(name)!, m = state.m.get(name)!, v = state.v.get(name)!;
    const wd = decays.get(name) ? c.weightDecay : 0;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]! * coef;
      m[i] = m[i]! + (1 - b1) * (gi - m[i]!);
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      p[i] = p[i]! * (1 - lr * wd) - (lr / bc1) * m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + eps);
    }
  }
  state.steps = t;
  return { gradNorm: norm, foundInf: false };
}
