# shellcheck shell=bash
# Helpers shared by tools/bench.sh, tools/bench_tiers.sh and
# tools/bench_replication.sh. Sourced, not run:
#
#   PROG=bench_x; TIME_LIMIT=600
#   source "$(dirname "$0")/bench_lib.sh"
#   bench_init [python]     # prerequisites, binaries, temp dir, traps, clock
#
# What it provides:
#   die MSG                       message on stderr, exit 1 (clean-up runs)
#   check_time                    die once TIME_LIMIT seconds have passed
#   free_port                     a free TCP port on 127.0.0.1
#   start_edgekv NAME [ARGS...]   edgekv-server on a free port, data in
#                                 $TMP/NAME, log $TMP/NAME.log; sets PORT, PID;
#                                 returns once it answers and loading:0
#   start_redis NAME [ARGS...]    the same for redis-server (--save '' first)
#   stop_server PID [SIGNAL [S]]  signal (TERM), wait up to S (30) seconds,
#                                 then SIGKILL; sets STOP_SECS (time to exit)
#   info_field PORT SECTION FIELD one INFO field
#   wait_caught_up MPORT RPORT... until every replica's slave_repl_offset
#                                 reaches the master's master_repl_offset
#   run_rbench PORT ARGS...       redis-benchmark -q --csv; prints "TEST RPS"
#   median                        numbers on stdin -> median ("nan" if none)
#   ratio A B                     A/B with two decimals
#   bench_py ARGS...              tools/bench_util.py with /usr/bin/python3
#
# Every server started here, and every pid appended to PIDS, is stopped on
# exit (SIGTERM, then SIGKILL after 10 s), and $TMP is removed.
#
# Environment:
#   EDGEKV_SERVER   the edgekv-server binary (default build-release/edgekv-server,
#                   built in Release if missing)
#   REDIS_SERVER    the redis-server binary (default: redis-server on PATH)
#   EDGEKV_ARGS     extra "--directive value" flags for every edgekv-server
#   BENCH_KEEP_TMP  if set, keep $TMP (logs, data) after the run

die() { echo "${PROG:-bench}: $*" >&2; exit 1; }

bench_init() {  # [python]
  local need_pkgs=()
  command -v redis-benchmark >/dev/null || need_pkgs+=(redis-tools)
  command -v "${REDIS_SERVER:-redis-server}" >/dev/null || need_pkgs+=(redis-server)
  if [[ ${1:-} == python ]] && ! /usr/bin/python3 -c 'import redis' 2>/dev/null; then
    need_pkgs+=(python3-redis)
  fi
  if ((${#need_pkgs[@]})); then
    echo "$PROG: installing ${need_pkgs[*]}" >&2
    local SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  fi
  REDIS_SERVER=$(command -v "${REDIS_SERVER:-redis-server}")

  EDGEKV_SERVER=${EDGEKV_SERVER:-$ROOT/build-release/edgekv-server}
  if [[ ! -x $EDGEKV_SERVER ]]; then
    [[ $EDGEKV_SERVER == "$ROOT/build-release/edgekv-server" ]] ||
      die "EDGEKV_SERVER=$EDGEKV_SERVER is not an executable"
    echo "$PROG: building $EDGEKV_SERVER (Release)" >&2
    tools/setup.sh
    cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release \
          -DEDGEKV_BUILD_TESTS=OFF >/dev/null
    cmake --build build-release --target edgekv-server >/dev/null
  fi

  TMP=$(mktemp -d "${TMPDIR:-/tmp}/edgekv-$PROG.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  START_TIME=$SECONDS
}

bench_cleanup() {
  local pid f
  # Servers started by bench_util.py (restart timing) leave a pid file.
  for f in "$TMP"/*.pid; do
    [[ -f $f ]] && PIDS+=("$(cat "$f")")
  done
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
    # Give each process 10 s to exit, then kill it.
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [[ -n ${BENCH_KEEP_TMP:-} ]]; then
    echo "$PROG: kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
}

check_time() {
  ((SECONDS - START_TIME < TIME_LIMIT)) ||
    die "time limit of ${TIME_LIMIT}s reached; stopping (partial results above)"
}

free_port() {
  /usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() {  # port pid name
  for _ in $(seq 300); do
    kill -0 "$2" 2>/dev/null || die "$3 exited at start-up; its log: $(cat "$TMP/$3.log")"
    if [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG &&
          $(info_field "$1" persistence loading) == 0 ]]; then
      return 0
    fi
    sleep 0.1
  done
  die "$3 did not answer PING with loading:0 on port $1 within 30 s"
}

info_field() {  # port section field
  redis-cli -h 127.0.0.1 -p "$1" info "$2" 2>/dev/null | tr -d '\r' |
    awk -F: -v f="$3" '$1 == f {print $2; exit}'
}

start_edgekv() {  # name [args...]; sets PORT PID
  local name=$1; shift
  PORT=$(free_port)
  mkdir -p "$TMP/$name"
  # shellcheck disable=SC2086
  "$EDGEKV_SERVER" --port "$PORT" --bind 127.0.0.1 --dir "$TMP/$name" "$@" \
    ${EDGEKV_ARGS:-} >"$TMP/$name.log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
  wait_ready "$PORT" "$PID" "$name"
}

start_redis() {  # name [args...]; sets PORT PID
  local name=$1; shift
  PORT=$(free_port)
  mkdir -p "$TMP/$name"
  "$REDIS_SERVER" --port "$PORT" --bind 127.0.0.1 --save '' --dir "$TMP/$name" \
    --daemonize no "$@" >"$TMP/$name.log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
  wait_ready "$PORT" "$PID" "$name"
}

alive() {  # pid: running. A zombie is not, but a thread-group leader shows Z
  # while its other threads still exit (and hold its sockets): check them all.
  local f state
  for f in /proc/"$1"/task/*/stat; do
    state=$(awk '{print $3}' "$f" 2>/dev/null) || continue
    [[ -n $state && $state != Z ]] && return 0
  done
  return 1
}

stop_server() {  # pid [signal [seconds]]; sets STOP_SECS (not in a subshell!)
  local pid=$1 sig=${2:-TERM} limit=${3:-30} t0 p rest=()
  t0=$(date +%s%N)
  # No "Killed" job notice; bash still reaps it, so kill -0 sees it go.
  disown "$pid" 2>/dev/null || true
  kill -"$sig" "$pid" 2>/dev/null || true
  for _ in $(seq $((limit * 100))); do
    alive "$pid" || break
    sleep 0.01
  done
  if alive "$pid"; then
    echo "$PROG: pid $pid still running ${limit}s after SIG$sig; killing it" >&2
    kill -9 "$pid" 2>/dev/null || true
  fi
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do [[ $p == "$pid" ]] || rest+=("$p"); done
  PIDS=("${rest[@]+"${rest[@]}"}")
  # shellcheck disable=SC2034  # read by the caller
  STOP_SECS=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
}

wait_caught_up() {  # master_port replica_port... ; limit 60 s -> prints seconds
  local m=$1 t0 off r ok
  shift
  t0=$(date +%s%N)
  off=$(info_field "$m" replication master_repl_offset)
  while :; do
    ok=1
    for r in "$@"; do
      (($(info_field "$r" replication slave_repl_offset) >= off)) || { ok=0; break; }
    done
    ((ok)) && break
    (($(date +%s%N) - t0 < 60000000000)) || die "replicas of port $m not caught up after 60 s"
    sleep 0.02
  done
  awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN {printf "%.2f\n", (b - a) / 1e9}'
}

# Also leaves the client's CPU time (user + system seconds) in $TMP/rbench.cpu.
run_rbench() {  # port args... -> "TEST RPS" lines
  local port=$1 out; shift
  local TIMEFORMAT='%U %S'
  { time timeout 300 redis-benchmark -h 127.0.0.1 -p "$port" -q --csv "$@" \
      >"$TMP/rbench.out" 2>"$TMP/rbench.err"; } 2>"$TMP/rbench.time" ||
    die "redis-benchmark -p $port $* failed: $(cat "$TMP/rbench.err")"
  awk '{printf "%.3f\n", $1 + $2}' "$TMP/rbench.time" >"$TMP/rbench.cpu"
  # CSV: "test","rps",... with a header line first.
  tr -d '"\r' <"$TMP/rbench.out" | awk -F, '$1 != "test" && $2 + 0 > 0 {print $1, $2}'
}

# One redis-benchmark test's rate and latency: "RPS P50_MS P99_MS".
rbench_latency() {  # port args...
  local port=$1; shift
  # CSV: test, rps, avg, min, p50, p95, p99, max (milliseconds).
  timeout 600 redis-benchmark -h 127.0.0.1 -p "$port" -q --csv "$@" 2>/dev/null |
    tr -d '"\r' | awk -F, '$1 != "test" {printf "%.0f %s %s\n", $2, $5, $7}'
}

rss_mb() {  # pid
  awk '$1 == "VmRSS:" {printf "%.0f", $2 / 1024}' "/proc/$1/status"
}

# CPU time (user + system, clock ticks) of process `pid` so far, all its
# threads (those that exited too).
cpu_ticks() {  # pid
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# Seconds until the server has finished the background work the writes left:
# edgekv's LevelDB applier gathers writes for up to a few seconds (SAVE makes
# it apply them now and sync LevelDB); redis may be rewriting its AOF.
drain() {  # edgekv|redis port
  local t0
  t0=$(date +%s%N)
  if [[ $1 == edgekv ]]; then
    redis-cli -h 127.0.0.1 -p "$2" SAVE >/dev/null
  else
    while redis-cli -h 127.0.0.1 -p "$2" INFO persistence | tr -d '\r' |
        grep -qE '^aof_rewrite_(in_progress|scheduled):1'; do
      sleep 0.01
    done
  fi
  awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN {printf "%.3f", (b - a) / 1e9}'
}

# An edgekv-server (with the given arguments) and a redis-server, both with
# appendfsync everysec, each loaded with tools/bench_util.py hashes SHAPE
# COUNT and drained; sets E_PORT E_PID R_PORT R_PID.
start_loaded_pair() {  # name shape count [edgekv args...]
  local name=$1 shape=$2 count=$3 port
  shift 3
  start_edgekv "edgekv-$name" --appendfsync everysec "$@"
  E_PORT=$PORT E_PID=$PID
  start_redis "redis-$name" --appendonly yes --appendfsync everysec
  R_PORT=$PORT R_PID=$PID
  for port in "$E_PORT" "$R_PORT"; do
    check_time
    bench_py hashes "$port" "$shape" "$count"
  done
  drain edgekv "$E_PORT" >/dev/null
  drain redis "$R_PORT" >/dev/null
}

# rps of N requests that ran at RPS, when D seconds of draining are counted.
with_drain() {  # n rps d
  [[ -n $2 ]] && awk -v r="$2" 'BEGIN {exit !(r + 0 > 0)}' ||
    die "no requests/s figure to count the drain against"
  awk -v n="$1" -v r="$2" -v d="$3" 'BEGIN {printf "%.2f", n / (n / r + d)}'
}

median() {  # numbers on stdin -> median
  sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) printf "%.2f\n", v[(NR + 1) / 2];
    else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {  # a b -> a/b
  awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b + 0 > 0 ? a / b : 0)}'
}

bench_py() {
  /usr/bin/python3 "$ROOT/tools/bench_util.py" "$@"
}

host_line() {
  echo "# host:   $(nproc) CPUs shared by the servers, their replicas and the benchmark" \
       "client; load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
