#!/usr/bin/env bash
# A read mix of hashes and sorted sets, edgekv-server beside a stock
# redis-server, both persisting (appendfsync everysec), everything in memory.
#
# KEYS hashes "h:%012d" of 10 short fields (the flag/session shape) and KEYS
# sorted sets "z:%012d" of 100 members (a leaderboard each) are loaded into
# both (tools/bench_util.py hashes PORT mix KEYS). Then, in alternating
# rounds, three redis-benchmark processes run at once against one server,
# 17 clients each (51 in all), -r KEYS:
#   HGET h:__rand_int__ f5
#   ZSCORE z:__rand_int__ m50
#   ZRANGE z:__rand_int__ 0 9 WITHSCORES
# and the mix's rate is all their requests over the wall-clock time from the
# start of the first to the end of the last. Prints median rates and the
# edgekv/redis ratio per pipeline depth.
#
# Usage: tools/bench_mix.sh [--rounds R] [--requests N] [--keys N]
#                           [--pipelines "1 16"]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PROG=bench_mix
TIME_LIMIT=1500
ROUNDS=5
REQUESTS=100000
KEYS=10000
PIPELINES="1 16"
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --keys) KEYS=$2; shift 2 ;;
    --pipelines) PIPELINES=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds R] [--requests N] [--keys N] [--pipelines \"1 16\"]" >&2
       exit 2 ;;
  esac
done
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"
bench_init python
host_line

start_loaded_pair mix mix "$KEYS"
echo "# $KEYS hashes of 10 fields and $KEYS sorted sets of 100 members; 3 x 17 clients"

# The mix's requests per second on one server: port pipeline requests.
mix_rps() {
  local port=$1 p=$2 n=$3 t0 t1 pids=()
  t0=$(date +%s.%N)
  for cmd in "HGET h:__rand_int__ f5" "ZSCORE z:__rand_int__ m50" \
             "ZRANGE z:__rand_int__ 0 9 WITHSCORES"; do
    # shellcheck disable=SC2086  # the command's words
    timeout 300 redis-benchmark -h 127.0.0.1 -p "$port" -q -c 17 -n "$n" -r "$KEYS" \
      -P "$p" $cmd >/dev/null 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || die "redis-benchmark failed on port $port"; done
  t1=$(date +%s.%N)
  awk -v n="$((3 * n))" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n / (b - a)}'
}

printf '%-8s %12s %12s %8s\n' pipeline edgekv_rps redis_rps ratio
for p in $PIPELINES; do
  n=$REQUESTS
  ((p > 1)) && n=$((REQUESTS * 5))
  e=() r=()
  for ((i = 0; i < ROUNDS; i++)); do
    check_time
    e+=("$(mix_rps "$E_PORT" "$p" "$n")")
    r+=("$(mix_rps "$R_PORT" "$p" "$n")")
  done
  em=$(printf '%s\n' "${e[@]}" | median)
  rm_=$(printf '%s\n' "${r[@]}" | median)
  printf '%-8s %12.0f %12.0f %8s\n' "$p" "$em" "$rm_" "$(ratio "$em" "$rm_")"
done
stop_server "$E_PID"
stop_server "$R_PID"
