"""Faults in the replication paths: during a full sync (link cut, coordinator
kill, replica kill, the replica's disk full), one-way partitions, a
coordinator that stops reading, min-replicas-to-write when a replica falls
behind or leaves, and PSYNC/REPLCONF from an ordinary client.

Whatever happens, a replica never serves a part of a snapshot (it answers
LOADING until a full sync completes, across restarts too), never resumes the
coordinator's history from one, never stalls its I/O threads waiting, and
converges once the fault is gone; the coordinator keeps taking writes."""
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis

from cluster import Proxy, diff, dump, start_replica, wait_caught_up, wait_link_up
from server import Server
from small_fs import small_fs  # noqa: F401 (a fixture)
from test_bad_upstream import FakeUpstream

HANG_GUARD_S = 300  # far above what a sanitizer build on a loaded machine needs


def wait_for(pred, what, timeout=HANG_GUARD_S):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, "%s: not within %d s" % (what, timeout)
        time.sleep(0.02)


def sync_stats(coord):
    s = coord.client().info("stats")
    return s["sync_full"], s["sync_partial_ok"]


def loading_only(client):
    """The replica answers LOADING to a read (it serves no part of a
    snapshot); True once it does."""
    try:
        client.get("key:1")
    except redis.BusyLoadingError:
        return True
    return False


def preload(coord, keys=20_000, size=1000):
    c = coord.client()
    value = "v" * size
    for start in range(0, keys, 1000):
        pipe = c.pipeline(transaction=False)
        for i in range(start, min(keys, start + 1000)):
            pipe.set("key:%d" % i, value)
        pipe.execute()
    assert c.save()  # on disk before any kill
    return keys


def assert_same(coord, replica):
    want, got = dump(coord.client()), dump(replica.client())
    problems = diff(want, got)
    assert not problems, "\n".join(problems)
    return want


def through_proxy(tmp_path, *replica_args, keys=20_000):
    """A coordinator with `keys` keys of 1 KB, and a replica that reaches it
    through a proxy letting 2 MB of its link's first full sync through:
    (coordinator, keys, proxy, replica)."""
    coord = Server(str(tmp_path / "coord")).start()
    keys = preload(coord, keys)
    proxy = Proxy(coord.port)
    proxy.down_limit = 2 << 20
    replica = Server(str(tmp_path / "replica"), "--replicaof", "127.0.0.1 %d" % proxy.port,
                     *replica_args)
    replica.start_any()
    return coord, keys, proxy, replica


def mid_full_sync(proxy, replica_client, coord):
    """Waits until the replica is in a full sync that stopped at the
    proxy's down_limit: its first snapshot bytes arrived, the rest cannot."""
    wait_for(lambda: any(l.bytes_down >= proxy.down_limit for l in proxy.open_links()),
             "the snapshot's first bytes reaching the replica")
    wait_for(lambda: replica_client.info("replication").get("master_sync_read_bytes", 0) > 0,
             "the replica taking the snapshot")
    assert loading_only(replica_client), "a replica in a full sync served data"
    assert sync_stats(coord)[0] >= 1


# ---- faults during a full sync ---------------------------------------------

def test_failed_full_syncs_are_retried_without_stalling_the_replica(tmp_path):
    # Every full sync the upstream starts breaks off (garbage after the
    # FULLRESYNC line). One I/O thread serves both the link and the clients:
    # a retry that waited for the LevelDB applier (30 s a time) held them all.
    up = FakeUpstream(b"+FULLRESYNC abc 7\r\n" + b"\xee" * 100)
    up.start()
    srv = Server(str(tmp_path / "data"), "--replicaof", "127.0.0.1 %d" % up.port,
                 "--repl-timeout", "1", "--io-threads", "1")
    srv.start_any()
    try:
        c = srv.client(socket_timeout=60)
        deadline = time.monotonic() + 60  # a hang guard: a retry takes well under a second
        while up.psyncs < 6:
            assert time.monotonic() < deadline, \
                "only %d full syncs in 60 s:\n%s" % (up.psyncs, srv.log())
            info = c.info("replication")  # answered between the attempts
            assert info["role"] == "slave"
            time.sleep(0.05)
        assert loading_only(c)
        c.close()
    finally:
        up.stop = True
        srv.stop()


def test_link_cut_during_a_full_sync_starts_a_new_one(tmp_path):
    coord, keys, proxy, replica = through_proxy(tmp_path)
    try:
        rc = replica.client()
        mid_full_sync(proxy, rc, coord)
        coord.client().set("written-during", "1")
        assert proxy.cut() == 1
        # The replica does not resume the coordinator's history from the
        # part it has: a second full sync, no partial one.
        proxy.down_limit = None
        wait_link_up(rc)
        wait_caught_up(coord.client(), [rc])
        full, partial = sync_stats(coord)
        assert (full, partial) == (2, 0), (full, partial)
        assert len(assert_same(coord, replica)) == keys + 1
    finally:
        replica.stop()
        proxy.close()
        coord.stop()


def test_coordinator_killed_during_a_full_sync(tmp_path):
    coord, keys, proxy, replica = through_proxy(tmp_path, "--repl-timeout", "2")
    try:
        rc = replica.client()
        mid_full_sync(proxy, rc, coord)
        coord.kill()
        # With its coordinator gone the replica still serves no part of the
        # snapshot: it notices the loss and stays LOADING.
        wait_for(lambda: rc.info("replication")["master_link_status"] == "down",
                 "the replica noticing its coordinator is gone")
        assert loading_only(rc)
        proxy.cut()
        proxy.down_limit = None
        coord.start()
        wait_link_up(rc)
        wait_caught_up(coord.client(), [rc])
        full, partial = sync_stats(coord)
        assert full == 1 and partial == 0, (full, partial)  # the restarted one's counters
        assert len(assert_same(coord, replica)) == keys
    finally:
        replica.stop()
        proxy.close()
        coord.stop()


def test_replica_killed_during_a_full_sync_is_loading_after_its_restart(tmp_path):
    coord, keys, proxy, replica = through_proxy(tmp_path)
    try:
        mid_full_sync(proxy, replica.client(), coord)
        replica.kill()
        proxy.cut()
        # Restarted while the coordinator cannot reach it yet: what it holds
        # of the interrupted snapshot is not served.
        proxy.down_limit = 0
        replica.start_any()
        rc = replica.client()
        wait_for(lambda: "The last full sync did not finish" in replica.log(),
                 "the restarted replica's recovery")
        assert rc.info("persistence")["loading"] == 1
        assert loading_only(rc)
        proxy.down_limit = None
        wait_link_up(rc)
        wait_caught_up(coord.client(), [rc])
        full, partial = sync_stats(coord)
        assert full >= 2 and partial == 0, (full, partial)
        assert len(assert_same(coord, replica)) == keys
    finally:
        replica.stop()
        proxy.close()
        coord.stop()


def test_replica_disk_full_during_a_full_sync(tmp_path, small_fs):
    coord = Server(str(tmp_path / "coord")).start()
    keys = preload(coord, keys=40_000)  # 40 MB: more than the 16 MB the replica gets
    subprocess.run(["mount", "-o", "remount,size=16m", small_fs], check=True)
    replica = Server(os.path.join(small_fs, "replica"), "--replicaof",
                     "127.0.0.1 %d" % coord.port, log_path=str(tmp_path / "replica.log"))
    replica.start_any()
    try:
        rc = replica.client()
        # Full syncs fail for want of space, and are retried; meanwhile the
        # replica serves nothing of them.
        wait_for(lambda: sync_stats(coord)[0] >= 2, "a second full sync after the disk filled")
        assert loading_only(rc)
        assert replica.proc.poll() is None
        subprocess.run(["mount", "-o", "remount,size=512m", small_fs], check=True)
        wait_link_up(rc)
        wait_caught_up(coord.client(), [rc])
        assert len(assert_same(coord, replica)) == keys
        assert sync_stats(coord)[1] == 0
    finally:
        replica.stop()
        coord.stop()


# ---- partitions and a coordinator that stops reading -------------------------

def partition_test(tmp_path, direction):
    coord = Server(str(tmp_path / "coord"), "--repl-timeout", "2").start()
    proxy = Proxy(coord.port)
    hold = proxy.hold_down if direction == "down" else proxy.hold_up
    replica = start_replica(str(tmp_path / "replica"), proxy.port, "--repl-timeout", "2")
    try:
        c, rc = coord.client(), replica.client()
        c.set("before", "1")
        wait_caught_up(c, [rc])
        full, partial = sync_stats(coord)
        hold.set()
        for i in range(1000):
            c.set("during:%d" % i, i)  # the coordinator never waits for its replica
        # Both sides give the half-silent link up after repl-timeout.
        wait_for(lambda: rc.info("replication")["master_link_status"] == "down",
                 "the replica dropping the link")
        wait_for(lambda: c.info("replication")["connected_slaves"] == 0,
                 "the coordinator dropping the replica")
        assert rc.get("before") == b"1"  # still serving reads
        hold.clear()
        proxy.cut()
        wait_link_up(rc)
        wait_caught_up(c, [rc])
        assert_same(coord, replica)
        # Resumed by partial resyncs (one per attempt the partition let the
        # coordinator see), never a full one.
        full_after, partial_after = sync_stats(coord)
        assert full_after == full and partial_after > partial, (full, partial, full_after,
                                                               partial_after)
    finally:
        replica.stop()
        proxy.close()
        coord.stop()


def test_partition_coordinator_to_replica_only(tmp_path):
    """The replica's acknowledgements get through, the stream does not."""
    partition_test(tmp_path, "down")


def test_partition_replica_to_coordinator_only(tmp_path):
    """The stream gets through, the replica's acknowledgements do not."""
    partition_test(tmp_path, "up")


def test_coordinator_that_stops_reading(tmp_path):
    """A frozen coordinator (SIGSTOP: its sockets stay open, nothing is read
    or sent): the replica keeps serving reads, gives the link up after
    repl-timeout, and resumes by a partial resync once it runs again."""
    coord = Server(str(tmp_path / "coord"), "--repl-timeout", "2").start()
    replica = start_replica(str(tmp_path / "replica"), coord.port, "--repl-timeout", "2")
    try:
        c, rc = coord.client(), replica.client()
        c.set("before", "1")
        wait_caught_up(c, [rc])
        full, partial = sync_stats(coord)
        coord.proc.send_signal(signal.SIGSTOP)
        try:
            wait_for(lambda: rc.info("replication")["master_link_status"] == "down",
                     "the replica giving up the frozen coordinator")
            for _ in range(100):
                assert rc.get("before") == b"1"
        finally:
            coord.proc.send_signal(signal.SIGCONT)
        c.set("after", "1")
        wait_link_up(rc)
        wait_caught_up(c, [rc])
        assert_same(coord, replica)
        # Resumed by partial resync (the attempts queued while it was frozen
        # may count too), never a full one.
        full_after, partial_after = sync_stats(coord)
        assert full_after == full and partial_after > partial, (full, partial, full_after,
                                                               partial_after)
    finally:
        replica.stop()
        coord.stop()


# ---- min-replicas-to-write --------------------------------------------------

def write_refused(client):
    try:
        client.set("k", "v")
    except redis.ResponseError as e:
        assert "NOREPLICAS" in str(e), e
        return True
    return False


def test_min_replicas_refuse_writes_when_the_replica_lags_or_leaves(tmp_path):
    coord = Server(str(tmp_path / "coord"), "--min-replicas-to-write", "1",
                   "--min-replicas-max-lag", "2").start()
    proxy = Proxy(coord.port)
    replica = start_replica(str(tmp_path / "replica"), proxy.port, "--repl-timeout", "60")
    try:
        c = coord.client()
        wait_for(lambda: not write_refused(c), "a write accepted with the replica in sync")
        # Its acknowledgements stop (the link stays up): past the lag bound
        # the coordinator refuses writes.
        proxy.hold_up.set()
        wait_for(lambda: write_refused(c), "writes refused with the replica lagging")
        assert c.info("replication")["connected_slaves"] == 1
        proxy.hold_up.clear()
        wait_for(lambda: not write_refused(c), "writes accepted again once it caught up")
        # It leaves.
        replica.kill()
        wait_for(lambda: write_refused(c), "writes refused with the replica gone")
    finally:
        replica.stop()
        proxy.close()
        coord.stop()


# ---- PSYNC and REPLCONF from an ordinary client -------------------------------

def test_replconf_from_an_ordinary_client_counts_for_nothing(tmp_path):
    coord = Server(str(tmp_path / "coord"), "--min-replicas-to-write", "1").start()
    try:
        s = socket.create_connection(("127.0.0.1", coord.port))
        s.settimeout(60)

        def send(*args):
            s.sendall(b"*%d\r\n" % len(args) +
                      b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))

        send(b"REPLCONF", b"listening-port", b"7777")
        send(b"REPLCONF", b"ACK", b"999999")  # no reply, as in Redis
        send(b"REPLCONF", b"GETACK", b"*")  # no reply either
        send(b"WAIT", b"1", b"100")
        send(b"SET", b"k", b"v")
        buf = b""
        while buf.count(b"\r\n") < 3:
            chunk = s.recv(4096)
            assert chunk, "closed after %r" % buf
            buf += chunk
        assert buf == b"+OK\r\n:0\r\n-NOREPLICAS Not enough good replicas to write.\r\n"
        assert coord.client().info("replication")["connected_slaves"] == 0
        s.close()
    finally:
        coord.stop()


def test_replconf_and_psync_errors_match_redis(tmp_path):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
    from resp_util import RawClient
    from redis_ref import start_redis, stop_redis
    coord = Server(str(tmp_path / "coord")).start()
    proc, port, d = start_redis()
    try:
        ours, theirs = RawClient(coord.port), RawClient(port)
        bad = []
        for cmd in (["REPLCONF"], ["REPLCONF", "listening-port"],
                    ["REPLCONF", "listening-port", "abc"], ["REPLCONF", "listening-port", "1"],
                    ["REPLCONF", "foo", "bar"], ["REPLCONF", "capa", "eof", "capa", "psync2"],
                    ["REPLCONF", "ip-address", "1.2.3.4"], ["REPLCONF", "rdb-only", "2"],
                    ["REPLCONF", "rdb-only", "1"], ["PSYNC"], ["PSYNC", "a"], ["MULTI"],
                    ["PSYNC", "?", "-1"], ["EXEC"]):
            a, b = ours.cmd(cmd), theirs.cmd(cmd)
            if a != b:
                bad.append("%r\n  edgekv: %r\n  redis:  %r" % (cmd, a, b))
        assert not bad, "\n".join(bad)
    finally:
        stop_redis(proc, d)
        coord.stop()


# ---- a new history upstream ----------------------------------------------------

def test_after_a_coordinator_kill_replicas_continue_in_its_new_history(tmp_path):
    """kill -9 is not a clean stop: the coordinator starts a new replication
    history at what it recovered. A replica at that point continues by
    partial resync and takes the new id (+CONTINUE <id>)."""
    coord = Server(str(tmp_path / "coord"), "--appendfsync", "always").start()
    replica = start_replica(str(tmp_path / "replica"), coord.port)
    try:
        c, rc = coord.client(), replica.client()
        for i in range(100):
            c.set("before:%d" % i, i)
        wait_caught_up(c, [rc])
        old_id = c.info("replication")["master_replid"]
        coord.kill()
        coord.start()
        c = coord.client()
        info = c.info("replication")
        assert info["master_replid"] != old_id and info["master_replid2"] == old_id, info
        c.set("after", "1")
        wait_link_up(rc)
        wait_caught_up(c, [rc])
        assert c.info("stats")["sync_partial_ok"] == 1
        assert c.info("stats")["sync_full"] == 0
        assert rc.info("replication")["master_replid"] == info["master_replid"]
        assert_same(coord, replica)
    finally:
        replica.stop()
        coord.stop()


def test_a_chained_replica_follows_its_hub_through_the_hubs_full_sync(tmp_path):
    """A coordinator that comes back empty (a new machine on the same
    address) gives the hub a full sync, which replaces the hub's history: the
    hub drops its own replicas, which come back and converge with the new
    data instead of keeping the old."""
    coord = Server(str(tmp_path / "coord")).start()
    hub = start_replica(str(tmp_path / "hub"), coord.port)
    leaf = start_replica(str(tmp_path / "leaf"), hub.port)
    try:
        c = coord.client()
        for i in range(200):
            c.set("old:%d" % i, i)
        wait_caught_up(c, [hub.client(), leaf.client()])
        coord.stop()
        coord = Server(str(tmp_path / "coord-new"))
        coord.port = hub_upstream = int(hub.args[hub.args.index("--replicaof") + 1].split()[1])
        coord.start()
        c = coord.client()
        for i in range(50):
            c.set("new:%d" % i, i)
        want = dump(c)

        def leaf_has_the_new_data():
            try:
                return dump(leaf.client()) == want
            except redis.BusyLoadingError:  # in its own full sync
                return False
        wait_for(leaf_has_the_new_data, "the leaf holding the new data only")
        assert hub_upstream == coord.port
        assert_same(coord, hub)
    finally:
        leaf.stop()
        hub.stop()
        coord.stop()
