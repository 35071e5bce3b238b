"""Times one training step (forward + focal loss + backward) of a graph, per op type, on CPU or CUDA.

    python backend/benchmarks/model_step.py --ir graph.json [--weights W] --batch 4 [--device cuda]
        [--precision f16] [--scan chunked] [--chunk 16] [--repeats 3] [--threads N]

Prints a short table last: the median step time, peak memory on CUDA, and where the time goes by op type
(forward hooks with device synchronisation, so per-op numbers include launch latency).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ictal_backend import scan as scan_module  # noqa: E402
from ictal_backend.losses import focal_loss  # noqa: E402
from ictal_backend.runtime import autocast, build_model  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ir", required=True)
    p.add_argument("--weights")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="f32", choices=["f32", "f16", "bf16"])
    p.add_argument("--scan", default="chunked", choices=["chunked", "sequential", "mamba_ssm"])
    p.add_argument("--chunk", type=int, default=0, help="chunk of the pure-PyTorch scan (default: per device)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--by-op", action="store_true", help="also time each op type (adds synchronisation)")
    p.add_argument("--checkpoint", default="none", choices=["none", "scan", "block"],
                   help="what each Mamba2 block recomputes in backward (less memory)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.chunk:
        scan_module.DEFAULT_CHUNK = scan_module.CUDA_CHUNK = a.chunk
    device = torch.device(a.device)
    model = build_model(a.ir, a.weights, device=device, scan_impl=a.scan)
    model.train()
    model.set_scan_impl(a.scan, a.checkpoint)
    samples = model.graph.tensors[model.graph.inputs[0]][-1]
    x = torch.randn(a.batch, 19, samples, device=device)
    y = (torch.rand(a.batch, samples, device=device) > 0.8).float()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    op_time: dict[str, float] = defaultdict(float)
    starts: dict[int, float] = {}
    if a.by_op:
        for node in model.graph.nodes:
            module = model.ops[node.id.replace(".", "/")]
            def pre(m, inp, key=id(module)):
                sync()
                starts[key] = time.perf_counter()
            def post(m, inp, out, key=id(module), op=node.op):
                sync()
                op_time[op] += time.perf_counter() - starts[key]
            module.register_forward_pre_hook(pre)
            module.register_forward_hook(post)

    times, fwd_times = [], []
    for r in range(a.repeats + 1):
        op_time.clear()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        sync()
        t0 = time.perf_counter()
        with autocast(device, a.precision):
            logits = model(x)
        loss = focal_loss(logits, y, pos_weight=3.0)
        sync()
        t1 = time.perf_counter()
        loss.backward()
        sync()
        t2 = time.perf_counter()
        model.zero_grad(set_to_none=True)
        if r:  # the first pass warms up allocators and kernels
            times.append(t2 - t0)
            fwd_times.append(t1 - t0)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    print(f"graph {model.graph.name}, batch {a.batch}, {a.device} ({torch.get_num_threads()} threads), {a.precision}, "
          f"scan {a.scan} chunk {a.chunk or 'per device'}, checkpoint {a.checkpoint}")
    if a.by_op:
        total = sum(op_time.values())
        print("forward time by op (last repeat):")
        for op, t in sorted(op_time.items(), key=lambda kv: -kv[1]):
            print(f"  {op:18s} {t * 1e3:9.1f} ms  {100 * t / total:5.1f}%")
    print(f"| batch | step s (median) | forward s | peak GiB |\n|---|---|---|---|\n"
          f"| {a.batch} | {statistics.median(times):.3f} | {statistics.median(fwd_times):.3f} | {peak:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
