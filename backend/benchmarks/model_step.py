"""Times one training step (forward + focal loss + backward) of a graph, per op type, on CPU or CUDA.

    python backend/benchmarks/model_step.py --ir graph.json [--weights W] --batch 4 [--device cuda]
        [--precision f16] [--scan auto|chunked|mamba_ssm] [--checkpoint none|scan|block|policy] [--compile]
        [--chunk 16] [--repeats 3] [--threads N] [--by-op] [--kernels N] [--json FILE]

Prints a short table last: the first step's time (Triton compiling and autotuning happen there, so it is the
cold or warm start of a container, depending on TRITON_CACHE_DIR), the median of the later steps, peak memory
on CUDA in all and per window. `--checkpoint policy` (and `--scan auto`) take what the trainer would
(ictal_backend.step_policy). `--json FILE` writes the same numbers for scripts/gpu-bench.sh's summary. A step
that runs out of memory is reported as such, not raised.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ictal_backend import scan as scan_module  # noqa: E402
from ictal_backend.losses import focal_loss  # noqa: E402
from ictal_backend.model import compile_non_scan  # noqa: E402
from ictal_backend.runtime import autocast, build_model, time_conv_algorithms  # noqa: E402
from ictal_backend.step_policy import choose_step  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ir", required=True)
    p.add_argument("--weights")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="f32", choices=["f32", "f16", "bf16"])
    p.add_argument("--scan", default="chunked", choices=["auto", "chunked", "sequential", "mamba_ssm"])
    p.add_argument("--chunk", type=int, default=0, help="the scan's chunk, pure-PyTorch or mamba_ssm (default: per device)")
    p.add_argument("--no-conv-timing", action="store_true", help="leave cuDNN's algorithm heuristic (the trainer times them)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--by-op", action="store_true", help="also time each op type (adds synchronisation)")
    p.add_argument("--kernels", type=int, default=0, metavar="N",
                   help="after the timed steps, trace one more with torch.profiler and print its N costliest kernels")
    p.add_argument("--checkpoint", default="none", choices=["none", "scan", "block", "policy"],
                   help="what each Mamba2 block recomputes in backward (less memory); policy: the trainer's choice")
    p.add_argument("--compile", action="store_true", help="torch.compile everything but the Mamba2 scans")
    p.add_argument("--json", help="also write the result as JSON to this file")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.chunk:
        scan_module.DEFAULT_CHUNK = scan_module.CUDA_CHUNK = scan_module.MAMBA_SSM_CHUNK = a.chunk
    device = torch.device(a.device)
    time_conv_algorithms(device, not a.no_conv_timing)
    choice = choose_step(device, a.batch, a.scan, None if a.checkpoint == "policy" else a.checkpoint)
    model = build_model(a.ir, a.weights, device=device, scan_impl=choice.scan)
    model.train()
    model.set_scan_impl(choice.scan, choice.checkpoint)
    run = compile_non_scan(model) if a.compile else model
    samples = model.graph.tensors[model.graph.inputs[0]][-1]
    x = torch.randn(a.batch, 19, samples, device=device)
    y = (torch.rand(a.batch, samples, device=device) > 0.8).float()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"

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

    times, fwd_times, error = [], [], None
    first = float("nan")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    try:
        for r in range(a.repeats + 1):
            op_time.clear()
            sync()
            t0 = time.perf_counter()
            loss = step_loss(run, x, y, device, a.precision)
            sync()
            t1 = time.perf_counter()
            loss.backward()
            sync()
            t2 = time.perf_counter()
            model.zero_grad(set_to_none=True)
            if r == 0:  # compiling, autotuning and allocator warm-up land here: reported on its own
                first = t2 - t0
            else:
                times.append(t2 - t0)
                fwd_times.append(t1 - t0)
    except torch.cuda.OutOfMemoryError as e:
        error = "out of memory: " + str(e).splitlines()[0][:160]
    if a.kernels and not error:
        def one_step() -> None:
            step_loss(run, x, y, device, a.precision).backward()
            model.zero_grad(set_to_none=True)
        print_kernel_table(one_step, device, a.kernels)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    step = statistics.median(times) if times else float("nan")
    fwd = statistics.median(fwd_times) if fwd_times else float("nan")
    conv = (", cuDNN heuristic" if a.no_conv_timing else ", cuDNN algorithms timed") if device.type == "cuda" else ""
    print(f"graph {model.graph.name}, batch {a.batch}, {card}, {a.precision}, scan {choice.scan} chunk "
          f"{a.chunk or 'per device'}{conv}, recomputed {choice.checkpoint}{', compiled' if a.compile else ''} ({choice.reason})")
    if a.by_op and not error:
        total = sum(op_time.values())
        print("forward time by op (last repeat):")
        for op, t in sorted(op_time.items(), key=lambda kv: -kv[1]):
            print(f"  {op:18s} {t * 1e3:9.1f} ms  {100 * t / total:5.1f}%")
    print("| batch | scan | recomputed | first step s | step s (median) | forward s | peak GiB | GiB per window |\n"
          "|---|---|---|---|---|---|---|---|")
    print(f"| {a.batch} | {choice.scan} | {choice.checkpoint} | {first:.2f} | {step:.3f} | {fwd:.3f} | {peak:.1f} | "
          f"{peak / a.batch:.2f} |" + (f" {error} |" if error else ""))
    if a.json:
        Path(a.json).write_text(json.dumps({
            "card": card, "batch": a.batch, "precision": a.precision, "scan": choice.scan,
            "checkpoint": choice.checkpoint, "compiled": a.compile, "chunk": a.chunk or None,
            "conv_timing": not a.no_conv_timing, "first_step_s": first, "step_s": step,
            "forward_s": fwd, "peak_gib": peak, "gib_per_window": peak / a.batch, "error": error,
            "repeats": len(times)}, indent=1))
    return 1 if error else 0


def step_loss(run, x, y, device, precision) -> torch.Tensor:
    """The step's forward and focal loss (what the timed steps and the traced one both run)."""
    with autocast(device, precision):
        logits = run(x)
    return focal_loss(logits, y, pos_weight=3.0)


def print_kernel_table(step, device, rows: int) -> None:
    """Where a step's GPU (or CPU) time goes, kernel by kernel: forward and backward alike, which --by-op cannot see."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(f"one traced step, its {rows} costliest kernels by {key}:")
    print(prof.key_averages().table(sort_by=key, row_limit=rows, max_name_column_width=70))


if __name__ == "__main__":
    sys.exit(main())
