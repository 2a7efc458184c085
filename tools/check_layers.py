#!/usr/bin/env python3
"""The layers of src/ that must not reach up: each directory listed here may
include only the directories beside it in RULES (and itself, and the public
headers in include/edgekv). Run by ctest (test `source_layers`); prints
every include that breaks a rule and exits 1 if there is one.

  util/     helpers with no knowledge of the server
  protocol/ the RESP parser and reply encoder: pure, bytes in and out
  config/   the directives and their reader
  format/   the batch codec: bytes in, operations out
  types/    each type's elements in memory (hash_value.h, ...)
  storage/  the memory table and the LevelDB tier (no log, no engine)
  wal/      the log: writer, reader, cursor, the store's hook

Above them db/ (engine, applier) ties the table, the log and the disk
together, and commands/, scripting/, net/ and replication/ use all of it
(those upper directories still include one another)."""
import os
import re
import sys

RULES = {
    "util": {"util"},
    "protocol": {"protocol"},
    "config": {"config", "util"},
    "format": {"format", "util"},
    "types": {"types", "util"},
    "storage": {"storage", "types", "format", "util"},
    "wal": {"wal", "storage", "types", "format", "util"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def violations(src_root):
    for layer, allowed in sorted(RULES.items()):
        top = os.path.join(src_root, layer)
        for dirpath, _, files in os.walk(top):
            for name in sorted(files):
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for n, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m or "/" not in m.group(1):
                            continue  # a header beside it
                        target = m.group(1).split("/", 1)[0]
                        if target == "edgekv" or target in allowed:
                            continue
                        yield "%s:%d: %s/ may not include %s" % (
                            os.path.relpath(path, src_root), n, layer, m.group(1))


def main(argv):
    src_root = argv[1] if len(argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src")
    found = list(violations(src_root))
    for v in found:
        print(v)
    print("layers: %d include(s) against the rules" % len(found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
