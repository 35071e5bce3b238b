"""model.compile_non_scan (the benchmark's --compile): the segment-compiled graph gives the eager graph's logits
and gradients (v3-tiny, f32, CPU). Dropout is off in both: compiled code draws its masks from another RNG."""
from __future__ import annotations

import torch

from graph_fixtures import ts_graph
from ictal_backend.losses import focal_loss
from ictal_backend.model import compile_non_scan
from ictal_backend.modules.basic import Dropout
from ictal_backend.runtime import build_model


def test_compiled_segments_match_the_eager_graph() -> None:
    graph, weights = ts_graph("v3-tiny")
    model = build_model(graph, weights, scan_impl="chunked").train()
    for module in model.modules():
        if isinstance(module, Dropout):
            module.p = 0.0
    samples = model.graph.tensors[model.graph.inputs[0]][-1]
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(2, 19, samples, generator=gen)
    y = (torch.rand(2, samples, generator=gen) > 0.8).float()

    def step() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        model.zero_grad(set_to_none=True)
        logits = model(x)
        focal_loss(logits, y, pos_weight=3.0).backward()
        return logits.detach().clone(), {k: p.grad.clone() for k, p in model.named_parameters()}

    eager_logits, eager_grads = step()
    compile_non_scan(model)
    compiled = [hasattr(s.run, "_torchdynamo_orig_callable") for s in model._segments or []]
    mamba_blocks = sum(n.op == "mamba2" for n in model.graph.nodes)
    assert compiled.count(False) == mamba_blocks and compiled.count(True) >= mamba_blocks // 2
    logits, grads = step()
    assert torch.allclose(logits, eager_logits, rtol=0, atol=1e-5 * eager_logits.abs().max().item())
    assert grads.keys() == eager_grads.keys()
    for name, grad in grads.items():
        scale = eager_grads[name].abs().max().item() or 1.0
        assert (grad - eager_grads[name]).abs().max().item() <= 1e-4 * scale, name
