#!/usr/bin/env bash
# Sets and sorted sets, edgekv-server beside a stock redis-server, both
# persisting (appendfsync everysec):
#
#   memory      bytes per member of one set and one sorted set (random
#               scores) of MEMBERS random 14-byte members ("m:" and
#               redis-benchmark's 12 zero-padded digits), loaded with
#               redis-benchmark (duplicates folded): the growth of INFO
#               used_memory, once the load's work is done, over SCARD / ZCARD
#   throughput  redis-benchmark's own tests -t sadd,spop and -t zadd,zpopmin
#               (50 clients, random members), pipeline 1 and 16, alternating
#               rounds on the two servers; medians and ratios
#
# Usage: tools/bench_sets.sh [--rounds R] [--requests N] [--members N]
#                            [--pipelines "1 16"]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PROG=bench_sets
TIME_LIMIT=1500
ROUNDS=3
REQUESTS=200000
MEMBERS=1000000
PIPELINES="1 16"
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --members) MEMBERS=$2; shift 2 ;;
    --pipelines) PIPELINES=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds R] [--requests N] [--members N] [--pipelines \"1 16\"]" >&2
       exit 2 ;;
  esac
done
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"
bench_init
host_line

used_b() {
  redis-cli -h 127.0.0.1 -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" {print $2}'
}

# Bytes per member of one collection loaded into a fresh server:
# name shape -> BPM.
memory_of() {
  local name=$1 shape=$2 used0 used1 n cmd
  if [[ $name == edgekv ]]; then
    start_edgekv "edgekv-$shape" --appendfsync everysec
  else
    start_redis "redis-$shape" --appendonly yes --appendfsync everysec
  fi
  used0=$(used_b "$PORT")
  case $shape in
    set) cmd=(SADD big m:__rand_int__) ;;
    zset) cmd=(ZADD big __rand_int__ m:__rand_int__) ;;
  esac
  redis-benchmark -h 127.0.0.1 -p "$PORT" -q -n "$MEMBERS" -r 100000000 -P 64 \
    "${cmd[@]}" >/dev/null
  drain "$name" "$PORT" >/dev/null
  # The applier's group buffers and the allocator's caches go back in moments.
  sleep 3
  redis-cli -h 127.0.0.1 -p "$PORT" MEMORY PURGE >/dev/null
  sleep 1
  used1=$(used_b "$PORT")
  if [[ $shape == zset ]]; then
    n=$(redis-cli -h 127.0.0.1 -p "$PORT" ZCARD big)
  else
    n=$(redis-cli -h 127.0.0.1 -p "$PORT" SCARD big)
  fi
  BPM=$(awk -v a="$used1" -v b="$used0" -v n="$n" 'BEGIN {printf "%.1f", (a - b) / n}')
  stop_server "$PID"
}

echo "# memory, bytes per member (used_memory growth / members)"
printf '%-36s %9s %9s %6s\n' shape edgekv redis ratio
for shape in set zset; do
  check_time
  memory_of edgekv "$shape"
  e=$BPM
  memory_of redis "$shape"
  r=$BPM
  printf '%-36s %9s %9s %6s\n' "$shape, $MEMBERS random members" "$e" "$r" "$(ratio "$e" "$r")"
done

start_edgekv edgekv --appendfsync everysec
E_PORT=$PORT
start_redis redis --appendonly yes --appendfsync everysec
R_PORT=$PORT

echo "# throughput (redis-benchmark's tests, 50 clients)"
printf '%-8s %8s %12s %12s %8s\n' test pipeline edgekv_rps redis_rps ratio
for p in $PIPELINES; do
  n=$REQUESTS
  ((p > 1)) && n=$((REQUESTS * 5))
  for pair in sadd,spop zadd,zpopmin; do
    declare -A e=() r=()
    for ((i = 0; i < ROUNDS; i++)); do
      check_time
      for port in "$E_PORT" "$R_PORT"; do
        while read -r test rps; do
          if [[ $port == "$E_PORT" ]]; then e[$test]+="$rps "; else r[$test]+="$rps "; fi
        done < <(run_rbench "$port" -c 50 -n "$n" -r 100000 -P "$p" -t "$pair")
      done
    done
    for test in "${!e[@]}"; do
      em=$(printf '%s\n' ${e[$test]} | median)
      rm_=$(printf '%s\n' ${r[$test]} | median)
      printf '%-8s %8s %12.0f %12.0f %8s\n' "$test" "$p" "$em" "$rm_" "$(ratio "$em" "$rm_")"
    done
    unset e r
  done
done
