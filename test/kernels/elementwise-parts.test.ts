// Which dispatches an elementwise op makes (no GPU): the kernel cases in cases/elementwise.cases.ts must reach
// the 16-byte chunks alone, chunks followed by a tail of pairs, and pairs alone, in every precision; the parts
// must cover every element exactly once.
import { describe, expect, it } from 'vitest';
import { PRECISIONS, rowStride } from '../../src/gpu/precision.ts';
import { elementwiseParts } from '../../src/kernels/elementwise.ts';
import { vecLanes } from '../../src/kernels/layout.ts';
import { ELEMENTWISE_GRID_SPLIT, ELEMENTWISE_SHAPES } from './cases/elementwise.cases.ts';

describe('elementwise parts', () => {
  it.each(PRECISIONS)('the cases reach chunks, chunks + tail, pairs alone and a split grid (%s)', (p) => {
    const seen = new Set<string>();
    for (const shape of [...ELEMENTWISE_SHAPES, ELEMENTWISE_GRID_SPLIT]) {
      const parts = elementwiseParts({ shape, precision: p }, 'relu', false);
      seen.add(parts.map((x) => (x.defines ? 'chunks' : x.tail ? 'tail' : 'pairs')).join(' + '));
      if (parts.some((x) => x.workgroups > 65535)) seen.add('split grid');
    }
    const want = ['chunks', 'chunks + tail', 'pairs', ...(p === 'f32' ? ['split grid'] : [])];
    for (const w of want) expect(seen, `no case reaches "${w}" in ${p}`).toContain(w);
  });

  it('covers every element once: chunks from 0, the tail from where they end, pairs only where rows are padded', () => {
    for (const p of PRECISIONS) {
      for (const shape of ELEMENTWISE_SHAPES) {
        const count = shape.reduce((a, b) => a * b, 1);
        const cols = shape[shape.length - 1]!;
        const parts = elementwiseParts({ shape, precision: p }, 'add', true);
        expect(parts.reduce((a, x) => a + x.elements, 0), `[${shape}] ${p}`).toBe(count);
        const [first, tail] = parts;
        if (first!.defines) {
          expect(rowStride(cols, p), `[${shape}] ${p}: chunks over padded rows`).toBe(cols);
          expect(first!.elements % vecLanes(p)).toBe(0);
          expect(first!.constants).toEqual({ OP: 0 });
          if (tail) expect(tail.params[4], `[${shape}] ${p}: tail base`).toBe(first!.elements);
        }
      }
    }
    // The pair kernel alone when asked (the bench's baseline).
    expect(elementwiseParts({ shape: [1000], precision: 'f32' }, 'relu', false, false).map((x) => x.entry)).toEqual(['relu']);
  });
});
