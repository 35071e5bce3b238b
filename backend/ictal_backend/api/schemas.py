"""The API's request and response bodies (they are also what FastAPI's OpenAPI document shows)."""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]


class TrainSpec(BaseModel):
    """How long and how to train. Exactly one of `steps` and `epochs`. Other keys of the trainer's config
    (lr, weight_decay, seed, log_every, ... : docs/backend.md) pass through; the trainer's own config check
    runs before the run is accepted, so an unknown key is a 422 too."""
    model_config = ConfigDict(extra="allow")

    steps: Optional[int] = Field(None, ge=1, description="optimizer steps (at most the server's max_steps)")
    epochs: Optional[int] = Field(None, ge=1, description="passes over the training windows (at most max_epochs)")
    batch_size: int = Field(..., ge=1, description="at most the server's max_batch_size")
    precision: Optional[Literal["auto", "f32", "f16", "bf16"]] = Field(
        None, description="auto (the default): f16 on CUDA, f32 on CPU; f16 and bf16 use autocast (f16 with "
                          "dynamic loss scaling)")

    @model_validator(mode="after")
    def _one_length(self) -> "TrainSpec":
        if (self.steps is None) == (self.epochs is None):
            raise ValueError("give exactly one of `steps` and `epochs`")
        return self


class SyntheticData(BaseModel):
    """The embedded synthetic EEG generator."""
    model_config = ConfigDict(extra="forbid")
    kind: Literal["synthetic"]
    seed: int = Field(..., ge=0, le=2**63 - 1)
    windows: Optional[int] = Field(None, ge=1, description="training windows (default 32; with val_windows at most max_windows)")
    val_windows: Optional[int] = Field(None, ge=1, description="validation windows (default 8)")


class _PathData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(..., min_length=1, max_length=4096,
                      description="on the server, inside one of its data folders (serve --data-dir)")
    val_path: Optional[str] = Field(None, min_length=1, max_length=4096,
                                    description="validation data; default: hold out val_fraction of the recordings")
    val_fraction: Optional[float] = Field(None, gt=0, lt=1, description="default 0.1")


class NpzData(_PathData):
    """The reference's cache: a .npz file or a folder of them (`windows`, `labels`)."""
    kind: Literal["npz"]


class CacheData(_PathData):
    """The window cache (docs/backend.md)."""
    kind: Literal["cache"]


DataSpec = Union[SyntheticData, NpzData, CacheData]


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    graph: dict[str, Any] = Field(..., description="the IR document (docs/ir.md)")
    weights: Optional[str] = Field(None, description="base64 of a safetensors file holding every parameter; "
                                   "omitted: the trainer initialises from the IR's init rules and train.seed")
    train: TrainSpec
    data: DataSpec = Field(..., discriminator="kind")


class RunCreated(BaseModel):
    id: str
    status: RunStatus


class GraphSummary(BaseModel):
    name: str
    ictal_ir: int
    nodes: int
    params: int = Field(..., description="trainable parameter count")


class RunInfo(BaseModel):
    id: str
    status: RunStatus
    created_at: str
    started_at: Optional[str]
    finished_at: Optional[str]
    graph: GraphSummary
    train: dict[str, Any]
    data: dict[str, Any]
    init: Literal["weights", "seed"]
    metrics: dict[str, Any] = Field(..., description="per split (train, val): the latest metrics the run reported")
    artifacts: list[str] = Field(..., description="checkpoint names for GET /api/runs/{id}/artifacts/{name}")
    error: Optional[str]
    attempts: int = Field(..., description="how many times a worker was started (resumes add one)")
    cancel_requested: bool


class RunList(BaseModel):
    runs: list[RunInfo]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
