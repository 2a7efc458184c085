"""Coordinator and PoP replicas as real processes on loopback."""
import random
import threading
import time

import pytest
import redis

from cluster import (Proxy, diff, dump, offset, start_replica, wait_caught_up,
                     wait_link_up)
from server import Server


class Load(threading.Thread):
    """A client writing SET, DEL, SET with TTL, INCR and EXPIRE in pipelines of
    100; `acked` counts operations whose replies arrived."""

    def __init__(self, port, wid, ops, db=0, rate=None):
        super().__init__(daemon=True)
        self.port, self.wid, self.ops, self.db, self.rate = port, wid, ops, db, rate
        self.acked = 0
        self.error = None
        self.stop = threading.Event()

    def run(self):
        rng = random.Random(self.wid)
        c = redis.Redis(host="127.0.0.1", port=self.port, db=self.db, socket_timeout=20)
        try:
            done = 0
            while done < self.ops and not self.stop.is_set():
                pipe = c.pipeline(transaction=False)
                for _ in range(100):
                    k = "w%d:%d" % (self.wid, rng.randrange(self.ops // 2))
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
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e


def run_load(port, clients, ops_each, **kw):
    loads = [Load(port, i, ops_each, **kw) for i in range(clients)]
    for l in loads:
        l.start()
    return loads


def join(loads, timeout=120):
    for l in loads:
        l.join(timeout)
        assert l.error is None, repr(l.error)


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
    r1 = start_replica(str(tmp_path / "r1"), coord.port)
    r2 = start_replica(str(tmp_path / "r2"), coord.port)
    try:
        loads = run_load(coord.port, 8, 25_000)  # 200k operations
        time.sleep(0.5)
        coord.client().flushdb()  # once, mid-load
        join(loads)
        took = wait_caught_up(coord.client(), [r1.client(), r2.client()])
        assert took < 1.0, "replicas needed %.2fs after the last acknowledged write" % took
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
        deadline = time.time() + 2
        while True:
            lags = [(info[n]["lag_records"], info[n]["unsent_records"]) for n in ("slave0", "slave1")]
            if lags == [(0, 0), (0, 0)] or time.time() > deadline:
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
        loads = run_load(coord.port, 4, 20_000)
        time.sleep(0.3)
        r1.kill()
        time.sleep(0.3)
        full_before = coord.client().info("stats")["sync_full"]
        r1.start_any()
        join(loads)
        wait_link_up(r1.client())
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
        stop = threading.Event()

        def writer():
            wc = redis.Redis(host="127.0.0.1", port=coord.port, socket_timeout=5)
            i = 0
            try:
                while not stop.is_set():
                    wc.set("k%d" % i, "v%d" % i)
                    acked["k%d" % i] = b"v%d" % i
                    i += 1
            except Exception:  # noqa: BLE001 - the kill
                pass

        threads = [threading.Thread(target=writer, daemon=True) for _ in range(1)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        coord.kill()
        stop.set()
        for t in threads:
            t.join(10)
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
    proxy = Proxy(coord.port)
    r1 = start_replica(str(tmp_path / "r1"), proxy.port)
    try:
        loads = run_load(coord.port, 4, 40_000)
        for _ in range(20):
            time.sleep(0.1)
            proxy.cut()
        join(loads)
        wait_link_up(r1.client())
        wait_caught_up(coord.client(), [r1.client()], timeout=20)
        assert_same(coord, r1)
        assert proxy.cuts == 20
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
        time.sleep(3.5)
        assert r1.client().info("replication")["master_link_status"] == "down"
        assert coord.client().info("replication")["connected_slaves"] == 0
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
    loads = run_load(coord.port, 4, 30_000, rate=2500)  # about 10k writes/s
    try:
        time.sleep(0.5)
        r1 = start_replica(str(tmp_path / "r1"), coord.port)
        join(loads)
        wait_caught_up(coord.client(), [r1.client()], timeout=20)
        assert coord.client().info("stats")["sync_full"] >= 1
        assert_same(coord, r1)
    finally:
        for l in loads:
            l.stop.set()
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
        assert c.execute_command("WAIT", 2, 2000) == 2
        r2.kill()
        time.sleep(0.2)
        c.set("k2", "v")
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
            time.sleep(0.2)
            coord.client().set("k", "v")
        finally:
            r1.stop()
    finally:
        coord.stop()


def test_chained_replica_converges_and_catches_up_from_hub(tmp_path, coord):
    hub = start_replica(str(tmp_path / "hub"), coord.port)
    pop = start_replica(str(tmp_path / "pop"), hub.port)
    try:
        loads = run_load(coord.port, 4, 10_000)
        time.sleep(0.2)
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
            assert c.execute_command("WAIT", 0, 2000) == 1  # visible here now
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
