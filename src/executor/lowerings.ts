// Every IR op the WebGPU executor runs, and the workspace estimate micro-batching needs.
import type { IrDocument } from '../graph/ir.ts';
import { mambaDims } from '../graph/ops.ts';
import { elementBytes, type Precision } from '../gpu/precision.ts';
import type { Lowering } from './lowering.ts';
import { TENSOR_OP_LOWERINGS } from './lower-tensor-ops.ts';
import { DENSE_LOWERINGS } from './lower-dense.ts';
import { CONV_LOWERINGS } from './lower-conv.ts';
import { MAMBA_LOWERINGS } from './lower-mamba.ts';
import { GRAPH_OP_LOWERINGS } from './lower-graph-ops.ts';

export const LOWERINGS: Record<string, Lowering> = {
  ...TENSOR_OP_LOWERINGS,
  ...DENSE_LOWERINGS,
  ...CONV_LOWERINGS,
  ...MAMBA_LOWERINGS,
  ...GRAPH_OP_LOWERINGS,
};

/** The largest single workspace tensor a node asks for (the Mamba2 in_proj output dominates). */
export function scratchBytesEstimate(ir: IrDocument, batch: number, p: Precision): number {
  let largest = 0;
  for (const n of ir.nodes) {
    if (n.op !== 'mamba2') continue;
    const shape = ir.tensors[n.inputs[0]!]!.shape;
    const per = shape.reduce<number>((a, d) => a * (d === 'B' ? batch : d), 1);
    const md = mambaDims(n.attrs);
    largest = Math.max(largest, (per / (n.attrs.d_model as number)) * md.dInProj * elementBytes(p));
  }
  return largest;
}
