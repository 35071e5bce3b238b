// Every IR op's record (forward, backward, saved tensors, derived parameters, workspace), in one table.
import type { IrDocument, IrNode } from '../graph/ir.ts';
import { concreteShape } from '../graph/accounting.ts';
import { type Precision, tensorBytes } from '../gpu/precision.ts';
import { NO_SAVES, type NodeShapes, type OpRecord, type Saves } from './lowering.ts';
import { TENSOR_OP_RECORDS } from './lower-tensor-ops.ts';
import { DENSE_RECORDS } from './lower-dense.ts';
import { CONV_RECORDS } from './lower-conv.ts';
import { MAMBA_RECORDS } from './lower-mamba.ts';
import { GRAPH_OP_RECORDS } from './lower-graph-ops.ts';

export const RECORDS: Record<string, OpRecord> = {
  ...TENSOR_OP_RECORDS,
  ...DENSE_RECORDS,
  ...CONV_RECORDS,
  ...MAMBA_RECORDS,
  ...GRAPH_OP_RECORDS,
};

export function recordOf(node: IrNode): OpRecord {
  const r = Object.hasOwn(RECORDS, node.op) ? RECORDS[node.op] : undefined;
  if (!r) throw new Error(`executor: op "${node.op}" (node ${node.id}) has no WebGPU record`);
  return r;
}

export function nodeShapes(ir: IrDocument, node: IrNode, batch: number): NodeShapes {
  return { inputs: node.inputs.map((t) => concreteShape(ir.tensors[t]!.shape, batch)), output: concreteShape(ir.tensors[node.outputs[0]!]!.shape, batch) };
}

export function savesOf(ir: IrDocument, node: IrNode, batch: number): Saves {
  return recordOf(node).saves?.(node, nodeShapes(ir, node, batch)) ?? NO_SAVES;
}

/** The largest single tensor a node keeps for its backward or asks for as workspace (micro-batch fitting). */
export function largestNodeTensor(ir: IrDocument, batch: number, p: Precision): number {
  let largest = 0;
  for (const n of ir.nodes) {
    const r = recordOf(n), sh = nodeShapes(ir, n, batch);
    const ws = r.workspace?.(n, sh);
    for (const t of [...(r.saves?.(n, sh).tensors ?? []), ...(ws?.forward ?? []), ...(ws?.backward ?? [])]) {
      largest = Math.max(largest, tensorBytes(t.shape, t.f32 ? 'f32' : p));
    }
  }
  return largest;
}
