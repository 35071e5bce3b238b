"""What one API server is configured with: where its state lives, who may call it, what it accepts."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .limits import RunLimits

# The lab's dev server (`npm run lab`) serves on this port; both spellings of loopback reach it.
DEFAULT_LAB_ORIGINS = ("http://127.0.0.1:5173", "http://localhost:5173")
# Full-size v3 weights are ~36 MB of f32, ~48 MB as base64: leave room for that and the IR.
DEFAULT_MAX_BODY_BYTES = 96 * 1024 * 1024


@dataclass(frozen=True)
class ApiSettings:
    home: Path
    token: str
    cors_origins: tuple[str, ...] = DEFAULT_LAB_ORIGINS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # Runs started at once; more wait as `queued`. One per GPU is the sane default.
    max_concurrent_runs: int = 1
    # Seconds between the run worker's own heartbeat events (the trainer may emit more).
    heartbeat_s: float = 30.0
    # Folders an `npz` data reference may point into; empty means HOME/data only.
    data_dirs: tuple[Path, ...] = field(default_factory=tuple)
    # Seconds a cancelled run gets to stop by itself before it is killed.
    cancel_grace_s: float = 10.0
    # Where the SQLite file lives when not HOME/state.db (Modal keeps it on a Volume of its own).
    db_file: Path | None = None
    # What one submission may ask for, and how many runs / bytes the server keeps (docs/api.md "Limits").
    limits: RunLimits = field(default_factory=RunLimits)

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("the API token is empty: set ICTAL_API_TOKEN or pass --token-file FILE")
        if self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes {self.max_body_bytes} is below 1 KiB: no run request fits")
        if self.max_concurrent_runs < 1:
            raise ValueError(f"max_concurrent_runs must be >= 1, got {self.max_concurrent_runs}")

    @property
    def db_path(self) -> Path:
        return self.db_file or self.home / "state.db"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def allowed_data_dirs(self) -> tuple[Path, ...]:
        return self.data_dirs or (self.home / "data",)
