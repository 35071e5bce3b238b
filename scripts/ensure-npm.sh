#!/usr/bin/env bash
# Installs the npm packages when node_modules is missing or older than package-lock.json; otherwise nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json
if [[ -f $stamp && ! package-lock.json -nt $stamp ]]; then exit 0; fi
echo "ensure-npm: installing npm packages"
# Debian's Chromium is used (scripts/setup-system.sh) through puppeteer-core, which never downloads a browser.
npm ci --no-audit --no-fund --loglevel=error
