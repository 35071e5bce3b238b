// Lowerings of the graph stages: cosine edge features, top-k adjacency, SSGConv (propagation on the GPU over all
// B*T graphs at once, then the linear layer as one matmul): no loop over graphs anywhere.
import { COSINE_EPS, cosineEdges } from '../kernels/cosine-edges.ts';
import { topkAdjacency } from '../kernels/topk-adjacency.ts';
import { ssgconvPropagate } from '../kernels/ssgconv.ts';
import { matmul } from '../kernels/matmul.ts';
import { viewAs } from '../kernels/layout.ts';
import { attr, type Lowering } from './lowering.ts';

export const GRAPH_OP_LOWERINGS: Record<string, Lowering> = {
  cosine_edges: async (c) => {
    const [B, E, T, D] = c.inputs[0]!.shape as [number, number, number, number];
    if (attr<number>(c.node, 'eps') !== COSINE_EPS) throw new Error(`${c.node.id}: cosine eps ${c.node.attrs.eps}; the kernel uses ${COSINE_EPS}`);
    await cosineEdges(c.s, { B, E, T, D }, c.inputs[0]!, 'BETD', c.output, c.node.id);
  },
  topk_adjacency: async (c) => {
    const [B, T, E] = c.output.shape as [number, number, number, number];
    const selfLoop = attr<number>(c.node, 'isolated_self_loop');
    if (selfLoop !== 1) throw new Error(`${c.node.id}: isolated_self_loop ${selfLoop}; the kernel adds self-loops of weight 1`);
    await topkAdjacency(c.s, { B, T, E }, c.inputs[0]!, viewAs(c.output, [B * T, E, E]), {
      k: attr<number>(c.node, 'k'), threshold: attr<number>(c.node, 'threshold'), label: c.node.id,
    });
  },
  ssgconv: async (c) => {
    const [x, adj] = c.inputs as [typeof c.output, typeof c.output];
    const [B, E, T, F] = x.shape as [number, number, number, number];
    const h = await c.scratch(x.shape, 'propagated');
    await ssgconvPropagate(c.s, { B, T, E, F }, 'sequence-major', x, viewAs(adj, [B * T, E, E]), h, {
      alpha: attr<number>(c.node, 'alpha'), K: attr<number>(c.node, 'K'), label: `${c.node.id}.propagate`,
    });
    const out = attr<number>(c.node, 'out_features');
    await matmul(c.s, viewAs(h, [B * E * T, F]), c.param('lin.weight'), viewAs(c.output, [B * E * T, out]), {
      transB: true, bias: attr<boolean>(c.node, 'bias') ? c.param('lin.bias') : undefined, label: `${c.node.id}.lin`,
    });
  },
};
