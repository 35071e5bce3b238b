"""Fuzzing the backend's IR loaders: `parse_ir` on documents (dicts, as the run API hands them over) and
`load_ir` on files. Seeded mutations of the real v3-tiny IR (hostile values at random places, keys dropped and
added, bytes flipped, truncated, deep nesting, huge integers, bytes that are not UTF-8). Each case must either
load or raise IrError; any other exception (OverflowError, RecursionError, UnicodeDecodeError, ...) fails.
A graph that loads must also pass through the run API's limit checks without any other error."""
from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from graph_fixtures import ts_graph_doc
from ictal_backend.api.limits import LimitExceeded, RunLimits, check_graph_limits
from ictal_backend.ir import IrError, IrGraph, load_ir, parse_ir

CASES = 2000


def _deep(n: int, leaf: Any = 1) -> Any:
    v = leaf
    for i in range(n):
        v = [v] if i % 2 else {"a": v}
    return v


SCALARS: list[Any] = [
    10**400, -(10**400), 10**20, 2**31, 2**53 + 1, 2**64, 0, -1, 1.5, 1e308, -1e308, float("inf"), float("-inf"),
    float("nan"), -0.0, True, False, None, "", "B", "\x00", "a\x00b", "\ud800", "x" * 1000,
]
# Containers are built afresh each time (a later mutation may change them); deep ones without copy.deepcopy,
# which would itself recurse too deeply.
CONTAINERS = [lambda: [], lambda: {}, lambda: [1, 2, 3], lambda: ["B"], lambda: [0], lambda: [-1], lambda: [[1, 2]],
              lambda: {"dist": "uniform"}, lambda: _deep(200), lambda: _deep(5000), lambda: [10**400] * 3,
              lambda: {"": None}]


def hostile(rng: random.Random) -> Any:
    return rng.choice(SCALARS) if rng.random() < 0.6 else rng.choice(CONTAINERS)()


def place(doc: Any, rng: random.Random) -> tuple[Any, Any]:
    """(container, key) of a value found by a random walk down from the top, stopping at each level with
    probability 0.3 (so top-level fields and deep attributes both get their share)."""
    container, key = doc, rng.choice(list(doc))
    while True:
        v = container[key]
        keys = list(v) if isinstance(v, dict) else range(len(v)) if isinstance(v, list) else []
        if not keys or rng.random() < 0.3:
            return container, key
        container, key = v, rng.choice(keys)


def mutate(text: str, rng: random.Random) -> dict[str, Any]:
    """A mutated copy of the document `text` holds."""
    doc = json.loads(text)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        container, key = place(doc, rng)
        action = rng.random()
        if action < 0.6:
            container[key] = hostile(rng)
        elif action < 0.75 and isinstance(container, dict):
            del container[key]
        elif action < 0.85 and isinstance(container, dict):
            container[rng.choice(["extra", "", "\x00", "nodes", "B"])] = hostile(rng)
        elif isinstance(container, list) and container:
            if rng.random() < 0.5:
                container.append(rng.choice(container))  # shared, not copied: the document is only read
            else:
                container.pop(rng.randrange(len(container)))
        else:
            other_container, other_key = place(doc, rng)
            try:  # a copy: the value may be an ancestor of the container (a cycle)
                container[key] = copy.deepcopy(other_container[other_key])
            except RecursionError:
                container[key] = None
    return doc


def mutate_bytes(text: bytes, rng: random.Random) -> bytes:
    kind = rng.randrange(7)
    if kind == 0:
        b = bytearray(text)
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if kind == 1:
        return text[: rng.randrange(len(text))]
    if kind == 2:
        at = rng.randrange(len(text))
        return text[:at] + rng.choice([b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80", b"\\ud800", b"NaN", b"1e999"]) + text[at:]
    if kind == 3:
        n = rng.choice([100, 5000, 100_000])
        return b"[" * n + text + b"]" * n
    if kind == 4:
        digits = rng.choice([400, 4301, 10_000])
        return text.replace(b'"ictal_ir": 1', b'"ictal_ir": 1' + b"0" * digits, 1) if rng.random() < 0.3 else \
            text.replace(b"19,", b"1" + b"9" * digits + b",", 1)
    if kind == 5:
        try:
            return json.dumps(mutate(text.decode(), rng)).encode()  # NaN / Infinity tokens included
        except (RecursionError, ValueError):  # too deep or a self-including document for json.dumps itself
            return text
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))


def _loads_or_refuses(load: Any, arg: Any, case: int) -> bool:
    """True if refused with an IrError, False if it loaded; any other exception fails the test."""
    try:
        graph = load(arg)
    except IrError:
        return True
    except Exception as e:  # noqa: BLE001 - exactly what this test looks for
        pytest.fail(f"case {case}: {type(e).__name__} escaped the loader: {str(e)[:300]}")
    assert isinstance(graph, IrGraph)
    try:
        check_graph_limits(graph, RunLimits())
    except LimitExceeded:
        pass
    return False


@pytest.fixture(scope="module")
def tiny() -> str:
    return json.dumps(ts_graph_doc("v3-tiny"), indent=1)


def test_parse_ir_on_fuzzed_documents_raises_only_ir_errors(tiny: str) -> None:
    rng = random.Random(20261205)
    refused = sum(_loads_or_refuses(parse_ir, mutate(tiny, rng), case) for case in range(CASES))
    assert refused > CASES // 2, "the mutations barely changed anything: the fuzzer is not exercising the checks"


def test_load_ir_on_fuzzed_files_raises_only_ir_errors(tiny: str, tmp_path: Path) -> None:
    rng = random.Random(5122026)
    path = tmp_path / "graph.json"
    refused = 0
    for case in range(CASES):
        path.write_bytes(mutate_bytes(tiny.encode(), rng))
        refused += _loads_or_refuses(load_ir, path, case)
    assert refused > CASES // 2
    with pytest.raises(IrError, match="cannot read"):
        load_ir(tmp_path / "missing.json")
    with pytest.raises(IrError, match="cannot read"):
        load_ir(str(tmp_path / "nul\x00.json"))
