// Every kernel family's cases in one list, shared by the Node kernel suites and the browser suite.
// A new family adds one import and one entry below.
import type { KernelCase } from '../../harness/kernel-harness.ts';
import { elementwiseCases } from './elementwise.cases.ts';
import { reduceCases } from './reduce.cases.ts';
import { layerNormCases } from './layernorm.cases.ts';
import { matmulCases } from './matmul.cases.ts';
import { conv1dCases } from './conv1d.cases.ts';
import { weightNormCases } from './weight-norm.cases.ts';
import { depthwiseConvCases } from './depthwise-conv.cases.ts';
import { gatedRmsNormCases } from './gated-rmsnorm.cases.ts';
import { headCases } from './head.cases.ts';
import { mambaScanCases } from './mamba-scan.cases.ts';
import { cosineEdgesCases } from './cosine-edges.cases.ts';
import { topkAdjacencyCases } from './topk-adjacency.cases.ts';
import { ssgconvCases } from './ssgconv.cases.ts';
import { layoutOpsCases } from './layout-ops.cases.ts';
import { focalLossCases } from './focal-loss.cases.ts';

export interface CaseFamily {
  family: string;
  cases: () => KernelCase[];
}

export const CASE_FAMILIES: CaseFamily[] = [
  { family: 'elementwise', cases: elementwiseCases },
  { family: 'reduce', cases: reduceCases },
  { family: 'layernorm', cases: layerNormCases },
  { family: 'matmul', cases: matmulCases },
  { family: 'conv1d', cases: conv1dCases },
  { family: 'weight-norm', cases: weightNormCases },
  { family: 'depthwise-conv', cases: depthwiseConvCases },
  { family: 'gated-rmsnorm', cases: gatedRmsNormCases },
  { family: 'head', cases: headCases },
  { family: 'mamba-scan', cases: mambaScanCases },
  { family: 'cosine-edges', cases: cosineEdgesCases },
  { family: 'topk-adjacency', cases: topkAdjacencyCases },
  { family: 'ssgconv', cases: ssgconvCases },
  { family: 'layout-ops', cases: layoutOpsCases },
  { family: 'focal-loss', cases: focalLossCases },
];

export interface FamilyCase {
  family: string;
  case: KernelCase;
}

/**
 * The cases of every family, or at most `perFamily` of each, spread evenly over the family's list (its first
 * and last included) so that a subset still covers small and awkward shapes as well as large ones.
 */
export function selectCases(perFamily = Infinity, families?: readonly string[]): FamilyCase[] {
  if (!(perFamily >= 1)) throw new Error(`selectCases: perFamily must be at least 1, got ${perFamily}`);
  const known = CASE_FAMILIES.map((f) => f.family);
  const unknown = (families ?? []).filter((f) => !known.includes(f));
  if (unknown.length) throw new Error(`selectCases: unknown kernel family ${unknown.join(', ')} (known: ${known.join(', ')})`);
  const out: FamilyCase[] = [];
  for (const f of CASE_FAMILIES) {
    if (families && !families.includes(f.family)) continue;
    const all = f.cases();
    out.push(...spread(all, perFamily).map((c) => ({ family: f.family, case: c })));
  }
  return out;
}

/** n items of a list at evenly spaced positions, first and last included (all of it when n >= its length). */
function spread<T>(items: T[], n: number): T[] {
  if (n >= items.length) return items;
  if (n === 1) return [items[0]!];
  const picked = new Set<number>();
  for (let k = 0; k < n; k++) picked.add(Math.round((k * (items.length - 1)) / (n - 1)));
  return [...picked].sort((a, b) => a - b).map((i) => items[i]!);
}
