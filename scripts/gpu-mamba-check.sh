#!/usr/bin/env bash
# mamba_ssm's scan path, proven on a GPU machine (issue 9 item 4): runs the two mamba_ssm tests of
# backend/tests/test_scan.py (the scan against float64 within the TF32 bound; a v3-tiny f16 training step against
# the chunked scan) and prints a short table. The GPU machine has torch and triton but no mamba_ssm, no Node and no
# network, so what it needs travels in the ignored folder .gpu-pkgs/:
#   here:             bash scripts/gpu-mamba-check.sh --prepare   (mamba_ssm 2.3.2.post1 source, einops, the graph)
#   on the machine:   bash scripts/gpu-mamba-check.sh             (from the repo root; carry .gpu-pkgs)
# It uses the machine's own python3 (torch, triton), not backend/.venv.
set -uo pipefail
cd "$(dirname "$0")/.."
PKGS=.gpu-pkgs
MAMBA_VERSION=2.3.2.post1
EINOPS_VERSION=0.8.2
GRAPH=$PKGS/v3-tiny-k18.json

if [[ "${1:-}" == "--prepare" ]]; then
  set -e
  pip=backend/.venv/bin/pip
  tmp=$(mktemp -d)
  # mamba_ssm's setup.py needs `wheel` just to report its metadata; MAMBA_SKIP_CUDA_BUILD keeps it from compiling.
  $pip install -q --target "$tmp/wheel" wheel
  MAMBA_SKIP_CUDA_BUILD=TRUE PYTHONPATH=$tmp/wheel $pip download -q --no-deps --no-binary :all: --no-build-isolation \
    "mamba-ssm==$MAMBA_VERSION" -d "$tmp"
  $pip download -q --no-deps --only-binary :all: "einops==$EINOPS_VERSION" -d "$tmp"
  rm -rf "$PKGS/mamba_ssm" "$PKGS"/einops*
  mkdir -p "$PKGS"
  tar -xzf "$tmp/mamba_ssm-$MAMBA_VERSION.tar.gz" -C "$tmp"
  cp -r "$tmp/mamba_ssm-$MAMBA_VERSION/mamba_ssm" "$tmp/mamba_ssm-$MAMBA_VERSION/LICENSE" "$PKGS/"
  mv "$PKGS/LICENSE" "$PKGS/mamba_ssm/LICENSE"
  # The released __init__ imports compiled CUDA extensions (selective_scan_cuda) that a source copy lacks.
  cat > "$PKGS/mamba_ssm/__init__.py" <<EOF
__version__ = "$MAMBA_VERSION"

# Reduced for Ictal's GPU runs (scripts/gpu-mamba-check.sh): the released file imports selective_scan_cuda and
# other compiled CUDA extensions first, which a source copy does not have. Ictal needs only the Triton SSD path
# (mamba_ssm.ops.triton.ssd_combined); Mamba2 is kept where its own imports (huggingface_hub) are present.
try:
    from mamba_ssm.modules.mamba2 import Mamba2
except ImportError:
    pass
EOF
  backend/.venv/bin/python -m zipfile -e "$tmp/einops-$EINOPS_VERSION-py3-none-any.whl" "$PKGS"
  # v3-tiny with every neighbour kept (test_scan.py says why), built here: the GPU machine has no Node.
  npx ictal graph --preset v3-tiny --set adjacency.k=18 --ir "$GRAPH" > /dev/null
  rm -rf "$tmp"
  echo "prepared $PKGS: $(ls $PKGS | tr '\n' ' ')($(du -sh $PKGS | cut -f1))"
  exit 0
fi

for need in "$PKGS/mamba_ssm/__init__.py" "$PKGS/einops/__init__.py" "$GRAPH"; do
  [[ -f "$need" ]] || { echo "gpu-mamba-check: $need is missing; run 'bash scripts/gpu-mamba-check.sh --prepare' first and carry $PKGS" >&2; exit 2; }
done
export PYTHONPATH=$PKGS:backend${PYTHONPATH:+:$PYTHONPATH}
export ICTAL_MAMBA_CHECK_IR=$PWD/$GRAPH
py=${PYTHON:-python3}
report=$(mktemp -d)/junit.xml
$py -m pytest -v -s -rA -p no:cacheprovider backend/tests/test_scan.py -k "mamba_ssm" --junitxml="$report"
rc=$?
$py - "$report" <<'PY'
import datetime, sys, xml.etree.ElementTree as ET
import torch
try:
    import triton; tv = triton.__version__
except Exception as e:  # noqa: BLE001
    tv = f"missing ({e})"
try:
    import mamba_ssm; mv = mamba_ssm.__version__
except Exception as e:  # noqa: BLE001
    mv = f"missing ({e})"
try:
    from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined  # noqa: F401
    ssd = "imports"
except Exception as e:  # noqa: BLE001
    ssd = f"does not import ({type(e).__name__}: {e})"
card = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
print(f"\n== mamba_ssm check, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {card}")
print(f"   torch {torch.__version__}, CUDA {torch.version.cuda}, triton {tv}, mamba_ssm {mv}; its Triton SSD path {ssd}")
print(f"{'test':<70} {'result':<8} {'time':>7}")
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    result = "passed"
    for tag in ("failure", "error", "skipped"):
        el = case.find(tag)
        if el is not None:
            result = {"failure": "FAILED", "error": "ERROR", "skipped": "skipped"}[tag]
            detail = (el.get("message") or "").splitlines()[0][:160]
    print(f"{case.get('name'):<70} {result:<8} {float(case.get('time', 0)):>6.1f}s")
    if result != "passed":
        print(f"    {detail}")
    for prop in case.iter("property"):
        print(f"    {prop.get('name')}: {prop.get('value')}")
PY
exit $rc
