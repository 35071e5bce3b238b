"""The v3 training recipe (V3_MODEL.md "Training recipe of the full run") on any graph IR.

Read top to bottom: config -> model, data, loss, optimizer, schedule -> per epoch: balanced plan, steps
(autocast, loss scaling, clipping), validation (start / heartbeat / completion), checkpoint, early stopping.
`run_training` is the API the run server calls; `python -m ictal_backend train` is its command line.

Checkpoints (run_dir/checkpoints/): `epoch-NNNN.safetensors` (weights, IR names, loadable by the lab) with
`epoch-NNNN.state.pt` (optimizer, schedule, loss scale, counters) after every epoch; `step-NNNNNNNN.*` when a run
stops between epochs (cancel, or a step budget that ends mid-epoch); `best.safetensors` for the best validation
score; `latest.json` names the newest pair (for people and tools). Every file is written atomically (temp +
fsync + rename, 0600). `resume=True` continues from the complete pair with the highest recorded step
(checkpoint_index.newest_checkpoint, never `best`). A failing run leaves all of them.
"""
from __future__ import annotations

import importlib.util
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .datasets import WindowSource, open_data, stitch_recordings
from .checkpoint_index import newest_checkpoint
from .ir import IrGraph
from .losses import focal_loss, pos_weight_for_rate
from .model import GraphModel
from .private_files import atomic_write, private_dir
from .runtime import autocast, build_model, load_graph, pick_device, time_conv_algorithms
from .safetensors_io import load_weights, save_weights
from .sampling import batches, epoch_plan, positive_share, training_windows
from .step_policy import choose_step

Event = dict[str, Any]

DEFAULTS: dict[str, Any] = {
    "epochs": None,              # passes over the (balanced) training windows ...
    "steps": None,               # ... or optimizer steps in total: exactly one of the two
    "batch_size": 48,
    "precision": "auto",         # auto (f16 on CUDA, f32 on CPU) | f32 | f16 | bf16
    "lr": 5e-5,
    "weight_decay": 0.05,
    "betas": [0.9, 0.999],
    "warmup_fraction": 0.03,     # linear warm-up over this share of all steps, then cosine to 0
    "clip_norm": 0.5,
    "seed": 42,
    "focal_alpha": 0.5,
    "focal_gamma": 2.0,
    "pos_weight": None,          # None: sqrt((1 - r) / r), r = share of the balanced training windows with a seizure
    "balanced": True,
    "full_seizure_fraction": 0.3,
    "background_ratio": 2.5,
    "patience": 5,               # epochs without a better validation score before stopping; 0 = never stop early
    "val_batch_size": None,      # default: batch_size
    "heartbeat_s": 120.0,
    "log_every": 10,             # steps between training metrics events
    "device": "auto",
    "scan": "auto",              # auto | chunked | sequential | mamba_ssm (auto: step_policy.choose_step)
    "checkpoint_mamba": None,    # none | scan | block: what Mamba2 blocks recompute in backward; null: step_policy
    "num_workers": None,         # DataLoader workers; default 0 on CPU, 4 on CUDA
    "wandb": None,               # {"project": ..., "entity"?: ..., "name"?: ...} to log to Weights & Biases
}
NO_STOP_METRIC = "sensitivity_at_10fa"


class ConfigError(ValueError):
    """A training config the trainer refuses; the message names the key."""


def _short(v: Any) -> str:
    """A value for an error message: a huge integer by its size, not its thousands of digits."""
    if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 64:
        return f"a {v.bit_length()}-bit integer"
    text = repr(v)
    return text if len(text) <= 200 else text[:200] + "..."


def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise ConfigError(f"config must be an object, got {type(config).__name__}")
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"config: unknown key(s) {', '.join(unknown)} (known: {', '.join(DEFAULTS)})")
    c = {**DEFAULTS, **config}
    if (c["epochs"] is None) == (c["steps"] is None):
        raise ConfigError("config: give exactly one of `epochs` and `steps`")

    def positive_int(key: str, allow_none: bool = False) -> None:
        v = c[key]
        if v is None and allow_none:
            return
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"config.{key} must be a positive integer, got {_short(v)}")

    def number(key: str, lo: float, hi: float = math.inf, allow_none: bool = False) -> None:
        v = c[key]
        if v is None and allow_none:
            return
        # Not math.isfinite on an int: one past the double range raises OverflowError there (and in torch).
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (lo <= v <= hi) or \
                (isinstance(v, float) and not math.isfinite(v)) or (isinstance(v, int) and v.bit_length() > 1000):
            raise ConfigError(f"config.{key} must be a number in [{lo}, {hi}], got {_short(v)}")

    positive_int("epochs", allow_none=True)
    positive_int("steps", allow_none=True)
    positive_int("batch_size")
    positive_int("val_batch_size", allow_none=True)
    positive_int("log_every")
    for key, lo, hi in (("lr", 0, 10), ("weight_decay", 0, 10), ("warmup_fraction", 0, 1), ("clip_norm", 0, math.inf),
                        ("focal_alpha", 0, 1), ("focal_gamma", 0, 10), ("full_seizure_fraction", 0, 1),
                        ("background_ratio", 0, 1000), ("heartbeat_s", 0.01, 86400)):
        number(key, lo, hi)
    number("pos_weight", 0, 1e6, allow_none=True)
    if isinstance(c["patience"], bool) or not isinstance(c["patience"], int) or c["patience"] < 0:
        raise ConfigError(f"config.patience must be an integer >= 0, got {c['patience']!r}")
    if isinstance(c["seed"], bool) or not isinstance(c["seed"], int) or not 0 <= c["seed"] < 2**63:
        raise ConfigError(f"config.seed must be an integer in [0, 2^63), got {_short(c['seed'])}")
    if c["precision"] not in ("auto", "f32", "f16", "bf16"):
        raise ConfigError(f"config.precision must be auto, f32, f16 or bf16, got {c['precision']!r}")
    if c["scan"] not in ("auto", "chunked", "sequential", "mamba_ssm"):
        raise ConfigError(f"config.scan must be auto, chunked, sequential or mamba_ssm, got {c['scan']!r}")
    if c["checkpoint_mamba"] not in (None, "none", "scan", "block"):
        raise ConfigError(f"config.checkpoint_mamba must be none, scan, block or null, got {c['checkpoint_mamba']!r}")
    if not (isinstance(c["betas"], list) and len(c["betas"]) == 2 and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in c["betas"])):
        raise ConfigError(f"config.betas must be [beta1, beta2] in [0, 1), got {c['betas']!r}")
    if c["num_workers"] is not None and (isinstance(c["num_workers"], bool) or not isinstance(c["num_workers"], int) or c["num_workers"] < 0):
        raise ConfigError(f"config.num_workers must be an integer >= 0, got {c['num_workers']!r}")
    if c["wandb"] is not None:
        if not (isinstance(c["wandb"], dict) and isinstance(c["wandb"].get("project"), str)):
            raise ConfigError("config.wandb must be null or an object with a string `project`")
        unknown_wandb = sorted(set(c["wandb"]) - {"project", "entity", "name"})
        if unknown_wandb:
            raise ConfigError(f"config.wandb: unknown key(s) {', '.join(unknown_wandb)} (known: project, entity, name)")
        if importlib.util.find_spec("wandb") is None:  # looked up, not imported
            raise ConfigError("config.wandb is set but the wandb package is not installed (pip install wandb)")
    return c


# ---- distributed (torchrun) -----------------------------------------------------------------------------------

@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    #: This run created the process group (a caller that set one up itself keeps it after the run).
    owns_group: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank if any rank says True (stop requests must agree)."""
        if self.world == 1:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        torch.distributed.all_reduce(t)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def close(self, finished: bool) -> None:
        """Tears the process group down before the process exits. Left to interpreter shutdown, gloo's worker
        threads were at times destroyed still joinable ("terminate called without an active exception", SIGABRT
        on one rank after a successful run). The barrier runs only after a clean finish: a rank that failed
        must not wait for peers that may never arrive."""
        if not self.owns_group or not torch.distributed.is_initialized():
            return
        if finished:
            self.barrier()
        torch.distributed.destroy_process_group()


def init_distributed(device_name: str) -> Dist:
    """Initialises torch.distributed only when torchrun started several processes (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import datetime
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if torch.cuda.is_available() and device_name != "cpu" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local)
    owns_group = not torch.distributed.is_initialized()
    if owns_group:
        # validation runs on rank 0 while the others wait: allow it hours, not the default minutes
        torch.distributed.init_process_group(backend, timeout=datetime.timedelta(hours=6))
    return Dist(rank, world, local, owns_group)


# ---- pieces of the recipe ---------------------------------------------------------------------------------------

def make_optimizer(model: GraphModel, c: dict[str, Any]) -> torch.optim.AdamW:
    """AdamW; the IR's weight_decay flags decide the no-decay set (biases, norms, weight_g, dt_bias, A_log, D)."""
    decay, no_decay = [], []
    for name, p in model.ir_parameters().items():
        (decay if model.graph.params[name].weight_decay else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": c["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=c["lr"], betas=tuple(c["betas"]))


def lr_factor(step: int, total: int, warmup_fraction: float) -> float:
    """The original's schedule: warm-up steps max(1, int(warmup_fraction * total)) at (step + 1) / warmup, then
    cosine decay to 0 at `total`. Update k (0-based) runs at lr * lr_factor(k); unlike the original, the first
    update too (its code reset the rate after building the scheduler, so its first update ran at the full rate)."""
    warmup = max(1, int(warmup_fraction * total))
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def resolve_precision(requested: str, device: torch.device) -> tuple[str, str | None]:
    """(precision used, warning or None). f16 autocast with loss scaling is a CUDA recipe; on the CPU f16 turns
    into bf16 (same range as f32, no scaling needed)."""
    if requested == "auto":
        return ("f16" if device.type == "cuda" else "f32"), None
    if requested == "f16" and device.type != "cuda":
        return "bf16", "f16 autocast with loss scaling needs CUDA; training in bf16 autocast on the CPU instead"
    return requested, None


def validation_scores(probabilities: list[np.ndarray], labels: list[np.ndarray]) -> dict[str, Any]:
    """Event sensitivity at 10/5/2.5/1 false alarms per 24 h and sample AUROC, by ictal_backend.dsp.metrics
    (the same definitions as the lab), over the given recordings (or stand-alone windows)."""
    from .dsp.metrics import evaluate
    result = evaluate(list(zip(probabilities, [(y >= 0.5).astype(np.int8) for y in labels])))
    scores: dict[str, Any] = {"auroc": result["auroc"], "reference_events": result["reference_events"]}
    for point in result["operating_points"]:
        scores[f"sensitivity_at_{point['target_per_24h']:g}fa"] = point["sensitivity"]
    return scores


class _WindowDataset(torch.utils.data.Dataset):
    def __init__(self, source: WindowSource):
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.source[int(index)]
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))


def _loader(source: WindowSource, batch_list: list[np.ndarray], workers: int) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(_WindowDataset(source), batch_sampler=[b.tolist() for b in batch_list],
                                       num_workers=workers, pin_memory=torch.cuda.is_available())


# ---- state and checkpoints --------------------------------------------------------------------------------------

@dataclass
class Progress:
    epoch: int = 0              # epochs completed
    step: int = 0               # optimizer steps taken (skipped overflow steps included)
    batch_in_epoch: int = 0     # batches of the current epoch already done
    best_score: float | None = None
    best_metric: str | None = None
    bad_epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


class Checkpoints:
    def __init__(self, run_dir: Path, enabled: bool):
        self.dir = run_dir / "checkpoints"
        self.enabled = enabled
        if enabled:
            private_dir(self.dir)

    def save(self, stem: str, model: GraphModel, optimizer: torch.optim.Optimizer, scheduler: Any, scaler: Any,
             progress: Progress, meta: dict[str, str]) -> Path:
        weights = self.dir / f"{stem}.safetensors"
        state = self.dir / f"{stem}.state.pt"
        # Weights first, state second: a pair is complete (resumable) once its state file exists.
        save_weights(model, weights, {**meta, "epoch": str(progress.epoch), "step": str(progress.step)})
        snapshot = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(), "progress": progress.__dict__, "torch_rng": torch.get_rng_state()}
        atomic_write(state, lambda f: torch.save(snapshot, f))
        latest = {"weights": weights.name, "state": state.name, "epoch": progress.epoch, "step": progress.step}
        atomic_write(self.dir / "latest.json", json.dumps(latest, indent=1).encode())
        return weights


# ---- the run ---------------------------------------------------------------------------------------------------

def _noop_event(event: Event) -> None:
    pass


def _never() -> bool:
    return False


def run_training(ir: dict[str, Any] | IrGraph, config: dict[str, Any], data: dict[str, Any], run_dir: Path,
                 weights: Path | None = None, resume: bool = False,
                 on_event: Callable[[Event], None] = _noop_event,
                 should_stop: Callable[[], bool] = _never) -> dict[str, Any]:
    """Trains the graph; see the module docstring and docs/backend.md for the events and checkpoints."""
    c = resolve_config(config)
    dist = init_distributed(c["device"])
    try:
        result = _train(ir, c, data, Path(run_dir), weights, resume, on_event, should_stop, dist)
    except BaseException:
        dist.close(finished=False)
        raise
    dist.close(finished=True)
    return result


def _train(ir: dict[str, Any] | IrGraph, c: dict[str, Any], data: dict[str, Any], run_dir: Path,
           weights: Path | None, resume: bool, on_event: Callable[[Event], None], should_stop: Callable[[], bool],
           dist: Dist) -> dict[str, Any]:
    device = torch.device(f"cuda:{dist.local_rank}") if dist.world > 1 and torch.cuda.is_available() and c["device"] != "cpu" \
        else pick_device(c["device"])

    def emit(event: Event) -> None:
        if dist.main:
            on_event({"time": time.time(), **event})

    def log(message: str, level: str = "info") -> None:
        emit({"type": "log", "level": level, "message": message})

    graph = load_graph(ir)
    window = graph.tensors[graph.inputs[0]][-1]
    train_src, val_src = open_data(data, window)
    torch.manual_seed(c["seed"] + dist.rank)
    model = build_model(graph, weights, seed=c["seed"], device=device, scan_impl=c["scan"])
    # The fastest measured scan + recomputation whose memory fits this card at this batch (step_policy.py).
    step = choose_step(device, c["batch_size"], c["scan"], c["checkpoint_mamba"])
    model.set_scan_impl(step.scan, step.checkpoint)
    time_conv_algorithms(device)
    log(f"scan {step.scan}, recomputed in backward: {step.checkpoint} ({step.reason})")
    precision, warning = resolve_precision(c["precision"], device)
    if warning:
        log(warning, "warning")
    checkpoints = Checkpoints(run_dir, dist.main)
    fractions = train_src.seizure_fractions()
    # The balanced set is drawn once (the original's recipe); pos_weight comes from its share of seizure windows.
    train_windows = training_windows(fractions, c["seed"], c["balanced"], c["full_seizure_fraction"], c["background_ratio"])
    positive_rate = positive_share(fractions, train_windows)
    pos_weight = c["pos_weight"] if c["pos_weight"] is not None else pos_weight_for_rate(positive_rate)
    if c["pos_weight"] is None and positive_rate in (0.0, 1.0):
        log(f"the training windows hold {'no' if positive_rate == 0 else 'only'} seizure windows: pos_weight 1", "warning")

    def plan(epoch: int) -> list[np.ndarray]:
        return batches(epoch_plan(train_windows, c["seed"], epoch), c["batch_size"], dist.rank, dist.world)

    steps_per_epoch = len(plan(0))
    total_steps = c["steps"] if c["steps"] is not None else c["epochs"] * steps_per_epoch
    optimizer = make_optimizer(model, c)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total_steps, c["warmup_fraction"]))
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "f16")
    progress = Progress()
    meta = {"seed": str(c["seed"])}

    if resume:
        found = newest_checkpoint(checkpoints.dir)
        if found is None:
            log("resume asked for, but there is no complete checkpoint yet: starting from the beginning", "warning")
        else:
            load_weights(model, found.weights)
            state = torch.load(found.state, map_location=device, weights_only=False)
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            scaler.load_state_dict(state["scaler"])
            progress = Progress(**state["progress"])
            torch.set_rng_state(state["torch_rng"])
            log(f"resumed from step {progress.step} ({found.weights.name}, epoch {progress.epoch}); "
                f"continuing at step {progress.step + 1}")

    train_model: nn.Module = model
    if dist.world > 1:
        train_model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    wandb_run = _start_wandb(c, graph, data) if dist.main and c["wandb"] else None
    workers = c["num_workers"] if c["num_workers"] is not None else (4 if device.type == "cuda" else 0)
    val_batch = c["val_batch_size"] or c["batch_size"]
    n_params = sum(p.numel() for p in model.parameters())
    log(f"training {graph.name} ({n_params:,} parameters) on {device} in {precision}: {len(train_src)} training and "
        f"{len(val_src)} validation windows, {steps_per_epoch} steps per epoch, {total_steps} steps, batch "
        f"{c['batch_size']} x {dist.world} rank(s), positive rate {positive_rate:.4f}, pos_weight {pos_weight:.3f}")

    status, last_val = "succeeded", None
    loss_sum, loss_count, last_beat = 0.0, 0, time.monotonic()
    grad_norm = float("nan")
    stopped = False
    while progress.step < total_steps and not stopped:
        epoch_batches = plan(progress.epoch)[progress.batch_in_epoch:]
        train_model.train()
        for x, y in _loader(train_src, epoch_batches, workers):
            if dist.any(should_stop(), device):
                stopped = True
                break
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with autocast(device, precision):
                logits = train_model(x)
            loss = focal_loss(logits, y, c["focal_alpha"], c["focal_gamma"], pos_weight)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), c["clip_norm"]))
            if not math.isfinite(loss.item()) and precision != "f16":
                raise FloatingPointError(f"step {progress.step}: the loss is {loss.item()} (not finite) in {precision}")
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            progress.step += 1
            progress.batch_in_epoch += 1
            if math.isfinite(loss.item()):
                loss_sum, loss_count = loss_sum + loss.item(), loss_count + 1
            if progress.step % c["log_every"] == 0 or progress.step == total_steps:
                metrics = {"type": "metrics", "split": "train", "epoch": progress.epoch, "step": progress.step,
                           "loss": loss_sum / max(loss_count, 1), "lr": scheduler.get_last_lr()[0],
                           "grad_norm": grad_norm, "loss_scale": scaler.get_scale() if scaler.is_enabled() else 1.0}
                emit(metrics)
                if wandb_run:
                    wandb_run.log({f"train/{k}": v for k, v in metrics.items() if k not in ("type", "split")}, step=progress.step)
                loss_sum, loss_count = 0.0, 0
            if time.monotonic() - last_beat >= c["heartbeat_s"]:
                emit({"type": "heartbeat", "phase": "train", "epoch": progress.epoch, "step": progress.step})
                last_beat = time.monotonic()
            if progress.step >= total_steps:
                break
        epoch_done = not stopped and progress.batch_in_epoch >= steps_per_epoch
        if stopped:
            status = "cancelled"
            log(f"stop requested: checkpointing at step {progress.step}")
            if dist.main:
                path = checkpoints.save(f"step-{progress.step:08d}", model, optimizer, scheduler, scaler, progress, meta)
                emit({"type": "checkpoint", "name": path.name, "path": str(path), "epoch": progress.epoch, "step": progress.step})
            break
        if epoch_done:
            progress.epoch += 1
            progress.batch_in_epoch = 0
        dist.barrier()
        if dist.main:
            last_val = _validate(model, val_src, val_batch, device, precision, c, pos_weight, progress, emit, workers)
            stem = f"epoch-{progress.epoch:04d}" if epoch_done else f"step-{progress.step:08d}"
            path = checkpoints.save(stem, model, optimizer, scheduler, scaler, progress, meta)
            emit({"type": "checkpoint", "name": path.name, "path": str(path), "epoch": progress.epoch, "step": progress.step})
            improved = _track_best(progress, last_val)
            if improved:
                atomic_write(checkpoints.dir / "best.safetensors", path.read_bytes())
            if wandb_run:
                wandb_run.log({f"val/{k}": v for k, v in last_val.items() if isinstance(v, (int, float))}, step=progress.step)
        early = dist.any(dist.main and c["patience"] > 0 and progress.bad_epochs >= c["patience"], device)
        if early:
            status = "stopped_early"
            log(f"early stopping: no better {progress.best_metric} for {c['patience']} epochs (best {progress.best_score})")
            break
    if wandb_run:
        wandb_run.finish()
    final = newest_checkpoint(checkpoints.dir) if dist.main else None
    best = checkpoints.dir / "best.safetensors"
    result = {"status": status, "epochs": progress.epoch, "steps": progress.step,
              "final_checkpoint": str(final.weights) if final else None,
              "best_checkpoint": str(best) if dist.main and best.exists() else None,
              "best": {"metric": progress.best_metric, "score": progress.best_score}, "val": last_val}
    log(f"training {status} after {progress.step} steps ({progress.epoch} epochs)")
    return result


def _track_best(progress: Progress, val: dict[str, Any]) -> bool:
    """Higher sensitivity at 10 FA/24h is better; without reference events (no seizures in the validation
    set) the monitor falls back to lower validation loss. Returns whether this validation is the best yet."""
    sens = val.get(NO_STOP_METRIC)
    metric, score = (NO_STOP_METRIC, float(sens)) if sens is not None else ("val_loss", -float(val["loss"]))
    if progress.best_metric != metric:  # first validation, or the monitor changed: start over
        progress.best_metric, progress.best_score, progress.bad_epochs = metric, score, 0
        return True
    if score > progress.best_score:
        progress.best_score, progress.bad_epochs = score, 0
        return True
    progress.bad_epochs += 1
    return False


def _validate(model: GraphModel, source: WindowSource, batch_size: int, device: torch.device, precision: str,
              c: dict[str, Any], pos_weight: float, progress: Progress, emit: Callable[[Event], None],
              workers: int) -> dict[str, Any]:
    emit({"type": "log", "level": "info", "message": f"validation: start ({len(source)} windows)"})
    started = last_beat = time.monotonic()
    order = np.arange(len(source))
    batch_list = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    probs, labels, loss_sum, seen = [], [], 0.0, 0
    model.eval()
    with torch.no_grad():
        for k, (x, y) in enumerate(_loader(source, batch_list, workers)):
            x, y = x.to(device), y.to(device)
            with autocast(device, precision):
                logits = model(x)
            loss_sum += focal_loss(logits, y, c["focal_alpha"], c["focal_gamma"], pos_weight).item() * len(x)
            seen += len(x)
            probs.extend(torch.sigmoid(logits.float()).cpu().numpy().astype(np.float64))
            labels.extend(y.cpu().numpy())
            if time.monotonic() - last_beat >= c["heartbeat_s"]:
                emit({"type": "heartbeat", "phase": "validation", "epoch": progress.epoch, "step": progress.step,
                      "batches_done": k + 1, "batches": len(batch_list)})
                last_beat = time.monotonic()
    model.train()
    scores = validation_scores(*stitch_recordings(source, probs, labels))
    val = {"loss": loss_sum / max(seen, 1), **scores}
    emit({"type": "metrics", "split": "val", "epoch": progress.epoch, "step": progress.step, **val})
    emit({"type": "log", "level": "info", "message":
          f"validation: done in {time.monotonic() - started:.1f} s, mean loss {val['loss']:.5f}, sensitivity at "
          f"10 FA/24h {val.get(NO_STOP_METRIC)}, AUROC {val['auroc']}"})
    progress.history.append({"epoch": progress.epoch, "step": progress.step, **val})
    return val


def _start_wandb(c: dict[str, Any], graph: IrGraph, data: dict[str, Any]) -> Any:
    try:
        import wandb  # only when asked for: W&B is optional and off by default
    except ImportError:
        raise ConfigError("config.wandb is set but the wandb package is not installed (pip install wandb)") from None
    opts = c["wandb"]
    return wandb.init(project=opts["project"], entity=opts.get("entity"), name=opts.get("name"),
                      config={"graph": graph.name, "train": {k: v for k, v in c.items() if k != "wandb"}, "data": data})
