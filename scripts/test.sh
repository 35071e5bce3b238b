#!/usr/bin/env bash
# `npm test`: installs whatever is missing (Debian packages, npm packages, the Python environment), then runs
# every suite: type check, Node unit and kernel tests (Dawn on lavapipe, f16 native for real), the browser
# suite (headless Chromium), and the Python backend's pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
bash scripts/ensure-npm.sh
[[ -f scripts/setup-python.sh ]] && bash scripts/setup-python.sh

export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
export ICTAL_KERNEL_LOG=$PWD/.cache/kernel-runs.jsonl
export ICTAL_BROWSER_LOG=$PWD/.cache/browser-runs.jsonl
mkdir -p .cache && rm -f "$ICTAL_KERNEL_LOG" "$ICTAL_BROWSER_LOG"

echo "== type check"
npx tsc --noEmit
echo "== vitest (node + browser)"
npx vitest run
if [[ -d backend/tests ]]; then
  echo "== pytest (backend)"
  backend/.venv/bin/python -m pytest -q backend/tests
fi
node scripts/test-summary.mjs
