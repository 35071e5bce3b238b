"""The activation memory a training step keeps for backward, per the lab's accounting (docs/ir.md "Accounting",
src/graph/accounting.ts and cost.ts): the same rules, ported only as far as the run API needs them to refuse a
graph too big to train before anything is allocated. f32 sizes (4 bytes an element), which bound the f16 modes.
"""
from __future__ import annotations

import math

from .ir import IrGraph, Shape, mamba_dims

SCAN_CHUNK = 64  # the Mamba2 backward keeps scan states every this many steps (cost.ts SCAN_CHUNK)


def _concrete(shape: Shape, batch: int) -> list[int]:
    return [batch if d == "B" else int(d) for d in shape]


def saved_activation_bytes(graph: IrGraph, batch: int = 1) -> int:
    """Bytes (f32) the forward pass keeps for the backward pass at this batch size: the tensors ops read again
    (each once; a reshape shares its input's storage) plus op-internal values. Matches the TypeScript
    `graphSummary(ir, batch).activations.f32`."""
    needs_grad: set[str] = set()
    root: dict[str, str] = {}
    saved: set[str] = set()
    extra = 0
    for n in graph.nodes:
        ins = [_concrete(graph.tensors[t], batch) for t in n.inputs]
        out = _concrete(graph.tensors[n.output], batch)
        nd = [t in needs_grad for t in n.inputs]
        has_params = bool(n.params)
        if n.op == "reshape":
            root[n.output] = root.get(n.inputs[0], n.inputs[0])
        if has_params or any(nd):
            needs_grad.add(n.output)
        else:
            continue  # nothing to differentiate: nothing kept
        a = n.attrs
        saved_inputs: list[int] = []
        save_output = False
        act = f32 = raw = 0
        if n.op == "relu" and nd[0]:
            save_output = True
        elif n.op in ("softplus", "clamp") and nd[0]:
            saved_inputs = [0]
        elif n.op == "dropout" and nd[0]:
            raw = math.prod(out)  # one-byte mask per element
        elif n.op in ("conv1d", "linear"):
            saved_inputs = [0]
        elif n.op == "layer_norm":
            saved_inputs = [0]
            f32 = 2 * (math.prod(out) // int(a["normalized_shape"]))  # mean and rstd per row
        elif n.op == "mamba2":
            m = mamba_dims(a)
            tokens = math.prod(out) // m["D"]
            length = out[-2]
            sequences = tokens // length
            saved_inputs = [0]
            act = tokens * (m["d_in_proj"] + m["conv_dim"] + 2 * m["d_inner"])
            f32 = tokens + sequences * math.ceil(length / SCAN_CHUNK) * m["H"] * m["P"] * m["N"]
        elif n.op == "cosine_edges" and nd[0]:
            b, e, length, _ = ins[0]
            saved_inputs, f32 = [0], b * length * e
        elif n.op == "topk_adjacency" and nd[0]:
            b, length, e = out[0], out[1], out[2]
            raw = b * length * e * e  # kept mask
        elif n.op == "ssgconv":
            b, e, length, fin = ins[0]
            saved_inputs = [0, 1]
            act = b * length * e * fin * int(a["K"])
        for k in saved_inputs:
            saved.add(root.get(n.inputs[k], n.inputs[k]))
        if save_output:
            saved.add(root.get(n.output, n.output))
        extra += 4 * act + 4 * f32 + raw
    return extra + sum(4 * math.prod(_concrete(graph.tensors[t], batch)) for t in saved)
