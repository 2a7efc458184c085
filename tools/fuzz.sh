#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz: clang, ASan + UBSan) in
# build-fuzz/ and runs them. Installs what is missing (tools/setup.sh).
#
#   tools/fuzz.sh --regress   each committed corpus (tests/fuzz/corpus/<name>),
#                             then 20,000 mutations of it from a fixed seed:
#                             the same inputs every run (tools/test.sh runs this)
#   tools/fuzz.sh --search S  fuzzes each target for S seconds from a random
#                             seed (printed), starting from its committed
#                             corpus, one target per core at a time (CI runs
#                             this with S=60)
#   tools/fuzz.sh SECONDS     fuzzes each target that long; what it finds grows
#                             build-fuzz/corpus/<name>. To keep new coverage:
#                             <fuzzer> -merge=1 tests/fuzz/corpus/<name> build-fuzz/corpus/<name>
#
# A crash, sanitizer report or failed check stops it, with the input saved in
# build-fuzz/artifacts/ (rerun: build-fuzz/tests/fuzz/<name>_fuzz <file>) and
# printed in base64: committed to tests/fuzz/corpus/<name>/, it is replayed by
# every --regress run from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:---regress}
seconds=${2:-60}
tools/setup.sh --test
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DEDGEKV_FUZZ=ON -DEDGEKV_BUILD_TESTS=OFF -DEDGEKV_WERROR="${EDGEKV_WERROR:-OFF}" >/dev/null
cmake --build build-fuzz --target fuzzers
mkdir -p build-fuzz/artifacts
# Fuzzers still running in the background (--search) stop with the script.
trap 'kill $(jobs -rp) 2>/dev/null || true' EXIT

# Prints what failed, and the input that made it fail, ready to commit.
finding() {
  local name=$1
  tail -40 build-fuzz/"$name".log
  for f in build-fuzz/artifacts/"$name"-*; do
    [[ -f $f ]] || continue
    echo "fuzz: $name failed on $f; to keep it as a regression case:"
    echo "  base64 -d > tests/fuzz/corpus/$name/$(sha1sum "$f" | cut -c1-40) <<'EOF'"
    base64 "$f"
    echo "EOF"
  done
  exit 1
}

for src in tests/fuzz/*_fuzz.cc; do
  name=$(basename "$src" _fuzz.cc)
  rm -f build-fuzz/artifacts/"$name"-* build-fuzz/"$name".failed
  args=(-rss_limit_mb=4096 -timeout=20 -artifact_prefix=build-fuzz/artifacts/"$name"-
        -print_final_stats=0)
  [[ -f tests/fuzz/$name.dict ]] && args+=(-dict=tests/fuzz/$name.dict)
  if [[ $mode == --regress ]]; then
    # Mutations go to a scratch copy: the committed corpus stays as it is.
    # tests/fuzz/<name>.runs lowers the count for a slow target.
    scratch=build-fuzz/regress/$name
    rm -rf "$scratch" && mkdir -p "$scratch"
    cp tests/fuzz/corpus/"$name"/* "$scratch"/
    runs=20000
    [[ -f tests/fuzz/$name.runs ]] && runs=$(<tests/fuzz/"$name".runs)
    echo "fuzz: $name (corpus, then $runs fixed-seed runs)"
    build-fuzz/tests/fuzz/"${name}"_fuzz "${args[@]}" -seed=1 -runs="$runs" "$scratch" \
      >build-fuzz/"$name".log 2>&1 || finding "$name"
  elif [[ $mode == --search ]]; then
    # One target per core at a time; every finding is reported after all.
    while (( $(jobs -rp | wc -l) >= $(nproc) )); do wait -n || true; done
    scratch=build-fuzz/search/$name
    rm -rf "$scratch" && mkdir -p "$scratch"
    cp tests/fuzz/corpus/"$name"/* "$scratch"/
    seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
    echo "fuzz: $name for ${seconds}s from seed $seed"
    (build-fuzz/tests/fuzz/"${name}"_fuzz "${args[@]}" -seed="$seed" \
      -max_total_time="$seconds" "$scratch" >build-fuzz/"$name".log 2>&1 ||
      touch build-fuzz/"$name".failed) &
  else
    mkdir -p build-fuzz/corpus/"$name"
    echo "fuzz: $name for ${mode}s"
    build-fuzz/tests/fuzz/"${name}"_fuzz "${args[@]}" -max_total_time="$mode" \
      build-fuzz/corpus/"$name" tests/fuzz/corpus/"$name" \
      >build-fuzz/"$name".log 2>&1 || finding "$name"
  fi
done
wait
# Every target that failed, then the exit status.
failed=(build-fuzz/*.failed)
if [[ -f ${failed[0]} ]]; then
  for f in "${failed[@]}"; do (finding "$(basename "$f" .failed)") || true; done
  exit 1
fi
echo "fuzz: no findings"
