#!/usr/bin/env bash
# Creates backend/.venv with the backend's pinned packages, once. A stamp (hash of the requirement files
# and this script) makes a second run with unchanged requirements do nothing. pip's cache dir is kept, so a
# rebuild does not download again.
# torch: on a machine with an NVIDIA GPU the full wheel with all its CUDA packages; elsewhere (CI: 2 cores,
# no GPU) torch with --no-deps plus only what `import torch` needs (backend/requirements-torch-cpu.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=backend/.venv
stamp=$venv/.ictal-requirements.sha256
want=$(cat backend/requirements.txt backend/requirements-torch-cpu.txt scripts/setup-python.sh | sha256sum | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" && -x $venv/bin/python ]]; then exit 0; fi

# Several shells (and people) may call this at once: one installs, the others wait and then see the stamp.
mkdir -p .cache
exec 9>.cache/setup-python.lock
flock 9
if [[ -f $stamp && $(cat "$stamp") == "$want" && -x $venv/bin/python ]]; then exit 0; fi

python=${ICTAL_PYTHON:-python3}
command -v "$python" >/dev/null || { echo "setup-python: $python not found; install Python >= 3.10 (Debian: apt-get install python3 python3-venv)" >&2; exit 1; }
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "setup-python: $($python --version) is too old; the backend needs Python >= 3.10" >&2; exit 1; }
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  # Debian's python3 ships venv's pip bootstrap separately.
  if [[ $(id -u) != 0 ]]; then echo "setup-python: Python's venv module is missing; run: sudo apt-get install python3-venv" >&2; exit 1; fi
  echo "setup-python: installing python3-venv"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi

start=$SECONDS
if ! [[ -x $venv/bin/python ]] || ! $venv/bin/python -c 'import sys' 2>/dev/null; then
  echo "setup-python: creating $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input --cache-dir "${PIP_CACHE_DIR:-$HOME/.cache/pip}")
torch_pin=$(grep -E '^torch==' backend/requirements-torch-cpu.txt)
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup-python: NVIDIA GPU found: installing $torch_pin with its CUDA packages"
  "${pip[@]}" install -q "$torch_pin"
else
  echo "setup-python: no NVIDIA GPU: installing $torch_pin without the GPU-only packages"
  "${pip[@]}" install -q --no-deps -r backend/requirements-torch-cpu.txt
fi
echo "setup-python: installing backend/requirements.txt"
"${pip[@]}" install -q -r backend/requirements.txt
"$venv/bin/python" -c 'import torch, numpy, safetensors; torch.zeros(2) @ torch.ones(2)' \
  || { echo "setup-python: the new environment cannot import torch/numpy/safetensors" >&2; exit 1; }
echo "$want" > "$stamp"
echo "setup-python: $venv ready in $((SECONDS - start)) s ($("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
