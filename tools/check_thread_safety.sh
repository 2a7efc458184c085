#!/usr/bin/env bash
# Checks the locking annotations (GUARDED_BY, REQUIRES, EXCLUDES, see
# include/edgekv/thread_annotations.h) with clang's thread-safety analysis:
# every source file of the server is parsed (not compiled) with clang++
# -Wthread-safety -Werror, with the flags of the build in build/ (run
# tools/test.sh or cmake first). Installs what is missing (tools/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --test
[[ -f build/compile_commands.json ]] || {
  echo "check_thread_safety: build/compile_commands.json missing (run tools/test.sh)" >&2
  exit 2
}
/usr/bin/python3 - <<'PY'
import json, shlex, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

def check(entry):
    args, skip = [], False
    for a in shlex.split(entry["command"])[1:]:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        elif a != "-c":
            args.append(a)
    cmd = ["clang++"] + args + ["-fsyntax-only", "-Wthread-safety", "-Werror=thread-safety"]
    r = subprocess.run(cmd, cwd=entry["directory"], capture_output=True, text=True)
    return entry["file"], r.returncode, r.stderr

entries = [e for e in json.load(open("build/compile_commands.json"))
           if "/src/" in e["file"] or e["file"].endswith("/tools/wal_dump.cc")]
failed = 0
with ThreadPoolExecutor(max_workers=2) as pool:
    for f, rc, err in pool.map(check, entries):
        if rc != 0:
            failed += 1
            print(err, end="", file=sys.stderr)
print(f"thread-safety analysis: {len(entries) - failed} of {len(entries)} files clean")
sys.exit(1 if failed else 0)
PY
