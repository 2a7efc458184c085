#!/usr/bin/env bash
# The test suite again, with every binary built by clang with AddressSanitizer
# and UndefinedBehaviorSanitizer (build-asan/): the unit tests, and the real
# server under the hiredis, client-library, durability and replication tests.
# CI runs it after tools/test.sh (which installs what this needs).
#
# A finding fails the test that started the process. A test binary's report
# fails it directly. A server writes its report to stderr, which every
# harness sends to the server's log; when the test stops the server (SIGTERM)
# the harness fails the test if the log holds a report, if the server exited
# with another status than 0 (a report makes it exit 1, leaks found at exit
# included), or if it did not exit and needed SIGKILL. A server a test kills
# with SIGKILL on purpose is judged by its log alone.
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
# Leaks are looked for when a process exits, and found ones make its exit
# status 1 (exitcode's default), as any other report does. UBSan stops the
# process at its first finding (the build does not let it recover).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
cd build-asan && EDGEKV_SANITIZED=1 ctest --output-on-failure --timeout 1200 \
  -j "${EDGEKV_TEST_JOBS:-2}"
