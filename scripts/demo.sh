#!/usr/bin/env bash
# The main job: the interop demo in network namespaces (needs root). Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$(id -u)" != 0 ]; then
  echo "demo: builds network namespaces and runs FRR; run it as root" >&2
  exit 1
fi
exec node --enable-source-maps dist/examples/interop-demo.js "$@"
