#!/usr/bin/env bash
# The GPU-machine benchmark: the v3 forward on WebGPU (Dawn on the machine's Vulkan driver) per batch and precision,
# and the PyTorch backend's training step on CUDA, in one run that prints a short table last.
#
# Here (after npm install):   node scripts/bundle-node.mjs && bash ../shared/tools/devkit.sh
# There (repository root, carrying .devkit and out/node-bundle):
#   source .devkit/bootstrap.sh; bash scripts/gpu-bench.sh OUTDIR [BATCHES] [TORCH_BATCHES]
# Results (JSON reports, logs, summary.md) go to OUTDIR. Numbers published in docs/PERFORMANCE.md come from here.
set -uo pipefail
out=${1:?usage: gpu-bench.sh OUTDIR [BATCHES] [TORCH_BATCHES]}
batches=${2:-1 4 16}
torch_batches=${3:-4 16}
mkdir -p "$out" out/node-bundle/dist/linux-x64
[[ -f out/node-bundle/dist/linux-x64/dawn.node ]] || xz -dc .devkit/dawn.node.xz > out/node-bundle/dist/linux-x64/dawn.node
ictal() { node out/node-bundle/ictal.mjs "$@"; }

ictal gpu-info --json > "$out/gpu-info.json" 2>"$out/gpu-info.log" || cat "$out/gpu-info.log"
ictal calibrate --json --copy-mib 1024 > "$out/calibrate.json" 2>"$out/calibrate.log" || cat "$out/calibrate.log"
ictal graph --preset v3 --ir "$out/v3.json" --weights "$out/v3.safetensors" > /dev/null
for p in f32 f16-storage; do
  for b in $batches; do
    echo "== webgpu v3 forward batch $b $p"
    ictal profile --preset v3 --batch "$b" --precision "$p" --no-calibrate --json "$out/profile-b$b-$p.json" > "$out/profile-b$b-$p.txt" 2>&1 \
      || tail -5 "$out/profile-b$b-$p.txt"
  done
done
for b in $torch_batches; do
  echo "== torch v3 training step batch $b f16"
  python3 backend/benchmarks/model_step.py --ir "$out/v3.json" --weights "$out/v3.safetensors" --batch "$b" --device cuda \
    --precision f16 --repeats 3 > "$out/torch-step-b$b.txt" 2>&1 || tail -5 "$out/torch-step-b$b.txt"
done

python3 - "$out" <<'PY' | tee "$out/summary.md"
import glob, json, os, re, sys
out = sys.argv[1]
info = json.load(open(f"{out}/gpu-info.json")) if os.path.getsize(f"{out}/gpu-info.json") else {}
print(f"adapter: {info.get('description') or info.get('device')} ({info.get('vendor')}), features {', '.join(info.get('features', []))}")
try:
    c = json.load(open(f"{out}/calibrate.json")); print(f"roofline: copy {c['copyGBps']:.0f} GB/s, FMA f32 {c['fmaGflops']:.0f} GFLOP/s")
except Exception as e: print(f"roofline: not measured ({e})")
print("\n| WebGPU v3 forward | batch | GPU ms (sum of dispatches) | dispatches | ms per window |\n|---|---|---|---|---|")
for f in sorted(glob.glob(f"{out}/profile-b*.json"), key=lambda f: (f.split('-')[-1], int(re.search(r'-b(\d+)-', f).group(1)))):
    r = json.load(open(f)); ms = r["gpuNs"] / 1e6
    print(f"| {r['precision']} | {r['batch']} | {ms:.2f} | {r['dispatches']} | {ms / r['batch']:.2f} |")
print("\n| torch v3 training step (f16 autocast) | step s (median) | forward s | peak GiB |\n|---|---|---|---|")
for f in sorted(glob.glob(f"{out}/torch-step-b*.txt")):
    rows = [l for l in open(f) if l.startswith("| ") and not l.startswith("| batch")]
    print(rows[-1].strip() if rows else f"| {f}: no result |")
PY
