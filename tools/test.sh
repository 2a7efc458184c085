#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run unit and
# integration tests (hiredis, redis-cli, python3-redis, ioredis, node-redis)
# through ctest, then the fuzzers over their committed corpora (tools/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --test
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DEDGEKV_WERROR="${EDGEKV_WERROR:-OFF}" >/dev/null
cmake --build build
(cd build && ctest --output-on-failure --timeout 600 -j "${EDGEKV_TEST_JOBS:-2}")
tools/fuzz.sh --regress
