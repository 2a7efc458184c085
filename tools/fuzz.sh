#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz: clang, ASan + UBSan) in
# build-fuzz/ and runs them. Installs what is missing (tools/setup.sh).
#
#   tools/fuzz.sh --regress   each committed corpus (tests/fuzz/corpus/<name>),
#                             then 20,000 mutations of it from a fixed seed:
#                             the same inputs every run (tools/test.sh runs this)
#   tools/fuzz.sh SECONDS     fuzzes each target that long; what it finds grows
#                             build-fuzz/corpus/<name>. To keep new coverage:
#                             <fuzzer> -merge=1 tests/fuzz/corpus/<name> build-fuzz/corpus/<name>
#
# A crash, sanitizer report or failed check stops it, with the input saved in
# build-fuzz/artifacts/ (rerun: build-fuzz/tests/fuzz/<name>_fuzz <file>).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:---regress}
tools/setup.sh --test
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DEDGEKV_FUZZ=ON -DEDGEKV_BUILD_TESTS=OFF -DEDGEKV_WERROR="${EDGEKV_WERROR:-OFF}" >/dev/null
cmake --build build-fuzz --target fuzzers
mkdir -p build-fuzz/artifacts
for src in tests/fuzz/*_fuzz.cc; do
  name=$(basename "$src" _fuzz.cc)
  args=(-rss_limit_mb=4096 -timeout=20 -artifact_prefix=build-fuzz/artifacts/"$name"-
        -print_final_stats=0)
  [[ -f tests/fuzz/$name.dict ]] && args+=(-dict=tests/fuzz/$name.dict)
  if [[ $mode == --regress ]]; then
    # Mutations go to a scratch copy: the committed corpus stays as it is.
    scratch=build-fuzz/regress/$name
    rm -rf "$scratch" && mkdir -p "$scratch"
    cp tests/fuzz/corpus/"$name"/* "$scratch"/
    echo "fuzz: $name (corpus, then 20000 fixed-seed runs)"
    build-fuzz/tests/fuzz/"${name}"_fuzz "${args[@]}" -seed=1 -runs=20000 "$scratch" \
      >build-fuzz/"$name".log 2>&1 || { tail -40 build-fuzz/"$name".log; exit 1; }
  else
    mkdir -p build-fuzz/corpus/"$name"
    echo "fuzz: $name for ${mode}s"
    build-fuzz/tests/fuzz/"${name}"_fuzz "${args[@]}" -max_total_time="$mode" \
      build-fuzz/corpus/"$name" tests/fuzz/corpus/"$name" \
      >build-fuzz/"$name".log 2>&1 || { tail -40 build-fuzz/"$name".log; exit 1; }
  fi
done
echo "fuzz: no findings"
