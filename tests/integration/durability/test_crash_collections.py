"""Hashes through kill -9: under appendfsync always, every acknowledged
field change (HSET, HDEL, HINCRBY, DEL, EXPIRE) is there after the restart,
and no field that was never written (or was deleted) is."""
import random
import threading

import redis

from server import Server
from test_crash import SOCKET_TIMEOUT_S, kill_mid_load

KEYS_PER_WRITER = 200


class HashWriter(threading.Thread):
    """Changes its own hashes one field at a time and records, after each
    acknowledged reply, what the hash holds: expected[key] = ({field: value},
    has_ttl). `inflight` is the one change whose reply never came (the
    kill): the hash may be as before it or as after it."""

    def __init__(self, port, wid, killed):
        super().__init__(daemon=True)
        self.client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=SOCKET_TIMEOUT_S)
        self.wid = wid
        self.killed = killed
        self.expected = {}
        self.inflight = None
        self.done_ops = 0
        self.ended_by_kill = False
        self.error = None
        self.rng = random.Random(wid)

    def run(self):
        keys = ["w%d:h%d" % (self.wid, i) for i in range(KEYS_PER_WRITER)]
        try:
            for i in range(10 ** 9):
                key = self.rng.choice(keys)
                fields, has_ttl = self.expected.get(key, ({}, False))
                fields = dict(fields)
                r = self.rng.random()
                f = b"f%d" % self.rng.randrange(30)
                if r < 0.5:
                    fields[f] = ("v%d" % i).encode()
                    call = lambda: self.client.hset(key, f, "v%d" % i)  # noqa: E731
                elif r < 0.7:
                    fields.pop(f, None)
                    call = lambda: self.client.hdel(key, f)  # noqa: E731
                elif r < 0.85:
                    fields[b"n"] = str(int(fields.get(b"n", b"0")) + 1).encode()
                    call = lambda: self.client.hincrby(key, "n", 1)  # noqa: E731
                elif r < 0.95:
                    if fields:
                        has_ttl = True
                    call = lambda: self.client.expire(key, 3600)  # noqa: E731
                else:
                    fields, has_ttl = {}, False
                    call = lambda: self.client.delete(key)  # noqa: E731
                if not fields:
                    has_ttl = False
                after = (fields, has_ttl)
                self.inflight = (key, self.expected.get(key, ({}, False)), after)
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
    return client.hgetall(key), client.ttl(key) > 0


def test_kill9_loses_no_acknowledged_field_under_fsync_always(tmp_path):
    data = str(tmp_path / "data")
    srv = Server(data, "--appendfsync", "always").start()
    killed = threading.Event()
    writers = [HashWriter(srv.port, i, killed) for i in range(4)]
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
