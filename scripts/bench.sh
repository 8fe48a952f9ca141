#!/usr/bin/env bash
# Benchmarks (print figures, never pass/fail). Needs root for the namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --enable-source-maps dist/bench/bgp-ingest.js "$@"
