#!/usr/bin/env bash
# `npm run backend -- <subcommand> [args]`: runs `python -m ictal_backend <args>` in backend/.venv,
# creating the environment first if it is missing. Relative paths in the arguments are taken from the
# directory npm was called in.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup-python.sh"
cd "${INIT_CWD:-$PWD}"
export PYTHONPATH=$root/backend${PYTHONPATH:+:$PYTHONPATH}
exec "$root/backend/.venv/bin/python" -m ictal_backend "$@"
