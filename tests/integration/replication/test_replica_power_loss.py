"""A replica whose host loses power (its `dir` on the power-loss file system
of ../durability/powerloss_fs.py; the coordinator on an ordinary disk)
comes back by partial resync: the cut takes what its log had not fsynced,
it asks the coordinator for the rest from what its log still holds, and it
converges with the coordinator."""
import os
import threading
import time

import pytest

from cluster import diff, dump, wait_caught_up, wait_link_up
from powerloss_fs import power_loss_fs  # noqa: F401 (a fixture)
from server import Server

pytestmark = pytest.mark.skipif(
    os.environ.get("EDGEKV_SANITIZED") == "1",
    reason="the power-loss tests run once, in the normal build: their file system is "
           "Python FUSE, slow enough with a normal server, and the sanitizers see the same "
           "code paths in the kill -9 replica tests")

HANG_GUARD_S = 300
WAL_HEADER_BYTES = 16  # a log segment's (include/edgekv/wal_format.h)


class Load(threading.Thread):
    """Writes to the coordinator until stopped: pipelines of SETs (with and
    without a TTL), INCRs and DELs."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.client = client
        self.stop_flag = threading.Event()
        self.batches = 0
        self.error = None

    def run(self):
        try:
            i = 0
            while not self.stop_flag.is_set():
                pipe = self.client.pipeline(transaction=False)
                for _ in range(50):
                    i += 1
                    pipe.set("k%d" % (i % 20000), "v%d" % i)
                    if i % 5 == 0:
                        pipe.set("t%d" % (i % 3000), "x%d" % i, px=3_600_000)
                    if i % 7 == 0:
                        pipe.incr("ctr%d" % (i % 10))
                    if i % 11 == 0:
                        pipe.delete("k%d" % ((i * 7) % 20000))
                pipe.execute()
                self.batches += 1
                time.sleep(0.002)  # what a replica through Python FUSE keeps up with
        except BaseException as e:  # noqa: BLE001 - raised by the test
            self.error = e

    def wait_batches(self, n):
        target = self.batches + n
        deadline = time.monotonic() + HANG_GUARD_S
        while self.batches < target:
            assert self.is_alive(), self.error
            assert time.monotonic() < deadline, "the load stopped"
            time.sleep(0.01)

    def finish(self):
        self.stop_flag.set()
        self.join(HANG_GUARD_S)
        if self.error is not None:
            raise self.error


def sync_counts(client):
    stats = client.info("stats")
    return stats["sync_full"], stats["sync_partial_ok"]


@pytest.mark.parametrize("fsync", ["always", "everysec"])
def test_replica_resumes_by_partial_resync_after_a_power_cut(power_loss_fs, tmp_path, fsync):
    fs = power_loss_fs
    coord = Server(str(tmp_path / "coord"), "--appendfsync", "everysec").start()
    data = fs.path("replica")
    os.mkdir(data)
    fs.sync_all()  # the installed machine's directory
    replica = Server(data, "--replicaof", "127.0.0.1 %d" % coord.port, "--appendfsync", fsync,
                     "--wal-segment-size", "1mb", log_path=str(tmp_path / "replica.log"))
    replica.start_any()
    rc = replica.client()
    wait_link_up(rc)
    load = Load(coord.client())
    load.start()
    # Long enough for the replica's log and LevelDB to have synced some of
    # it: the cut leaves a part, not nothing.
    started = time.monotonic()
    while time.monotonic() - started < 2.5:
        load.wait_batches(10)
    wait_caught_up(coord.client(), [rc])
    full_before, partial_before = sync_counts(coord.client())
    assert full_before == 1  # the replica's first sync

    # The replica's power goes at a write of records to its log that is not
    # fsynced (with everysec, one that finds it unsynced for half a second).
    # Not at the header of a new segment: its name is made durable after
    # the header is synced, before a record goes in, and a cut before that
    # rightly takes the empty segment with it.
    fs.arm_freeze("replica/wal/*.wal", min_unsynced_ms=0 if fsync == "always" else 500,
                  min_offset=WAL_HEADER_BYTES)
    frozen = fs.wait_frozen(HANG_GUARD_S)
    # What the replica had applied (in memory) when its power went.
    had = replica.client(socket_timeout=10).info("replication")["slave_repl_offset"]
    dropped = fs.power_cut([replica])
    # Its directories and files were all named durably (fsyncs of their
    # directories), its full sync's fresh LevelDB included; the write that
    # froze it was not fsynced, and is gone.
    lost_names = [e for e in dropped["entries"] if not e.endswith("/edgekv.lock")]
    assert not lost_names, "names never made durable: %s" % lost_names
    seg = frozen["frozen_by"]["path"]
    assert dropped["files"].get(seg, {}).get("cut", 0) > 0, dropped
    load.wait_batches(50)  # the coordinator goes on meanwhile

    replica.start_any()
    rc = replica.client()
    wait_link_up(rc)
    # It lost the records of that write (at least), and asked for them.
    log = replica.log()
    assert "partial resynchronization accepted" in log, log
    recovered = int(log.split("replayed ", 1)[1].split("(seq ", 1)[1].split(")", 1)[0])
    assert 0 < recovered < had, (recovered, had)
    load.wait_batches(50)
    load.finish()
    wait_caught_up(coord.client(), [rc])
    full_after, partial_after = sync_counts(coord.client())
    assert (full_after, partial_after) == (full_before, partial_before + 1), (
        "expected one partial resync and no full sync: sync_full %d -> %d, "
        "sync_partial_ok %d -> %d" % (full_before, full_after, partial_before, partial_after))
    problems = diff(dump(coord.client()), dump(rc))
    assert not problems, problems
    replica.stop()
    coord.stop()


def test_a_coordinators_power_cut_leaves_no_replica_diverged(power_loss_fs, tmp_path):
    """With appendfsync everysec a coordinator sends its records once they
    are written, so a replica may hold records the coordinator's power cut
    takes from its log, and the coordinator gives their sequence numbers to
    new writes. It starts a new history after such a stop: the replica,
    past what was recovered, gets a full sync instead of continuing with the
    lost records in place of the new ones."""
    fs = power_loss_fs
    data = fs.path("coord")
    os.mkdir(data)
    fs.sync_all()
    coord = Server(data, "--appendfsync", "everysec", log_path=str(tmp_path / "coord.log"))
    coord.start()
    replica = Server(str(tmp_path / "replica"), "--replicaof", "127.0.0.1 %d" % coord.port)
    replica.start_any()
    rc = replica.client()
    wait_link_up(rc)
    load = Load(coord.client())
    load.start()
    load.wait_batches(20)
    # The coordinator's power goes at a write to its log that finds it
    # unsynced for half a second: the replica has had some of those records.
    fs.arm_freeze("coord/wal/*.wal", min_unsynced_ms=500)
    fs.wait_frozen(HANG_GUARD_S)
    had = rc.info("replication")["slave_repl_offset"]
    replica.stop()
    load.stop_flag.set()  # its last writes wait for a log that cannot be written
    fs.power_cut([coord])
    load.join(HANG_GUARD_S)

    coord.start()
    c = coord.client()
    recovered = c.info("replication")["master_repl_offset"]
    assert recovered < had, "the cut took nothing the replica had: %d >= %d" % (recovered, had)
    assert "Not stopped cleanly" in coord.log(), coord.log()
    # New writes take the lost records' sequence numbers, and go past them.
    pipe = c.pipeline(transaction=False)
    for i in range(had - recovered + 100):
        pipe.set("after:%d" % i, i)
    pipe.execute()
    full_before = c.info("stats")["sync_full"]

    replica.start_any()
    rc = replica.client()
    wait_link_up(rc)
    wait_caught_up(c, [rc])
    problems = diff(dump(c), dump(rc))
    assert not problems, problems
    assert c.info("stats")["sync_full"] == full_before + 1
    replica.stop()
    coord.stop()
