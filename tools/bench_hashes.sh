#!/usr/bin/env bash
# Hashes, edgekv-server beside a stock redis-server, both persisting
# (appendfsync everysec):
#
#   memory      bytes per field of one hash of FIELDS fields (16-byte names
#               and values) and of SMALL hashes of 10 short fields (the
#               session/flag shape, where Redis's listpack is compact): the
#               growth of INFO used_memory (what the data takes: Redis's
#               allocator count, edgekv's table by allocation sizes) and of
#               the whole process's VmRSS once the load's work is done and
#               MEMORY PURGE gave the allocator's free memory back, at rest
#               (edgekv idle, with its LevelDB memtable written out; its
#               VmRSS still includes LevelDB's block cache)
#   throughput  redis-benchmark -t hset (HSET of random fields of one hash,
#               its built-in test) and HGET of random fields of that hash,
#               pipeline 1 and 16, alternating rounds; medians and ratios
#   log bytes   edgekv's write-ahead log bytes per HSET of one field (the
#               record's overhead beyond key, field and value)
#
# Usage: tools/bench_hashes.sh [--rounds R] [--requests N] [--fields N]
#                              [--small N] [--pipelines "1 16"]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PROG=bench_hashes
TIME_LIMIT=1500
ROUNDS=3
REQUESTS=200000
FIELDS=1000000
SMALL=100000
PIPELINES="1 16"
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --fields) FIELDS=$2; shift 2 ;;
    --small) SMALL=$2; shift 2 ;;
    --pipelines) PIPELINES=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds R] [--requests N] [--fields N] [--small N] [--pipelines \"1 16\"]" >&2
       exit 2 ;;
  esac
done
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"
bench_init python
host_line

info_field() {  # port section field
  redis-cli -h 127.0.0.1 -p "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f {print $2}'
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
used_b() {
  redis-cli -h 127.0.0.1 -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" {print $2}'
}

# Bytes per field of a load into a fresh server, once the work the load
# left is done (edgekv's applier holds a group's buffers while it applies
# it): name shape count -> BPF_USED (used_memory), BPF_RSS (VmRSS).
memory_of() {
  local name=$1 shape=$2 count=$3 fields before after used0 used1
  if [[ $name == edgekv ]]; then
    start_edgekv "edgekv-$shape" --appendfsync everysec
  else
    start_redis "redis-$shape" --appendonly yes --appendfsync everysec
  fi
  sleep 1
  before=$(rss_kb "$PID") used0=$(used_b "$PORT")
  bench_py hashes "$PORT" "$shape" "$count"
  drain "$name" "$PORT" >/dev/null
  sleep 3
  if [[ $name == edgekv ]]; then
    # At rest: an idle edgekv writes its LevelDB memtable out (5 s after
    # the last write) instead of keeping it in memory.
    for _ in $(seq 300); do
      (($(info_field "$PORT" persistence disk_memtable_bytes) < 262144)) && break
      sleep 0.1
    done
  fi
  redis-cli -h 127.0.0.1 -p "$PORT" MEMORY PURGE >/dev/null
  sleep 1
  after=$(rss_kb "$PID") used1=$(used_b "$PORT")
  fields=$count
  [[ $shape == small ]] && fields=$((count * 10))
  BPF_USED=$(awk -v a="$used1" -v b="$used0" -v n="$fields" 'BEGIN {printf "%.1f", (a - b) / n}')
  BPF_RSS=$(awk -v a="$after" -v b="$before" -v n="$fields" 'BEGIN {printf "%.1f", (a - b) * 1024 / n}')
  stop_server "$PID"
}

echo "# memory, bytes per field: used_memory growth | VmRSS growth"
printf '%-30s %9s %9s %6s | %9s %9s %6s\n' shape edgekv redis ratio edgekv redis ratio
for shape in big small; do
  count=$FIELDS
  label="1 hash of $FIELDS fields"
  if [[ $shape == small ]]; then count=$SMALL; label="$SMALL hashes of 10 fields"; fi
  check_time
  memory_of edgekv "$shape" "$count"
  e=$BPF_USED er=$BPF_RSS
  memory_of redis "$shape" "$count"
  r=$BPF_USED rr=$BPF_RSS
  printf '%-30s %9s %9s %6s | %9s %9s %6s\n' "$label" "$e" "$r" "$(ratio "$e" "$r")" \
    "$er" "$rr" "$(ratio "$er" "$rr")"
done

start_edgekv edgekv --appendfsync everysec
E_PORT=$PORT E_PID=$PID
start_redis redis --appendonly yes --appendfsync everysec
R_PORT=$PORT

echo "# log bytes per HSET (key \"loghash\" 7 bytes, field 18, value 16: 41 bytes of data)"
wal_bytes() { du -sb "$TMP/edgekv/wal" | cut -f1; }
before=$(wal_bytes)
redis-benchmark -h 127.0.0.1 -p "$E_PORT" -q -n 100000 -P 16 -r 10000000000 \
  HSET loghash field:__rand_int__ vvvvvvvvvvvvvvvv >/dev/null
redis-cli -p "$E_PORT" SAVE >/dev/null
after=$(wal_bytes)
awk -v a="$after" -v b="$before" 'BEGIN {printf "wal bytes per HSET: %.1f\n", (a - b) / 100000}'

echo "# throughput (50 clients, random fields of one hash)"
printf '%-8s %8s %12s %12s %8s\n' test pipeline edgekv_rps redis_rps ratio
for p in $PIPELINES; do
  n=$REQUESTS
  ((p > 1)) && n=$((REQUESTS * 5))
  for t in hset hget; do
    e=() r=()
    for ((i = 0; i < ROUNDS; i++)); do
      check_time
      for port in "$E_PORT" "$R_PORT"; do
        if [[ $t == hset ]]; then
          v=$(run_rbench "$port" -c 50 -n "$n" -r 100000 -P "$p" -t hset | awk '{print $NF}')
        else
          v=$(run_rbench "$port" -c 50 -n "$n" -r 100000 -P "$p" \
            HGET myhash element:__rand_int__ | awk '{print $NF}')
        fi
        if [[ $port == "$E_PORT" ]]; then e+=("$v"); else r+=("$v"); fi
      done
    done
    em=$(printf '%s\n' "${e[@]}" | median)
    rm_=$(printf '%s\n' "${r[@]}" | median)
    printf '%-8s %8s %12.0f %12.0f %8s\n' "$t" "$p" "$em" "$rm_" "$(ratio "$em" "$rm_")"
  done
done
