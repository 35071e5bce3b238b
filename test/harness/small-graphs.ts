// Small graphs that several tests count by hand.
import { GraphBuilder } from '../../src/graph/builder.ts';
import type { IrDocument } from '../../src/graph/ir.ts';

/** x [B, 7, 3] -> l1 linear 3->5 -> r relu -> l2 linear 5->2, both with bias. */
export function linearReluLinear(): IrDocument {
  const g = new GraphBuilder('t', {});
  const x = g.input('x', ['B', 7, 3]);
  const h = g.node('l1', 'linear', [x], { in_features: 3, out_features: 5, bias: true });
  const r = g.node('r', 'relu', [h]);
  g.node('l2', 'linear', [r], { in_features: 5, out_features: 2, bias: true });
  return g.build(['l2']);
}
