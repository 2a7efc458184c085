#!/usr/bin/env bash
# Builds edgekv-server as it was at a given commit of this repository (a
# previous release, for the mixed-version replication tests and for
# side-by-side comparisons), into a cache directory, once per commit.
#
# Usage: tools/build_release.sh <commit> [cache-dir]
#   cache-dir  default build-releases/ in the repository
# Prints the path of the binary. Needs the commit in the repository's history
# (a full clone).
set -euo pipefail
commit=${1:?usage: tools/build_release.sh <commit> [cache-dir]}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${2:-$root/build-releases}
full=$(git -C "$root" rev-parse --verify "$commit^{commit}")
out=$cache/$full
bin=$out/build/edgekv-server
if [[ ! -x $bin ]]; then
  rm -rf "$out"
  mkdir -p "$out/src"
  git -C "$root" archive "$full" | tar -x -C "$out/src"
  cmake -S "$out/src" -B "$out/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DEDGEKV_BUILD_TESTS=OFF >"$out/cmake.log" 2>&1 ||
    { cat "$out/cmake.log" >&2; exit 1; }
  cmake --build "$out/build" --target edgekv-server >"$out/build.log" 2>&1 ||
    { tail -50 "$out/build.log" >&2; exit 1; }
fi
echo "$bin"
