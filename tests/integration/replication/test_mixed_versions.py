"""Servers of two releases side by side, as a fleet upgrading one server at
a time: the previous release (built from git by tools/build_release.sh) and
this one. This release writes the log in format 4 (per-element records of
hashes, sets and sorted sets) and LevelDB in layout 3; the previous release
wrote format 2 and layout 1.

- A new replica under a coordinator of the previous release keeps working
  (it reads format 2), by the live stream and after a restart.
- A new server opens the previous release's data directory: LevelDB is
  converted and the log it left unapplied is replayed.
- A coordinator refuses a replica that cannot read its log (one of the
  previous release): one log line, an INFO field, and the replica gets no
  records it would take for corruption.
- A replica refused by its coordinator for that reason says why in INFO and
  does not reconnect until REPLICAOF."""
import os
import re
import subprocess
import time

import pytest

from cluster import diff, dump, start_replica, wait_caught_up
from server import Server
from test_bad_upstream import FakeUpstream

# The last release before the log format 3 / LevelDB layout 2.
PREVIOUS_RELEASE = "c440efa0fe81c327f1aa56b4446faeeda851a954"
ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..")
WAIT_S = 300  # hang guard


def log_format():
    """The log format this tree writes (wal::kVersion)."""
    with open(os.path.join(ROOT, "include", "edgekv", "wal_format.h")) as f:
        return int(re.search(r"kVersion = (\d+);", f.read()).group(1))


@pytest.fixture(scope="module")
def previous_binary():
    out = subprocess.run([os.path.join(ROOT, "tools", "build_release.sh"), PREVIOUS_RELEASE],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, "building the previous release failed:\n" + out.stderr
    return out.stdout.strip().splitlines()[-1]


def until(check, what):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        v = check()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def write_strings(c, prefix, n):
    pipe = c.pipeline(transaction=False)
    for i in range(n):
        pipe.set("%s:%d" % (prefix, i), "v%d" % i)
        if i % 10 == 0:
            pipe.expire("%s:%d" % (prefix, i), 10000)
    pipe.execute()


def test_a_new_replica_follows_a_coordinator_of_the_previous_release(tmp_path, previous_binary):
    coord = Server(str(tmp_path / "coord"), binary=previous_binary).start()
    replica = start_replica(str(tmp_path / "r1"), coord.port)
    try:
        c = coord.client()
        write_strings(c, "a", 2000)
        wait_caught_up(c, [replica.client()])
        want, got = dump(c), dump(replica.client())
        assert want == got, diff(want, got)
        replica.stop()
        write_strings(c, "b", 2000)
        replica.start_any()
        wait_caught_up(c, [replica.client()])
        want, got = dump(c), dump(replica.client())
        assert want == got, diff(want, got)
        assert replica.client().info("replication")["master_link_status"] == "up"
    finally:
        replica.stop()
        coord.stop()


def test_a_new_server_opens_the_data_of_the_previous_release(tmp_path, previous_binary):
    data = str(tmp_path / "data")
    old = Server(data, binary=previous_binary).start()
    c = old.client()
    write_strings(c, "k", 5000)
    c.save()  # in LevelDB (layout 1)
    write_strings(c, "late", 500)  # only in the log (format 2) at the kill
    want = dump(c)
    old.kill()
    new = Server(data).start()
    try:
        c = new.client()
        got = dump(c)
        assert want == got, diff(want, got)
        assert "LevelDB layout converted" in new.log()
        # And it goes on with hashes, which the previous release had not.
        c.hset("h", mapping={"a": "1", "b": "2"})
        new.stop()
        new.start()
        assert new.client().hgetall("h") == {b"a": b"1", b"b": b"2"}
        assert new.client().get("k:7") == b"v7"
    finally:
        new.stop()


def test_a_coordinator_refuses_a_replica_that_cannot_read_its_log(tmp_path, previous_binary):
    coord = Server(str(tmp_path / "coord")).start()
    old = Server(str(tmp_path / "old"), "--replicaof", "127.0.0.1", coord.port,
                 binary=previous_binary).start_any()
    try:
        c = coord.client()
        c.hset("h", "f", "v")
        # The previous release reconnects every second: refused each time,
        # logged once.
        until(lambda: c.info("replication")["replicas_refused_for_log_format"] >= 3,
              "three refusals")
        assert c.info("replication")["connected_slaves"] == 0
        lines = [l for l in coord.log().splitlines() if "refused: it reads the log" in l]
        assert len(lines) == 1, lines
        assert "up to format 2, this server writes format %d" % log_format() in lines[0]
        info = old.client().info("replication")
        assert info["master_link_status"] == "down"
        assert old.client().dbsize() == 0
        assert "INCOMPATIBLE" in old.log()
    finally:
        old.stop()
        coord.stop()


def test_a_refused_replica_says_why_and_does_not_reconnect(tmp_path):
    # A coordinator of a future release, as an edgekv coordinator refuses.
    upstream = FakeUpstream(b"-INCOMPATIBLE this edgekv writes log format 9 and the replica "
                            b"reads up to format 3: upgrade the replica\r\n")
    upstream.start()
    replica = Server(str(tmp_path / "r"), "--replicaof", "127.0.0.1", upstream.port).start_any()
    try:
        r = replica.client()
        info = until(lambda: (lambda i: i if "master_link_refused" in i else None)(
            r.info("replication")), "the refusal in INFO")
        assert "writes log format 9" in info["master_link_refused"]
        assert info["master_link_status"] == "down"
        replconf = [a for a in upstream.received if a[0].upper() == b"REPLCONF"]
        capa = b"edgekv-log-%d" % log_format()
        assert b"capa" in replconf[0] and capa in replconf[0], replconf
        # Reconnecting would be once a second: three seconds see none.
        time.sleep(3)
        assert upstream.psyncs == 1
        lines = [l for l in replica.log().splitlines() if "not retrying until REPLICAOF" in l]
        assert len(lines) == 1, lines
        # REPLICAOF starts over (here: refused again, once more).
        r.execute_command("REPLICAOF", "127.0.0.1", upstream.port)
        until(lambda: upstream.psyncs == 2, "the new link")
    finally:
        replica.stop()
        upstream.stop = True
        upstream.join(5)
