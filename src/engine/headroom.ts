// Headroom: how large a batch this adapter can take, predicted from the plans and measured by a probe that
// really allocates and runs at increasing batch sizes until one fails. Used by the lab's Headroom tab and by
// `ictal headroom` (both through Engine.headroom / Engine.probeHeadroom).
import type { Precision } from '../gpu/precision.ts';
import { tensorBytes } from '../gpu/precision.ts';
import type { ComputeSession } from '../gpu/session.ts';
import type { WeightMap } from '../graph/init.ts';
import type { IrDocument, IrNode } from '../graph/ir.ts';
import { nodeShapes, recordOf } from '../executor/lowerings.ts';
import type { SavedTensor } from '../executor/lowering.ts';
import { planForward, type ForwardPlan } from '../executor/plan.ts';
import { ForwardExecutor } from '../executor/forward-executor.ts';
import { numel } from '../graph/ir.ts';
import { planTraining } from '../train/plan.ts';
import { trainModel } from '../train/trainer.ts';
import { syntheticWindows } from '../train/data.ts';

export type HeadroomMode = 'inference' | 'training';

/** Predicted bytes at one batch size; `total` is what must fit the memory budget. */
export interface HeadroomPoint {
  batch: number;
  weights: number;
  activations: number;
  workspace: number;
  /** Training only: weight gradients and optimizer state. */
  gradients: number;
  optimizerState: number;
  total: number;
  /** The largest single buffer: it must fit maxBufferSize and, bound to a kernel, maxStorageBufferBindingSize. */
  largestBinding: number;
}

export interface HeadroomLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /** What the user says the device may use (browsers do not report device memory); undefined: no budget. */
  budgetBytes?: number;
}

export interface HeadroomCurve {
  mode: HeadroomMode;
  precision: Precision;
  points: HeadroomPoint[];
  /** The largest batch of `points` predicted to fit every limit, or 0 if none does. */
  largestFitting: number;
  /** For that batch (or batch 1 when none fits): which limit binds first, in words. */
  bindingLimit: string;
}

/**
 * Bytes the forward executor uploads (src/executor/forward-executor.ts uploadWeights): every stored parameter in
 * the shape its record's kernels take (paramShape), the parameters the records derive on the GPU (weight norm,
 * A = -exp(A_log)), and the buffers.
 */
export function weightBytes(ir: IrDocument, precision: Precision): number {
  const stored = new Map<string, number[]>();
  let derived = 0;
  for (const n of ir.nodes) {
    const r = recordOf(n);
    const kernelShape = (role: string) => r.paramShape?.(role, ir.params[n.params[role]!]!.shape) ?? [...ir.params[n.params[role]!]!.shape];
    for (const [role, name] of Object.entries(n.params)) stored.set(name, kernelShape(role));
    for (const d of r.derived ?? []) if (d.applies(n)) derived += tensorBytes(kernelShape(d.from[0]!), precision);
  }
  let bytes = derived;
  for (const shape of stored.values()) bytes += tensorBytes(shape, precision);
  for (const b of Object.values(ir.buffers)) bytes += tensorBytes(b.shape, precision);
  return bytes;
}

/** What a node's forward asks the forward executor for in inference: its saved tensors (plain workspace there) and its workspace. */
function forwardRequests(ir: IrDocument, node: IrNode, batch: number): SavedTensor[] {
  const r = recordOf(node), sh = nodeShapes(ir, node, batch);
  return [...(r.saves?.(node, sh).tensors ?? []).filter((t) => !t.backwardOnly), ...(r.workspace?.(node, sh).forward ?? [])];
}

/**
 * Bytes of workspace the forward executor allocates: its pool hands a finished node's buffers, by byte size,
 * to later nodes, and allocates only when none of that size is free (ForwardExecutor.takeWorkspace); plus the
 * derived parameters' auxiliaries (weight-norm norms), which stay in the session's pool.
 */
export function forwardWorkspaceBytes(plan: ForwardPlan): { total: number; largest: number } {
  const free = new Map<number, number>();
  let total = 0, largest = 0;
  for (const node of plan.steps) {
    for (const d of recordOf(node).derived ?? []) {
      if (!d.applies(node)) continue;
      const from = node.params[d.from[0]!]!;
      const shape = recordOf(node).paramShape?.(d.from[0]!, plan.ir.params[from]!.shape) ?? [...plan.ir.params[from]!.shape];
      for (const a of d.aux?.(node, shape) ?? []) total += tensorBytes(a.shape, a.f32 ? 'f32' : plan.precision);
    }
    if (plan.tensors.get(node.outputs[0]!)!.viewOf) continue;
    const taken = forwardRequests(plan.ir, node, plan.batch).map((r) => tensorBytes(r.shape, r.f32 ? 'f32' : plan.precision));
    for (const bytes of taken) {
      const n = free.get(bytes) ?? 0;
      if (n > 0) free.set(bytes, n - 1);
      else total += bytes;
      largest = Math.max(largest, bytes);
    }
    for (const bytes of taken) free.set(bytes, (free.get(bytes) ?? 0) + 1);
  }
  return { total, largest };
}

/** Inference at one batch, the whole batch in one pass: weights, the plan's activation slots, the workspace. */
export function predictInference(ir: IrDocument, batch: number, precision: Precision): HeadroomPoint {
  const plan = planForward(ir, batch, precision);
  const { total: workspace, largest: largestScratch } = forwardWorkspaceBytes(plan);
  const w = weightBytes(ir, precision);
  const largestTensor = Math.max(0, ...[...plan.tensors.values()].map((t) => t.bytes));
  const largestSlot = Math.max(0, ...plan.slots.map((s) => s.bytes));
  return {
    batch, weights: w, activations: plan.activationBytes, workspace, gradients: 0, optimizerState: 0,
    total: w + plan.activationBytes + workspace,
    largestBinding: Math.max(largestTensor, largestSlot, largestScratch),
  };
}

/** One training step of the whole batch in one pass (no micro-batching), from the training plan (src/train/plan.ts). */
export function predictTraining(ir: IrDocument, batch: number, precision: Precision): HeadroomPoint {
  const plan = planTraining(ir, batch, precision, batch);
  const b = plan.bytes;
  return {
    batch, weights: b.weights, activations: b.activationsKept, workspace: b.workspace, gradients: b.gradients, optimizerState: b.optimizerState,
    total: b.total, largestBinding: plan.largestBinding,
  };
}

/** Why a point does not fit, or undefined when it does. */
export function overLimit(p: HeadroomPoint, limits: HeadroomLimits): string | undefined {
  if (p.largestBinding > limits.maxStorageBufferBindingSize) return `its largest binding (${p.largestBinding} bytes) exceeds maxStorageBufferBindingSize (${limits.maxStorageBufferBindingSize})`;
  if (p.largestBinding > limits.maxBufferSize) return `its largest buffer (${p.largestBinding} bytes) exceeds maxBufferSize (${limits.maxBufferSize})`;
  if (limits.budgetBytes !== undefined && p.total > limits.budgetBytes) return `its total (${p.total} bytes) exceeds the budget (${limits.budgetBytes})`;
  return undefined;
}

/** Batch sizes 1, 2, 4, ... up to `maxBatch`. */
export function batchLadder(maxBatch: number): number[] {
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error(`headroom: the largest batch wants a whole number >= 1, got ${maxBatch}`);
  const out: number[] = [];
  for (let b = 1; b <= maxBatch; b *= 2) out.push(b);
  return out;
}

export function headroomCurve(mode: HeadroomMode, precision: Precision, points: HeadroomPoint[], limits: HeadroomLimits): HeadroomCurve {
  const fitting = points.filter((p) => !overLimit(p, limits));
  const largestFitting = fitting.length ? Math.max(...fitting.map((p) => p.batch)) : 0;
  const next = points.find((p) => p.batch > largestFitting) ?? points[0];
  const why = next && overLimit(next, limits);
  const bindingLimit = why ? `batch ${next!.batch}: ${why}` : `every batch up to ${largestFitting} fits`;
  return { mode, precision, points, largestFitting, bindingLimit };
}

/** One probe step: what the arena really held at this batch, or why it failed. */
export interface ProbePoint {
  batch: number;
  ok: boolean;
  /** The arena's peak during the step (exact: every tensor buffer comes from it). */
  measuredBytes: number;
  predictedBytes: number;
  ms: number;
  error?: string;
}

/**
 * Allocates and runs one inference pass, or two training steps, at this batch inside error scopes; a failure (out of memory, a
 * binding over the limit) is returned, not thrown. On success everything is freed; after a failure the caller
 * must drop the session (buffers of a half-built executor are still on its arena).
 */
export async function probeStep(session: ComputeSession, mode: HeadroomMode, ir: IrDocument, weights: WeightMap, batch: number, precision: Precision): Promise<ProbePoint> {
  const predictedBytes = (mode === 'inference' ? predictInference(ir, batch, precision) : predictTraining(ir, batch, precision)).total;
  const device = session.device;
  session.arena.peakBytes = session.arena.liveBytes;
  const base = session.arena.liveBytes;
  const t0 = performance.now();
  let exec: ForwardExecutor | undefined;
  device.pushErrorScope('internal');
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  let error: string | undefined;
  try {
    if (mode === 'inference') {
      exec = await ForwardExecutor.create(session, ir, weights, batch, { precision, microBatch: batch });
      const input = new Float32Array(numel(exec.plan.tensors.get(ir.inputs[0]!)!.shape));
      await exec.run(input, batch);
    } else {
      // Two real steps (the second reuses what the first allocated) on synthetic windows, enough for the batch.
      const window = numel(ir.tensors[ir.inputs[0]!]!.shape.slice(2) as number[]);
      const minutes = Math.ceil((batch * window) / 256 / 60) + 1;
      await trainModel(session, ir, weights, syntheticWindows(1, window, minutes), { steps: 2, batch, precision, microBatch: batch });
    }
  } catch (e) {
    error = (e as Error).message;
  } finally {
    const scopes = [await device.popErrorScope(), await device.popErrorScope(), await device.popErrorScope()];
    const caught = scopes.find(Boolean);
    if (caught && !error) error = `${caught.constructor.name}: ${caught.message}`;
  }
  const measuredBytes = session.arena.peakBytes - base;
  exec?.destroy();
  return { batch, ok: !error, measuredBytes, predictedBytes, ms: performance.now() - t0, error };
}
