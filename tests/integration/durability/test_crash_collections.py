"""Hashes, sets and sorted sets through kill -9: under appendfsync always,
every acknowledged element change (HSET, HDEL, HINCRBY, SADD, SREM, ZADD,
ZINCRBY, ZREM, DEL, EXPIRE) is there after the restart, and no field or
member that was never written (or was deleted) is."""
import random
import threading

import redis

from server import Server
from test_crash import SOCKET_TIMEOUT_S, kill_mid_load

KEYS_PER_WRITER = 200


KINDS = ["hash", "set", "zset"]


class CollectionWriter(threading.Thread):
    """Changes its own collections (hashes, sets or sorted sets, by its id)
    one element at a time and records, after each acknowledged reply, what
    the key holds: expected[key] = (contents, has_ttl), contents a frozen
    {field: value} / {member} / {member: score}. `inflight` is the one
    change whose reply never came (the kill): the key may be as before it or
    as after it."""

    def __init__(self, port, wid, killed):
        super().__init__(daemon=True)
        self.client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=SOCKET_TIMEOUT_S)
        self.wid = wid
        self.kind = KINDS[wid % len(KINDS)]
        self.killed = killed
        self.expected = {}
        self.inflight = None
        self.done_ops = 0
        self.ended_by_kill = False
        self.error = None
        self.rng = random.Random(wid)

    def change(self, key, contents, i):
        """One random change: (contents after it, the call that makes it);
        None for a DEL. EXPIRE is the caller's."""
        c, rng = self.client, self.rng
        r = rng.random()
        if self.kind == "hash":
            f = b"f%d" % rng.randrange(30)
            if r < 0.6:
                return {**contents, f: b"v%d" % i}, lambda: c.hset(key, f, "v%d" % i)
            if r < 0.8:
                return {k: v for k, v in contents.items() if k != f}, lambda: c.hdel(key, f)
            n = str(int(contents.get(b"n", b"0")) + 1).encode()
            return {**contents, b"n": n}, lambda: c.hincrby(key, "n", 1)
        if self.kind == "set":
            m = (b"%d" if r < 0.3 else b"m%d") % rng.randrange(20)
            if rng.random() < 0.65:
                return contents | {m}, lambda: c.sadd(key, m)
            return contents - {m}, lambda: c.srem(key, m)
        m = b"m%d" % rng.randrange(20)
        if r < 0.5:
            score = float(rng.randint(-100, 100)) / 4
            return {**contents, m: score}, lambda: c.zadd(key, {m: score})
        if r < 0.7:
            return ({**contents, m: contents.get(m, 0.0) + 1.5},
                    lambda: c.zincrby(key, 1.5, m))
        return {k: v for k, v in contents.items() if k != m}, lambda: c.zrem(key, m)

    def run(self):
        keys = ["w%d:%s%d" % (self.wid, self.kind, i) for i in range(KEYS_PER_WRITER)]
        empty = frozenset() if self.kind == "set" else {}
        try:
            for i in range(10 ** 9):
                key = self.rng.choice(keys)
                contents, has_ttl = self.expected.get(key, (empty, False))
                r = self.rng.random()
                if r < 0.85:
                    contents, call = self.change(key, contents, i)
                elif r < 0.95:
                    if contents:
                        has_ttl = True
                    call = lambda: self.client.expire(key, 3600)  # noqa: E731
                else:
                    contents, has_ttl = empty, False
                    call = lambda: self.client.delete(key)  # noqa: E731
                if not contents:
                    has_ttl = False
                after = (contents, has_ttl)
                self.inflight = (key, self.expected.get(key, (empty, False)), after)
                call()
                self.expected[key] = after
                self.inflight = None
                self.done_ops += 1
        except (redis.ConnectionError, redis.TimeoutError, ConnectionError) as e:
            if self.killed.is_set():
                self.ended_by_kill = True
            else:
                self.error = e
        except BaseException as e:  # noqa: BLE001 - raised by the test
            self.error = e


def state(client, key):
    kind = key.split(":")[1].rstrip("0123456789")
    if kind == "set":
        contents = frozenset(client.smembers(key))
    elif kind == "zset":
        contents = dict(client.zrange(key, 0, -1, withscores=True))
    else:
        contents = client.hgetall(key)
    return contents, client.ttl(key) > 0


def test_kill9_loses_no_acknowledged_field_under_fsync_always(tmp_path):
    data = str(tmp_path / "data")
    srv = Server(data, "--appendfsync", "always").start()
    killed = threading.Event()
    writers = [CollectionWriter(srv.port, i, killed) for i in range(6)]
    for w in writers:
        w.start()
    kill_mid_load(srv, writers, killed, 10_000)
    srv2 = Server(data, "--appendfsync", "always").start()
    try:
        c = srv2.client()
        problems = []
        live = set()
        for w in writers:
            for key, want in w.expected.items():
                if w.inflight is not None and w.inflight[0] == key:
                    continue
                if want[0]:
                    live.add(key)
                got = state(c, key)
                if got != want:
                    problems.append("%s: expected %r, got %r" % (key, want, got))
            if w.inflight is not None:
                key, before, after = w.inflight
                got = state(c, key)
                if got not in (before, after):
                    problems.append("%s (in flight): got %r, allowed %r or %r" %
                                    (key, got, before, after))
                if got[0]:
                    live.add(key)
        assert not problems, "\n".join(problems[:20])
        assert {k.decode() for k in c.scan_iter(count=1000)} == live
        assert c.dbsize() == len(live)
    finally:
        srv2.stop()
