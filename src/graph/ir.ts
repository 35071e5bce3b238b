// The IR document (docs/ir.md): what graph.json holds. Plain data, JSON-serialisable as is.

export const IR_VERSION = 1;

/** A dimension: a positive integer, or the batch symbol (first dimension of activation tensors only). */
export type Dim = number | 'B';
export type Shape = Dim[];

export type AttrValue = number | boolean | string | null | AttrValue[] | { [k: string]: AttrValue };
export type Attrs = Record<string, AttrValue>;

export interface IrTensor {
  shape: Shape;
}

/** How a fresh parameter is drawn (docs/ir.md, "Parameters and buffers"). */
export type InitRule =
  | { dist: 'uniform'; bound: number }
  | { dist: 'const'; value: number }
  | { dist: 'weight_norm_g'; of: string }
  | { dist: 'mamba_dt_bias'; dt_min: number; dt_max: number; dt_floor: number }
  | { dist: 'mamba_a_log'; low: number; high: number };

export interface IrParam {
  shape: number[];
  dtype: 'F32';
  weight_decay: boolean;
  init: InitRule;
}

export interface IrBuffer {
  shape: number[];
  dtype: 'F32';
  /** Row-major float64 content. */
  values: number[];
}

export interface IrNode {
  id: string;
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Attrs;
  /** role -> parameter name (always `${id}.${role}`). */
  params: Record<string, string>;
  /** role -> buffer name. */
  buffers: Record<string, string>;
}

export interface IrDocument {
  ictal_ir: typeof IR_VERSION;
  name: string;
  config: Attrs;
  inputs: string[];
  outputs: string[];
  tensors: Record<string, IrTensor>;
  params: Record<string, IrParam>;
  buffers: Record<string, IrBuffer>;
  nodes: IrNode[];
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Elements per batch item (the "B" dimension counts 1). */
export function numelPerBatch(shape: readonly Dim[]): number {
  return shape.reduce<number>((a, d) => a * (d === 'B' ? 1 : d), 1);
}

export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.join(', ')}]`;
}
