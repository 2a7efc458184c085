"""Coordinator and PoP replicas as real processes on loopback."""
import random
import threading
import time

import pytest
import redis

from cluster import (Proxy, diff, dump, offset, start_replica, wait_caught_up,
                     wait_link_up)
from server import Server, Thread

# Hang guards, not measures: far above what a sanitizer build on a loaded
# machine needs.
HANG_GUARD_S = 600
SOCKET_TIMEOUT_S = 120


class Load(threading.Thread):
    """A client writing SET, DEL, SET with TTL, INCR and EXPIRE in pipelines of
    100 over `keys` keys (ops / 2 by default), until it has done `ops` or is
    stopped; `acked` counts operations whose replies arrived."""

    def __init__(self, port, wid, ops, db=0, rate=None, keys=None):
        super().__init__(daemon=True)
        self.port, self.wid, self.ops, self.db, self.rate = port, wid, ops, db, rate
        self.keys = keys or ops // 2
        self.acked = 0
        self.error = None
        self.stop = threading.Event()

    def run(self):
        rng = random.Random(self.wid)
        c = redis.Redis(host="127.0.0.1", port=self.port, db=self.db,
                        socket_timeout=SOCKET_TIMEOUT_S)
        try:
            done = 0
            while done < self.ops and not self.stop.is_set():
                pipe = c.pipeline(transaction=False)
                for _ in range(100):
                    k = "w%d:%d" % (self.wid, rng.randrange(self.keys))
                    r = rng.random()
                    if r < 0.4:
                        pipe.set(k, "v%d" % done)
                    elif r < 0.6:
                        pipe.set(k, "t%d" % done, px=rng.randrange(60_000, 600_000))
                    elif r < 0.75:
                        pipe.incr("w%d:counter%d" % (self.wid, rng.randrange(10)))
                    elif r < 0.9:
                        pipe.expire(k, rng.randrange(100, 1000))
                    else:
                        pipe.delete(k)
                    done += 1
                pipe.execute()
                self.acked = done
                if self.rate:
                    time.sleep(100.0 / self.rate)
        except BaseException as e:  # noqa: BLE001 - raised by join()
            self.error = e


def run_load(port, clients, ops_each, **kw):
    loads = [Load(port, i, ops_each, **kw) for i in range(clients)]
    for l in loads:
        l.start()
    return loads


def join(loads, timeout=HANG_GUARD_S):
    for l in loads:
        l.join(timeout)
        assert not l.is_alive(), "load %d still running after %d s" % (l.wid, timeout)
        if l.error is not None:
            raise l.error


def wait_for(pred, what, timeout=HANG_GUARD_S):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "%s: not within %d s" % (what, timeout)
        time.sleep(0.01)


def wait_acked(loads, more):
    """Waits until every load has `more` operations acknowledged beyond now
    (and none has failed)."""
    marks = [l.acked for l in loads]

    def done():
        for l in loads:
            if l.error is not None:
                raise l.error
        return all(l.acked >= m + more for l, m in zip(loads, marks))
    wait_for(done, "%d more acknowledged operations per client" % more)


@pytest.fixture
def coord(tmp_path):
    srv = Server(str(tmp_path / "coord")).start()
    yield srv
    srv.stop()


def assert_same(coord, *replicas):
    want = dump(coord.client())
    for r in replicas:
        got = dump(r.client())
        problems = diff(want, got)
        assert not problems, "replica on port %d differs:\n%s" % (r.port, "\n".join(problems))
    return want


def test_two_replicas_converge_within_a_second(tmp_path, coord):
    """The replicas keep up with 200k operations from 8 clients: once the
    last write is acknowledged they need well under a second on an idle
    machine. The bound is a share of the time the load took, so that it
    holds on any machine: replicas that fell behind need about as long
    again as the load to catch up."""
    r1 = start_replica(str(tmp_path / "r1"), coord.port)
    r2 = start_replica(str(tmp_path / "r2"), coord.port)
    try:
        started = time.monotonic()
        loads = run_load(coord.port, 8, 25_000)  # 200k operations
        wait_acked(loads, 1000)
        coord.client().flushdb()  # once, mid-load
        join(loads)
        load_s = time.monotonic() - started
        took = wait_caught_up(coord.client(), [r1.client(), r2.client()])
        assert took < max(1.0, load_s / 4), \
            "replicas needed %.2fs after the last acknowledged write of a %.1fs load" % (
                took, load_s)
        data = assert_same(coord, r1, r2)
        assert len(data) > 1000
        # Replicas are read-only.
        with pytest.raises(redis.exceptions.ReadOnlyError, match="read only replica"):
            r1.client().set("x", "y")
        role = r1.client().execute_command("ROLE")
        assert role[0] == b"slave" and role[3] == b"connected"
        info = coord.client().info("replication")
        assert info["connected_slaves"] == 2 and info["slave0"]["state"] == "online"
        # Caught up: nothing left to send or to acknowledge (acks arrive
        # after each batch, so at most moments after the data matched).
        deadline = time.monotonic() + HANG_GUARD_S
        while True:
            lags = [(info[n]["lag_records"], info[n]["unsent_records"]) for n in ("slave0", "slave1")]
            if lags == [(0, 0), (0, 0)] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
            info = coord.client().info("replication")
        assert lags == [(0, 0), (0, 0)], info
    finally:
        r1.stop()
        r2.stop()


def test_replica_killed_and_restarted_resumes_by_partial_resync(tmp_path, coord):
    r1 = start_replica(str(tmp_path / "r1"), coord.port)
    try:
        # Writes go on before the kill, while the replica is down and after
        # it is back.
        loads = run_load(coord.port, 4, 10 ** 9, keys=10_000)
        wait_acked(loads, 1000)
        r1.kill()
        wait_acked(loads, 1000)
        full_before = coord.client().info("stats")["sync_full"]
        r1.start_any()
        wait_link_up(r1.client())
        wait_acked(loads, 1000)
        for l in loads:
            l.stop.set()
        join(loads)
        wait_caught_up(coord.client(), [r1.client()])
        stats = coord.client().info("stats")
        assert stats["sync_full"] == full_before, "a restart must not need a full sync"
        assert stats["sync_partial_ok"] >= 1
        assert_same(coord, r1)
    finally:
        r1.stop()


def test_coordinator_killed_with_fsync_always_replicas_resume(tmp_path):
    coord = Server(str(tmp_path / "coord"), "--appendfsync", "always").start()
    r1 = start_replica(str(tmp_path / "r1"), coord.port)
    try:
        c = coord.client()
        acked = {}
        killed = threading.Event()
        ended_by_kill = []

        def writer():
            # Writes until the kill; a connection error before it fails the
            # test (through Thread.join).
            wc = redis.Redis(host="127.0.0.1", port=coord.port, socket_timeout=SOCKET_TIMEOUT_S)
            i = 0
            try:
                while True:
                    wc.set("k%d" % i, "v%d" % i)
                    acked["k%d" % i] = b"v%d" % i
                    i += 1
            except (redis.ConnectionError, redis.TimeoutError):
                if not killed.is_set():
                    raise
                ended_by_kill.append(True)

        t = Thread(writer, name="writer")
        t.start()
        # Kill while acknowledged writes still come: the coordinator was
        # alive and writing up to the kill.
        wait_for(lambda: len(acked) >= 500 or not t.is_alive(), "500 acknowledged writes")
        mark = len(acked)
        wait_for(lambda: len(acked) > mark or not t.is_alive(), "another acknowledged write")
        if not t.is_alive():
            t.join()  # raises what ended it
        assert coord.running(), "the coordinator was gone before the kill"
        killed.set()
        coord.kill()
        t.join()
        assert ended_by_kill == [True]
        coord.start()  # same port and dir
        wait_link_up(r1.client())
        c = coord.client()
        c.set("after-restart", "1")
        wait_caught_up(c, [r1.client()])
        data = assert_same(coord, r1)
        lost = [k for k, v in acked.items() if data.get((0, k.encode()), (None,))[0] != v]
        assert not lost, "acknowledged writes lost: %s" % lost[:5]
    finally:
        r1.stop()
        coord.stop()


def test_link_cut_twenty_times_under_load(tmp_path, coord):
    """Each cut severs a live link that carried the stream (the replica
    reconnects once a second, so the next cut waits for it), and the replica
    comes back by partial resync every time, never by a full one."""
    proxy = Proxy(coord.port)
    r1 = start_replica(str(tmp_path / "r1"), proxy.port)
    try:
        stats = coord.client().info("stats")
        full_before, partial_before = stats["sync_full"], stats["sync_partial_ok"]
        loads = run_load(coord.port, 4, 10 ** 9, keys=20_000)
        for i in range(20):
            # The replica connected again (only after it saw the last cut),
            # its link is up and records flow through it.
            wait_for(lambda: proxy.open_links(), "cut %d: the replica reconnecting" % i)
            links = proxy.open_links()
            assert len(links) == 1, "cut %d: %d links open" % (i, len(links))
            link = links[0]
            wait_link_up(r1.client())
            carried = link.bytes_down
            wait_acked(loads, 100)
            wait_for(lambda: link.bytes_down > carried or not link.open,
                     "cut %d: records through the link" % i)
            assert proxy.cut() == 1, "cut %d found no live link\n--- replica ---\n%s\n" \
                "--- coordinator ---\n%s" % (i, r1.log(), coord.log())
        wait_acked(loads, 1000)  # and writes go on after the last cut
        for l in loads:
            l.stop.set()
        join(loads)
        wait_link_up(r1.client())
        wait_caught_up(coord.client(), [r1.client()])
        assert_same(coord, r1)
        assert proxy.severed == 20
        stats = coord.client().info("stats")
        assert stats["sync_full"] == full_before, "a cut link needed a full sync"
        assert stats["sync_partial_ok"] >= partial_before + 20, stats
    finally:
        r1.stop()
        proxy.close()


def test_stalled_link_is_dropped_after_repl_timeout_and_recovers(tmp_path, tmp_path_factory):
    coord = Server(str(tmp_path / "coord"), "--repl-timeout", "2").start()
    proxy = Proxy(coord.port)
    r1 = start_replica(str(tmp_path / "r1"), proxy.port, "--repl-timeout", "2")
    try:
        coord.client().set("before", "1")
        wait_caught_up(coord.client(), [r1.client()])
        proxy.stalled.set()
        c = coord.client()
        for i in range(1000):
            c.set("during%d" % i, i)  # writes never wait for replicas
        # Both ends drop the silent link (2 s without a byte).
        wait_for(lambda: r1.client().info("replication")["master_link_status"] == "down",
                 "the replica dropping the stalled link")
        wait_for(lambda: coord.client().info("replication")["connected_slaves"] == 0,
                 "the coordinator dropping the stalled link")
        proxy.stalled.clear()
        proxy.cut()
        wait_link_up(r1.client())
        wait_caught_up(c, [r1.client()])
        assert_same(coord, r1)
    finally:
        r1.stop()
        proxy.close()
        coord.stop()


def test_new_replica_full_sync_under_load(tmp_path, coord):
    pre = run_load(coord.port, 4, 20_000)
    join(pre)
    # About 10k writes/s from before the replica comes until after it synced.
    loads = run_load(coord.port, 4, 10 ** 9, rate=2500, keys=15_000)
    r1 = None
    try:
        wait_acked(loads, 500)
        r1 = start_replica(str(tmp_path / "r1"), coord.port)
        wait_acked(loads, 1000)
        for l in loads:
            l.stop.set()
        join(loads)
        wait_caught_up(coord.client(), [r1.client()])
        assert coord.client().info("stats")["sync_full"] >= 1
        assert_same(coord, r1)
    finally:
        for l in loads:
            l.stop.set()
        if r1 is not None:
            r1.stop()


def test_replica_older_than_retention_gets_full_sync(tmp_path):
    coord = Server(str(tmp_path / "coord"), "--repl-backlog-size", "0",
                   "--wal-retention-seconds", "0", "--wal-segment-size", "1mb").start()
    r1 = start_replica(str(tmp_path / "r1"), coord.port)
    try:
        coord.client().set("a", "1")
        wait_caught_up(coord.client(), [r1.client()])
        r1.stop()
        c = coord.client()
        for i in range(20):
            pipe = c.pipeline(transaction=False)
            for j in range(500):
                pipe.set("k%d:%d" % (i, j), "x" * 200)
            pipe.execute()
        c.save()  # checkpoint: old segments go
        time.sleep(1.5)
        c.save()
        full_before = c.info("stats")["sync_full"]
        r1.start_any()
        wait_link_up(r1.client())
        wait_caught_up(c, [r1.client()])
        assert c.info("stats")["sync_full"] == full_before + 1
        assert_same(coord, r1)
    finally:
        r1.stop()
        coord.stop()


def test_wait_counts_acknowledging_replicas(tmp_path, coord):
    r1 = start_replica(str(tmp_path / "r1"), coord.port)
    r2 = start_replica(str(tmp_path / "r2"), coord.port)
    try:
        c = coord.client()
        c.set("k", "v")
        assert c.execute_command("WAIT", 2, HANG_GUARD_S * 1000) == 2
        r2.kill()
        c.set("k2", "v")
        # r1 acknowledges k2 (answered as soon as it does); r2 never will:
        # WAIT for both blocks its whole timeout and counts r1.
        assert c.execute_command("WAIT", 1, HANG_GUARD_S * 1000) == 1
        t0 = time.monotonic()
        assert c.execute_command("WAIT", 2, 300) == 1
        assert time.monotonic() - t0 >= 0.25
        with pytest.raises(redis.ResponseError, match="WAIT cannot be used with replica"):
            r1.client().execute_command("WAIT", 1, 10)
    finally:
        r1.stop()


def test_min_replicas_to_write(tmp_path):
    coord = Server(str(tmp_path / "coord"), "--min-replicas-to-write", "1",
                   "--min-replicas-max-lag", "2").start()
    try:
        with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
            coord.client().set("k", "v")
        r1 = start_replica(str(tmp_path / "r1"), coord.port)
        try:
            # Accepted once the coordinator counts the replica (its first
            # acknowledgement).
            def accepted():
                try:
                    return coord.client().set("k", "v")
                except redis.ResponseError as e:
                    assert "NOREPLICAS" in str(e)
                    return False
            wait_for(accepted, "a write accepted with the replica connected")
        finally:
            r1.stop()
    finally:
        coord.stop()


def test_chained_replica_converges_and_catches_up_from_hub(tmp_path, coord):
    hub = start_replica(str(tmp_path / "hub"), coord.port)
    pop = start_replica(str(tmp_path / "pop"), hub.port)
    try:
        loads = run_load(coord.port, 4, 10_000)
        wait_acked(loads, 500)
        pop.kill()
        join(loads)
        pop.start_any()
        wait_link_up(pop.client())
        wait_caught_up(coord.client(), [hub.client(), pop.client()])
        assert_same(coord, hub, pop)
        assert hub.client().info("stats")["sync_partial_ok"] >= 1
        # Same records, same sequence numbers.
        assert offset(pop.client()) == offset(coord.client())
    finally:
        pop.stop()
        hub.stop()


def test_replicaof_no_one_promotes_and_feeds_others(tmp_path, coord):
    r1 = start_replica(str(tmp_path / "r1"), coord.port)
    r2 = start_replica(str(tmp_path / "r2"), coord.port)
    try:
        coord.client().set("a", "1")
        wait_caught_up(coord.client(), [r1.client(), r2.client()])
        coord.stop()
        c1 = r1.client()
        assert c1.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
        c1.set("b", "2")  # accepts writes now
        assert c1.execute_command("ROLE")[0] == b"master"
        r2.client().execute_command("REPLICAOF", "127.0.0.1", r1.port)
        wait_link_up(r2.client())
        wait_caught_up(c1, [r2.client()])
        assert r2.client().get("b") == b"2" and r2.client().get("a") == b"1"
        # r2 had a prefix of r1's history: no full sync was needed.
        assert c1.info("stats")["sync_partial_ok"] >= 1
    finally:
        r2.stop()
        r1.stop()


def test_replica_write_forward_gives_read_your_writes(tmp_path, coord):
    r1 = start_replica(str(tmp_path / "r1"), coord.port, "--replica-write-forward", "yes")
    try:
        c = r1.client()
        for i in range(200):
            assert c.set("k", i) is True  # the coordinator's answer
            assert c.execute_command("WAIT", 0, HANG_GUARD_S * 1000) == 1  # visible here now
            assert c.get("k") == str(i).encode()
        assert c.incr("n") == 1
        with pytest.raises(redis.ResponseError, match="not an integer"):
            c.execute_command("INCRBY", "n", "x")
        d3 = redis.Redis(host="127.0.0.1", port=r1.port, db=3)
        d3.set("in3", "x")
        assert redis.Redis(host="127.0.0.1", port=coord.port, db=3).get("in3") == b"x"
        pipe = c.pipeline(transaction=False)
        for _ in range(500):
            pipe.incr("p")
        assert pipe.execute()[-1] == 500
        # Transactions are not forwarded: they go to the coordinator.
        with pytest.raises(redis.ResponseError):
            tx = c.pipeline(transaction=True)
            tx.set("t", 1)
            tx.execute()
    finally:
        r1.stop()


def test_read_only_replica_refuses_writes_in_multi(tmp_path, coord):
    r1 = start_replica(str(tmp_path / "r1"), coord.port)
    try:
        tx = r1.client().pipeline(transaction=True)
        tx.set("t", 1)
        with pytest.raises(redis.exceptions.ReadOnlyError):
            tx.execute()
        assert r1.client().get("t") is None
    finally:
        r1.stop()
