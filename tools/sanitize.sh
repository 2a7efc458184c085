#!/usr/bin/env bash
# The test suite again, with every binary built by clang with AddressSanitizer
# and UndefinedBehaviorSanitizer (build-asan/): the unit tests, and the real
# server under the hiredis, client-library, durability and replication tests.
# A sanitizer finding aborts the server or the test binary, which fails the
# test. CI runs it after tools/test.sh (which installs what this needs).
#
# EDGEKV_SANITIZED=1 tells the durability tests to leave out their memory
# bounds (shadow memory and quarantine multiply a process's RSS) and the 5 GB
# transaction test.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --test
CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DEDGEKV_SANITIZE=ON -DEDGEKV_WERROR="${EDGEKV_WERROR:-OFF}" >/dev/null
cmake --build build-asan
# Leaks are reported at exit; a server's exit status is not what tests check,
# so the unit tests (one process) are where leak checking fails the run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
cd build-asan && EDGEKV_SANITIZED=1 ctest --output-on-failure --timeout 1200 \
  -j "${EDGEKV_TEST_JOBS:-2}"
