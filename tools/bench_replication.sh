#!/usr/bin/env bash
# Replication benchmark: edgekv-server coordinator + replicas, side by side
# with a stock redis-server master + redis replicas.
#
# (a) Time-to-visible under load. A coordinator and one replica; redis-benchmark
#     loads the coordinator with
#       redis-benchmark -t set -c 50 -d 64 -r 100000 -P 16 -n <large>
#     (--load-args replaces "-c 50 -P 16"), and meanwhile tools/bench_util.py
#     probe SETs a fresh value to a probe key on the coordinator every
#     PROBE_INTERVAL ms and GETs it from the replica (every POLL_US
#     microseconds) until the replica shows that value. Prints
#     count, p50, p99 and max of ack->visible (from the SET's reply to the
#     replica showing it), send->visible and the SET round trip, in ms, and
#     the SET rate the coordinator sustained meanwhile. The same for redis
#     (master appendonly yes, appendfsync everysec; replica appendonly no).
#
# (b) SET throughput of the coordinator with 0, 1 and 3 replicas attached:
#       redis-benchmark -t set -c 50 -d 64 -r 100000 -P {1,16} -n N -q --csv
#     edgekv coordinator (appendfsync everysec) + edgekv replicas
#     (--replicaof "127.0.0.1 PORT") vs redis-server (appendonly yes,
#     appendfsync everysec) + redis replicas (--replicaof 127.0.0.1 PORT
#     --save '' --appendonly no), alternating rounds, medians and ratios.
#     After each run the script waits until every replica has caught up
#     (slave_repl_offset >= the master's master_repl_offset), then drains the
#     servers' background work (see drain in bench_lib.sh; its time counts in
#     the rps), and at the end checks that every replica has the master's
#     DBSIZE.
#
# Usage: tools/bench_replication.sh [options]
#   --duration S         probe duration per server in (a) (default 20)
#   --probe-interval MS  one probe every MS ms (default 10)
#   --poll-us US         replica poll interval in the probe (default 200)
#   --load-args "ARGS"   redis-benchmark load options in (a) besides -t set -d 64
#                        -r 100000 (default "-c 50 -P 16")
#   --replicas "0 1 3"   replica counts for (b)
#   --rounds R           alternating rounds in (b) (default 3)
#   --requests N         SETs per run at pipeline 1 (default 200000)
#   --requests-p16 N     SETs per run at pipeline 16 (default 1000000)
#   --clients C          redis-benchmark -c (default 50)
#   --skip-visible / --skip-throughput
#   --time-limit S       give up after S seconds overall (default 900)
#
# Environment: EDGEKV_SERVER, REDIS_SERVER, EDGEKV_ARGS, BENCH_KEEP_TMP (see
# tools/bench_lib.sh).
#
# Caveat: every server, replica, redis-benchmark and the probe share the
# host's cores (2 on the reference machine): with 3 replicas the replicas
# compete with the coordinator and the client for CPU, so (b) measures the
# whole group on this host, not what separate machines would do.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=20
PROBE_INTERVAL=10
POLL_US=200
LOAD_ARGS="-c 50 -P 16"
REPLICAS="0 1 3"
ROUNDS=3
REQ_P1=200000
REQ_P16=1000000
CLIENTS=50
PIPELINES="1 16"
DO_VISIBLE=1
DO_THROUGHPUT=1
TIME_LIMIT=900

while (($#)); do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --probe-interval) PROBE_INTERVAL=$2; shift 2 ;;
    --poll-us) POLL_US=$2; shift 2 ;;
    --load-args) LOAD_ARGS=$2; shift 2 ;;
    --replicas) REPLICAS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --requests) REQ_P1=$2; shift 2 ;;
    --requests-p16) REQ_P16=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --pipelines) PIPELINES=$2; shift 2 ;;
    --skip-visible) DO_VISIBLE=0; shift ;;
    --skip-throughput) DO_THROUGHPUT=0; shift ;;
    --time-limit) TIME_LIMIT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_replication: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done

PROG=bench_replication
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"
bench_init python

echo "# edgekv: $("$EDGEKV_SERVER" --version) [$EDGEKV_SERVER]; coordinator and replicas appendfsync everysec"
echo "# redis:  $("$REDIS_SERVER" --version | cut -d' ' -f1-3); master appendonly yes, appendfsync everysec; replicas --save '' --appendonly no"
host_line

# Starts a master and N replicas of kind edgekv|redis; sets MPORT, MPID,
# RPORTS (array), RPIDS (array).
start_group() {  # kind name n
  local kind=$1 name=$2 n=$3 i
  RPORTS=() RPIDS=()
  if [[ $kind == edgekv ]]; then
    start_edgekv "$name-m" --appendfsync everysec
  else
    start_redis "$name-m" --appendonly yes --appendfsync everysec
  fi
  MPORT=$PORT MPID=$PID
  for ((i = 1; i <= n; i++)); do
    if [[ $kind == edgekv ]]; then
      start_edgekv "$name-r$i" --appendfsync everysec --replicaof "127.0.0.1 $MPORT"
    else
      start_redis "$name-r$i" --appendonly no --replicaof 127.0.0.1 "$MPORT"
    fi
    RPORTS+=("$PORT") RPIDS+=("$PID")
  done
  wait_online "$MPORT" "$n"
}

wait_online() {  # master_port n
  local online
  for _ in $(seq 600); do
    online=$(redis-cli -p "$1" info replication | tr -d '\r' | grep -c 'state=online' || true)
    ((online >= $2)) && return 0
    sleep 0.1
  done
  die "port $1: only $online of $2 replicas online after 60 s"
}

stop_group() {
  local p
  for p in "${RPIDS[@]+"${RPIDS[@]}"}" "$MPID"; do stop_server "$p" TERM 60; done
}

# --- (a) time-to-visible -------------------------------------------------------
if ((DO_VISIBLE)); then
  echo
  echo "## (a) time-to-visible at 1 replica; load: redis-benchmark -t set -d 64 -r 100000 $LOAD_ARGS;" \
       "probe every ${PROBE_INTERVAL} ms for ${DURATION} s, replica polled every ${POLL_US} us"
  declare -A VIS LOADRPS CATCHUP
  for kind in edgekv redis; do
    check_time
    start_group "$kind" "vis-$kind" 1
    rport=${RPORTS[0]}
    # shellcheck disable=SC2086
    timeout $((DURATION + 60)) redis-benchmark -h 127.0.0.1 -p "$MPORT" -t set -d 64 \
      -r 100000 $LOAD_ARGS -n 2000000000 -q >/dev/null 2>&1 &
    LOADPID=$!
    PIDS+=("$LOADPID")
    sleep 1  # let the load ramp up
    c0=$(info_field "$MPORT" stats total_commands_processed) t0=$(date +%s%N)
    out=$(timeout $((DURATION + 60)) /usr/bin/python3 "$ROOT/tools/bench_util.py" probe \
            "$MPORT" "$rport" --duration "$DURATION" --interval-ms "$PROBE_INTERVAL" \
            --poll-us "$POLL_US") || die "the probe against $kind failed"
    c1=$(info_field "$MPORT" stats total_commands_processed) t1=$(date +%s%N)
    kill -0 "$LOADPID" 2>/dev/null || die "the redis-benchmark load against $kind ended early"
    stop_server "$LOADPID" TERM 10
    LOADRPS[$kind]=$(awk -v c="$((c1 - c0))" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", c * 1e9 / (b - a)}')
    CATCHUP[$kind]=$(wait_caught_up "$MPORT" "$rport")
    echo "# $kind: coordinator sustained ${LOADRPS[$kind]} commands/s during the probe;" \
         "replica caught up ${CATCHUP[$kind]} s after the load stopped"
    while IFS= read -r line; do echo "  $kind  $line"; done <<<"$out"
    VIS[$kind]=$(awk '$1 == "ack->visible" {print $2, $3, $4, $5}' <<<"$out")
    VIS[$kind-send]=$(awk '$1 == "send->visible" {print $2, $3, $4, $5}' <<<"$out")
    stop_group
    rm -rf "$TMP/vis-$kind"-*
  done
  echo
  printf '%-7s %-14s %13s %7s %8s %8s %8s\n' "server" "delay (ms)" "load cmds/s" "count" "p50" "p99" "max"
  for kind in edgekv redis; do
    read -r n a b c <<<"${VIS[$kind]}"
    printf '%-7s %-14s %13s %7s %8s %8s %8s\n' "$kind" "ack->visible" "${LOADRPS[$kind]}" "$n" "$a" "$b" "$c"
    read -r n a b c <<<"${VIS[$kind-send]}"
    printf '%-7s %-14s %13s %7s %8s %8s %8s\n' "$kind" "send->visible" "${LOADRPS[$kind]}" "$n" "$a" "$b" "$c"
  done
  read -r _ a b _ <<<"${VIS[edgekv]}"
  read -r _ ra rb _ <<<"${VIS[redis]}"
  echo "# ratio edgekv/redis ack->visible: p50 $(ratio "$a" "$ra"), p99 $(ratio "$b" "$rb");" \
       "edgekv p99 target < 10 ms: $(awk -v x="$b" 'BEGIN {print (x < 10 ? "met" : "NOT met")}')"
fi

# --- (b) SET throughput with 0, 1, 3 replicas ----------------------------------------
if ((DO_THROUGHPUT)); then
  echo
  echo "## (b) coordinator SET throughput: redis-benchmark -t set -c $CLIENTS -d 64 -r 100000 -q;" \
       "-P 1 with -n $REQ_P1, -P 16 with -n $REQ_P16; $ROUNDS alternating rounds per replica count"
  RESULTS=$TMP/set.txt  # kind replicas pipeline rps catchup_s
  : >"$RESULTS"
  for nrep in $REPLICAS; do
    check_time
    start_group edgekv "e$nrep" "$nrep"
    E_M=$MPORT E_MPID=$MPID E_R=("${RPORTS[@]+"${RPORTS[@]}"}") E_RPIDS=("${RPIDS[@]+"${RPIDS[@]}"}")
    start_group redis "r$nrep" "$nrep"
    R_M=$MPORT R_MPID=$MPID R_R=("${RPORTS[@]+"${RPORTS[@]}"}") R_RPIDS=("${RPIDS[@]+"${RPIDS[@]}"}")
    for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
      for p in $PIPELINES; do
        n=$REQ_P1; ((p > 1)) && n=$REQ_P16
        for kind in edgekv redis; do
          check_time
          if [[ $kind == edgekv ]]; then m=$E_M reps=("${E_R[@]+"${E_R[@]}"}")
          else m=$R_M reps=("${R_R[@]+"${R_R[@]}"}"); fi
          rps=$(run_rbench "$m" -t set -c "$CLIENTS" -d 64 -r 100000 -n "$n" -P "$p" |
                awk '$1 == "SET" {print $2}')
          # The background work the writes left counts (see drain in
          # bench_lib.sh): the coordinator's (before the catch-up wait, which
          # would hide it), and its edgekv replicas' (redis replicas do not
          # persist).
          d=$(drain "$kind" "$m")
          cu=0
          ((nrep > 0)) && cu=$(wait_caught_up "$m" "${reps[@]}")
          if [[ $kind == edgekv ]]; then
            for r in "${reps[@]+"${reps[@]}"}"; do
              d=$(awk -v a="$d" -v b="$(drain edgekv "$r")" 'BEGIN {printf "%.3f", a + b}')
            done
          fi
          rps=$(with_drain "$n" "$rps" "$d")
          echo "$kind $nrep $p $rps $cu" >>"$RESULTS"
          printf '  replicas %d  round %d  %-6s P=%-3s SET %12.2f rps (drain %ss counted)  replicas caught up after %s s\n' \
            "$nrep" "$ROUND" "$kind" "$p" "$rps" "$d" "$cu" >&2
        done
      done
    done
    # Consistency: every replica holds the master's keys.
    for kind in edgekv redis; do
      if [[ $kind == edgekv ]]; then m=$E_M reps=("${E_R[@]+"${E_R[@]}"}")
      else m=$R_M reps=("${R_R[@]+"${R_R[@]}"}"); fi
      want=$(redis-cli -p "$m" dbsize)
      for r in "${reps[@]+"${reps[@]}"}"; do
        got=$(redis-cli -p "$r" dbsize)
        [[ $got == "$want" ]] ||
          echo "# WARNING: $kind replica on port $r has DBSIZE $got, its master $want" >&2
      done
    done
    RPIDS=("${E_RPIDS[@]+"${E_RPIDS[@]}"}") MPID=$E_MPID; stop_group
    RPIDS=("${R_RPIDS[@]+"${R_RPIDS[@]}"}") MPID=$R_MPID; stop_group
    rm -rf "$TMP/e$nrep"-* "$TMP/r$nrep"-*
  done

  echo
  printf '%-8s %8s %18s %18s %19s %12s %12s %11s %11s\n' "replicas" "pipeline" "edgekv median rps" \
    "redis median rps" "ratio edgekv/redis" "edgekv vs 0" "redis vs 0" "edgekv lag" "redis lag"
  for p in $PIPELINES; do
    for nrep in $REPLICAS; do
      col() {  # kind replicas field -> median
        awk -v k="$1" -v r="$2" -v p="$p" -v f="$3" '$1 == k && $2 == r && $3 == p {print $f}' \
          "$RESULTS" | median
      }
      e=$(col edgekv "$nrep" 4) r=$(col redis "$nrep" 4)
      e0=$(col edgekv 0 4) r0=$(col redis 0 4)
      el=- rl=-
      ((nrep > 0)) && el=$(col edgekv "$nrep" 5) rl=$(col redis "$nrep" 5)
      printf '%-8s %8s %18s %18s %19s %12s %12s %11s %11s\n' "$nrep" "$p" "$e" "$r" "$(ratio "$e" "$r")" \
        "$(ratio "$e" "$e0")" "$(ratio "$r" "$r0")" "$el" "$rl"
    done
  done
  echo "# lag = median seconds, after redis-benchmark ended, until every replica's" \
       "slave_repl_offset reached the master's master_repl_offset (polled every 20 ms)"
fi
echo "# elapsed $((SECONDS - START_TIME)) s"
