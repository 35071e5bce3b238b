#!/usr/bin/env bash
# `npm run bench [-- options]`: calibration and a per-kernel profile of every kernel family on this machine's
# adapter (Dawn in Node), printed as tables; report.json and trace.json land in out/bench. Options: ictal bench --help.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-npm.sh
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
exec node bin/ictal.js bench "$@"
