"""The API's request and response bodies (they are also what FastAPI's OpenAPI document shows)."""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]


class TrainSpec(BaseModel):
    """How long and how to train. Exactly one of `steps` and `epochs`. Keys beyond these (lr, weight_decay,
    seed, ...) go to the trainer unchanged; it refuses the ones it does not know."""
    model_config = ConfigDict(extra="allow")

    steps: Optional[int] = Field(None, ge=1, le=100_000_000, description="optimizer steps")
    epochs: Optional[int] = Field(None, ge=1, le=100_000, description="passes over the training windows")
    batch_size: int = Field(..., ge=1, le=4096)
    precision: Literal["f32", "f16"] = Field("f32", description="f16: autocast with dynamic loss scaling")

    @model_validator(mode="after")
    def _one_length(self) -> "TrainSpec":
        if (self.steps is None) == (self.epochs is None):
            raise ValueError("give exactly one of `steps` and `epochs`")
        return self


class SyntheticData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["synthetic"]
    seed: int = Field(..., ge=0, le=2**63 - 1)


class NpzData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["npz"]
    path: str = Field(..., min_length=1, max_length=4096, description="a file or folder on the server, "
                      "inside one of its data folders (serve --data-dir)")


class CacheData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["cache"]
    path: str = Field(..., min_length=1, max_length=4096, description="a window cache (docs/backend.md) on the "
                      "server, inside one of its data folders")


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
