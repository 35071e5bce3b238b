"""Python half of the TypeScript/Python parity tests (test/data/*-parity.test.ts): reads DIR/request.json and
the .npy inputs it names, runs ictal_backend.dsp, writes .npy outputs and DIR/answer.json (keys as the
TypeScript names them, so that answers compare directly)."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "backend"))

import numpy as np  # noqa: E402

from ictal_backend.data.cache import load_recording  # noqa: E402  (the cache builder's own EDF + csv_bi reading)
from ictal_backend.dsp import metrics, postprocess, preprocess  # noqa: E402

PARAM_NAMES = {
    "fs": "fs", "onThreshold": "on_threshold", "offThreshold": "off_threshold", "openingSamples": "opening_samples",
    "closingSamples": "closing_samples", "minDurationS": "min_duration_s", "mergeGapS": "merge_gap_s",
    "minOnsetSamples": "min_onset_samples", "minOffsetSamples": "min_offset_samples",
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def camel_keys(value):
    if isinstance(value, dict):
        return {camel(k): camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def overrides(params: dict) -> dict:
    return {PARAM_NAMES[k]: v for k, v in params.items()}


def main(folder: Path) -> None:
    request = json.loads((folder / "request.json").read_text())
    load = lambda name: np.load(folder / name)  # noqa: E731
    answers = []
    for case in request["cases"]:
        op = case["op"]
        if op == "preprocess":
            y = preprocess.preprocess_recording(load(case["signals"]), case["fs"])
            np.save(folder / case["output"], y)
            labels = load(case["labels"]) if "labels" in case else np.zeros(y.shape[1], np.float32)
            w, lab = preprocess.windows(y, labels, case["window"], case["stride"])
            np.save(folder / case["windowsOutput"], w)
            np.save(folder / case["labelsOutput"], lab)
            answers.append({"samples": int(y.shape[1]), "windows": int(w.shape[0])})
        elif op == "preprocess-edf":
            raw, fs, events = load_recording(folder / case["edf"], folder / case["csv"])
            y = preprocess.preprocess_recording(raw, fs)
            np.save(folder / case["output"], y)
            w, lab = preprocess.windows(y, preprocess.labels_from_events(events, y.shape[1]))
            np.save(folder / case["windowsOutput"], w)
            np.save(folder / case["labelsOutput"], lab)
            answers.append({"samples": int(y.shape[1]), "windows": int(w.shape[0]), "fs": fs})
        elif op == "postprocess":
            answers.append(postprocess.postprocess(load(case["probabilities"]), **overrides(case.get("params", {}))))
        elif op == "evaluate":
            recordings = [(load(r["probabilities"]), load(r["labels"])) for r in case["recordings"]]
            result = metrics.evaluate(
                recordings, fa_targets_per_24h=case.get("faTargetsPer24h", metrics.FA_TARGETS_PER_24H),
                **overrides(case.get("params", {})),
            )
            answers.append(camel_keys(result))
        elif op == "auroc":
            answers.append(metrics.auroc(load(case["scores"]), load(case["labels"])))
        else:
            raise ValueError(f"unknown op {op!r}")
    (folder / "answer.json").write_text(json.dumps(answers))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
