"""Python half of the training parity test (test/train/train-parity.test.ts): the backend trainer's step body
(trainer.run_training: focal loss, backward, clip_grad_norm_, AdamW with make_optimizer's groups, LambdaLR with
lr_factor), in f32 on the CPU, on one fixed batch for `steps` steps; writes the weights with save_weights.

usage: train_steps_driver.py IR WEIGHTS X.npy Y.npy CONFIG.json OUT.safetensors
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "backend"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ictal_backend.losses import focal_loss  # noqa: E402
from ictal_backend.runtime import autocast, build_model  # noqa: E402
from ictal_backend.safetensors_io import save_weights  # noqa: E402
from ictal_backend.trainer import DEFAULTS, lr_factor, make_optimizer  # noqa: E402


def main() -> None:
    ir, weights, x_path, y_path, config_path, out = sys.argv[1:7]
    c = {**DEFAULTS, **json.loads(Path(config_path).read_text())}
    torch.manual_seed(0)
    model = build_model(ir, weights, device="cpu")
    model.train()
    x = torch.from_numpy(np.load(x_path).astype(np.float32))
    y = torch.from_numpy(np.load(y_path).astype(np.float32))
    optimizer = make_optimizer(model, c)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, c["steps"], c["warmup_fraction"]))
    device = torch.device("cpu")
    for _ in range(c["steps"]):
        with autocast(device, "f32"):
            logits = model(x)
        loss = focal_loss(logits, y, c["focal_alpha"], c["focal_gamma"], c["pos_weight"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), c["clip_norm"])
        optimizer.step()
        scheduler.step()
    save_weights(model, out)


if __name__ == "__main__":
    main()
