#!/usr/bin/env bash
# Side-by-side benchmark of edgekv-server and a stock Debian redis-server.
#
# Throughput (default): starts both servers on free ports of 127.0.0.1, then
# runs redis-benchmark against them in alternating rounds (edgekv, redis,
# edgekv, redis, ...) and prints the median requests/sec of each test:
#
#   redis-benchmark -h 127.0.0.1 -p PORT -t set,get -c 50 -d 64 -r 100000 \
#                   -n N -P {1,16} -q --csv
#
# Both servers persist: edgekv (whose write-ahead log is always on) runs with
# --appendfsync everysec, redis-server with --appendonly yes --appendfsync
# everysec (and --save '').
#
# Also printed: CPU time per request (median), of each server's whole process
# (background threads and the drain included) and of the client. At pipeline
# 1 the single-threaded client is the bottleneck on a small host: its CPU
# per request, the same against either server, shows it.
#
# Each test runs alone. A SET test's time includes the background work its
# writes left (counted: rps = N / (benchmark time + drain time)): edgekv's
# applier gathers writes for seconds before LevelDB gets them, so without
# this the SET test would not pay for them and the next test would; edgekv
# drains with SAVE (apply now, sync LevelDB), redis by finishing any AOF
# rewrite.
#
# fsync always (--fsync always): SET only, edgekv --appendfsync always vs
# redis-server --appendonly yes --appendfsync always, pipeline 1 and 16:
# every acknowledged write is on disk (group commit on both sides).
#
# Memory (--memory, or tools/bench_memory.sh): loads exactly KEYS keys
# "key:%010d" with 64-byte values into each server with pipelined MSET, and
# prints (VmRSS after load - VmRSS after start) / DBSIZE for both, a second
# after the load and again at rest (after the drain described below).
#
# Usage: tools/bench.sh [options]
#   --rounds R        rounds per server (default 5)
#   --requests N      requests per test at pipeline 1 (default 200000)
#   --requests-p16 N  requests per test at pipeline 16 (default 1000000)
#   --clients C       redis-benchmark -c (default 50)
#   --pipelines "1 16"
#   --fsync POLICY    everysec (default: SET and GET) or always (SET only,
#                     -n defaults 100000 / 500000); "no" also works
#   --memory          run the memory comparison instead
#   --keys K          keys for --memory (default 1000000)
#   --time-limit S    give up after S seconds overall (default 900)
#
# Environment:
#   EDGEKV_SERVER   the edgekv-server binary (default build-release/edgekv-server,
#                   built in Release if missing)
#   REDIS_SERVER    the redis-server binary (default: redis-server on PATH)
#   EDGEKV_ARGS     extra "--directive value" flags for edgekv-server
#   BENCH_KEEP_TMP  keep the temporary directory (logs, data)
# Helpers (ports, start/stop, medians) are in tools/bench_lib.sh.
#
# Caveat: the client (redis-benchmark, single-threaded) and the server share
# the machine's cores; on a small or busy host the figures measure the pair,
# not the server alone. Compare ratios from the same run, not absolute rps
# across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ROUNDS=5
REQ_P1=
REQ_P16=
CLIENTS=50
PIPELINES="1 16"
MODE=throughput
KEYS=1000000
TIME_LIMIT=900
FSYNC=everysec

while (($#)); do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --requests) REQ_P1=$2; shift 2 ;;
    --requests-p16) REQ_P16=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --pipelines) PIPELINES=$2; shift 2 ;;
    --fsync) FSYNC=$2; shift 2 ;;
    --memory) MODE=memory; shift ;;
    --keys) KEYS=$2; shift 2 ;;
    --time-limit) TIME_LIMIT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
case $FSYNC in
  everysec|no) TESTS=set,get; REQ_P1=${REQ_P1:-200000}; REQ_P16=${REQ_P16:-1000000} ;;
  always) TESTS="set"; REQ_P1=${REQ_P1:-100000}; REQ_P16=${REQ_P16:-500000} ;;
  *) echo "bench: --fsync takes always, everysec or no" >&2; exit 2 ;;
esac

PROG=bench
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"
if [[ $MODE == memory ]]; then bench_init python; else bench_init; fi

# --- Servers ------------------------------------------------------------------
# Both servers persist with the same fsync policy: edgekv always logs every
# write (WAL + LevelDB), redis gets appendonly yes.
start_edgekv edgekv --appendfsync "$FSYNC"
EDGEKV_PORT=$PORT EDGEKV_PID=$PID
start_redis redis --appendonly yes --appendfsync "$FSYNC"
REDIS_PORT=$PORT REDIS_PID=$PID

echo "# edgekv: $("$EDGEKV_SERVER" --version) [$EDGEKV_SERVER] pid $EDGEKV_PID port $EDGEKV_PORT io-threads $(redis-cli -p "$EDGEKV_PORT" config get io-threads | tail -1) (appendfsync $FSYNC)"
echo "# redis:  $("$REDIS_SERVER" --version | cut -d' ' -f1-3) pid $REDIS_PID port $REDIS_PORT (appendonly yes, appendfsync $FSYNC)"
host_line

# --- Memory mode --------------------------------------------------------------
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

load_keys() {  # port
  timeout 600 /usr/bin/python3 - "$1" "$KEYS" <<'EOF'
import sys
import redis
port, n = int(sys.argv[1]), int(sys.argv[2])
r = redis.Redis(host="127.0.0.1", port=port)
batch, per_pipe = 1000, 16  # 1000 keys per MSET, 16 MSETs per round trip
pipe = r.pipeline(transaction=False)
queued = 0
for start in range(0, n, batch):
    kv = {}
    for i in range(start, min(start + batch, n)):
        # 64-byte value, distinct per key, longer than 20 chars so redis keeps
        # it as a plain string (no integer encoding).
        kv[b"key:%010d" % i] = (b"v" * 54) + (b"%010d" % i)
    pipe.mset(kv)
    queued += 1
    if queued == per_pipe:
        pipe.execute()
        queued = 0
if queued:
    pipe.execute()
EOF
}

if [[ $MODE == memory ]]; then
  echo "# memory: $KEYS keys \"key:%010d\" -> 64-byte values, pipelined MSET (1000 keys each)"
  declare -A BPK
  for name in edgekv redis; do
    check_time
    if [[ $name == edgekv ]]; then port=$EDGEKV_PORT pid=$EDGEKV_PID
    else port=$REDIS_PORT pid=$REDIS_PID; fi
    before=$(rss_kb "$pid")
    t0=$SECONDS
    load_keys "$port" || die "loading keys into $name failed"
    sleep 1  # let the server finish its event-loop work
    after=$(rss_kb "$pid")
    dbsize=$(redis-cli -h 127.0.0.1 -p "$port" dbsize)
    [[ $dbsize -gt 0 ]] || die "$name: DBSIZE is $dbsize after loading"
    used=$(redis-cli -h 127.0.0.1 -p "$port" info memory | tr -d '\r' |
           awk -F: '$1 == "used_memory" {print $2}')
    BPK[$name]=$(awk -v a="$after" -v b="$before" -v n="$dbsize" \
                     'BEGIN {printf "%.1f", (a - b) * 1024 / n}')
    printf '%-7s load %3ds  dbsize %d  VmRSS %d kB -> %d kB  used_memory %s  => %s bytes/key\n' \
      "$name" $((SECONDS - t0)) "$dbsize" "$before" "$after" "$used" "${BPK[$name]}"
    # At rest: once the work the load left is done (edgekv's applier may be
    # in the middle of a group a second after the load, holding its buffers).
    drain "$name" "$port" >/dev/null
    sleep 1
    rest=$(rss_kb "$pid")
    BPK[$name-rest]=$(awk -v a="$rest" -v b="$before" -v n="$dbsize" \
                          'BEGIN {printf "%.1f", (a - b) * 1024 / n}')
    printf '%-7s at rest (after drain)  VmRSS %d kB  => %s bytes/key\n' \
      "$name" "$rest" "${BPK[$name-rest]}"
  done
  echo
  printf '%-24s %14s %14s %16s\n' "test" "edgekv B/key" "redis B/key" "ratio edgekv/redis"
  for row in "rss-delta/dbsize:" "at rest:-rest"; do
    label=${row%%:*} suffix=${row#*:}
    printf '%-24s %14s %14s %16s\n' "$label" "${BPK[edgekv$suffix]}" "${BPK[redis$suffix]}" \
      "$(awk -v a="${BPK[edgekv$suffix]}" -v b="${BPK[redis$suffix]}" 'BEGIN {printf "%.2f", a / b}')"
  done
  exit 0
fi

# --- Throughput mode ----------------------------------------------------------
echo "# redis-benchmark -t $TESTS -c $CLIENTS -d 64 -r 100000 -q --csv;" \
     "-P 1 with -n $REQ_P1, -P 16 with -n $REQ_P16; $ROUNDS alternating rounds"
RESULTS=$TMP/results.txt  # server pipeline test rps
CPU_RESULTS=$TMP/cpu.txt  # server pipeline test server-us/request client-us/request
: >"$RESULTS"
: >"$CPU_RESULTS"
HZ=$(getconf CLK_TCK)

# One test at a time. A write test's time includes draining the work it left
# (see drain in bench_lib.sh), so that deferred work counts against the test
# that caused it and not against the next one.
# Each test's CPU time is counted too, per request: the server's (the whole
# process, its background threads and the drain included) and the client's.
run_bench() {  # name port pipeline requests pid
  local t out d c0
  for t in ${TESTS//,/ }; do
    c0=$(cpu_ticks "$5")
    out=$(run_rbench "$2" -t "$t" -c "$CLIENTS" -d 64 -r 100000 -n "$4" -P "$3")
    if [[ $t == set ]]; then
      d=$(drain "$1" "$2")
      out="$(awk '{print $1}' <<<"$out") $(with_drain "$4" "$(awk '{print $2}' <<<"$out")" "$d")"
      echo "  round $ROUND  $1 P=$3 drain after SET: ${d}s (counted)" >&2
    fi
    awk -v s="$1" -v p="$3" -v a="$c0" -v b="$(cpu_ticks "$5")" -v hz="$HZ" -v n="$4" \
        -v c="$(cat "$TMP/rbench.cpu")" -v t="$(awk '{print $1}' <<<"$out")" \
        'BEGIN {printf "%s %s %s %.2f %.2f\n", s, p, t, (b - a) / hz * 1e6 / n, c * 1e6 / n}' \
        >>"$CPU_RESULTS"
    awk -v s="$1" -v p="$3" '{print s, p, $1, $2}' <<<"$out" | tee -a "$RESULTS" |
      awk -v r="$ROUND" '{printf "  round %s  %-6s P=%-3s %-4s %12.2f rps\n", r, $1, $2, $3, $4}' >&2
  done
}

for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
  for p in $PIPELINES; do
    n=$REQ_P1; ((p > 1)) && n=$REQ_P16
    check_time
    run_bench edgekv "$EDGEKV_PORT" "$p" "$n" "$EDGEKV_PID"
    check_time
    run_bench redis "$REDIS_PORT" "$p" "$n" "$REDIS_PID"
  done
done

echo
echo "# appendfsync $FSYNC on both servers"
printf '%-5s %8s %18s %18s %19s\n' "test" "pipeline" "edgekv median rps" "redis median rps" "ratio edgekv/redis"
for test in $(tr 'a-z,' 'A-Z ' <<<"$TESTS"); do
  for p in $PIPELINES; do
    e=$(awk -v p="$p" -v t="$test" '$1 == "edgekv" && $2 == p && $3 == t {print $4}' "$RESULTS" | median)
    r=$(awk -v p="$p" -v t="$test" '$1 == "redis" && $2 == p && $3 == t {print $4}' "$RESULTS" | median)
    printf '%-5s %8s %18s %18s %19s\n' "$test" "$p" "$e" "$r" "$(ratio "$e" "$r")"
  done
done
echo
echo "# CPU time per request, microseconds (medians): the server's whole process"
echo "# (background threads and the drain included), and the client's (redis-benchmark)"
printf '%-5s %8s %14s %14s %19s %15s %15s\n' "test" "pipeline" "edgekv server" "redis server" \
  "ratio edgekv/redis" "client/edgekv" "client/redis"
col() {  # server field: median of that field for $test at pipeline $p
  awk -v s="$1" -v p="$p" -v t="$test" -v f="$2" \
      '$1 == s && $2 == p && $3 == t {print $f}' "$CPU_RESULTS" | median
}
for test in $(tr 'a-z,' 'A-Z ' <<<"$TESTS"); do
  for p in $PIPELINES; do
    es=$(col edgekv 4) rs=$(col redis 4)
    printf '%-5s %8s %14s %14s %19s %15s %15s\n' "$test" "$p" "$es" "$rs" "$(ratio "$es" "$rs")" \
      "$(col edgekv 5)" "$(col redis 5)"
  done
done
echo "# per-round figures: stderr above; elapsed $((SECONDS - START_TIME)) s"
