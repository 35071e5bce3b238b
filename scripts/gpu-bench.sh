#!/usr/bin/env bash
# The GPU-machine benchmark: the v3 forward on WebGPU (Dawn on the machine's Vulkan driver) per batch and precision,
# and the PyTorch backend's training step on CUDA, in one run that prints a short table last.
#
# WebGPU part: the copy roofline, the v3 forward at each BATCHES (default 1 16) in f32, f16-storage and (where the
# adapter offers shader-f16) f16, and the v3 training step at batch TRAIN_BATCH (default 16) in the same precisions
# (`ictal train` on synthetic EEG, the median of its steps after the first); the profiler's own cost on the forward at
# the largest batch (`--overhead 5`) and the elementwise and reduction kernels' share of the copy roofline at 32M
# elements (`ictal bench`).
# Here (after npm install):   node scripts/bundle-node.mjs && bash ../shared/tools/devkit.sh
#                             bash scripts/gpu-mamba-check.sh --prepare && bash scripts/gpu-bench.sh --prepare-torch
# There (repository root, carrying .devkit, out/node-bundle and .gpu-pkgs):
#   source .devkit/bootstrap.sh; bash scripts/gpu-bench.sh OUTDIR [BATCHES] [TORCH_BATCHES]
#   SKIP_WEBGPU=1 bash scripts/gpu-bench.sh OUTDIR      # the backend step only (needs no Node; carry .gpu-pkgs)
#   SKIP_TORCH=1 bash scripts/gpu-bench.sh OUTDIR       # the WebGPU part only
# The backend part runs the full v3 training step (f16 autocast) at each TORCH_BATCHES (default 16 48 64) with the
# chunked scan and with mamba_ssm (from .gpu-pkgs/ on PYTHONPATH, the machine's own python3), each with the
# recomputation the trainer's policy picks; the first mamba_ssm run starts from an empty Triton cache (cold) and
# is repeated on the filled one (warm), or with TRITON_CACHE_SEED=DIR every run starts from a copy of the cache DIR
# an earlier run kept (a new container with its cache on a Volume); with BENCH_COMPILE=1 (default) batch 16 runs once more under torch.compile.
# Results (JSON reports, logs, summary.md) go to OUTDIR. Numbers published in docs/PERFORMANCE.md come from here.
set -uo pipefail
if [[ "${1:-}" == "--prepare-torch" ]]; then
  # The GPU machine has no Node: the v3 graph the backend step runs is written here.
  mkdir -p .gpu-pkgs && npx ictal graph --preset v3 --ir .gpu-pkgs/v3.json > /dev/null && echo "wrote .gpu-pkgs/v3.json"
  exit $?
fi
out=${1:?usage: gpu-bench.sh OUTDIR [BATCHES] [TORCH_BATCHES]  (or --prepare-torch)}
batches=${2:-1 16}
torch_batches=${3:-16 48 64}
[[ -n "${SKIP_TORCH:-}" ]] && torch_batches=""   # SKIP_TORCH=1: the WebGPU part only
mkdir -p "$out"
if [[ -z "${SKIP_WEBGPU:-}" ]]; then
mkdir -p out/node-bundle/dist/linux-x64
[[ -f out/node-bundle/dist/linux-x64/dawn.node ]] || xz -dc .devkit/dawn.node.xz > out/node-bundle/dist/linux-x64/dawn.node
ictal() { node out/node-bundle/ictal.mjs "$@"; }

ictal gpu-info --json > "$out/gpu-info.json" 2>"$out/gpu-info.log" || cat "$out/gpu-info.log"
ictal calibrate --json --copy-mib 1024 > "$out/calibrate.json" 2>"$out/calibrate.log" || cat "$out/calibrate.log"
ictal graph --preset v3 --ir "$out/v3.json" --weights "$out/v3.safetensors" > /dev/null
precisions="f32 f16-storage"
grep -q '"shader-f16"' "$out/gpu-info.json" && precisions="$precisions f16"
for p in $precisions; do
  for b in $batches; do
    echo "== webgpu v3 forward batch $b $p"
    timeout "${WEBGPU_TIMEOUT_S:-120}" node out/node-bundle/ictal.mjs profile --preset v3 --batch "$b" --precision "$p" --no-calibrate \
      --json "$out/profile-b$b-$p.json" > "$out/profile-b$b-$p.txt" 2>&1 || tail -5 "$out/profile-b$b-$p.txt"
  done
done
# The profiler's own cost on the forward at the largest batch (issue 11: <= 5 %), in the fastest precision offered,
# and the memory-bound kernel families' share of the copy roofline at 32M elements (issue 11: >= 80 %).
ob=${batches##* }
op=${precisions##* }
echo "== webgpu profiler overhead, v3 forward batch $ob $op"
timeout "${WEBGPU_TIMEOUT_S:-120}" node out/node-bundle/ictal.mjs profile --preset v3 --batch "$ob" --precision "$op" --no-calibrate --overhead 5 \
  > "$out/overhead-b$ob-$op.txt" 2>&1 || tail -5 "$out/overhead-b$ob-$op.txt"
echo "== webgpu memory-bound kernels at 33554432 elements"
timeout "${WEBGPU_TIMEOUT_S:-120}" node out/node-bundle/ictal.mjs bench --families elementwise,reduce --elements 33554432 --out "$out/roofline" \
  > "$out/roofline.txt" 2>&1 || tail -5 "$out/roofline.txt"
tb=${TRAIN_BATCH:-16}
for p in $precisions; do
  echo "== webgpu v3 training step batch $tb $p"
  rm -f "$out/train-b$tb-$p.jsonl"
  timeout "${WEBGPU_TIMEOUT_S:-120}" node out/node-bundle/ictal.mjs train --preset v3 --data synthetic --minutes 4 --steps 4 --batch "$tb" \
    --precision "$p" --log "$out/train-b$tb-$p.jsonl" > "$out/train-b$tb-$p.txt" 2>&1 || tail -5 "$out/train-b$tb-$p.txt"
  timeout "${WEBGPU_TIMEOUT_S:-120}" node out/node-bundle/ictal.mjs profile --step --preset v3 --batch "$tb" --precision "$p" --no-calibrate --json "$out/profile-step-b$tb-$p.json" > "$out/profile-step-b$tb-$p.txt" 2>&1 || tail -5 "$out/profile-step-b$tb-$p.txt"   # where the step's time goes
done
fi

# -- the backend's training step ---------------------------------------------------------------------------------
ir=${BENCH_IR:-$out/v3.json}   # BENCH_IR and BENCH_DEVICE=cpu: a dry run of this part on any machine
[[ -s "$ir" ]] || ir=.gpu-pkgs/v3.json
[[ -s "$ir" ]] || { echo "gpu-bench: no v3 graph ($out/v3.json or .gpu-pkgs/v3.json): run --prepare-torch here" >&2; exit 2; }
export PYTHONPATH=.gpu-pkgs:backend${PYTHONPATH:+:$PYTHONPATH}
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True   # as the Modal image: batch 64 ran out of memory without
export TRITON_CACHE_AUTOTUNING=1                           # autotune results kept in the cache too
export TRITON_CACHE_DIR="$out/triton-cache"
rm -rf "$TRITON_CACHE_DIR"                                 # the first mamba_ssm run starts cold, unless
first=1
# TRITON_CACHE_SEED: the cache an earlier run kept, as a new container finds it on its Volume (a warm start).
if [[ -n "${TRITON_CACHE_SEED:-}" ]]; then
  mkdir -p "$TRITON_CACHE_DIR" && cp -r "$TRITON_CACHE_SEED"/. "$TRITON_CACHE_DIR"/
  first=0; echo "== Triton cache seeded from $TRITON_CACHE_SEED"
fi
py=${PYTHON:-python3}
scans=chunked
$py -c "from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined" 2>"$out/mamba-import.log" \
  && scans="mamba_ssm chunked" || echo "== mamba_ssm does not import (see $out/mamba-import.log): chunked scan only"
scans=${BENCH_SCANS:-$scans}   # e.g. BENCH_SCANS=mamba_ssm to spend a short device call on one scan only
step() {  # step NAME ARGS...: one model_step.py run, its table row in NAME.txt and numbers in NAME.json
  local name=$1; shift
  echo "== torch v3 training step: $name"
  timeout "${STEP_TIMEOUT_S:-420}" $py backend/benchmarks/model_step.py --ir "$ir" --device "${BENCH_DEVICE:-cuda}" --precision f16 \
    --checkpoint policy --repeats 3 --json "$out/$name.json" "$@" > "$out/$name.txt" 2>&1 || tail -5 "$out/$name.txt"
}
for b in $torch_batches; do
  for s in $scans; do
    step "torch-$s-b$b" --batch "$b" --scan "$s"
    if [[ $s == mamba_ssm && $first == 1 ]]; then  # the same step again, its kernels now in the cache
      first=0
      [[ -f "$out/torch-$s-b$b.json" ]] && mv "$out/torch-$s-b$b.json" "$out/torch-$s-b$b-cold.json"  # none if it timed out
      mv "$out/torch-$s-b$b.txt" "$out/torch-$s-b$b-cold.txt"
      step "torch-$s-b$b-warm" --batch "$b" --scan "$s"
    fi
  done
done
if [[ "${BENCH_COMPILE:-1}" == 1 && -n "$torch_batches" ]]; then
  b=${torch_batches%% *}
  for s in $scans; do step "torch-$s-b$b-compiled" --batch "$b" --scan "$s" --compile; done
fi

$py - "$out" <<'PY' | tee "$out/summary.md"
import glob, json, os, re, sys
out = sys.argv[1]
webgpu = os.path.exists(f"{out}/gpu-info.json")
info = json.load(open(f"{out}/gpu-info.json")) if webgpu and os.path.getsize(f"{out}/gpu-info.json") else {}
if webgpu:
    print(f"adapter: {info.get('description') or info.get('device')} ({info.get('vendor')}), features {', '.join(info.get('features', []))}")
    try:
        c = json.load(open(f"{out}/calibrate.json")); print(f"roofline: copy {c['copyGBps']:.0f} GB/s, FMA f32 {c['fmaGflops']:.0f} GFLOP/s")
    except Exception as e: print(f"roofline: not measured ({e})")
    print("\n| WebGPU v3 forward | batch | GPU ms (sum of dispatches) | dispatches | ms per window |\n|---|---|---|---|---|")
for f in sorted(glob.glob(f"{out}/profile-b*.json"), key=lambda f: (f.split('-')[-1], int(re.search(r'-b(\d+)-', f).group(1)))):
    r = json.load(open(f)); ms = r["gpuNs"] / 1e6
    print(f"| {r['precision']} | {r['batch']} | {ms:.2f} | {r['dispatches']} | {ms / r['batch']:.2f} |")
for f in sorted(glob.glob(f"{out}/overhead-b*.txt")):
    m = re.search(r"profiler overhead: ([\d.]+) ms per batch of (\d+) dispatches \(([\d.]+)%", open(f).read())
    b, p = re.search(r"overhead-b(\d+)-(.+)\.txt$", f).groups()
    print(f"\nprofiler overhead, v3 forward batch {b} {p}: " + (f"{m.group(1)} ms per pass of {m.group(2)} dispatches, "
          f"{m.group(3)} % (target <= 5 %)" if m else f"not measured (see {f})"))
if os.path.exists(f"{out}/roofline/report.json"):
    rep = json.load(open(f"{out}/roofline/report.json"))
    rows = {}
    for k in rep["kernels"]:  # the main passes only: '.final' combines a few KiB, '(pairs)' is the old kernel kept for comparison
        if k.get("bound") == "memory" and not k["label"].endswith(".final") and "(pairs)" not in k["label"]:
            rows.setdefault(k["precision"], []).append((k["rooflineShare"], k["label"]))
    print("\n| memory-bound kernels at 33,554,432 elements | kernels | lowest share of the copy roofline | highest | below 80 % |\n|---|---|---|---|---|")
    for p, v in rows.items():
        lo, hi = min(v), max(v)
        print(f"| {p} | {len(v)} | {100 * lo[0]:.0f} % ({lo[1]}) | {100 * hi[0]:.0f} % | {sum(1 for x in v if x[0] < 0.8)} |")
import statistics
train = {}
for f in sorted(glob.glob(f"{out}/train-b*.jsonl")):
    steps = [json.loads(line) for line in open(f) if line.strip()]
    if len(steps) >= 2:
        p = re.search(r"train-b\d+-(.+)\.jsonl$", f).group(1)
        train[p] = (int(re.search(r"-b(\d+)-", f).group(1)), statistics.median(s["stepMs"] for s in steps[1:]) / 1e3, steps[0]["stepMs"] / 1e3)
if train:
    print("\n| WebGPU v3 training step | batch | step s (median after the first) | first step s |\n|---|---|---|---|")
    for p, (b, s, first) in train.items():
        print(f"| {p} | {b} | {s:.3f} | {first:.1f} |")
rows = []
for f in glob.glob(f"{out}/torch-*.json"):
    r = json.load(open(f)); r["name"] = os.path.basename(f)[:-5]; rows.append(r)
if rows:
    import torch
    try:
        import mamba_ssm; mv = mamba_ssm.__version__
    except Exception as e:  # noqa: BLE001
        mv = f"not importable ({type(e).__name__})"
    from ictal_backend.scan import CUDA_CHUNK, MAMBA_SSM_CHUNK
    print(f"\ntorch v3 training step, f16 autocast: {rows[0]['card']}, torch {torch.__version__}, mamba_ssm {mv}, "
          f"PYTORCH_CUDA_ALLOC_CONF={os.environ.get('PYTORCH_CUDA_ALLOC_CONF', '')}; chunk {MAMBA_SSM_CHUNK} (mamba_ssm) / "
          f"{CUDA_CHUNK} (chunked) and cuDNN's algorithms timed, unless the note says otherwise")
    print("| batch | scan | recomputed | compiled | first step s | step s (median) | peak GiB | GiB per window | note |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["batch"], r["scan"], r["compiled"], r["name"])):
        note = "cold Triton cache" if r["name"].endswith("-cold") else "warm Triton cache" if r["name"].endswith("-warm") else ""
        if not note and r["scan"] == "mamba_ssm" and os.environ.get("TRITON_CACHE_SEED"):
            note = "Triton cache carried from an earlier run"
        extra = [f"chunk {r['chunk']}" if r.get("chunk") else "", "cuDNN heuristic" if r.get("conv_timing") is False else ""]
        note = "; ".join(x for x in (note, *extra, r.get("error") or "") if x)
        print(f"| {r['batch']} | {r['scan']} | {r['checkpoint']} | {'yes' if r['compiled'] else 'no'} | {r['first_step_s']:.1f} | "
              f"{r['step_s']:.3f} | {r['peak_gib']:.1f} | {r['gib_per_window']:.2f} | {note} |")
ref = {r["scan"]: r["step_s"] for r in rows if r["batch"] == 16 and not r["compiled"] and not r["name"].endswith("-cold") and "step_s" in r}
if train and ref:
    print("\nRatios at batch 16 (WebGPU step / PyTorch step, same run): " + "; ".join(
        f"{p} / {scan} {s / t:.1f}x" for p, (b, s, _) in train.items() if b == 16 for scan, t in sorted(ref.items()) if t))
for f in sorted(glob.glob(f"{out}/torch-*.txt")):
    if not os.path.exists(f[:-4] + ".json"):
        print(f"| {os.path.basename(f)[:-4]}: no result (see {f}) |")
PY
