#!/usr/bin/env bash
# The main job: the lab demo (needs root). The method's worked example live in network
# namespaces: FRR route reflector, 4 VTEPs each with FRR and an evpn-mirror agent, hosts and
# the monitor server SERV21; a session pushed over NETCONF, SERV21's capture of the mirrored
# packets, the two moves, every VTEP's entries at each stage, then a complete teardown (also
# on Ctrl-C). Options: --standalone (no FRR on the leaves), --keep (keep logs and configs).
# The earlier BGP interop demo stays available: node dist/examples/interop-demo.js
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$(id -u)" != 0 ]; then
  echo "demo: builds network namespaces and runs FRR; run it as root" >&2
  exit 1
fi
exec node --enable-source-maps dist/examples/lab.js "$@"
