"""Power loss, not only kill -9: the server's `dir` is on a file system that
drops everything not fsynced at a cut (powerloss_fs.py), its directory
entries included. With appendfsync always nothing acknowledged is lost; with
everysec at most the writes acknowledged in the last EVERYSEC_LOSS_BOUND_S
(docs/persistence.md); either way what comes back is a prefix of the history
(no gap, nothing applied twice), the log replays, and LevelDB agrees with it.

Each test makes its cut where it must drop something (a write to the log
not fsynced yet) and asserts it did.

Python FUSE is slow: these tests run in the normal build only (see
EDGEKV_SANITIZED below), about a minute in all.
"""
import os
import re
import subprocess
import threading
import time

import pytest
import redis

from powerloss_fs import power_loss_fs  # noqa: F401 (a fixture)
from server import Server, server_binary

pytestmark = pytest.mark.skipif(
    os.environ.get("EDGEKV_SANITIZED") == "1",
    reason="the power-loss tests run once, in the normal build: their file system is "
           "Python FUSE, slow enough with a normal server, and the sanitizers see the same "
           "code paths (log writes, recovery, LevelDB applies) in the kill -9 tests")

# What edgekv promises for everysec (docs/persistence.md): a write
# acknowledged this long before the power went off is on disk.
EVERYSEC_LOSS_BOUND_S = 2.0
TTL_MS = 3_600_000
HANG_GUARD_S = 300
WRITERS = 4
# Keys overwritten again and again (with a TTL) per writer.
HOT_KEYS = 5
# Small segments: the load goes through several, so a cut may find a new one.
SERVER_ARGS = ("--wal-segment-size", "1mb")


class Writer(threading.Thread):
    """One client writing until the power goes: unique keys (u:W:I, never
    written again), an INCR counter (ctr:W) and hot keys overwritten with a
    TTL (hot:W:J). Each operation is [kind, key, value, sent, acked]: times
    from time.monotonic() (the machine's clock, as the file system's freeze
    time), acked None for the one in flight when the server went away."""

    def __init__(self, port, wid, value_size=0):
        super().__init__(daemon=True, name="writer-%d" % wid)
        self.client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=HANG_GUARD_S)
        self.wid = wid
        self.value_size = value_size
        self.ops = []
        self.acked = 0
        self.ended_by = None  # the error the power cut caused
        self.ended_at = None
        self.error = None  # anything else: raised by the test

    def run(self):
        counter = 0
        try:
            for i in range(10**9):
                r = i % 10
                if r < 6:
                    op = ["set", "u:%d:%d" % (self.wid, i),
                          (b"v%d:" % i).ljust(self.value_size, b"v")]
                elif r < 8:
                    op = ["incr", "ctr:%d" % self.wid, counter + 1]
                else:
                    op = ["hot", "hot:%d:%d" % (self.wid, i % HOT_KEYS),
                          (b"h%d:" % i).ljust(self.value_size, b"h")]
                op += [time.monotonic(), None]
                self.ops.append(op)
                if op[0] == "set":
                    self.client.set(op[1], op[2])
                elif op[0] == "incr":
                    got = self.client.incr(op[1])
                    if got != op[2]:
                        raise AssertionError("%s: INCR answered %r, expected %r" %
                                             (op[1], got, op[2]))
                    counter += 1
                else:
                    self.client.set(op[1], op[2], px=TTL_MS)
                op[4] = time.monotonic()
                self.acked += 1
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError,
                ConnectionError) as e:
            # The power went off: the write failed (MISCONF) or the server
            # was killed. The test checks that this came after the freeze.
            self.ended_at = time.monotonic()
            self.ended_by = e
        except BaseException as e:  # noqa: BLE001 - raised by the test
            self.error = e


def start_load(srv, first_wid=0, value_size=0):
    writers = [Writer(srv.port, first_wid + i, value_size) for i in range(WRITERS)]
    for w in writers:
        w.start()
    return writers


def wait_load(writers, seconds, min_acked):
    """Lets the load run for `seconds` and until each writer has had
    `min_acked` writes acknowledged."""
    start = time.monotonic()
    while (time.monotonic() - start < seconds or
           any(w.acked < min_acked for w in writers)):
        assert time.monotonic() - start < HANG_GUARD_S, [w.acked for w in writers]
        for w in writers:
            assert w.is_alive(), "writer %d stopped before the cut: %r %r" % (
                w.wid, w.error, w.ended_by)
        time.sleep(0.05)


def end_load(writers, frozen_at):
    for w in writers:
        w.join(HANG_GUARD_S)
        assert not w.is_alive(), "writer %d still running after the cut" % w.wid
        if w.error is not None:
            raise w.error
        assert w.ended_by is not None, "writer %d finished before the cut" % w.wid
        assert w.ended_at >= frozen_at, (
            "writer %d failed %.3f s before the power went off: %r" %
            (w.wid, frozen_at - w.ended_at, w.ended_by))


def mget(client, keys):
    out = []
    for i in range(0, len(keys), 1000):
        out += client.mget(keys[i:i + 1000])
    return out


def check(client, writers, must_keep_before):
    """What the restarted server holds against what the writers were told.
    Every write acknowledged before `must_keep_before` (a time.monotonic())
    must be there; later ones may be lost, but only as a suffix of the
    history: no write is there whose command was sent after a lost write was
    acknowledged. Returns (problems, lost acknowledged writes, kept writes
    acknowledged at or after must_keep_before)."""
    problems, lost, late_kept = [], [], []

    def before(acked):
        if must_keep_before == float("inf"):
            return ""
        return " %.3f s before the bound" % (must_keep_before - acked)

    # The prefix rule (no gap): the first acknowledgement of a lost write,
    # and the last send of a write that is there.
    first_lost_ack, last_kept_send = float("inf"), float("-inf")
    expected_keys = 0
    for w in writers:
        sets = [op for op in w.ops if op[0] == "set"]
        for op, got in zip(sets, mget(client, [op[1] for op in sets])):
            kind, key, value, sent, acked = op
            if got is not None and got != value:
                problems.append("%s: %r, written %r" % (key, got, value))
            if got is None:
                if acked is not None:
                    if acked < must_keep_before:
                        problems.append("%s: acknowledged%s, lost" % (key, before(acked)))
                    lost.append(op)
                    first_lost_ack = min(first_lost_ack, acked)
            else:
                expected_keys += 1
                last_kept_send = max(last_kept_send, sent)
                if acked is not None and acked >= must_keep_before:
                    late_kept.append(op)
        incrs = [op for op in w.ops if op[0] == "incr"]
        if incrs:
            key = incrs[0][1]
            got = int(client.get(key) or 0)
            expected_keys += got > 0
            for op in incrs:
                kind, key, value, sent, acked = op
                if got >= value:  # the INCR to `value` is there
                    last_kept_send = max(last_kept_send, sent)
                elif acked is not None:
                    if acked < must_keep_before:
                        problems.append("%s = %d: the INCR to %d, acknowledged%s, lost" %
                                        (key, got, value, before(acked)))
                    lost.append(op)
                    first_lost_ack = min(first_lost_ack, acked)
            if got > incrs[-1][2]:
                problems.append("%s = %d: more than the %d INCRs sent (applied twice?)" %
                                (key, got, incrs[-1][2]))
        for j in range(HOT_KEYS):
            key = "hot:%d:%d" % (w.wid, j)
            hot = [op for op in w.ops if op[1] == key]
            # The last write acknowledged before the bound, or any later one.
            must = [i for i, op in enumerate(hot) if op[4] is not None and
                    op[4] < must_keep_before]
            allowed = {op[2] for op in hot[must[-1] if must else 0:]}
            if not must:
                allowed.add(None)
            got = client.get(key)
            if got not in allowed:
                problems.append("%s: %r, allowed %r" % (key, got, sorted(allowed, key=str)))
            if got is not None:
                expected_keys += 1
                pttl = client.pttl(key)
                if not 0 < pttl <= TTL_MS:
                    problems.append("%s: pttl %d, written with a TTL" % (key, pttl))
    if last_kept_send > first_lost_ack:
        problems.append("a gap: a write sent %.3f s after a lost write was acknowledged "
                        "is there" % (last_kept_send - first_lost_ack))
    # Nothing counted twice in LevelDB's key counts, nothing extra.
    dbsize = client.dbsize()
    if dbsize != expected_keys:
        problems.append("DBSIZE %d, expected %d" % (dbsize, expected_keys))
    keyspace = client.info("keyspace").get("db0", {})
    if keyspace.get("keys", 0) != expected_keys:
        problems.append("INFO keyspace %r, expected %d keys" % (keyspace, expected_keys))
    return problems, lost, late_kept


def wal_dump(wal_dir):
    """The log as edgekv-wal-dump reads it (without changing it): its
    sequence numbers and its note (a torn tail)."""
    dump = os.path.join(os.path.dirname(server_binary()), "edgekv-wal-dump")
    r = subprocess.run([dump, wal_dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=HANG_GUARD_S)
    assert r.returncode == 0, "the log does not replay: %s" % r.stderr
    seqs = [int(m) for m in re.findall(r"^batch seq=(\d+) ", r.stdout, re.M)]
    notes = re.findall(r"^# (.*)$", r.stdout, re.M)
    return seqs, notes


def check_log(wal_dir):
    """The log after the cut replays without error (a torn tail is fine),
    one record per sequence number, none missing. Returns the last sequence."""
    seqs, notes = wal_dump(wal_dir)
    assert seqs, notes
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (
        "the log is not one run of sequence numbers: %s" %
        [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1][:5])
    for note in notes[:-1]:  # the last is the count
        assert "torn write" in note, notes
    return seqs[-1]


def assert_kept_entries(dropped):
    """The cut removed no name the server needs: its directories and files
    were fsynced into their directories. Only the lock file (recreated at
    start) may go, and a LevelDB table being written (LevelDB syncs its
    directory before a manifest names a table)."""
    lost = [e for e in dropped["entries"]
            if e != "removed /data/edgekv.lock" and not e.endswith(".ldb")]
    assert not lost, ("the cut removed or reverted names that were never made durable "
                      "(no fsync of their directory): %s" % lost)


def recovered_seq(srv):
    """The last sequence the restarted server recovered (log or LevelDB)."""
    m = re.search(r"replayed (\d+) WAL batches \(seq (\d+)\)", srv.log())
    assert m, srv.log()
    return int(m.group(2))


def start_server(fs, tmp_path, fsync, *args, make_dir=True):
    """A server on the mount's data/: made beforehand and durable (as on an
    installed machine), or (make_dir=False) made by the server itself."""
    data = fs.path("data")
    if make_dir:
        os.mkdir(data)
        fs.sync_all()
    return Server(data, "--appendfsync", fsync, *SERVER_ARGS, *args,
                  log_path=str(tmp_path / "server.log")).start()


def test_always_loses_no_acknowledged_write(power_loss_fs, tmp_path):
    fs = power_loss_fs
    srv = start_server(fs, tmp_path, "always", make_dir=False)
    writers = start_load(srv)
    wait_load(writers, 2, 500)
    # The power goes off right after the next write to the log: that write
    # was not fsynced, so none of its records was acknowledged.
    fs.arm_freeze("data/wal/*.wal")
    frozen = fs.wait_frozen(HANG_GUARD_S)
    dropped = fs.power_cut([srv])
    end_load(writers, frozen["frozen_at"])
    assert_kept_entries(dropped)
    seg = frozen["frozen_by"]["path"]
    assert dropped["files"].get(seg, {}).get("cut", 0) >= frozen["frozen_by"]["bytes"] > 0, (
        "the cut did not drop the log's unsynced write: %r" % dropped)
    last = check_log(fs.path("data", "wal"))

    srv.start()
    c = srv.client()
    problems, lost, _ = check(c, writers, must_keep_before=float("inf"))
    assert not problems, "\n".join(problems[:20])
    assert not lost
    # LevelDB applies only what is fsynced: it is not ahead of the log.
    assert recovered_seq(srv) == last, (recovered_seq(srv), last)
    in_flight = [op for w in writers for op in w.ops if op[4] is None]
    assert len(in_flight) == WRITERS
    srv.stop()


def test_everysec_loses_at_most_the_last_seconds(power_loss_fs, tmp_path):
    fs = power_loss_fs
    srv = start_server(fs, tmp_path, "everysec")
    writers = start_load(srv)
    wait_load(writers, EVERYSEC_LOSS_BOUND_S + 2, 500)
    # The power goes off at a write to the log that finds it unsynced for
    # 0.9 s: near the longest the fsync thread leaves it (it fsyncs 1 to
    # 1.1 s after its last fsync ended). Acknowledged writes of those 0.9 s
    # are lost. The size of the log survives, not its data (tail="zeros"):
    # recovery must see the zeros as a torn tail.
    fs.arm_freeze("data/wal/*.wal", min_unsynced_ms=900)
    frozen = fs.wait_frozen(HANG_GUARD_S)
    # Over the whole load, no write to the log waited longer for its fsync
    # than the bound: a cut at any other moment would have lost no more.
    waited = {p: ms for p, ms in frozen["max_unsynced_ms"].items() if p.startswith("/data/wal/")}
    assert waited and max(waited.values()) < EVERYSEC_LOSS_BOUND_S * 1000, waited
    dropped = fs.power_cut([srv], tail="zeros")
    end_load(writers, frozen["frozen_at"])
    assert_kept_entries(dropped)
    seg = frozen["frozen_by"]["path"]
    assert dropped["files"].get(seg, {}).get("cut", 0) > 0, dropped
    last = check_log(fs.path("data", "wal"))

    srv.start()
    c = srv.client()
    bound = frozen["frozen_at"] - EVERYSEC_LOSS_BOUND_S
    problems, lost, _ = check(c, writers, must_keep_before=bound)
    assert not problems, "\n".join(problems[:20])
    # The cut did lose acknowledged writes (the test can see a loss), all
    # younger than the bound.
    assert lost, "no acknowledged write was lost: the cut dropped nothing that mattered"
    oldest = frozen["frozen_at"] - min(op[4] for op in lost)
    assert oldest < EVERYSEC_LOSS_BOUND_S, oldest
    # LevelDB may hold more than the log (it applies what is written, and
    # syncs once a second): the server goes on after what it holds.
    assert recovered_seq(srv) >= last
    srv.stop()


# Where a cut meets the LevelDB tier. Each: the arm_freeze arguments, and
# which fsyncs are slow meanwhile.
CUT_POINTS = [
    # A write to the log, not fsynced.
    (dict(pattern="data/wal/*.wal"), None),
    # LevelDB's own log: the applier is writing a group to it.
    (dict(pattern="data/data/*.log"), None),
    # A segment deleted as LevelDB holds its records: LevelDB must hold them
    # durably. Here while LevelDB flushes a memtable, the fsync of the new
    # table held back by a slow disk. Until the flush ends, the log LevelDB
    # switched away from holds the memtable's writes, closed without an
    # fsync; and the name of the log it switched to is not durable (LevelDB
    # syncs its directory only with a manifest, after the table), though
    # writes synced into it (the applied sequence the deletion went by) are.
    (dict(pattern="data/wal/*.wal", on="unlink", while_held=True),
     ("data/data/*.ldb", 4)),
]


def test_repeated_cuts_keep_the_log_and_leveldb_consistent(power_loss_fs, tmp_path):
    """Three cuts in a row, each restart going on from what the last left
    (a new LevelDB manifest and CURRENT at each open, old ones deleted),
    with LevelDB busy: keys leave memory for it (maxmemory), and segments
    are deleted as soon as it holds them (no retention). Every write
    acknowledged before any of the cuts is there after each, once."""
    fs = power_loss_fs
    srv = start_server(fs, tmp_path, "always", "--maxmemory", "2mb",
                       "--wal-retention-seconds", "0", "--repl-backlog-size", "0")
    writers = []
    for n, (freeze_at, slow) in enumerate(CUT_POINTS):
        load = start_load(srv, first_wid=len(writers), value_size=300)
        writers += load
        wait_load(load, 1, 500)
        # Some keys are in LevelDB only when the power goes.
        deadline = time.monotonic() + HANG_GUARD_S
        while srv.client().info("stats")["keys_moved_to_disk"] == 0:
            assert time.monotonic() < deadline, "no key left memory"
            assert all(w.is_alive() for w in load), [w.error for w in load]
            time.sleep(0.05)
        if slow is not None:
            fs.hold_fsync(*slow)
        fs.arm_freeze(**freeze_at)
        frozen = fs.wait_frozen(HANG_GUARD_S)
        dropped = fs.power_cut([srv])
        end_load(load, frozen["frozen_at"])
        by = frozen["frozen_by"]
        if slow is not None:  # the cut came while LevelDB's flush was held
            assert by["fsyncs_held"] > 0, by
        assert_kept_entries(dropped)
        if "unlink" not in by:  # that write was not fsynced: the cut took it
            assert dropped["files"][by["path"]]["cut"] > 0, dropped
        last = check_log(fs.path("data", "wal"))

        srv.start()
        c = srv.client()
        problems, lost, _ = check(c, writers, must_keep_before=float("inf"))
        assert not problems, "cut %d at %r:\n%s" % (n, by, "\n".join(problems[:20]))
        assert not lost
        assert recovered_seq(srv) == last, (n, recovered_seq(srv), last)
        info = c.info("persistence")
        assert info["disk_applied_seq"] <= info["wal_last_seq"] == last, info
    srv.stop()
