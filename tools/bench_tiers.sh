#!/usr/bin/env bash
# Tiered storage benchmark of edgekv-server: GET throughput when the dataset
# is 10x maxmemory (most reads come from LevelDB), next to the same dataset
# all in memory (edgekv maxmemory 0, and a stock redis-server for reference);
# then restart times with many keys.
#
# 1. GET with a dataset 10x maxmemory. Three servers, each loaded with KEYS
#    keys "key:%012d" (0 .. KEYS-1, the names redis-benchmark -r KEYS picks
#    for key:__rand_int__, so every GET hits) and VSIZE-byte incompressible
#    values (pipelined MSET, tools/bench_util.py load):
#      edgekv-tiered  --maxmemory MAXMEMORY (default 32mb; 320k x 1 KB = 10x)
#      edgekv-memory  --maxmemory 0 (all in memory)
#      redis          appendonly yes, appendfsync everysec (all in memory)
#    then, in alternating rounds,
#      redis-benchmark -t get -r KEYS -c 50 -P {1,16} -n N -q --csv
#    and prints median rps, ratios, and edgekv's INFO stats hot_reads /
#    cold_reads (reads served from memory / brought back from disk) summed
#    over the rounds.
#
# 2. Restart. One edgekv (maxmemory 0) loaded with RESTART_KEYS sequential
#    keys with RESTART_VSIZE-byte values (MSET pipelines; the load stops at
#    LOAD_LIMIT seconds and the keys loaded by then are used), then:
#      kill -9, restart (WAL replay of what LevelDB did not have yet), then
#      SIGTERM (clean shutdown), restart
#    (the kill -9 hits while a second loader writes more keys, so that the
#    applier still holds batches to replay). Each restart is timed from just
#    before the process starts until it accepts a connection, until INFO
#    persistence shows loading:0, and until GET of the last loaded key
#    returns its value; DBSIZE is checked.
#
# Usage: tools/bench_tiers.sh [options]
#   --keys N             keys for the GET test (default 320000)
#   --value-size B       their value size (default 1024)
#   --maxmemory M        edgekv-tiered maxmemory (default 32mb)
#   --rounds R           alternating rounds (default 3)
#   --requests N         GETs per run at pipeline 1 (default 200000)
#   --requests-p16 N     GETs per run at pipeline 16 (default 1000000)
#   --clients C          redis-benchmark -c (default 50)
#   --restart-keys N     keys for the restart test (default 10000000)
#   --restart-value-size B   (default 16)
#   --load-limit S       stop loading the restart keys after S s (default 240)
#   --skip-get / --skip-restart
#   --time-limit S       give up after S seconds overall (default 900)
#
# Environment: EDGEKV_SERVER, REDIS_SERVER, EDGEKV_ARGS, BENCH_KEEP_TMP (see
# tools/bench_lib.sh).
#
# Caveats: the servers and redis-benchmark share the host's cores. The
# LevelDB files fit in the OS page cache here, so a "cold read" costs a
# LevelDB lookup (index, bloom filter, block decode) but rarely a device read;
# on a host with less free RAM than the data, cold reads would hit the disk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

KEYS=320000
VSIZE=1024
MAXMEMORY=32mb
ROUNDS=3
REQ_P1=200000
REQ_P16=1000000
CLIENTS=50
PIPELINES="1 16"
RESTART_KEYS=10000000
RESTART_VSIZE=16
LOAD_LIMIT=240
DO_GET=1
DO_RESTART=1
TIME_LIMIT=900

while (($#)); do
  case "$1" in
    --keys) KEYS=$2; shift 2 ;;
    --value-size) VSIZE=$2; shift 2 ;;
    --maxmemory) MAXMEMORY=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --requests) REQ_P1=$2; shift 2 ;;
    --requests-p16) REQ_P16=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --pipelines) PIPELINES=$2; shift 2 ;;
    --restart-keys) RESTART_KEYS=$2; shift 2 ;;
    --restart-value-size) RESTART_VSIZE=$2; shift 2 ;;
    --load-limit) LOAD_LIMIT=$2; shift 2 ;;
    --skip-get) DO_GET=0; shift ;;
    --skip-restart) DO_RESTART=0; shift ;;
    --time-limit) TIME_LIMIT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_tiers: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done

PROG=bench_tiers
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"
bench_init

echo "# edgekv: $("$EDGEKV_SERVER" --version) [$EDGEKV_SERVER] (appendfsync everysec)"
echo "# redis:  $("$REDIS_SERVER" --version | cut -d' ' -f1-3) (appendonly yes, appendfsync everysec)"
host_line

du_h() { du -sh "$1" 2>/dev/null | cut -f1; }

load() {  # port first count vsize [deadline] -> "KEYS SECONDS"
  timeout $((${5:-600} + 120)) /usr/bin/python3 "$ROOT/tools/bench_util.py" load \
    "$1" "$2" "$3" "$4" --deadline "${5:-0}" || die "loading keys into port $1 failed"
}

# --- 1. GET with a dataset 10x maxmemory ---------------------------------------
if ((DO_GET)); then
  echo
  echo "## GET, $KEYS keys x $VSIZE B; edgekv-tiered maxmemory $MAXMEMORY"
  declare -A SPORT SPID
  for name in edgekv-tiered edgekv-memory redis; do
    check_time
    case $name in
      edgekv-tiered) start_edgekv "$name" --appendfsync everysec --maxmemory "$MAXMEMORY" ;;
      edgekv-memory) start_edgekv "$name" --appendfsync everysec --maxmemory 0 ;;
      redis) start_redis "$name" --appendonly yes --appendfsync everysec ;;
    esac
    SPORT[$name]=$PORT SPID[$name]=$PID
    read -r n secs < <(load "$PORT" 0 "$KEYS" "$VSIZE")
    [[ $(redis-cli -p "$PORT" dbsize) == "$KEYS" ]] ||
      die "$name: DBSIZE $(redis-cli -p "$PORT" dbsize) after loading $KEYS keys"
    if [[ $name == edgekv-tiered ]]; then
      # Let the maintenance thread bring memory under maxmemory.
      maxmem=$(info_field "$PORT" memory maxmemory)
      for _ in $(seq 300); do
        (($(info_field "$PORT" memory used_memory_dataset) <= maxmem)) && break
        sleep 0.1
      done
    fi
    ds=$(info_field "$PORT" memory used_memory_dataset)
    [[ $name == redis ]] && ds="$(info_field "$PORT" memory used_memory) (used_memory)"
    printf '# %-13s loaded %d keys in %5.1f s (%6.0f keys/s); dataset in memory %s B; dir %s; RSS %s\n' \
      "$name" "$n" "$secs" "$(awk -v n="$n" -v s="$secs" 'BEGIN {print n / s}')" "$ds" \
      "$(du_h "$TMP/$name")" "$(info_field "$PORT" memory used_memory_rss_human)"
  done

  RESULTS=$TMP/get.txt  # name pipeline rps cold hot misses
  : >"$RESULTS"
  stat_sum() {  # port -> "cold hot misses"
    local info
    info=$(redis-cli -p "$1" info stats | tr -d '\r')
    awk -F: '$1 == "cold_reads" {c = $2} $1 == "hot_reads" {h = $2}
             $1 == "keyspace_misses" {m = $2} END {print c + 0, h + 0, m + 0}' <<<"$info"
  }
  for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    for p in $PIPELINES; do
      n=$REQ_P1; ((p > 1)) && n=$REQ_P16
      for name in edgekv-tiered edgekv-memory redis; do
        check_time
        port=${SPORT[$name]}
        read -r c0 h0 m0 < <(stat_sum "$port")
        rps=$(run_rbench "$port" -t get -r "$KEYS" -c "$CLIENTS" -n "$n" -P "$p" |
              awk '$1 == "GET" {print $2}')
        read -r c1 h1 m1 < <(stat_sum "$port")
        echo "$name $p $rps $((c1 - c0)) $((h1 - h0)) $((m1 - m0))" >>"$RESULTS"
        printf '  round %s  %-13s P=%-3s GET %12.2f rps  cold_reads %8d  hot_reads %8d  misses %d\n' \
          "$ROUND" "$name" "$p" "$rps" $((c1 - c0)) $((h1 - h0)) $((m1 - m0)) >&2
      done
    done
  done

  echo
  echo "# redis-benchmark -t get -r $KEYS -c $CLIENTS -q; -P 1 with -n $REQ_P1, -P 16 with -n $REQ_P16;" \
       "$ROUNDS alternating rounds; cold/hot reads summed over the rounds"
  printf '%-14s %8s %14s %10s %12s %12s %12s %7s %8s\n' "server" "pipeline" "median rps" \
    "vs redis" "vs in-memory" "cold_reads" "hot_reads" "cold %" "misses"
  for p in $PIPELINES; do
    r=$(awk -v p="$p" '$1 == "redis" && $2 == p {print $3}' "$RESULTS" | median)
    mem=$(awk -v p="$p" '$1 == "edgekv-memory" && $2 == p {print $3}' "$RESULTS" | median)
    for name in edgekv-tiered edgekv-memory redis; do
      m=$(awk -v p="$p" -v s="$name" '$1 == s && $2 == p {print $3}' "$RESULTS" | median)
      read -r cold hot miss < <(awk -v p="$p" -v s="$name" '$1 == s && $2 == p {
          c += $4; h += $5; x += $6} END {print c + 0, h + 0, x + 0}' "$RESULTS")
      if [[ $name == redis ]]; then cold=- hot=- pct=-
      else pct=$(awk -v c="$cold" -v h="$hot" 'BEGIN {printf "%.1f", (c + h > 0 ? 100 * c / (c + h) : 0)}')
      fi
      printf '%-14s %8s %14s %10s %12s %12s %12s %7s %8s\n' "$name" "$p" "$m" "$(ratio "$m" "$r")" \
        "$([[ $name == redis ]] && echo - || ratio "$m" "$mem")" "$cold" "$hot" "$pct" "$miss"
    done
  done
  tiered=${SPORT[edgekv-tiered]}
  echo "# edgekv-tiered after the runs: used_memory_dataset $(info_field "$tiered" memory used_memory_dataset)" \
       "(maxmemory $(info_field "$tiered" memory maxmemory)), keys_moved_to_disk" \
       "$(info_field "$tiered" stats keys_moved_to_disk), cold_misses $(info_field "$tiered" stats cold_misses)"
  for name in edgekv-tiered edgekv-memory redis; do
    stop_server "${SPID[$name]}" TERM 60
  done
  rm -rf "$TMP/edgekv-tiered" "$TMP/edgekv-memory" "$TMP/redis"
fi

# --- 2. Restart times ---------------------------------------------------------------
if ((DO_RESTART)); then
  check_time
  echo
  echo "## Restart: up to $RESTART_KEYS keys x $RESTART_VSIZE B (load limited to ${LOAD_LIMIT}s), edgekv maxmemory 0"
  start_edgekv restart --appendfsync everysec
  RPORT=$PORT RPID=$PID
  read -r K secs < <(load "$RPORT" 0 "$RESTART_KEYS" "$RESTART_VSIZE" "$LOAD_LIMIT")
  [[ -n ${K:-} && $K -gt 0 ]] || die "loading the restart keys failed"
  if ((K < RESTART_KEYS)); then
    note="(stopped at the ${LOAD_LIMIT}s load limit: $K of $RESTART_KEYS keys)"
  else
    note=""
  fi
  RSS_LOADED=$(awk '/^VmRSS:/ {printf "%.0f MB", $2 / 1024}' "/proc/$RPID/status")
  printf '# loaded %d keys in %.1f s (%.0f keys/s) %s\n' "$K" "$secs" \
    "$(awk -v n="$K" -v s="$secs" 'BEGIN {print n / s}')" "$note"
  # kill -9 in the middle of more writes (keys K.. of the same form), so that
  # the applier still holds batches that start-up must replay from the WAL.
  /usr/bin/python3 "$ROOT/tools/bench_util.py" load "$RPORT" "$K" 1000000 "$RESTART_VSIZE" \
    --deadline 20 >/dev/null 2>&1 &
  BURST=$!
  PIDS+=("$BURST")
  sleep 2
  P=$(redis-cli -p "$RPORT" info persistence | tr -d '\r')
  stop_server "$RPID" KILL 30
  echo "# kill -9 during writes: just before it wal_last_seq $(awk -F: '$1 == "wal_last_seq" {print $2}' <<<"$P")," \
       "disk_applied_seq $(awk -F: '$1 == "disk_applied_seq" {print $2}' <<<"$P")," \
       "disk_apply_queue_bytes $(awk -F: '$1 == "disk_apply_queue_bytes" {print $2}' <<<"$P")"
  stop_server "$BURST" TERM 10
  SIZE_KILL="$(du_h "$TMP/restart") (data $(du_h "$TMP/restart/data"), wal $(du_h "$TMP/restart/wal"))"
  pers() { redis-cli -p "$1" info persistence | tr -d '\r'; }
  pf() { awk -F: -v f="$2" '$1 == f {print $2}' <<<"$1"; }

  ROWS=()
  restart() {  # label shutdown-description
    local out listen loaded get dbsize info
    rm -f "$TMP/restart.pid"
    for _ in $(seq 300); do  # the old process's port must be free
      redis-cli -p "$RPORT" ping >/dev/null 2>&1 || break
      sleep 0.1
    done
    # shellcheck disable=SC2086
    out=$(/usr/bin/python3 "$ROOT/tools/bench_util.py" restart --port "$RPORT" \
            --pidfile "$TMP/restart.pid" --log "$TMP/restart.log" --key $((K - 1)) \
            --vsize "$RESTART_VSIZE" --timeout 300 -- \
            "$EDGEKV_SERVER" --port "$RPORT" --bind 127.0.0.1 --dir "$TMP/restart" \
            --appendfsync everysec ${EDGEKV_ARGS:-}) ||
      die "restart after $1 failed; log: $(tail -5 "$TMP/restart.log")"
    RPID=$(cat "$TMP/restart.pid")
    PIDS+=("$RPID")
    rm -f "$TMP/restart.pid"
    read -r listen loaded get <<<"$out"
    dbsize=$(redis-cli -p "$RPORT" dbsize)
    # After the kill -9 some of the extra keys were acknowledged as well.
    ((dbsize >= K)) || echo "# WARNING: DBSIZE $dbsize after restart, expected >= $K" >&2
    info=$(pers "$RPORT")
    ROWS+=("$(printf '%-22s %9s %9s %9s %9s %10s %11s %10s %9s' "$1" "$K" "$dbsize" "$listen" \
      "$loaded" "$get" "$(pf "$info" recovery_replayed_batches)" \
      "$(pf "$info" recovery_millis)" "$2")")
  }
  restart "kill -9 during writes" "-"
  stop_server "$RPID" TERM 300
  SHUTDOWN=$STOP_SECS
  SIZE_TERM="$(du_h "$TMP/restart") (data $(du_h "$TMP/restart/data"), wal $(du_h "$TMP/restart/wal"))"
  restart "SIGTERM (clean)" "$SHUTDOWN"
  stop_server "$RPID" TERM 300

  echo "# dir size at the kill -9: $SIZE_KILL; after the clean shutdown: $SIZE_TERM;" \
       "RSS after the load $RSS_LOADED"
  echo "# times in ms from just before the process starts: accepts a connection /" \
       "INFO loading:0 / GET key:$(printf '%012d' $((K - 1))) returns its value"
  printf '%-22s %9s %9s %9s %9s %10s %11s %10s %9s\n' "restart after" "keys" "dbsize" \
    "listen ms" "loaded ms" "GET ok ms" "replayed" "recov. ms" "stop s"
  # keys = the load's keys; dbsize may be larger: writes acknowledged before the kill -9
  printf '%s\n' "${ROWS[@]}"
  echo "# replayed = WAL batches replayed (recovery_replayed_batches); recov. ms = INFO" \
       "recovery_millis; stop s = SIGTERM to exit"
fi
echo "# elapsed $((SECONDS - START_TIME)) s"
