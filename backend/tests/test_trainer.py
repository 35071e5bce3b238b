"""The trainer: a CPU smoke run on v3-tiny with checkpoints, a failure that leaves them, resume that continues
exactly where the run stopped, cancellation; and the recipe's pieces (loss, schedule, no-decay set, sampling)."""
from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from ictal_backend.datasets import DataSpecError, SyntheticWindows, open_data
from ictal_backend.ir import load_ir
from ictal_backend.losses import focal_loss, pos_weight_for_rate
from ictal_backend.model import GraphModel
from ictal_backend.sampling import batches, epoch_plan, positive_share, training_windows
from ictal_backend.trainer import (ConfigError, Progress, _track_best, lr_factor, make_optimizer, resolve_config,
                                   resolve_precision, run_training)
from graph_fixtures import ROOT, synthetic_cache, ts_graph

# 2 windows in a batch of 2, not rebalanced: exactly 1 step per epoch.
CONFIG = {"epochs": 2, "batch_size": 2, "balanced": False, "log_every": 1, "seed": 5, "heartbeat_s": 0.01}
DATA = {"kind": "synthetic", "seed": 11, "windows": 2, "val_windows": 1}


class StopAfter:
    """should_stop that answers False `calls` times, then does `then` (return True, or raise)."""

    def __init__(self, calls: int, then: str):
        self.calls, self.then, self.seen = calls, then, 0

    def __call__(self) -> bool:
        self.seen += 1
        if self.seen <= self.calls:
            return False
        if self.then == "raise":
            raise RuntimeError("the machine went away")
        return True


def test_training_fails_leaving_checkpoints_then_resumes_to_the_uninterrupted_result(tmp_path):
    graph_path, _ = ts_graph()
    ir = json.loads(graph_path.read_text())
    events: list[dict] = []

    # 1. Fails in its second epoch: the first epoch's checkpoint stays.
    with pytest.raises(RuntimeError, match="the machine went away"):
        run_training(ir, CONFIG, DATA, tmp_path / "run", on_event=events.append, should_stop=StopAfter(1, "raise"))
    ckpt = tmp_path / "run" / "checkpoints"
    assert json.loads((ckpt / "latest.json").read_text())["weights"] == "epoch-0001.safetensors"
    assert (ckpt / "epoch-0001.state.pt").exists() and (ckpt / "best.safetensors").exists()
    kinds = [(e["type"], e.get("split")) for e in events]
    assert kinds.count(("metrics", "train")) == 1 and kinds.count(("metrics", "val")) == 1
    messages = [e["message"] for e in events if e["type"] == "log"]
    assert any(m.startswith("validation: start") for m in messages)
    assert any(m.startswith("validation: done") and "mean loss" in m for m in messages)
    assert all("time" in e for e in events)
    assert any(e["type"] == "heartbeat" and e["phase"] == "validation" for e in events)
    assert any(e["type"] == "checkpoint" and e["name"] == "epoch-0001.safetensors" for e in events)

    # The checkpoint is a weights file the lab can load: IR names, F32, and training moved the weights.
    model = GraphModel(load_ir(graph_path))
    trained = load_file(str(ckpt / "epoch-0001.safetensors"))
    assert set(trained) == set(model.graph.params) | set(model.graph.buffers)
    assert all(t.dtype == torch.float32 for t in trained.values())

    # 2. Resume: the second epoch runs, from the stored optimizer state and counters.
    resumed = run_training(ir, CONFIG, DATA, tmp_path / "run", resume=True)
    assert resumed["status"] == "succeeded" and resumed["steps"] == 2 and resumed["epochs"] == 2
    assert (ckpt / "epoch-0002.safetensors").exists()

    # 3. The same run without the interruption ends with the same weights.
    straight = run_training(ir, CONFIG, DATA, tmp_path / "straight")
    assert straight["steps"] == 2
    a = load_file(str(ckpt / "epoch-0002.safetensors"))
    b = load_file(str(tmp_path / "straight" / "checkpoints" / "epoch-0002.safetensors"))
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-6
    first = load_file(str(ckpt / "epoch-0001.safetensors"))
    assert any(not torch.equal(first[k], a[k]) for k in model.graph.params)


def test_a_cancelled_run_checkpoints_and_says_so(tmp_path):
    graph_path, weights_path = ts_graph()
    result = run_training(json.loads(graph_path.read_text()), {**CONFIG, "steps": 10, "epochs": None}, DATA,
                          tmp_path, weights=weights_path, should_stop=StopAfter(0, "stop"))
    assert result["status"] == "cancelled" and result["steps"] == 0
    assert result["final_checkpoint"].endswith("step-00000000.safetensors")
    # nothing trained: the checkpoint holds the initial weights exactly
    a, b = load_file(result["final_checkpoint"]), load_file(str(weights_path))
    assert all(torch.equal(a[k], b[k]) for k in b)


def test_bad_configs_and_data_specs_are_refused_by_name():
    with pytest.raises(ConfigError, match="unknown key"):
        resolve_config({"steps": 1, "learning_rate": 1})
    with pytest.raises(ConfigError, match="exactly one of `epochs` and `steps`"):
        resolve_config({"steps": 1, "epochs": 1})
    with pytest.raises(ConfigError, match="config.batch_size must be a positive integer"):
        resolve_config({"steps": 1, "batch_size": 0})
    with pytest.raises(ConfigError, match="config.precision"):
        resolve_config({"steps": 1, "precision": "f8"})
    with pytest.raises(ConfigError, match="config.wandb: unknown key"):
        resolve_config({"steps": 1, "wandb": {"project": "ictal", "tags": []}})
    if importlib.util.find_spec("wandb") is None:  # W&B is optional: without it, asking for it is an error
        with pytest.raises(ConfigError, match="wandb package is not installed"):
            resolve_config({"steps": 1, "wandb": {"project": "ictal"}})
    assert "wandb" not in sys.modules  # never imported unless enabled
    with pytest.raises(DataSpecError, match="unknown key"):
        open_data({"kind": "synthetic", "seed": 1, "path": "x"}, 2560)
    with pytest.raises(DataSpecError, match="does not exist"):
        open_data({"kind": "cache", "path": "/nonexistent/cache"}, 2560)


def test_train_command_reports_a_bad_config(tmp_path):
    graph_path, _ = ts_graph()
    (tmp_path / "c.json").write_text(json.dumps({"steps": 1, "momentum": 0.9, "data": DATA}))
    proc = subprocess.run([sys.executable, "-m", "ictal_backend", "train", "--ir", str(graph_path), "--config",
                           str(tmp_path / "c.json"), "--run-dir", str(tmp_path / "run")], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "backend")}, timeout=300)
    assert proc.returncode == 2 and "unknown key(s) momentum" in proc.stderr


# ---- the recipe's pieces ---------------------------------------------------------------------------------------

def test_focal_loss_matches_its_definition_and_stays_finite():
    rng = np.random.default_rng()
    z = rng.normal(0, 4, 500)
    z[:3] = [60.0, -60.0, 0.0]
    y = (rng.uniform(size=500) < 0.3).astype(np.float64)
    alpha, gamma, w = 0.5, 2.0, pos_weight_for_rate(0.1)
    p = 1 / (1 + np.exp(-z))
    log_p, log_1mp = -np.logaddexp(0, -z), -np.logaddexp(0, z)   # log p, log(1 - p) without cancellation
    bce = -(w * y * log_p + (1 - y) * log_1mp)
    pt = np.clip(np.where(y == 1, p, 1 - p), 1e-7, 1 - 1e-7)
    at = np.where(y == 1, alpha, 1 - alpha)
    want = np.mean(np.minimum(at * (1 - pt) ** gamma * bce, 100))
    got = focal_loss(torch.tensor(z), torch.tensor(y), alpha, gamma, w).item()
    assert abs(got - want) <= 1e-6 * want
    assert w == pytest.approx(3.0)
    huge = torch.tensor([1e4, -1e4], dtype=torch.float16, requires_grad=True)
    loss = focal_loss(huge, torch.tensor([0.0, 1.0], dtype=torch.float16), pos_weight=w)
    loss.backward()
    assert math.isfinite(loss.item()) and torch.isfinite(huge.grad).all()
    # gamma 0, alpha 0.5, pos_weight 1: half the plain BCE
    plain = F.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y)).item()
    assert focal_loss(torch.tensor(z), torch.tensor(y), 0.5, 0.0, 1.0).item() == pytest.approx(plain / 2, rel=1e-6)


def test_focal_loss_applies_the_originals_clamps():
    # Logits beyond +-100 count as +-100: a confident miss at z = -300 costs what z = -100 costs, 0.5 * 1 * 100
    # before the loss clamp, which caps it at 100 only when alpha_t * bce exceeds 100 (here w = 3: 150 -> 100).
    one = torch.tensor([1.0], dtype=torch.float64)
    assert focal_loss(torch.tensor([-300.0]), one, pos_weight=1.0).item() == pytest.approx(0.5 * (1 - 1e-7) ** 2 * 100, rel=1e-6)
    assert focal_loss(torch.tensor([-300.0]), one, pos_weight=3.0).item() == pytest.approx(100.0, rel=1e-6)
    # p_t clamped to 1 - 1e-7: a confident hit still weighs (1e-7)^2 of its BCE, not less.
    z = torch.tensor([30.0])
    bce = math.log1p(math.exp(-30.0))
    assert focal_loss(z, one).item() == pytest.approx(0.5 * 1e-14 * bce, rel=1e-4)
    # No gradient flows through a clamp, as torch.clamp does.
    g = torch.tensor([-300.0, 0.3], requires_grad=True)
    focal_loss(g, torch.tensor([1.0, 0.0])).backward()
    assert g.grad[0].item() == 0.0 and g.grad[1].item() != 0.0


def test_schedule_warms_up_then_follows_a_cosine():
    total = 200  # warm-up max(1, int(0.03 * 200)) = 6 steps
    assert [lr_factor(s, total, 0.03) for s in range(6)] == [(s + 1) / 6 for s in range(6)]
    assert lr_factor(6, total, 0.03) == 1.0
    assert lr_factor(6 + 97, total, 0.03) == pytest.approx(0.5 * (1 + math.cos(math.pi * 97 / 194)), abs=1e-15)
    assert lr_factor(total, total, 0.03) == pytest.approx(0.0, abs=1e-12)
    # int(), not round(): 0.03 * 250 = 7.5 gives 7 warm-up steps; never fewer than 1.
    assert lr_factor(0, 250, 0.03) == 1 / 7 and lr_factor(7, 250, 0.03) == 1.0
    assert lr_factor(0, 10, 0.03) == 1.0 and lr_factor(0, 10, 0.0) == 1.0


def test_no_decay_set_is_biases_norms_and_the_mamba_scalars():
    model = GraphModel(load_ir(ts_graph()[0]))
    opt = make_optimizer(model, resolve_config({"steps": 1}))
    names = {id(p): n for n, p in model.ir_parameters().items()}
    decayed = {names[id(p)] for p in opt.param_groups[0]["params"]}
    kept = {names[id(p)] for p in opt.param_groups[1]["params"]}
    assert opt.param_groups[0]["weight_decay"] == 0.05 and opt.param_groups[1]["weight_decay"] == 0.0
    assert all(n.endswith(("bias", "weight_g", "norm.weight", "dt_bias", "A_log", ".D")) for n in kept)
    assert all(n.endswith(("weight", "weight_v")) and "norm" not in n for n in decayed)
    assert {"node.layers.0.fwd.A_log", "node.layers.0.fwd.D", "node.layers.0.fwd.dt_bias", "tcn.layers.0.conv.weight_g"} <= kept
    assert {"node.layers.0.fwd.in_proj.weight", "tcn.layers.0.conv.weight_v", "gnn.layers.0.conv.lin.weight"} <= decayed


def test_early_stopping_monitor_counts_epochs_without_improvement():
    p = Progress()
    assert _track_best(p, {"sensitivity_at_10fa": 0.4, "loss": 1.0})
    assert not _track_best(p, {"sensitivity_at_10fa": 0.4, "loss": 0.5}) and p.bad_epochs == 1   # equal is no better
    assert not _track_best(p, {"sensitivity_at_10fa": 0.3, "loss": 0.4}) and p.bad_epochs == 2
    assert _track_best(p, {"sensitivity_at_10fa": 0.5, "loss": 0.9}) and p.bad_epochs == 0
    q = Progress()  # no seizure in the validation set: lower loss is better
    assert _track_best(q, {"sensitivity_at_10fa": None, "loss": 1.0}) and q.best_metric == "val_loss"
    assert _track_best(q, {"sensitivity_at_10fa": None, "loss": 0.8})
    assert not _track_best(q, {"sensitivity_at_10fa": None, "loss": 0.9}) and q.bad_epochs == 1


def test_precision_choice_per_device():
    assert resolve_precision("auto", torch.device("cpu")) == ("f32", None)
    assert resolve_precision("auto", torch.device("cuda")) == ("f16", None)
    used, warning = resolve_precision("f16", torch.device("cpu"))
    assert used == "bf16" and "needs CUDA" in warning


def test_balanced_set_is_drawn_once_with_the_originals_counts_and_gives_pos_weight():
    fractions = np.array([0.0] * 100 + [0.5] * 20 + [0.995] * 4 + [1.0] * 10)
    windows = training_windows(fractions, seed=42)
    picked = fractions[windows]
    assert np.sum((picked > 0) & (picked < 0.99)) == 20      # every partial window
    assert np.sum(picked >= 0.99) == int(0.3 * 20)            # full: 0.3 x the partial ones (0.995 counts as full)
    assert np.sum(picked == 0) == int(2.5 * 20)               # background: 2.5 x the partial ones
    assert len(set(windows.tolist())) == len(windows)
    assert np.array_equal(windows, training_windows(fractions, seed=42))   # one draw per seed, not per epoch
    r = positive_share(fractions, windows)
    assert r == 26 / 76 and pos_weight_for_rate(r) == pytest.approx(math.sqrt(50 / 26), rel=1e-15)
    plan0, plan1 = epoch_plan(windows, 42, 0), epoch_plan(windows, 42, 1)
    assert sorted(plan0.tolist()) == sorted(plan1.tolist()) == windows.tolist()     # the same set every epoch
    assert not np.array_equal(plan0, plan1) and np.array_equal(plan0, epoch_plan(windows, 42, 0))
    # capped at what exists; no partial window (nothing to balance against) or unbalanced: every window
    few = np.array([0.0] * 3 + [0.5] * 4 + [1.0])   # asks for int(0.3 * 4) = 1 full and int(2.5 * 4) = 10 background
    assert sorted(few[training_windows(few, 1)].tolist()) == [0.0] * 3 + [0.5] * 4 + [1.0]
    assert training_windows(np.array([0.0] * 5 + [1.0] * 2), 1).tolist() == list(range(7))
    assert training_windows(fractions, 42, balanced=False).tolist() == list(range(len(fractions)))


def test_batches_are_dealt_evenly_to_ranks_without_dropping_windows():
    plan = np.arange(11)
    per_rank = [batches(plan, 3, r, 2) for r in range(2)]
    assert len(per_rank[0]) == len(per_rank[1]) == 2
    seen = np.concatenate([b for rank in per_rank for b in rank])
    assert set(seen.tolist()) == set(range(11)) and len(seen) == 12  # one window repeated to fill


def test_synthetic_windows_are_deterministic_and_labelled():
    src = SyntheticWindows(seed=3, count=12, window_length=2560)
    x, y = src[5]
    x2, y2 = SyntheticWindows(seed=3, count=12, window_length=2560)[5]
    assert x.shape == (19, 2560) and x.dtype == np.float32 and np.array_equal(x, x2) and np.array_equal(y, y2)
    assert np.abs(x).max() <= 10
    fractions = src.seizure_fractions()
    assert np.allclose(fractions, [src[i][1].mean() for i in range(12)])
    assert np.any(fractions == 0) and np.any((fractions > 0) & (fractions < 1))
    seizure = [i for i in range(12) if fractions[i] > 0.3]
    if seizure:  # seizure samples carry more power than the background of the same window
        xs, ys = src[seizure[0]]
        if ys.mean() < 1:
            assert xs[:, ys == 1].std() > xs[:, ys == 0].std()


def test_torchrun_with_two_cpu_ranks_trains_and_rank_0_checkpoints(tmp_path):
    """DDP as torchrun starts it: two gloo ranks on the CPU, batches dealt to both, rank 0 writes."""
    graph_path, _ = ts_graph()
    config = {"steps": 2, "batch_size": 1, "device": "cpu", "balanced": False, "log_every": 1,
              "data": {"kind": "synthetic", "seed": 2, "windows": 4, "val_windows": 1}}
    (tmp_path / "c.json").write_text(json.dumps(config))
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "ictal_backend", "train", "--ir", str(graph_path), "--config", str(tmp_path / "c.json"),
                           "--run-dir", str(tmp_path / "run")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "backend"), "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    results = [e for e in lines if e["type"] == "result"]
    assert len(results) == 1 and results[0]["status"] == "succeeded" and results[0]["steps"] == 2
    assert any("x 2 rank(s)" in e.get("message", "") for e in lines)
    assert [e["step"] for e in lines if e["type"] == "metrics" and e["split"] == "train"] == [1, 2]
    assert (tmp_path / "run" / "checkpoints" / "epoch-0001.safetensors").exists()


def test_dist_close_destroys_only_the_group_the_run_opened(tmp_path, monkeypatch):
    """A run tears down the process group it created (left to interpreter exit, gloo aborted one rank in CI) and
    leaves one its caller set up; after a failure it skips the barrier, which could wait for peers forever."""
    from ictal_backend.trainer import Dist
    barriers = []
    real_barrier = Dist.barrier
    monkeypatch.setattr(Dist, "barrier", lambda self: barriers.append(self.rank) or real_barrier(self))

    def open_group(name):
        store = torch.distributed.FileStore(str(tmp_path / name), 1)
        torch.distributed.init_process_group("gloo", store=store, rank=0, world_size=1)

    try:
        open_group("a")
        Dist(0, 2, 0, owns_group=False).close(finished=True)
        assert torch.distributed.is_initialized() and barriers == []  # the caller's group survives
        Dist(0, 2, 0, owns_group=True).close(finished=False)
        assert not torch.distributed.is_initialized() and barriers == []  # failed: no barrier
        open_group("b")
        Dist(0, 2, 0, owns_group=True).close(finished=True)
        assert not torch.distributed.is_initialized() and barriers == [0]
        Dist(0, 2, 0, owns_group=True).close(finished=True)  # nothing left to close: no error
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def test_cache_data_is_split_by_recording_and_validation_stitches_recordings(tmp_path):
    from ictal_backend.data.cache import WindowCache
    from ictal_backend.datasets import stitch_recordings
    from ictal_backend.dsp.postprocess import runs_of

    cache_dir = synthetic_cache()
    cache = WindowCache(cache_dir)
    train, val = open_data({"kind": "cache", "path": str(cache_dir)}, 2560)
    last = cache.recordings[-1]
    assert sorted(val.indices.tolist()) == list(range(last.first, last.first + last.windows))   # whole recording
    assert not set(train.indices.tolist()) & set(val.indices.tolist())
    # stitched windows give back the recording's own labels, each sample once
    labels = [val[i][1] for i in range(len(val))]
    probs, stitched = stitch_recordings(val, [y.astype(np.float64) for y in labels], labels)
    covered = (last.windows - 1) * cache.stride + cache.window_length
    assert len(stitched) == 1 and np.array_equal(stitched[0], np.asarray(last.labels[:covered], dtype=np.float64))
    assert np.array_equal(probs[0], stitched[0])
    events = len(runs_of(stitched[0] == 1)[0])
    assert events >= 1  # counted once per recording, not once per overlapping window

    with pytest.raises(DataSpecError, match="windows are 2560 samples long, the graph takes 15360"):
        open_data({"kind": "cache", "path": str(cache_dir)}, 15360)
    result = run_training(json.loads(ts_graph()[0].read_text()), {"steps": 1, "batch_size": 2, "val_batch_size": 8},
                          {"kind": "cache", "path": str(cache_dir)}, tmp_path)
    assert result["status"] == "succeeded" and result["val"]["reference_events"] == events
