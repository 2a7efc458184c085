#!/usr/bin/env bash
# Nanoseconds per script call in PUC Lua 5.1, LuaJIT with its JIT compiler
# and LuaJIT's interpreter alone (tools/lua_vm_bench.c), median of 5 rounds.
#   tools/lua_vm_bench.sh [iterations]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --test >/dev/null
dpkg -s libluajit-5.1-dev >/dev/null 2>&1 || apt-get install -y -q libluajit-5.1-dev >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cjson=/usr/lib/x86_64-linux-gnu/liblua5.1-cjson.a
gcc -O2 -o "$out/puc" tools/lua_vm_bench.c -I/usr/include/lua5.1 "$cjson" -llua5.1 -lm
gcc -O2 -o "$out/jit" tools/lua_vm_bench.c -I/usr/include/luajit-2.1 "$cjson" -lluajit-5.1 -lm
n=${1:-200000}
"$out/puc" "$n" >"$out/a"
"$out/jit" "$n" 1 >"$out/b"
"$out/jit" "$n" 0 >"$out/c"
printf '%-16s %10s %10s %10s %9s %9s\n' script "lua5.1" luajit "lj-interp" "lj/puc" "lji/puc"
paste "$out/a" "$out/b" "$out/c" | while IFS=$'\t' read -r name a _ b _ c; do
  printf '%-16s %8s ns %8s ns %8s ns %9.2f %9.2f\n' "$name" "$a" "$b" "$c" \
    "$(echo "$b / $a" | bc -l)" "$(echo "$c / $a" | bc -l)"
done
