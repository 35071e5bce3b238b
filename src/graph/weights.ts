// Weights files of an IR: write the initial weights, and load a file checked against the IR's declarations.
import type { IrDocument } from './ir.ts';
import { formatShape } from './ir.ts';
import type { WeightMap } from './init.ts';
import { readSafetensors, tensorValues, writeSafetensors } from './safetensors.ts';
import { GraphError } from './errors.ts';

export function encodeWeights(ir: IrDocument, weights: WeightMap, seed?: number): Uint8Array {
  const meta: Record<string, string> = { format: 'ictal', ictal_ir: String(ir.ictal_ir), graph: ir.name };
  if (seed !== undefined) meta.seed = String(seed);
  return writeSafetensors(weights, meta);
}

/**
 * Every parameter and buffer the IR declares, as float32, from a safetensors file. Refuses a file that lacks
 * a declared key, has a wrong shape or a non-float dtype, or holds keys the IR does not declare.
 */
export function loadWeights(ir: IrDocument, file: Uint8Array): WeightMap {
  const { tensors } = readSafetensors(file);
  const declared = new Map<string, number[]>([
    ...Object.entries(ir.params).map(([k, p]) => [k, p.shape] as [string, number[]]),
    ...Object.entries(ir.buffers).map(([k, b]) => [k, b.shape] as [string, number[]]),
  ]);
  for (const k of tensors.keys()) if (!declared.has(k)) throw new GraphError(`weights: tensor "${k}" is not a parameter or buffer of graph "${ir.name}"`);
  const out: WeightMap = new Map();
  for (const [k, shape] of declared) {
    const t = tensors.get(k);
    if (!t) throw new GraphError(`weights: parameter "${k}" ${formatShape(shape)} is missing from the file`);
    if (formatShape(t.shape) !== formatShape(shape)) throw new GraphError(`weights: "${k}" has shape ${formatShape(t.shape)} in the file, the graph declares ${formatShape(shape)}`);
    if (!['F32', 'F16', 'BF16', 'F64'].includes(t.dtype)) throw new GraphError(`weights: "${k}" is ${t.dtype}; parameters must be floating point (F32, F16, BF16, F64)`);
    out.set(k, { shape: [...shape], data: Float32Array.from(tensorValues(t)) });
  }
  return out;
}
