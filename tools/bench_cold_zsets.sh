#!/usr/bin/env bash
# Reads of one sorted set that lives on disk, edgekv-server beside a stock
# redis-server (which holds it in memory), both persisting (appendfsync
# everysec): one sorted set "bigz" of MEMBERS members "m:%012d" with the
# scores 0..MEMBERS-1 in another order, loaded into edgekv with --maxmemory
# MAXMEMORY (the set leaves memory once on disk, and is then read through
# its score index) and into redis-server. Then, 50 clients, pipeline 1, a
# random member or score per request:
#   ZSCORE bigz m:<r>                      one point read
#   ZRANGE bigz 0 9 WITHSCORES             the ten lowest
#   ZREVRANGE bigz 0 9 WITHSCORES          the ten highest
#   ZRANGEBYSCORE bigz <r> +inf LIMIT 0 10 ten from a random score
#   ZRANK bigz m:<r>                       a random member's rank
# rps, redis-benchmark's p50 and p99 latency on both, edgekv's INFO
# cold_element_reads per request, and both servers' RSS at the end. The
# last two walk the index up to the rank asked for: SLOW_REQUESTS of them.
#
# Usage: tools/bench_cold_zsets.sh [--members N] [--requests N]
#                                  [--slow-requests N] [--maxmemory SIZE]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PROG=bench_cold_zsets
TIME_LIMIT=1500
MEMBERS=1000000
REQUESTS=100000
SLOW_REQUESTS=200
MAXMEMORY=32mb
while (($#)); do
  case $1 in
    --members) MEMBERS=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --slow-requests) SLOW_REQUESTS=$2; shift 2 ;;
    --maxmemory) MAXMEMORY=$2; shift 2 ;;
    *) echo "usage: $0 [--members N] [--requests N] [--slow-requests N]" \
            "[--maxmemory SIZE]" >&2
       exit 2 ;;
  esac
done
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"
bench_init python
host_line

start_loaded_pair bigz onebigzset "$MEMBERS" --maxmemory "$MAXMEMORY"
echo "# one sorted set of $MEMBERS members; edgekv maxmemory $MAXMEMORY," \
  "OBJECT IDLETIME there $(redis-cli -p "$E_PORT" OBJECT IDLETIME bigz)" \
  "(65535: only on disk)"

printf '%-34s %-7s %10s %8s %8s %14s\n' command server rps p50_ms p99_ms cold_reads/req
bench() {  # requests label args...
  local n=$1 label=$2 name port cold0 cold1 rps p50 p99
  shift 2
  for name in edgekv redis; do
    port=$E_PORT
    [[ $name == redis ]] && port=$R_PORT
    cold0=$(info_field "$E_PORT" stats cold_element_reads)
    check_time
    read -r rps p50 p99 < <(rbench_latency "$port" -c 50 -n "$n" -r "$MEMBERS" "$@")
    printf '%-34s %-7s %10s %8s %8s' "$label" "$name" "$rps" "$p50" "$p99"
    cold1=$(info_field "$E_PORT" stats cold_element_reads)
    if [[ $name == edgekv ]]; then
      awk -v a="$cold0" -v b="$cold1" -v n="$n" 'BEGIN {printf " %14.1f\n", (b - a) / n}'
    else
      printf ' %14s\n' -
    fi
  done
}
bench "$REQUESTS" "ZSCORE m:<r>" ZSCORE bigz m:__rand_int__
bench "$REQUESTS" "ZRANGE 0 9 WITHSCORES" ZRANGE bigz 0 9 WITHSCORES
bench "$REQUESTS" "ZREVRANGE 0 9 WITHSCORES" ZREVRANGE bigz 0 9 WITHSCORES
bench "$SLOW_REQUESTS" "ZRANGEBYSCORE <r> +inf LIMIT 0 10" \
  ZRANGEBYSCORE bigz __rand_int__ +inf LIMIT 0 10
bench "$SLOW_REQUESTS" "ZRANK m:<r>" ZRANK bigz m:__rand_int__
echo "# RSS at the end: edgekv $(rss_mb "$E_PID") MB, redis $(rss_mb "$R_PID") MB"
stop_server "$E_PID"
stop_server "$R_PID"
