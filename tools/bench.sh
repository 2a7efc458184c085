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
# Memory (--memory, or tools/bench_memory.sh): loads exactly KEYS keys
# "key:%010d" with 64-byte values into each server with pipelined MSET, and
# prints (VmRSS after load - VmRSS after start) / DBSIZE for both.
#
# Usage: tools/bench.sh [options]
#   --rounds R        rounds per server (default 5)
#   --requests N      requests per test at pipeline 1 (default 200000)
#   --requests-p16 N  requests per test at pipeline 16 (default 1000000)
#   --clients C       redis-benchmark -c (default 50)
#   --pipelines "1 16"
#   --memory          run the memory comparison instead
#   --keys K          keys for --memory (default 1000000)
#   --time-limit S    give up after S seconds overall (default 1500)
#
# Environment:
#   EDGEKV_SERVER   the edgekv-server binary (default build-release/edgekv-server,
#                   built in Release if missing)
#   REDIS_SERVER    the redis-server binary (default: redis-server on PATH)
#   EDGEKV_ARGS     extra "--directive value" flags for edgekv-server
#
# Caveat: the client (redis-benchmark, single-threaded) and the server share
# the machine's cores; on a small or busy host the figures measure the pair,
# not the server alone. Compare ratios from the same run, not absolute rps
# across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ROUNDS=5
REQ_P1=200000
REQ_P16=1000000
CLIENTS=50
PIPELINES="1 16"
MODE=throughput
KEYS=1000000
TIME_LIMIT=1500

while (($#)); do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --requests) REQ_P1=$2; shift 2 ;;
    --requests-p16) REQ_P16=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --pipelines) PIPELINES=$2; shift 2 ;;
    --memory) MODE=memory; shift ;;
    --keys) KEYS=$2; shift 2 ;;
    --time-limit) TIME_LIMIT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done

die() { echo "bench: $*" >&2; exit 1; }

# --- Prerequisites ------------------------------------------------------------
need_pkgs=()
command -v redis-benchmark >/dev/null || need_pkgs+=(redis-tools)
command -v "${REDIS_SERVER:-redis-server}" >/dev/null || need_pkgs+=(redis-server)
if [[ $MODE == memory ]] && ! /usr/bin/python3 -c 'import redis' 2>/dev/null; then
  need_pkgs+=(python3-redis)
fi
if ((${#need_pkgs[@]})); then
  echo "bench: installing ${need_pkgs[*]}" >&2
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
REDIS_SERVER=$(command -v "${REDIS_SERVER:-redis-server}")

EDGEKV_SERVER=${EDGEKV_SERVER:-$ROOT/build-release/edgekv-server}
if [[ ! -x $EDGEKV_SERVER ]]; then
  [[ $EDGEKV_SERVER == "$ROOT/build-release/edgekv-server" ]] ||
    die "EDGEKV_SERVER=$EDGEKV_SERVER is not an executable"
  echo "bench: building $EDGEKV_SERVER (Release)" >&2
  tools/setup.sh
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DEDGEKV_BUILD_TESTS=OFF >/dev/null
  cmake --build build-release --target edgekv-server >/dev/null
fi

# --- Servers, clean-up --------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/edgekv-bench.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
    # Give each server 5 s to exit, then kill it.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

START_TIME=$SECONDS
check_time() {
  ((SECONDS - START_TIME < TIME_LIMIT)) ||
    die "time limit of ${TIME_LIMIT}s reached; stopping (partial results above)"
}

free_port() {
  /usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() {  # port pid name
  for _ in $(seq 100); do
    kill -0 "$2" 2>/dev/null || die "$3 exited at start-up; its log: $(cat "$TMP/$3.log")"
    [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]] && return 0
    sleep 0.1
  done
  die "$3 did not answer PING on port $1 within 10 s"
}

EDGEKV_PORT=$(free_port)
mkdir -p "$TMP/edgekv-data" "$TMP/redis-data"
# appendonly/appendfsync mirror the redis settings; edgekv accepts them but has
# no persistence yet (the write-ahead log comes later), so today edgekv is
# measured without any disk I/O while redis writes its AOF.
# shellcheck disable=SC2086
"$EDGEKV_SERVER" --port "$EDGEKV_PORT" --bind 127.0.0.1 --dir "$TMP/edgekv-data" \
  --save '' --appendonly yes --appendfsync everysec ${EDGEKV_ARGS:-} \
  >"$TMP/edgekv.log" 2>&1 &
EDGEKV_PID=$!
PIDS+=("$EDGEKV_PID")
wait_ready "$EDGEKV_PORT" "$EDGEKV_PID" edgekv

REDIS_PORT=$(free_port)
"$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly yes \
  --appendfsync everysec --dir "$TMP/redis-data" --daemonize no \
  >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
wait_ready "$REDIS_PORT" "$REDIS_PID" redis

echo "# edgekv: $("$EDGEKV_SERVER" --version) [$EDGEKV_SERVER] pid $EDGEKV_PID port $EDGEKV_PORT io-threads $(redis-cli -p "$EDGEKV_PORT" config get io-threads | tail -1)"
echo "# redis:  $("$REDIS_SERVER" --version | cut -d' ' -f1-3) pid $REDIS_PID port $REDIS_PORT (appendonly yes, appendfsync everysec)"
echo "# host:   $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

median() {  # numbers on stdin -> median
  sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) printf "%.2f\n", v[(NR + 1) / 2];
    else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

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
  done
  echo
  printf '%-24s %14s %14s %16s\n' "test" "edgekv B/key" "redis B/key" "ratio edgekv/redis"
  printf '%-24s %14s %14s %16s\n' "rss-delta/dbsize" "${BPK[edgekv]}" "${BPK[redis]}" \
    "$(awk -v a="${BPK[edgekv]}" -v b="${BPK[redis]}" 'BEGIN {printf "%.2f", a / b}')"
  exit 0
fi

# --- Throughput mode ----------------------------------------------------------
echo "# redis-benchmark -t set,get -c $CLIENTS -d 64 -r 100000 -q --csv;" \
     "-P 1 with -n $REQ_P1, -P 16 with -n $REQ_P16; $ROUNDS alternating rounds"
RESULTS=$TMP/results.txt  # server pipeline test rps
: >"$RESULTS"

run_bench() {  # name port pipeline requests
  local out
  out=$(timeout 300 redis-benchmark -h 127.0.0.1 -p "$2" -t set,get -c "$CLIENTS" \
          -d 64 -r 100000 -n "$4" -P "$3" -q --csv 2>"$TMP/bench.err") ||
    die "redis-benchmark against $1 failed: $(cat "$TMP/bench.err")"
  # CSV: "test","rps",... with a header line first.
  echo "$out" | tr -d '"\r' | awk -F, -v s="$1" -v p="$3" \
    '$1 != "test" && $2 + 0 > 0 {print s, p, $1, $2}' | tee -a "$RESULTS" |
    awk -v r="$ROUND" '{printf "  round %s  %-6s P=%-3s %-4s %12.2f rps\n", r, $1, $2, $3, $4}' >&2
}

for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
  for p in $PIPELINES; do
    n=$REQ_P1; ((p > 1)) && n=$REQ_P16
    check_time
    run_bench edgekv "$EDGEKV_PORT" "$p" "$n"
    check_time
    run_bench redis "$REDIS_PORT" "$p" "$n"
  done
done

echo
printf '%-5s %8s %18s %18s %19s\n' "test" "pipeline" "edgekv median rps" "redis median rps" "ratio edgekv/redis"
for test in SET GET; do
  for p in $PIPELINES; do
    e=$(awk -v p="$p" -v t="$test" '$1 == "edgekv" && $2 == p && $3 == t {print $4}' "$RESULTS" | median)
    r=$(awk -v p="$p" -v t="$test" '$1 == "redis" && $2 == p && $3 == t {print $4}' "$RESULTS" | median)
    printf '%-5s %8s %18s %18s %19s\n' "$test" "$p" "$e" "$r" \
      "$(awk -v a="$e" -v b="$r" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')"
  done
done
echo "# per-round figures: stderr above; elapsed $((SECONDS - START_TIME)) s"
