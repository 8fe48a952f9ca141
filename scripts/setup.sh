#!/usr/bin/env bash
# Installs what evpn-mirror needs on a fresh Debian machine, then builds.
#   npm packages: always (npm ci when the lock file changed since the last install)
#   Debian packages: only when run as root and a needed program is missing
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# program -> Debian package that provides it
declare -A NEED=(
  [/usr/lib/frr/bgpd]=frr
  [/usr/lib/frr/zebra]=frr
  [/usr/bin/vtysh]=frr
  [/usr/bin/gobgpd]=gobgpd
  [/usr/bin/gobgp]=gobgpd
  [/usr/sbin/exabgp]=exabgp
  [/usr/bin/tcpdump]=tcpdump
  [/usr/sbin/tcpdump]=tcpdump
  [/usr/bin/ip]=iproute2
  [/usr/sbin/ip]=iproute2
  [/usr/bin/bridge]=iproute2
  [/usr/sbin/bridge]=iproute2
  [/usr/bin/ping]=iputils-ping
  [/usr/bin/yanglint]=libyang2-tools
  [/usr/lib/python3/dist-packages/ncclient/__init__.py]=python3-ncclient
  [/usr/sbin/netconfd]=netconfd
  [/usr/sbin/netconf-subsystem]=netconfd
  [/usr/bin/yangcli]=yangcli
  [/usr/sbin/nft]=nftables
  [/usr/bin/tshark]=tshark
  [/usr/bin/iperf3]=iperf3
)

missing=()
for prog in "${!NEED[@]}"; do
  pkg=${NEED[$prog]}
  # a program may live in /usr/bin or /usr/sbin depending on the release: one of them is enough
  base=$(basename "$prog")
  if [ ! -e "$prog" ] && ! command -v "$base" >/dev/null 2>&1 && [ ! -x "/usr/lib/frr/$base" ]; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: $pkgs"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  else
    echo "setup: missing Debian packages: $pkgs (run as root on Debian to install them)" >&2
  fi
fi

stamp=node_modules/.evpn-mirror-installed
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; }; then
  echo "setup: installing npm packages"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
  touch "$stamp"
fi

npx --no-install tsc -p tsconfig.json
