"""Hashes on replicas: every change reaches the PoPs as the fields it
changed (the log records elements, not whole hashes), by the live stream, by
a partial resync after a replica restarts and by a full sync's snapshot, and
every PoP ends with the same hashes as the coordinator."""
import random

from cluster import diff, dump, start_replica, wait_caught_up
from server import Server


def hash_load(c, rng, steps):
    """Random hash writes (and a few of other kinds) on a few keys."""
    keys = ["h%d" % i for i in range(8)]
    for _ in range(steps):
        k = rng.choice(keys)
        op = rng.randrange(12)
        if op < 5:
            c.hset(k, mapping={"f%d" % rng.randrange(40): "v%d" % rng.randrange(1000)
                               for _ in range(rng.randint(1, 4))})
        elif op == 5:
            c.hdel(k, *["f%d" % rng.randrange(40) for _ in range(3)])
        elif op == 6:
            c.hincrby(k, "n", rng.randint(-5, 5))
        elif op == 7:
            c.expire(k, rng.randint(100, 1000))
        elif op == 8:
            c.persist(k)
        elif op == 9:
            c.delete(k)
        elif op == 10:
            other = rng.choice(keys)
            if other != k and c.exists(k):
                c.rename(k, other)
        else:
            pipe = c.pipeline(transaction=True)
            pipe.hset(k, "tx", "1")
            pipe.hdel(k, "f1")
            pipe.execute()


def assert_same(coord, replica):
    want, got = dump(coord.client()), dump(replica.client())
    assert want == got, diff(want, got)
    return want


def test_hashes_converge_by_stream_partial_resync_and_full_sync(tmp_path):
    coord = Server(str(tmp_path / "coord")).start()
    r1 = start_replica(str(tmp_path / "r1"), coord.port)
    r2 = None
    try:
        c = coord.client()
        rng = random.Random(7)
        hash_load(c, rng, 3000)
        # One hash far larger than a snapshot batch, with an expiry.
        pipe = c.pipeline(transaction=False)
        for i in range(20000):
            pipe.hset("big", "field%d" % i, "x" * (i % 50))
        pipe.execute()
        c.expire("big", 10000)
        c.eval("redis.call('hset', KEYS[1], 'by', 'script') "
               "redis.call('hincrby', KEYS[1], 'runs', 1)", 1, "scripted")
        wait_caught_up(c, [r1.client()])
        data = assert_same(coord, r1)
        assert len(dict(data[(0, b"big")][0])) == 20000
        assert r1.client().type("big") == b"hash"
        assert r1.client().hget("scripted", "by") == b"script"

        # A replica away for a while resumes with what it missed.
        r1.stop()
        hash_load(c, rng, 2000)
        c.hdel("big", *["field%d" % i for i in range(0, 20000, 2)])
        r1.start_any()
        full_before = c.info("stats")["sync_full"]
        wait_caught_up(c, [r1.client()])
        assert c.info("stats")["sync_full"] == full_before
        assert_same(coord, r1)

        # A new replica gets the hashes in its full sync's snapshot.
        r2 = start_replica(str(tmp_path / "r2"), coord.port)
        wait_caught_up(c, [r2.client()])
        assert c.info("stats")["sync_full"] == full_before + 1
        data = assert_same(coord, r2)
        assert len(dict(data[(0, b"big")][0])) == 10000
        assert r2.client().hlen("big") == 10000
        assert r2.client().ttl("big") > 0
    finally:
        if r2 is not None:
            r2.stop()
        r1.stop()
        coord.stop()
