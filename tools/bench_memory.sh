#!/usr/bin/env bash
# Memory comparison of edgekv-server and redis-server: bytes per key after
# loading 1M keys "key:%010d" with 64-byte values. Same as
# `tools/bench.sh --memory`; options (e.g. --keys N) are passed through.
exec "$(dirname "$0")/bench.sh" --memory "$@"
