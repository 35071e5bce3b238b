"""One torch module per IR op (docs/ir.md op table); `build_op` makes the module of one IR node."""
from __future__ import annotations

from torch import nn

from ..ir import IrNode
from .basic import (Add, Clamp, Concat, Conv1d, Dropout, LayerNorm, Linear, Permute, ReLU, Reshape, Sanitize,
                    Softplus, UpsampleNearest)
from .graph_ops import CosineEdges, LaplacianPE, SSGConv, TopkAdjacency
from .mamba2 import Mamba2

OP_MODULES: dict[str, type[nn.Module]] = {
    "sanitize": Sanitize, "conv1d": Conv1d, "relu": ReLU, "softplus": Softplus, "dropout": Dropout,
    "clamp": Clamp, "add": Add, "reshape": Reshape, "permute": Permute, "concat": Concat, "linear": Linear,
    "layer_norm": LayerNorm, "mamba2": Mamba2, "cosine_edges": CosineEdges, "topk_adjacency": TopkAdjacency,
    "laplacian_pe": LaplacianPE, "ssgconv": SSGConv, "upsample_nearest": UpsampleNearest,
}


def build_op(node: IrNode) -> nn.Module:
    cls = OP_MODULES.get(node.op)
    if cls is None:  # parse_ir refuses unknown ops first; this guards hand-made nodes
        raise ValueError(f'node "{node.id}": no torch module for op "{node.op}"')
    return cls(node.attrs)
