// One record per IR op (docs/adding-an-op.md): its forward, its backward, what the backward needs kept from the
// forward, and the parameters it derives on the GPU from stored ones. The executors (forward-executor.ts,
// src/train/training-executor.ts) and the plans know nothing op-specific beyond these records.
import type { IrNode } from '../graph/ir.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import type { ComputeSession } from '../gpu/session.ts';
import type { Precision } from '../gpu/precision.ts';

/** How a pass runs: inference, or training (dropout active, its mask keyed by seed, step and node). */
export interface PassMode {
  training: boolean;
  seed: number;
  step: number;
  /** Index of the micro-batch's first sample in the whole batch (dropout masks do not depend on the split). */
  sampleOffset: number;
}

export const INFERENCE: PassMode = { training: false, seed: 0, step: 0, sampleOffset: 0 };

export interface LowerContext {
  s: ComputeSession;
  node: IrNode;
  /** Index of the node in the IR (dropout keys). */
  index: number;
  inputs: GpuTensor[];
  output: GpuTensor;
  precision: Precision;
  mode: PassMode;
  /** Whether a backward pass follows: only then must what `saves` declares be written (e.g. scan states). */
  keepForBackward: boolean;
  /** The node's parameter (stored or derived) or buffer by role, in the run's precision. */
  param(role: string): GpuTensor;
  /** Workspace declared in the record's `workspace().forward`, by name; valid during this node only. */
  scratch(name: string): Promise<GpuTensor>;
  /** A tensor the backward reads (declared in `saves`); in inference it is plain workspace. */
  save(name: string): Promise<GpuTensor>;
}

export interface BackwardContext {
  s: ComputeSession;
  node: IrNode;
  index: number;
  precision: Precision;
  mode: PassMode;
  shapes: NodeShapes;
  /** Inputs the record declared in `saves.inputs` (others throw). */
  input(i: number): GpuTensor;
  /** The output, when declared in `saves.output`. */
  output(): GpuTensor;
  saved(name: string): GpuTensor;
  /** dL/d(output), in the run precision. */
  dOutput: GpuTensor;
  /** Where dL/d(input i) goes (written whole), or undefined when no gradient flows into input i. */
  dInput(i: number): GpuTensor | undefined;
  param(role: string): GpuTensor;
  /** Where dL/d(parameter) goes (run precision, written whole, shaped as `param(role)`). */
  dParam(role: string): GpuTensor;
  /** Workspace declared in the record's `workspace().backward`, by name. */
  scratch(name: string): Promise<GpuTensor>;
}

/** A tensor kept from forward to backward beyond the node's inputs and output, or a workspace tensor. */
export interface SavedTensor {
  name: string;
  shape: number[];
  /** 'f32' for statistics and scan states; otherwise the run precision. */
  f32?: boolean;
  /** A saved tensor the forward writes only when a backward follows (`keepForBackward`): inference never asks for it. */
  backwardOnly?: boolean;
}

export interface Saves {
  /** Indices of the inputs the backward reads. */
  inputs: number[];
  output: boolean;
  tensors: SavedTensor[];
}

/** Node shapes with the batch substituted. */
export interface NodeShapes {
  inputs: number[][];
  output: number[];
}

/** A parameter computed on the GPU from stored ones (weight norm, A = -exp(A_log)), with its own backward. */
export interface DerivedParam {
  role: string;
  from: string[];
  applies(node: IrNode): boolean;
  /** f32 tensors the forward leaves for the backward (e.g. the weight norm's per-channel norms). */
  aux?(node: IrNode, shape: number[]): SavedTensor[];
  forward(s: ComputeSession, node: IrNode, from: GpuTensor[], out: GpuTensor, aux: GpuTensor[]): Promise<void>;
  backward(s: ComputeSession, node: IrNode, from: GpuTensor[], out: GpuTensor, aux: GpuTensor[], dOut: GpuTensor, dFrom: GpuTensor[]): Promise<void>;
}

export interface OpRecord {
  /** Records the node's forward dispatches (no flush). */
  forward(c: LowerContext): Promise<void>;
  /** Records the backward (no flush); absent for ops no gradient passes through (sanitize, laplacian_pe). */
  backward?(c: BackwardContext): Promise<void>;
  /** What the backward reads; default nothing. */
  saves?(node: IrNode, shapes: NodeShapes): Saves;
  /**
   * Every workspace tensor the forward and the backward ask for through `scratch`, in call order: the plans
   * size workspace from this, and the executors refuse a request it does not declare (so it cannot drift).
   */
  workspace?(node: IrNode, shapes: NodeShapes): { forward: SavedTensor[]; backward: SavedTensor[] };
  /** Shape the kernels take a stored parameter in, when it differs from the IR's (same element order). */
  paramShape?(role: string, shape: readonly number[]): number[];
  derived?: DerivedParam[];
}

/** Records the node's dispatches (no flush). */
export type Lowering = OpRecord['forward'];

export function attr<T>(node: IrNode, name: string): T {
  const v = node.attrs[name];
  if (v === undefined) throw new Error(`${node.id} (${node.op}): attribute "${name}" is missing`);
  return v as T;
}

export const NO_SAVES: Saves = { inputs: [], output: false, tensors: [] };
