// Attribute specifications of the ops and their validation: one rule per kind, errors name the attribute.
import type { AttrValue, Attrs, Dim } from './ir.ts';
import { GraphError } from './errors.ts';

/** The largest dimension the IR accepts (2^31 - 1: offsets into one dimension must fit in an i32). */
export const MAX_DIM = 2 ** 31 - 1;

export type AttrSpec =
  | { kind: 'int'; min: number; max?: number }
  | { kind: 'number'; min?: number; max?: number; maxExclusive?: boolean; minExclusive?: boolean }
  | { kind: 'nullable-number'; min?: number }
  | { kind: 'bool' }
  | { kind: 'padding' }
  | { kind: 'shape' }
  | { kind: 'perm' }
  | { kind: 'edges' }
  | { kind: 'last-axis' };

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function fail(where: string, name: string, what: string, v: unknown): never {
  throw new GraphError(`${where}: attribute "${name}" ${what}, got ${JSON.stringify(v)}`);
}

function checkInt(where: string, name: string, v: unknown, min: number, max = MAX_DIM): void {
  if (typeof v === 'number' && !Number.isFinite(v)) fail(where, name, 'must be finite', String(v));
  if (!isInt(v)) fail(where, name, 'must be an integer', v);
  if (v < min || v > max) fail(where, name, `must be in [${min}, ${max}]`, v);
}

/** Validates one attribute value against its spec; throws a GraphError naming it. */
export function checkAttr(where: string, name: string, spec: AttrSpec, v: AttrValue | undefined): void {
  if (v === undefined) throw new GraphError(`${where}: attribute "${name}" is missing`);
  switch (spec.kind) {
    case 'int':
      return checkInt(where, name, v, spec.min, spec.max);
    case 'number': {
      if (typeof v !== 'number') fail(where, name, 'must be a number', v);
      if (!Number.isFinite(v)) fail(where, name, 'must be finite', String(v));
      if (spec.min !== undefined && (spec.minExclusive ? v <= spec.min : v < spec.min)) fail(where, name, `must be ${spec.minExclusive ? '>' : '>='} ${spec.min}`, v);
      if (spec.max !== undefined && (spec.maxExclusive ? v >= spec.max : v > spec.max)) fail(where, name, `must be ${spec.maxExclusive ? '<' : '<='} ${spec.max}`, v);
      return;
    }
    case 'nullable-number':
      if (v === null) return;
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, name, 'must be a finite number or null', v);
      if (spec.min !== undefined && v < spec.min) fail(where, name, `must be >= ${spec.min}`, v);
      return;
    case 'bool':
      if (typeof v !== 'boolean') fail(where, name, 'must be true or false', v);
      return;
    case 'padding':
      if (!Array.isArray(v) || v.length !== 2) fail(where, name, 'must be [left, right]', v);
      v.forEach((p, i) => checkInt(where, `${name}[${i}]`, p, 0));
      return;
    case 'shape':
      if (!Array.isArray(v) || v.length === 0) fail(where, name, 'must be a non-empty array of dimensions', v);
      v.forEach((d, i) => {
        if (d === 'B') {
          if (i !== 0) fail(where, `${name}[${i}]`, 'may be "B" only as the first dimension', d);
        } else checkInt(where, `${name}[${i}]`, d, 1);
      });
      return;
    case 'perm': {
      if (!Array.isArray(v) || v.length === 0) fail(where, name, 'must be a non-empty array of axes', v);
      v.forEach((a, i) => checkInt(where, `${name}[${i}]`, a, 0, v.length - 1));
      if (new Set(v).size !== v.length) fail(where, name, 'must be a permutation (an axis repeats)', v);
      return;
    }
    case 'edges':
      if (!Array.isArray(v) || v.length === 0) fail(where, name, 'must be a non-empty array of [i, j] pairs', v);
      v.forEach((e, i) => {
        if (!Array.isArray(e) || e.length !== 2) fail(where, `${name}[${i}]`, 'must be a pair [i, j]', e);
        checkInt(where, `${name}[${i}][0]`, e[0], 0);
        checkInt(where, `${name}[${i}][1]`, e[1], 0);
        if (e[0] === e[1]) fail(where, `${name}[${i}]`, 'must join two different nodes', e);
      });
      return;
    case 'last-axis':
      if (v !== -1) fail(where, name, 'must be -1 (only the last axis is supported)', v);
      return;
  }
}

/** Checks that attrs holds exactly the specified attributes, each valid. */
export function checkAttrs(where: string, specs: Record<string, AttrSpec>, attrs: Attrs): void {
  if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs)) throw new GraphError(`${where}: "attrs" must be an object`);
  for (const k of Object.keys(attrs)) {
    if (!(k in specs)) {
      const known = Object.keys(specs);
      throw new GraphError(`${where}: unknown attribute "${k}" (this op takes ${known.length ? known.join(', ') : 'no attributes'})`);
    }
  }
  for (const [k, spec] of Object.entries(specs)) checkAttr(where, k, spec, attrs[k]);
}

export const int = (a: Attrs, k: string): number => a[k] as number;
export const num = (a: Attrs, k: string): number => a[k] as number;
export const bool = (a: Attrs, k: string): boolean => a[k] as boolean;
export const dims = (a: Attrs, k: string): Dim[] => a[k] as Dim[];
