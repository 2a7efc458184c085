"""Crash safety with the real binary: kill -9 under load, then restart and
check that every acknowledged write is there (with its TTL) and nothing that
was never written is."""
import os
import random
import signal
import threading
import time

import pytest
import redis

from server import Server

TTL_MS = 3_600_000
SOCKET_TIMEOUT_S = 120  # a hang guard
HANG_GUARD_S = 600
KEYS_PER_WRITER = 3125


class Writer(threading.Thread):
    """Writes its own key range and records each acknowledged effect.

    expected[key] = (value or None, has_ttl) after each acknowledged reply;
    `inflight` is the one key whose last command got no reply (the crash):
    either its old or its new state is acceptable.

    It writes until the server goes away. A connection error is expected only
    once `killed` is set (just before the kill); `error` holds anything else
    that ended it (a connection error before the kill, a wrong INCR reply),
    and the test raises it.
    """

    def __init__(self, port, wid, ops, killed):
        super().__init__(daemon=True)
        self.client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=SOCKET_TIMEOUT_S)
        self.wid = wid
        self.ops = ops
        self.killed = killed
        self.expected = {}
        self.inflight = None
        self.done_ops = 0
        self.ended_by_kill = False
        self.error = None
        self.rng = random.Random(wid)

    def run(self):
        keys = ["w%d:k%d" % (self.wid, i) for i in range(KEYS_PER_WRITER)]
        counter = "w%d:counter" % self.wid
        try:
            for i in range(self.ops):
                r = self.rng.random()
                key = self.rng.choice(keys)
                if r < 0.45:
                    val = "v%d-%d" % (self.wid, i)
                    new = (val.encode(), False)
                    self.inflight = (key, self.expected.get(key), new)
                    self.client.set(key, val)
                elif r < 0.70:
                    val = "t%d-%d" % (self.wid, i)
                    new = (val.encode(), True)
                    self.inflight = (key, self.expected.get(key), new)
                    self.client.set(key, val, px=TTL_MS)
                elif r < 0.85:
                    key = counter
                    old = self.expected.get(key, (b"0", False))
                    new = (str(int(old[0]) + 1).encode(), False)
                    self.inflight = (key, self.expected.get(key), new)
                    got = self.client.incr(key)
                    if str(got).encode() != new[0]:
                        raise AssertionError("%s: INCR answered %r, expected %r" %
                                             (key, got, new[0]))
                else:
                    new = (None, False)
                    self.inflight = (key, self.expected.get(key), new)
                    self.client.delete(key)
                self.expected[key] = new
                self.inflight = None
                self.done_ops += 1
        except (redis.ConnectionError, redis.TimeoutError, ConnectionError) as e:
            if self.killed.is_set():
                self.ended_by_kill = True  # the server was killed
            else:
                self.error = e
        except BaseException as e:  # noqa: BLE001 - raised by the test
            self.error = e


def check(client, writers):
    problems = []
    for w in writers:
        for key, (val, has_ttl) in w.expected.items():
            if w.inflight is not None and w.inflight[0] == key:
                continue
            got = client.get(key)
            if got != val:
                problems.append("%s: expected %r, got %r" % (key, val, got))
            elif val is not None:
                pttl = client.pttl(key)
                if has_ttl and not (0 < pttl <= TTL_MS):
                    problems.append("%s: expected a TTL, pttl=%d" % (key, pttl))
                if not has_ttl and pttl != -1:
                    problems.append("%s: expected no TTL, pttl=%d" % (key, pttl))
        if w.inflight is not None:
            key, before, after = w.inflight
            got = client.get(key)
            allowed = {None if before is None else before[0], after[0]}
            if got not in allowed:
                problems.append("%s (in flight): got %r, allowed %r" % (key, got, allowed))
    # Nothing that was never written: the live keys are exactly the expected ones.
    live = set()
    for w in writers:
        live |= {k for k, (v, _) in w.expected.items() if v is not None}
    inflight_keys = {w.inflight[0] for w in writers if w.inflight is not None}
    actual = {k.decode() for k in client.scan_iter(count=1000)}
    extra = actual - live - inflight_keys
    missing = live - actual - inflight_keys
    if extra:
        problems.append("keys never written (or deleted) are present: %s" % sorted(extra)[:5])
    if missing:
        problems.append("acknowledged keys missing from SCAN: %s" % sorted(missing)[:5])
    dbsize = client.dbsize()
    if not (len(live) - len(inflight_keys) <= dbsize <= len(live) + len(inflight_keys)):
        problems.append("DBSIZE %d, expected %d (+-%d)" % (dbsize, len(live), len(inflight_keys)))
    return problems


def kill_mid_load(srv, writers, killed, min_ops):
    """Kills the server (-9) in the middle of the writers' load, once min_ops
    operations are acknowledged and every writer has had another one
    acknowledged since: the server was alive and serving all of them up to
    the kill. Then waits for each writer to see the connection go and
    raises what ended one otherwise."""
    deadline = time.monotonic() + HANG_GUARD_S
    while sum(w.done_ops for w in writers) < min_ops:
        assert time.monotonic() < deadline, "%d operations not done in %d s" % (
            min_ops, HANG_GUARD_S)
        assert all(w.is_alive() for w in writers), [w.error for w in writers]
        time.sleep(0.01)
    marks = [w.done_ops for w in writers]
    while any(w.done_ops == m for w, m in zip(writers, marks)):
        assert time.monotonic() < deadline, "a writer stopped getting replies"
        assert all(w.is_alive() for w in writers), [w.error for w in writers]
        time.sleep(0.001)
    killed.set()
    assert srv.running(), "the server was gone before the kill:\n" + srv.log()
    pid = srv.proc.pid
    srv.kill()
    assert srv.proc.returncode == -signal.SIGKILL, (pid, srv.proc.returncode)
    for w in writers:
        w.join(HANG_GUARD_S)
        assert not w.is_alive(), "writer %d still running after the kill" % w.wid
        if w.error is not None:
            raise w.error
        assert w.ended_by_kill, "writer %d finished before the kill" % w.wid


@pytest.mark.parametrize("fsync", ["always", "everysec"])
def test_kill9_mid_load_loses_no_acknowledged_write(tmp_path, fsync):
    data = str(tmp_path / "data")
    srv = Server(data, "--appendfsync", fsync).start()
    killed = threading.Event()
    # 8 x 100k operations: far more than are done before the kill.
    writers = [Writer(srv.port, i, 100_000, killed) for i in range(8)]
    for w in writers:
        w.start()
    kill_mid_load(srv, writers, killed, 30_000)
    srv2 = Server(data, "--appendfsync", fsync).start()
    try:
        problems = check(srv2.client(), writers)
        assert not problems, "\n".join(problems[:20])
        # The segment open at the kill had its whole wal-segment-size
        # allocated ahead; the restart gave back what it did not use.
        wal = os.path.join(data, "wal")
        segments = sorted(f for f in os.listdir(wal) if f.endswith(".wal"))
        for name in segments[:-1]:  # the last one was started by srv2
            st = os.stat(os.path.join(wal, name))
            assert st.st_blocks * 512 <= st.st_size + 64 * 1024, (name, st)
    finally:
        srv2.stop()


def test_restart_after_clean_shutdown_keeps_everything(tmp_path):
    data = str(tmp_path / "data")
    srv = Server(data).start()
    c = srv.client()
    pipe = c.pipeline(transaction=False)
    for i in range(20_000):
        pipe.set("k%d" % i, "v%d" % i)
        if i % 3 == 0:
            pipe.pexpire("k%d" % i, TTL_MS)
    pipe.execute()
    c.delete("k0", "k1")
    srv.stop()
    assert srv.proc.returncode == 0
    srv2 = Server(data).start()
    c = srv2.client()
    try:
        assert c.dbsize() == 19_998
        assert c.get("k2") == b"v2"
        assert c.get("k0") is None
        assert 0 < c.pttl("k3") <= TTL_MS
        assert c.pttl("k4") == -1
        ks = c.info("keyspace")["db0"]
        assert ks["keys"] == 19_998 and ks["expires"] == 6_666
    finally:
        srv2.stop()


def test_flushdb_and_swapdb_survive_restart(tmp_path):
    data = str(tmp_path / "data")
    srv = Server(data).start()
    c = srv.client()
    c.set("a", "1")
    c.execute_command("SELECT", 1)
    c1 = redis.Redis(host="127.0.0.1", port=srv.port, db=1)
    c1.set("b", "2")
    c.swapdb(0, 1)
    c2 = redis.Redis(host="127.0.0.1", port=srv.port, db=2)
    c2.set("gone", "x")
    c2.flushdb()
    srv.kill()
    srv2 = Server(data).start()
    try:
        d0 = redis.Redis(host="127.0.0.1", port=srv2.port, db=0)
        d1 = redis.Redis(host="127.0.0.1", port=srv2.port, db=1)
        d2 = redis.Redis(host="127.0.0.1", port=srv2.port, db=2)
        assert d0.get("b") == b"2" and d0.get("a") is None
        assert d1.get("a") == b"1"
        assert d2.dbsize() == 0 and d2.get("gone") is None
    finally:
        srv2.stop()


def test_second_process_on_same_dir_is_refused(tmp_path):
    data = str(tmp_path / "data")
    srv = Server(data).start()
    try:
        srv.client().set("k", "v")
        other = Server(data)
        with pytest.raises(RuntimeError) as err:
            other.start(timeout=10)
        assert "another edgekv-server" in str(err.value)
        assert srv.client().get("k") == b"v"
    finally:
        srv.stop()
