#!/usr/bin/env bash
# EVALSHA of small scripts, edgekv-server beside a stock redis-server, both
# persisting (appendfsync everysec): the scripts rate limiters and locks run.
#
#   incr-expire   INCR a counter, PEXPIRE it on the first hit (a fixed window)
#   gcra          a GCRA rate limit: GET the theoretical arrival time, TIME,
#                 arithmetic, SET it back with PX
#   lock-release  GET the lock, DEL it if it holds the caller's token
#   incr-alone    incr-expire with its key in ARGV, not declared in KEYS:
#                 edgekv runs it alone among commands, as Redis runs every
#                 script (what keyed mode gains is the difference)
#
# 50 clients on random keys (-r 100000), pipeline 1 and 16, alternating
# rounds (edgekv, redis, ...); prints each test's median requests/sec and
# the ratio edgekv/redis.
#
# Usage: tools/bench_scripts.sh [--rounds R] [--requests N] [--pipelines "1 16"]
#                               [--tests "incr-expire gcra ..."]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PROG=bench_scripts
TIME_LIMIT=900
ROUNDS=3
REQUESTS=200000
PIPELINES="1 16"
ONLY=""
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --requests) REQUESTS=$2; shift 2 ;;
    --pipelines) PIPELINES=$2; shift 2 ;;
    --tests) ONLY=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds R] [--requests N] [--pipelines \"1 16\"] [--tests \"gcra ...\"]" >&2; exit 2 ;;
  esac
done
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"
bench_init

declare -A SCRIPT ARGS
SCRIPT[incr-expire]="local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n"
ARGS[incr-expire]="60000"
SCRIPT[gcra]="local burst, rate, period, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), 1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = period / rate
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval * cost
local allow_at = new_tat - burst * interval
if allow_at > now then return {0, allow_at - now} end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now))
return {1, 0}"
ARGS[gcra]="100 10 1000"
SCRIPT[lock-release]="if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0"
ARGS[lock-release]="token-1"
SCRIPT[incr-alone]="local n = redis.call('INCR', ARGV[1])
if n == 1 then redis.call('PEXPIRE', ARGV[1], ARGV[2]) end
return n"
ARGS[incr-alone]="60000"
declare -A NKEYS=([incr-expire]=1 [gcra]=1 [lock-release]=1 [incr-alone]=0)
TESTS=(incr-expire gcra lock-release incr-alone)
# shellcheck disable=SC2206
[[ -n $ONLY ]] && TESTS=($ONLY)

start_edgekv edgekv --appendfsync everysec ${EDGEKV_ARGS:-}
E_PORT=$PORT
start_redis redis --appendonly yes --appendfsync everysec
R_PORT=$PORT

declare -A SHA
for t in "${TESTS[@]}"; do
  for port in "$E_PORT" "$R_PORT"; do
    SHA[$t]=$(redis-cli -p "$port" SCRIPT LOAD "${SCRIPT[$t]}")
  done
done

printf '%-14s %8s %12s %12s %8s\n' script pipeline edgekv_rps redis_rps ratio
for p in $PIPELINES; do
  n=$REQUESTS
  ((p > 1)) && n=$((REQUESTS * 5))
  for t in "${TESTS[@]}"; do
    e=() r=()
    for ((i = 0; i < ROUNDS; i++)); do
      check_time
      # shellcheck disable=SC2086
      e+=("$(run_rbench "$E_PORT" -c 50 -n "$n" -r 100000 -P "$p" \
        EVALSHA "${SHA[$t]}" "${NKEYS[$t]}" "bs:$t:__rand_int__" ${ARGS[$t]} | awk '{print $NF}')")
      # shellcheck disable=SC2086
      r+=("$(run_rbench "$R_PORT" -c 50 -n "$n" -r 100000 -P "$p" \
        EVALSHA "${SHA[$t]}" "${NKEYS[$t]}" "bs:$t:__rand_int__" ${ARGS[$t]} | awk '{print $NF}')")
    done
    em=$(printf '%s\n' "${e[@]}" | median)
    rm_=$(printf '%s\n' "${r[@]}" | median)
    printf '%-14s %8s %12.0f %12.0f %8s\n' "$t" "$p" "$em" "$rm_" "$(ratio "$em" "$rm_")"
  done
done
