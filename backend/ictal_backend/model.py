"""The IR as one torch module: the nodes' modules, run in the IR's (topological) order.

Parameter and buffer names are the IR's (`<node id>.<role>`), available through `ir_tensors()`; torch's own
state_dict keys differ only because ModuleDict keys cannot hold dots.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from .ir import IrGraph
from .modules import build_op
from .modules.mamba2 import Mamba2


def _key(node_id: str) -> str:
    return node_id.replace(".", "/")


class GraphModel(nn.Module):
    def __init__(self, graph: IrGraph, scan_impl: str = "auto"):
        super().__init__()
        self.graph = graph
        self.ops = nn.ModuleDict({_key(n.id): build_op(n) for n in graph.nodes})
        self.set_scan_impl(scan_impl)
        # After a node runs, the tensors no later node reads are dropped (peak memory, not just the end).
        last_use: dict[str, int] = {}
        for k, n in enumerate(graph.nodes):
            for t in n.inputs:
                last_use[t] = k
        self._free_after = [[t for t in n.inputs if last_use[t] == k and t not in graph.outputs]
                            for k, n in enumerate(graph.nodes)]
        self._segments: list[_Segment] | None = None  # set by compile_non_scan
        with torch.no_grad():
            for name, buf in graph.buffers.items():
                self.ir_tensors()[name].copy_(torch.tensor(buf.values, dtype=torch.float64).reshape(buf.shape))

    def set_scan_impl(self, impl: str, checkpoint: str | None = None) -> None:
        """Which scan the Mamba2 blocks use; `checkpoint` (when given: none, scan, block) what they recompute in
        backward instead of keeping."""
        if checkpoint not in (None, "none", "scan", "block"):
            raise ValueError(f"checkpoint must be none, scan or block, got {checkpoint!r}")
        for m in self.modules():
            if isinstance(m, Mamba2):
                m.scan_impl = impl
                if checkpoint is not None:
                    m.checkpoint = checkpoint

    def ir_tensors(self) -> dict[str, torch.Tensor]:
        """IR name -> parameter or buffer (the tensors themselves, not copies)."""
        out: dict[str, torch.Tensor] = {}
        for n in self.graph.nodes:
            module = self.ops[_key(n.id)]
            named = dict(module.named_parameters())
            named.update(dict(module.named_buffers()))
            for role, name in {**n.params, **n.buffers}.items():
                out[name] = named[role]
        return out

    def ir_parameters(self) -> dict[str, nn.Parameter]:
        return {k: v for k, v in self.ir_tensors().items() if k in self.graph.params}

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        g = self.graph
        if len(inputs) != len(g.inputs):
            raise ValueError(f"graph {g.name!r} takes {len(g.inputs)} input(s) ({', '.join(g.inputs)}), got {len(inputs)}")
        env: dict[str, torch.Tensor] = {}
        for name, x in zip(g.inputs, inputs):
            want = g.tensors[name]
            got = list(x.shape)
            if len(got) != len(want) or any(d != "B" and d != s for d, s in zip(want, got)):
                raise ValueError(f'input "{name}" has shape {got}, the graph expects {want}')
            env[name] = x
        if self._segments is None:
            for k, n in enumerate(g.nodes):
                env[n.output] = self.ops[_key(n.id)](*(env[t] for t in n.inputs))
                for t in self._free_after[k]:
                    del env[t]
        else:
            for seg in self._segments:
                env.update(zip(seg.writes, seg.run(*(env[t] for t in seg.reads))))
                for t in seg.frees:
                    del env[t]
        outs = tuple(env[t] for t in g.outputs)
        return outs[0] if len(outs) == 1 else outs  # type: ignore[return-value]


@dataclass
class _Segment:
    run: Callable[..., tuple[torch.Tensor, ...]]
    reads: list[str]    # tensors it takes from outside
    writes: list[str]   # tensors it produces that later nodes (or the graph's outputs) read
    frees: list[str]    # tensors of the environment no later node reads


def compile_non_scan(model: GraphModel) -> GraphModel:
    """Runs `model` as segments from now on: each maximal run of nodes between Mamba2 blocks is one torch.compile
    graph (the TCN's conv -> ReLU -> dropout chains, the edge and node streams' linear/add/norm/dropout, the graph
    ops fuse), and the Mamba2 blocks stay eager (mamba_ssm's kernels are Triton already; the chunked scan's
    loop over chunks would only unroll). One graph per segment, not per module: compiling the whole model
    instead breaks its graph at every scan inside the node loop, which leaves torch compiling each module by
    itself. Parameters stay the model's own."""
    g = model.graph
    groups: list[list[int]] = []
    for k, n in enumerate(g.nodes):
        alone = n.op == "mamba2"
        if alone or not groups or g.nodes[groups[-1][-1]].op == "mamba2":
            groups.append([k])
        else:
            groups[-1].append(k)
    segments = []
    for idx in groups:
        nodes = [g.nodes[k] for k in idx]
        made = {n.output for n in nodes}
        reads = list(dict.fromkeys(t for n in nodes for t in n.inputs if t not in made))
        later = {t for n in g.nodes[idx[-1] + 1:] for t in n.inputs} | set(g.outputs)
        writes = [n.output for n in nodes if n.output in later]
        frees = [t for k in idx for t in model._free_after[k] if t not in made]
        steps = [(model.ops[_key(n.id)], tuple(n.inputs), n.output) for n in nodes]

        def run(*args: torch.Tensor, steps=steps, reads=reads, writes=writes) -> tuple[torch.Tensor, ...]:
            env = dict(zip(reads, args))
            for module, inputs, output in steps:
                env[output] = module(*(env[t] for t in inputs))
            return tuple(env[t] for t in writes)

        segments.append(_Segment(run if nodes[0].op == "mamba2" else torch.compile(run), reads, writes, frees))
    model._segments = segments
    return model


def init_parameters(model: GraphModel, seed: int) -> None:
    """Fresh parameters by each one's IR init rule, from a seeded generator (the TS initialiser draws from
    its own generator, so values differ from `ictal graph --weights`, the distributions do not)."""
    gen = torch.Generator().manual_seed(seed)
    tensors = model.ir_tensors()
    derived = []
    with torch.no_grad():
        for name, p in model.graph.params.items():
            rule, t = p.init, tensors[name]
            u = lambda: torch.rand(t.shape, generator=gen, dtype=torch.float64)  # noqa: E731
            if rule["dist"] == "uniform":
                t.copy_((2 * u() - 1) * rule["bound"])
            elif rule["dist"] == "const":
                t.fill_(rule["value"])
            elif rule["dist"] == "mamba_dt_bias":
                lo, hi = math.log(rule["dt_min"]), math.log(rule["dt_max"])
                dt = torch.exp(lo + u() * (hi - lo)).clamp(min=rule["dt_floor"])
                t.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
            elif rule["dist"] == "mamba_a_log":
                t.copy_(torch.log(rule["low"] + u() * (rule["high"] - rule["low"])))
            elif rule["dist"] == "weight_norm_g":
                derived.append((t, tensors[rule["of"]]))
            else:  # pragma: no cover - parse_ir admits only the rules above
                raise ValueError(f"params[{name!r}]: unknown init {rule['dist']!r}")
        for g, v in derived:
            g.copy_(torch.linalg.vector_norm(v.reshape(v.shape[0], -1), dim=1).reshape(g.shape))


def pe_values(model: GraphModel) -> dict[str, np.ndarray]:
    return {name: t.detach().cpu().double().numpy() for name, t in model.ir_tensors().items()
            if name in model.graph.buffers}
