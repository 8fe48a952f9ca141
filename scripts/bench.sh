#!/usr/bin/env bash
# Benchmarks (print figures, never pass/fail).
#   bash scripts/bench.sh [options]              BGP EVPN Type-2 ingest (needs root for the namespaces)
#   bash scripts/bench.sh bgp-ingest [options]   the same
#   bash scripts/bench.sh monitoring [options]   monitoring core, in-process (no root, no namespaces)
#   bash scripts/bench.sh dataplane [options]    Linux data plane driver: install rate, read-back, forwarding (root)
#   bash scripts/bench.sh netconf [options]      NETCONF northbound vs yuma123 netconfd (root for netconfd)
#   bash scripts/bench.sh e2e [options]          end to end: N agents behind an FRR RR, commit/move to entries (root)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=bgp-ingest
case "${1:-}" in
  bgp-ingest | monitoring | netconf | dataplane | e2e)
    bench=$1
    shift
    ;;
esac
bash scripts/setup.sh
case $bench in
  monitoring) exec node --expose-gc --enable-source-maps dist/bench/monitoring.js "$@" ;;
  dataplane) exec node --enable-source-maps dist/bench/dataplane.js "$@" ;;
  netconf)
    # yuma123's netconfd is reached through an sshd of its own (private config, loopback);
    # openssh-server is installed only for this benchmark (on Debian this also starts the
    # system sshd, which is why setup.sh does not install it).
    if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ] && [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
    fi
    exec node --enable-source-maps dist/bench/netconf.js "$@"
    ;;
  e2e) exec node --enable-source-maps dist/bench/e2e.js "$@" ;;
  *) exec node --enable-source-maps dist/bench/bgp-ingest.js "$@" ;;
esac
