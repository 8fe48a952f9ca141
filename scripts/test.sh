#!/usr/bin/env bash
# The whole test suite: unit, property, fuzz and interop tests (real FRR/GoBGP in network
# namespaces when run as root). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$(id -u)" != 0 ]; then
  echo "test: interop tests build network namespaces and need root; run as root" >&2
  exit 1
fi
exec npx --no-install mocha "$@"
