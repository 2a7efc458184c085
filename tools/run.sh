#!/usr/bin/env bash
# Quick start: install what is missing, build (Release), and start edgekv-server
# on port 6379 with its data in ./data. Extra arguments go to the server,
# e.g. tools/run.sh --port 7000.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGEKV_BUILD_TESTS=OFF >/dev/null
cmake --build build-release --target edgekv-server
exec build-release/edgekv-server conf/edgekv.conf --dir ./data "$@"
