"""TUSZ signal labels ("EEG FP1-REF", "EEG FP1-LE", "EEG T7-REF", "Fp1", ...) mapped onto the 19 montage
channels; the same rules as src/data/tusz.ts."""
from __future__ import annotations

import re

from .errors import ChannelMappingError
from .montage import CHANNEL_ALIASES, MONTAGE_CHANNELS

REFERENCES = frozenset({"REF", "LE", "AR", "AVG", "A1", "A2", "M1", "M2"})
_BY_UPPER = {c.upper(): c for c in MONTAGE_CHANNELS} | dict(CHANNEL_ALIASES)


def parse_channel_label(label: str) -> tuple[str, str] | None:
    """(montage channel, reference suffix or '') a label names, or None."""
    s = re.sub(r"\s+", "", label.upper())
    if s.startswith("EEG"):
        s = s[3:]
    reference = ""
    if "-" in s:
        s, reference = s.split("-", 1)
        if reference not in REFERENCES:
            return None
    channel = _BY_UPPER.get(s)
    return (channel, reference) if channel else None


def map_channels(labels: list[str] | tuple[str, ...]) -> tuple[list[int], list[str]]:
    """For each montage channel (MONTAGE_CHANNELS order) the index of the label carrying it, and the references
    seen. Raises ChannelMappingError naming every missing or doubled channel."""
    found: dict[str, list[int]] = {}
    references: set[str] = set()
    for i, label in enumerate(labels):
        parsed = parse_channel_label(label)
        if parsed:
            found.setdefault(parsed[0], []).append(i)
            references.add(parsed[1])
    doubled = [c for c in MONTAGE_CHANNELS if len(found.get(c, ())) > 1]
    if doubled:
        detail = "; ".join(f"{c}: " + " and ".join(f"{labels[i]!r} (#{i})" for i in found[c]) for c in doubled)
        raise ChannelMappingError("ambiguous", f"more than one signal maps onto {detail}")
    missing = tuple(c for c in MONTAGE_CHANNELS if c not in found)
    if missing:
        present = ", ".join(repr(label) for label in labels) or "none"
        raise ChannelMappingError("missing", f"missing {len(missing)} of the 19 montage channels: {', '.join(missing)} (signals present: {present})", missing)
    return [found[c][0] for c in MONTAGE_CHANNELS], sorted(references)
