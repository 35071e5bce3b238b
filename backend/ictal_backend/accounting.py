"""The activation memory a training step keeps for backward, per the lab's accounting (src/train/saved-activations.ts,
which sums the op records' `saves` declarations in src/executor/lower-*.ts): the same rules, ported only as far as
the run API needs them to refuse a graph too big to train before anything is allocated. f32 sizes (4 bytes an
element, every tensor rounded up to a whole pair as the lab's arena does), which bound the f16 modes.
"""
from __future__ import annotations

import math

from .ir import IrGraph, Shape, mamba_dims

SCAN_HIST = 256  # states a scan channel recomputes (src/kernels/mamba-scan.ts SCAN_HIST)


def _concrete(shape: Shape, batch: int) -> list[int]:
    return [batch if d == "B" else int(d) for d in shape]


def _bytes(elements: int) -> int:
    return 4 * (elements + (elements & 1))


def _default_chunk(d_state: int) -> int:
    """The scan kernels' chunk (mamba-scan.ts defaultChunk): the backward keeps a state at each chunk start."""
    return min(32, SCAN_HIST // d_state)


def saved_activation_bytes(graph: IrGraph, batch: int = 1) -> int:
    """Bytes (f32) the forward pass keeps for the backward pass at this batch size: the inputs and outputs the ops'
    backwards read (each once; a reshape shares its input's storage) plus the tensors the ops keep of their own.
    Matches the TypeScript `savedActivationBytes(ir, batch, 'f32')` (`npx ictal graph --json` activations.f32)."""
    needs_grad: set[str] = set()
    root: dict[str, str] = {}
    saved: set[str] = set()
    own = 0
    for n in graph.nodes:
        ins = [_concrete(graph.tensors[t], batch) for t in n.inputs]
        out = _concrete(graph.tensors[n.output], batch)
        nd = [t in needs_grad for t in n.inputs]
        if n.op == "reshape":
            root[n.output] = root.get(n.inputs[0], n.inputs[0])
        # sanitize and laplacian_pe have no backward: their input is the data, their output a constant
        if n.op in ("sanitize", "laplacian_pe") or not (n.params or any(nd)):
            continue  # nothing to differentiate: nothing kept
        needs_grad.add(n.output)
        a = n.attrs
        saved_inputs: list[int] = []
        save_output = False
        tensors: list[int] = []  # element counts of the op's own saved tensors
        if n.op == "relu":
            save_output = True  # relu'(x) = [relu(x) > 0]
        elif n.op in ("softplus", "clamp", "conv1d", "linear", "cosine_edges", "topk_adjacency"):
            saved_inputs = [0]
        elif n.op == "layer_norm":
            rows = math.prod(out) // int(a["normalized_shape"])
            saved_inputs, tensors = [0], [rows, rows]  # mean and rstd
        elif n.op == "mamba2":
            m = mamba_dims(a)
            tokens = math.prod(out) // m["D"]
            length = out[-2]
            seqs = tokens // length
            chunks = math.ceil(length / _default_chunk(m["N"]))
            saved_inputs = [0]
            # zxbcdt, conv (pre-SiLU), xbc, scan output, normalised output; chunk-start states; rstd per token
            tensors = [tokens * m["d_in_proj"], tokens * m["conv_dim"], tokens * m["conv_dim"], tokens * m["d_inner"],
                       tokens * m["d_inner"], seqs * chunks * m["H"] * m["P"] * m["N"], tokens]
        elif n.op == "ssgconv":
            saved_inputs, tensors = [0, 1], [math.prod(ins[0])]  # x, adj, and the propagated features
        for k in saved_inputs:
            saved.add(root.get(n.inputs[k], n.inputs[k]))
        if save_output:
            saved.add(root.get(n.output, n.output))
        own += sum(_bytes(t) for t in tensors)
    return own + sum(_bytes(math.prod(_concrete(graph.tensors[t], batch))) for t in saved)
