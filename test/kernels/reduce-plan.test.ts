// The column reduction's plan and geometry (no GPU): the kernel cases in cases/reduce.cases.ts must reach every
// variant of reduce_cols.wgsl in every precision, and the partial-sum workspace the plan declares (which the
// training plan reserves without knowing the precision) must hold what the kernel writes in any precision.
import { describe, expect, it } from 'vitest';
import { PRECISIONS, type Precision } from '../../src/gpu/precision.ts';
import { colsGeometry, keepRowsVectorised, reducePlan, sumKeepPlan } from '../../src/kernels/reduce.ts';
import { COLS_GRID_SPLIT, REDUCE_SHAPES, SUM_KEEP_SHAPES } from './cases/reduce.cases.ts';

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** [outer, n, inner] of a reduction of `shape` along `axis`. */
function dims(shape: readonly number[], axis: number) {
  return { outer: prod(shape.slice(0, axis)), n: shape[axis]!, inner: prod(shape.slice(axis + 1)) };
}

/** Every column-kernel run of the reduce cases: reductions along a non-last axis and sumKeep of the last axis. */
function columnRuns(): { what: string; shape: number[]; d: ReturnType<typeof dims> }[] {
  const runs = [];
  for (const [shape, axis] of [...REDUCE_SHAPES, COLS_GRID_SPLIT]) {
    if (axis !== shape.length - 1) runs.push({ what: `reduce [${shape}] axis ${axis}`, shape, d: dims(shape, axis) });
  }
  for (const [shape, keep] of SUM_KEEP_SHAPES) {
    if (keep === shape.length - 1) runs.push({ what: `sumKeep [${shape}] keep ${keep}`, shape, d: { outer: 1, n: prod(shape.slice(0, -1)), inner: shape[keep]! } });
  }
  return runs;
}

describe('column reduction plan', () => {
  it.each(PRECISIONS)('the cases reach 16-byte and pair loads, one and two passes, and a split grid (%s)', (p: Precision) => {
    const seen = new Set<string>();
    for (const { shape, d } of columnRuns()) {
      const g = colsGeometry({ shape, precision: p }, d);
      seen.add(`lanes ${g.lanes}`);
      seen.add(g.plan.path);
      if (g.plan.path === 'cols-two-pass' && d.n % g.plan.blockLen !== 0) seen.add('partial last tile');
      if (g.plan.path === 'cols-two-pass' && g.plan.blockLen % 32 !== 0) seen.add('unroll remainder');
      if (g.groups % 32 !== 0) seen.add('part-filled workgroup');
      if (g.colWgs * g.plan.blocks > 65535) seen.add('split grid');
      if (g.outRows > d.outer && d.outer > 1) seen.add('several stored rows per output row');
    }
    const vector = p === 'f32' ? 'lanes 4' : 'lanes 8';
    for (const want of ['lanes 2', vector, 'cols', 'cols-two-pass', 'partial last tile', 'unroll remainder', 'part-filled workgroup', 'split grid', 'several stored rows per output row']) {
      expect(seen, `no case reaches "${want}" in ${p}`).toContain(want);
    }
  });

  it.each(PRECISIONS)('the sumKeep cases read rows as 16-byte chunks and as elements (%s)', (p: Precision) => {
    const rows = SUM_KEEP_SHAPES.filter(([shape, keep]) => sumKeepPlan(shape, keep).path === 'keep-rows');
    const vec = rows.map(([shape, keep]) => keepRowsVectorised({ shape, precision: p }, keep));
    expect(vec).toContain(true);
    expect(vec).toContain(false);
    if (p === 'f16-storage') expect(keepRowsVectorised({ shape: [3, 4, 47], precision: p }, 1), 'a padded row in chunks').toBe(true);
  });

  it('declares a workspace that does not depend on the precision and holds what every precision writes', () => {
    for (const { what, shape, d } of columnRuns()) {
      const plans = PRECISIONS.map((p) => colsGeometry({ shape, precision: p }, d));
      for (const g of plans) {
        expect(g.plan, what).toEqual(plans[0]!.plan);
        expect(g.written, what).toBeLessThanOrEqual(g.plan.partialElements);
      }
    }
  });

  it('keeps the reduce and sumKeep plan functions consistent with the geometry the kernel runs', () => {
    expect(reducePlan([2000, 64], 0)).toEqual(colsGeometry({ shape: [2000, 64], precision: 'f32' }, dims([2000, 64], 0)).plan);
    expect(sumKeepPlan([3, 700, 64], 2)).toEqual(colsGeometry({ shape: [3, 700, 64], precision: 'f16' }, { outer: 1, n: 2100, inner: 64 }).plan);
    expect(reducePlan([4, 1000], 1).path).toBe('rows');
    expect(sumKeepPlan([4, 3, 1000], 0)).toMatchObject({ path: 'keep-rows', partialElements: 4 });
    expect(sumKeepPlan([1000, 7], 0)).toMatchObject({ path: 'keep-blocks' });
  });

  it('splits the bench shape [32768, 1024] into tiles that fill a large GPU with small partials', () => {
    const g = colsGeometry({ shape: [32768, 1024], precision: 'f32' }, dims([32768, 1024], 0));
    expect(g.lanes).toBe(4);
    expect(g.plan.path).toBe('cols-two-pass');
    // ~2^17 (tile, column) pairs: 1,024 workgroups of 256 invocations; partials under 1 % of x.
    expect(g.colWgs * g.plan.blocks).toBe(1024);
    expect(g.plan.partialElements / (32768 * 1024)).toBeLessThan(0.01);
  });
});
