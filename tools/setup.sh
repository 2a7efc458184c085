#!/usr/bin/env bash
# Installs what edgekv needs to build and test on Debian 12, only if missing.
# Usage: tools/setup.sh [--test]   (--test adds the test clients and redis-server)
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(g++ cmake ninja-build pkg-config libboost-dev libleveldb-dev libsnappy-dev libisal-dev libfmt-dev
            libxxhash-dev liblua5.1-0-dev lua-cjson-dev lua-bitop-dev libssl-dev liblzf-dev)
test_pkgs=(libgtest-dev libgmock-dev libhiredis-dev redis-server redis-tools
           python3 python3-redis python3-pytest python3-fusepy nodejs npm
           clang libclang-rt-14-dev)  # fuzzers, sanitizers, thread-safety analysis

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from elsewhere than Debian (the image ships node 20 + npm).
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ "${1:-}" == "--test" ]]; then
  # The Node.js client libraries the integration tests use (ioredis, redis).
  # Installed again when package-lock.json changed since the last install.
  (cd tests/integration/node && {
    cmp -s package-lock.json node_modules/.edgekv-installed-lock 2>/dev/null || {
      npm ci --no-audit --no-fund --loglevel=error &&
        cp package-lock.json node_modules/.edgekv-installed-lock
    }
  })
fi
