"""The trainer's scan / recomputation policy (ictal_backend.step_policy) on the cards it is meant for, and its
log line in a real (CPU) training run."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from graph_fixtures import ts_graph_doc
from ictal_backend.step_policy import OPTIONS, choose_step
from ictal_backend.trainer import run_training

CUDA = torch.device("cuda", 0)
CARD_80GB = 80 * 10**9  # what an A100-80GB or H100 80GB reports, about 74.5 GiB


@pytest.mark.parametrize("batch, mamba, scan, checkpoint", [
    (16, True, "mamba_ssm", "none"),     # 1.88 x 16 = 30 GiB
    (48, True, "mamba_ssm", "block"),    # 90 GiB keeping everything; 22.6 GiB recomputing blocks
    (64, True, "mamba_ssm", "block"),
    (4, False, "chunked", "none"),       # 18.8 GiB
    (16, False, "chunked", "scan"),      # 75.2 GiB would not fit; 30.9 GiB recomputing the scan
    (48, False, "chunked", "block"),     # 53.8 GiB
])
def test_the_fastest_measured_option_that_fits_an_80gb_card(batch: int, mamba: bool, scan: str, checkpoint: str) -> None:
    choice = choose_step(CUDA, batch, memory_bytes=CARD_80GB, have_mamba_ssm=mamba)
    assert (choice.scan, choice.checkpoint) == (scan, checkpoint), choice.reason
    assert f"batch {batch}" in choice.reason


def test_too_large_a_batch_gets_the_leanest_option_and_says_so() -> None:
    choice = choose_step(CUDA, 64, memory_bytes=CARD_80GB, have_mamba_ssm=False)
    assert (choice.scan, choice.checkpoint) == ("chunked", "block")
    assert "lower batch_size" in choice.reason


def test_explicit_settings_are_kept_and_the_policy_fills_in_the_rest() -> None:
    assert choose_step(CUDA, 48, scan="chunked", memory_bytes=CARD_80GB, have_mamba_ssm=True).scan == "chunked"
    keep = choose_step(CUDA, 4, checkpoint="block", memory_bytes=CARD_80GB, have_mamba_ssm=True)
    assert (keep.scan, keep.checkpoint) == ("mamba_ssm", "block")
    seq = choose_step(CUDA, 4, scan="sequential", memory_bytes=CARD_80GB, have_mamba_ssm=True)
    assert (seq.scan, seq.checkpoint) == ("sequential", "none")
    cpu = choose_step(torch.device("cpu"), 64, scan="mamba_ssm")
    assert (cpu.scan, cpu.checkpoint) == ("chunked", "none") and "needs CUDA" in cpu.reason
    with pytest.raises(ValueError, match="batch must be >= 1"):
        choose_step(CUDA, 0, memory_bytes=CARD_80GB, have_mamba_ssm=True)


def test_the_table_is_ordered_fastest_first_within_each_scan() -> None:
    """Leaner options recompute more, so within one scan memory per window must fall down the table."""
    for scan in ("mamba_ssm", "chunked"):
        gib = [o.gib_per_window for o in OPTIONS if o.scan == scan and o.checkpoint != "scan"]
        assert gib == sorted(gib, reverse=True)


def test_the_trainer_logs_its_choice(tmp_path: Path) -> None:
    messages: list[str] = []
    run_training(ts_graph_doc("v3-tiny"), {"steps": 1, "batch_size": 1, "precision": "f32", "device": "cpu"},
                 {"kind": "synthetic", "seed": 1, "windows": 1, "val_windows": 1}, tmp_path,
                 on_event=lambda e: messages.append(e.get("message", "")))
    assert any(m.startswith("scan chunked, recomputed in backward: none (cpu") for m in messages), messages


def test_cudnn_times_its_algorithms_on_cuda_only() -> None:
    from ictal_backend.runtime import time_conv_algorithms
    saved = torch.backends.cudnn.benchmark
    try:
        torch.backends.cudnn.benchmark = False
        time_conv_algorithms(torch.device("cpu"))
        assert torch.backends.cudnn.benchmark is False  # nothing to time on a CPU; a global flag left alone
        time_conv_algorithms(CUDA)
        assert torch.backends.cudnn.benchmark is True
        time_conv_algorithms(CUDA, on=False)
        assert torch.backends.cudnn.benchmark is False
    finally:
        torch.backends.cudnn.benchmark = saved
