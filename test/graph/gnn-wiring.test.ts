// The GNN's second layer is post-norm with the residual inside the norm, as the original computes:
// h2 = Dropout(LayerNorm(SSG_2(h1) + h1)) (V3_MODEL.md step 8). Checked on the IR's structure and on numbers
// from the float64 reference forward, so that neither the builder nor the reference can drift back.
import { describe, expect, it } from 'vitest';
import { buildV3 } from '../../src/graph/v3.ts';
import { preset } from '../../src/graph/config.ts';
import { initWeights } from '../../src/graph/init.ts';
import { referenceForward } from '../../src/graph/reference-forward.ts';

describe('GNN wiring', () => {
  const ir = buildV3('v3-tiny', preset('v3-tiny'));
  const node = (id: string) => {
    const n = ir.nodes.find((m) => m.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  };

  it('layer 1 is SSG -> LayerNorm -> Dropout, with no residual', () => {
    expect(node('gnn.layers.0.norm').inputs).toEqual(node('gnn.layers.0.conv').outputs);
    expect(node('gnn.layers.0.dropout').inputs).toEqual(node('gnn.layers.0.norm').outputs);
    expect(ir.nodes.some((n) => n.id === 'gnn.layers.0.add')).toBe(false);
  });

  it('layer 2 adds its input to the SSG output before the norm, and its output is the dropout', () => {
    const h1 = node('gnn.layers.0.dropout').outputs[0]!;
    expect(node('gnn.layers.1.conv').inputs[0]).toBe(h1);
    expect(node('gnn.layers.1.add').inputs).toEqual([node('gnn.layers.1.conv').outputs[0], h1]);
    expect(node('gnn.layers.1.norm').inputs).toEqual(node('gnn.layers.1.add').outputs);
    expect(node('gnn.layers.1.dropout').inputs).toEqual(node('gnn.layers.1.norm').outputs);
    expect(node('head.permute').inputs).toEqual(node('gnn.layers.1.dropout').outputs);
  });

  it('the float64 forward computes LayerNorm(SSG_2(h1) + h1) for layer 2', () => {
    const weights = initWeights(ir, 7);
    // Non-trivial norm parameters, so that a swapped order could not agree by accident.
    const w = weights.get('gnn.layers.1.norm.weight')!, b = weights.get('gnn.layers.1.norm.bias')!;
    w.data.forEach((_, i) => { w.data[i] = 0.5 + 0.01 * i; b.data[i] = 0.02 * i - 0.1; });
    const inShape = ir.tensors[ir.inputs[0]!]!.shape.map((d) => (d === 'B' ? 2 : d)) as number[];
    const data = Float64Array.from({ length: inShape.reduce((a, c) => a * c, 1) }, (_, i) => Math.sin(i * 0.37) * 2);
    const values = referenceForward(ir, weights, { shape: inShape, data });
    const ssg = values.get(node('gnn.layers.1.conv').outputs[0]!)!.data;
    const h1 = values.get(node('gnn.layers.0.dropout').outputs[0]!)!.data;
    const out = values.get(node('gnn.layers.1.dropout').outputs[0]!)!.data;
    const G = w.data.length;
    let worst = 0;
    for (let r = 0; r < out.length / G; r++) {
      const v = Array.from({ length: G }, (_, j) => ssg[r * G + j]! + h1[r * G + j]!);
      const mean = v.reduce((a, c) => a + c, 0) / G;
      const variance = v.reduce((a, c) => a + (c - mean) ** 2, 0) / G;
      for (let j = 0; j < G; j++) {
        const want = ((v[j]! - mean) / Math.sqrt(variance + 1e-5)) * w.data[j]! + b.data[j]!;
        worst = Math.max(worst, Math.abs(want - out[r * G + j]!));
      }
    }
    expect(worst).toBeLessThan(1e-9);
  });
});
