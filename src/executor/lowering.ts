// What a lowering sees: one IR node, its input and output buffers, its parameters, and a place for workspace.
import type { IrNode } from '../graph/ir.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import type { ComputeSession } from '../gpu/session.ts';
import type { Precision } from '../gpu/precision.ts';

export interface LowerContext {
  s: ComputeSession;
  node: IrNode;
  inputs: GpuTensor[];
  output: GpuTensor;
  precision: Precision;
  /** The node's parameter or buffer by role, uploaded in the run's precision. */
  param(role: string): GpuTensor;
  /** Workspace for this node, valid until the next flush. */
  scratch(shape: readonly number[], label: string, precision?: Precision): Promise<GpuTensor>;
}

/** Records the node's dispatches (no flush). */
export type Lowering = (c: LowerContext) => Promise<void>;

export function attr<T>(node: IrNode, name: string): T {
  const v = node.attrs[name];
  if (v === undefined) throw new Error(`${node.id} (${node.op}): attribute "${name}" is missing`);
  return v as T;
}
