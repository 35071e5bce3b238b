#!/usr/bin/env bash
# `npm run lab [-- --port N]`: installs what is missing, then serves the lab and prints its URL.
set -euo pipefail
cd "$(dirname "$0")/.."
port=5173
while (($#)); do
  case $1 in
    --port) port=${2:?--port needs a number}; shift 2 ;;
    --port=*) port=${1#--port=}; shift ;;
    *) echo "lab: unknown option $1 (accepted: --port N)" >&2; exit 2 ;;
  esac
done
[[ $port =~ ^[0-9]+$ ]] || { echo "lab: --port wants a number, got '$port'" >&2; exit 2; }
bash scripts/ensure-npm.sh
# The Remote runs tab calls the run API from this origin: the server must admit it (README, "Remote runs").
[[ $port == 5173 ]] || echo "lab: for the Remote runs tab, start the run API with --cors-origin http://127.0.0.1:$port" >&2
exec npx vite --port "$port" --strictPort --host 127.0.0.1
