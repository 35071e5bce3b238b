"""The 19-channel 10-20 montage of the v3 model (design/V3_MODEL.md); the same as src/data/montage.ts."""
from __future__ import annotations

MONTAGE_CHANNELS: tuple[str, ...] = (
    "Fp1", "F3", "C3", "P3", "F7", "T3", "T5", "O1", "Fz", "Cz", "Pz", "Fp2", "F4", "C4", "P4", "F8", "T4", "T6", "O2",
)
CHANNEL_ALIASES = {"T7": "T3", "T8": "T4", "P7": "T5", "P8": "T6"}
