#!/usr/bin/env bash
# Point reads of hashes that live on disk: HGET of random fields of random
# hashes when the hashes together are several times maxmemory, edgekv-server
# beside a stock redis-server (which holds them all in memory), both
# persisting (appendfsync everysec).
#
# 1. HASHES hashes "h:%012d" of 100 fields of 1000 bytes (about 100 KB each;
#   2000 hashes are 200 MB) are loaded into edgekv with --maxmemory MAXMEMORY
#   and into redis-server; then, in alternating rounds,
#     redis-benchmark -c 50 -r HASHES -P {1,16} HGET h:__rand_int__ f<r>
#   (a field picked per round) and prints median rps and the ratio, edgekv's
#   INFO cold_element_reads per request (the share of HGETs answered from
#   LevelDB without loading the hash) and both servers' RSS at the end.
#
# 2. One hash "big" of BIG_FIELDS fields "f:%012d" of 100 bytes, loaded into
#   a fresh edgekv (same maxmemory; the hash leaves memory once on disk and
#   is then written and read on disk) and into redis-server; then HGET of a
#   random field, and HSCAN's first 100 fields, pipeline 1, 50 clients: rps
#   and redis-benchmark's p50 and p99 latency on both, and edgekv's
#   cold_element_reads per request. --hashes 0 runs this part alone.
#
# Usage: tools/bench_cold_hashes.sh [--rounds R] [--requests N] [--hashes N]
#                                   [--big-fields N] [--maxmemory SIZE]
#                                   [--pipelines "1 16"]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PROG=bench_cold_hashes
TIME_LIMIT=1500
ROUNDS=3
REQUESTS=100000
HASHES=2000
BIG_FIELDS=1000000
MAXMEMORY=32mb
PIPELINES="1 16"
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --hashes) HASHES=$2; shift 2 ;;
    --big-fields) BIG_FIELDS=$2; shift 2 ;;
    --maxmemory) MAXMEMORY=$2; shift 2 ;;
    --pipelines) PIPELINES=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds R] [--requests N] [--hashes N] [--big-fields N]" \
            "[--maxmemory SIZE] [--pipelines \"1 16\"]" >&2
       exit 2 ;;
  esac
done
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"
bench_init python
host_line

# --hashes 0 skips the first part.
if ((HASHES > 0)); then
  start_loaded_pair many wide "$HASHES" --maxmemory "$MAXMEMORY"
  echo "# $HASHES hashes of 100 x 1000-byte fields; edgekv maxmemory $MAXMEMORY"

  echo "# HGET of a random field of a random hash (50 clients)"
  printf '%-8s %12s %12s %8s %22s\n' pipeline edgekv_rps redis_rps ratio \
    cold_element_reads/req
  for p in $PIPELINES; do
    n=$REQUESTS
    ((p > 1)) && n=$((REQUESTS * 5))
    e=() r=()
    cold0=$(info_field "$E_PORT" stats cold_element_reads)
    for ((i = 0; i < ROUNDS; i++)); do
      check_time
      field=f$((RANDOM % 100))
      for port in "$E_PORT" "$R_PORT"; do
        # The test's name is the command line: the rate is the last field.
        rps=$(run_rbench "$port" -c 50 -n "$n" -r "$HASHES" -P "$p" \
          HGET h:__rand_int__ "$field" | awk '{print $NF}')
        if [[ $port == "$E_PORT" ]]; then e+=("$rps"); else r+=("$rps"); fi
      done
    done
    cold1=$(info_field "$E_PORT" stats cold_element_reads)
    em=$(printf '%s\n' "${e[@]}" | median)
    rm_=$(printf '%s\n' "${r[@]}" | median)
    printf '%-8s %12.0f %12.0f %8s %22s\n' "$p" "$em" "$rm_" "$(ratio "$em" "$rm_")" \
      "$(awk -v a="$cold0" -v b="$cold1" -v n="$((n * ROUNDS))" \
        'BEGIN {printf "%.2f", (b - a) / n}')"
  done
  echo "# RSS at the end: edgekv $(rss_mb "$E_PID") MB, redis $(rss_mb "$R_PID") MB"
  stop_server "$E_PID"
  stop_server "$R_PID"
fi

echo "# one hash of $BIG_FIELDS fields of 100 bytes; pipeline 1, 50 clients"
start_loaded_pair big onebig "$BIG_FIELDS" --maxmemory "$MAXMEMORY"
printf '%-34s %-8s %10s %8s %8s %22s\n' command server rps p50_ms p99_ms \
  cold_element_reads/req
for cmd in "HGET big f:__rand_int__" "HSCAN big 0 COUNT 100"; do
  for name in edgekv redis; do
    port=$E_PORT
    [[ $name == redis ]] && port=$R_PORT
    cold0=$(info_field "$E_PORT" stats cold_element_reads)
    check_time
    # shellcheck disable=SC2086  # the command's words
    read -r rps p50 p99 < <(rbench_latency "$port" -c 50 -n "$REQUESTS" -r "$BIG_FIELDS" \
      $cmd)
    printf '%-34s %-8s %10s %8s %8s' "$cmd" "$name" "$rps" "$p50" "$p99"
    cold1=$(info_field "$E_PORT" stats cold_element_reads)
    if [[ $name == edgekv ]]; then
      awk -v a="$cold0" -v b="$cold1" -v n="$REQUESTS" \
        'BEGIN {printf " %22.2f\n", (b - a) / n}'
    else
      printf ' %22s\n' -
    fi
  done
done
echo "# RSS at the end: edgekv $(rss_mb "$E_PID") MB, redis $(rss_mb "$R_PID") MB"
stop_server "$E_PID"
stop_server "$R_PID"
