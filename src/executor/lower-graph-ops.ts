// Records of the graph stages: cosine edge features, top-k adjacency, SSGConv (propagation on the GPU over all
// B*T graphs at once, then the linear layer as one matmul): no loop over graphs anywhere.
import { COSINE_EPS, cosineEdges, cosineEdgesBackward } from '../kernels/cosine-edges.ts';
import { topkAdjacency, topkAdjacencyBackward } from '../kernels/topk-adjacency.ts';
import { ssgconvPropagate, ssgconvPropagateBackward } from '../kernels/ssgconv.ts';
import { matmul, matmulBackward } from '../kernels/matmul.ts';
import { viewAs } from '../kernels/layout.ts';
import { attr, type OpRecord } from './lowering.ts';
import type { IrNode } from '../graph/ir.ts';

function topkOptions(node: IrNode) {
  const selfLoop = attr<number>(node, 'isolated_self_loop');
  if (selfLoop !== 1) throw new Error(`${node.id}: isolated_self_loop ${selfLoop}; the kernel adds self-loops of weight 1`);
  return { k: attr<number>(node, 'k'), threshold: attr<number>(node, 'threshold') };
}

const ssgOptions = (node: IrNode) => ({ alpha: attr<number>(node, 'alpha'), K: attr<number>(node, 'K') });

export const GRAPH_OP_RECORDS: Record<string, OpRecord> = {
  cosine_edges: {
    forward: async (c) => {
      const [B, E, T, D] = c.inputs[0]!.shape as [number, number, number, number];
      if (attr<number>(c.node, 'eps') !== COSINE_EPS) throw new Error(`${c.node.id}: cosine eps ${c.node.attrs.eps}; the kernel uses ${COSINE_EPS}`);
      await cosineEdges(c.s, { B, E, T, D }, c.inputs[0]!, 'BETD', c.output, c.node.id);
    },
    saves: () => ({ inputs: [0], output: false, tensors: [] }),
    backward: async (c) => {
      const du = c.dInput(0);
      if (!du) return;
      const u = c.input(0);
      const [B, E, T, D] = u.shape as [number, number, number, number];
      await cosineEdgesBackward(c.s, { B, E, T, D }, u, 'BETD', c.dOutput, du, `${c.node.id}.bwd`);
    },
  },
  topk_adjacency: {
    forward: async (c) => {
      const [B, T, E] = c.output.shape as [number, number, number, number];
      await topkAdjacency(c.s, { B, T, E }, c.inputs[0]!, viewAs(c.output, [B * T, E, E]), { ...topkOptions(c.node), label: c.node.id });
    },
    // the selection is recomputed from the weights
    saves: () => ({ inputs: [0], output: false, tensors: [] }),
    backward: async (c) => {
      const dw = c.dInput(0);
      if (!dw) return;
      const [B, T, E] = c.dOutput.shape as [number, number, number, number];
      await topkAdjacencyBackward(c.s, { B, T, E }, c.input(0), viewAs(c.dOutput, [B * T, E, E]), dw, { ...topkOptions(c.node), label: `${c.node.id}.bwd` });
    },
  },
  ssgconv: {
    forward: async (c) => {
      const [x, adj] = c.inputs as [typeof c.output, typeof c.output];
      const [B, E, T, F] = x.shape as [number, number, number, number];
      const h = await c.save('propagated');
      await ssgconvPropagate(c.s, { B, T, E, F }, 'sequence-major', x, viewAs(adj, [B * T, E, E]), h, { ...ssgOptions(c.node), label: `${c.node.id}.propagate` });
      const out = attr<number>(c.node, 'out_features');
      await matmul(c.s, viewAs(h, [B * E * T, F]), c.param('lin.weight'), viewAs(c.output, [B * E * T, out]), {
        transB: true, bias: attr<boolean>(c.node, 'bias') ? c.param('lin.bias') : undefined, label: `${c.node.id}.lin`,
      });
    },
    saves: (_n, sh) => ({ inputs: [0, 1], output: false, tensors: [{ name: 'propagated', shape: [...sh.inputs[0]!] }] }),
    backward: async (c) => {
      const x = c.input(0), adj = c.input(1), h = c.saved('propagated');
      const [B, E, T, F] = x.shape as [number, number, number, number];
      const out = attr<number>(c.node, 'out_features');
      const dx = c.dInput(0), dAdj = c.dInput(1);
      const dh = dx || dAdj ? await c.scratch('dpropagated') : undefined;
      await matmulBackward(c.s, viewAs(h, [B * E * T, F]), c.param('lin.weight'), viewAs(c.dOutput, [B * E * T, out]), {
        da: dh ? viewAs(dh, [B * E * T, F]) : undefined, db: c.dParam('lin.weight'), dbias: attr<boolean>(c.node, 'bias') ? c.dParam('lin.bias') : undefined,
      }, { transB: true, label: `${c.node.id}.lin` });
      if (!dh) return;
      await ssgconvPropagateBackward(c.s, { B, T, E, F }, 'sequence-major', x, viewAs(adj, [B * T, E, E]), dh,
        dx ?? await c.scratch('dx_unused'), viewAs(dAdj ?? await c.scratch('dadj_unused'), [B * T, E, E]),
        { ...ssgOptions(c.node), label: `${c.node.id}.propagate.bwd` });
    },
    workspace: (_n, sh) => ({ forward: [], backward: [{ name: 'dpropagated', shape: [...sh.inputs[0]!] }, { name: 'dx_unused', shape: [...sh.inputs[0]!] }, { name: 'dadj_unused', shape: [...sh.inputs[1]!] }] }),
  },
};
