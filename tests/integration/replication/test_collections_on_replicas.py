"""Hashes, sets and sorted sets on replicas: every change reaches the PoPs as the
elements it changed (the log records fields and members, not whole
collections), by the live stream, by a partial resync after a replica
restarts and by a full sync's snapshot, and every PoP ends with the same
collections as the coordinator."""
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


def set_load(c, rng, steps):
    """Random set writes on a few keys, integers (intsets) and strings."""
    keys = ["s%d" % i for i in range(8)]
    member = lambda: rng.choice(["%d" % rng.randrange(60), "m%d" % rng.randrange(60)])  # noqa: E731
    for _ in range(steps):
        k = rng.choice(keys)
        op = rng.randrange(10)
        if op < 4:
            c.sadd(k, *[member() for _ in range(rng.randint(1, 5))])
        elif op == 4:
            c.srem(k, *[member() for _ in range(3)])
        elif op == 5:
            c.spop(k, rng.randint(1, 3))
        elif op == 6:
            c.smove(k, rng.choice(keys), member())
        elif op == 7:
            c.execute_command(rng.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]),
                              rng.choice(keys), k, rng.choice(keys))
        elif op == 8:
            c.expire(k, rng.randint(100, 1000))
        else:
            c.delete(k)


def zset_load(c, rng, steps):
    """Random sorted-set writes on a few keys."""
    keys = ["z%d" % i for i in range(8)]
    for _ in range(steps):
        k = rng.choice(keys)
        op = rng.randrange(10)
        m = "m%d" % rng.randrange(80)
        if op < 4:
            c.zadd(k, {"m%d" % rng.randrange(80): rng.choice([rng.randint(-5, 5), rng.random()])
                       for _ in range(rng.randint(1, 4))})
        elif op == 4:
            c.zincrby(k, rng.choice([1, -2.5]), m)
        elif op == 5:
            c.zrem(k, m, "m%d" % rng.randrange(80))
        elif op == 6:
            rng.choice([c.zpopmin, c.zpopmax])(k, rng.randint(1, 3))
        elif op == 7:
            c.zremrangebyscore(k, rng.randint(-5, 0), rng.randint(0, 5))
        elif op == 8:
            c.execute_command(rng.choice(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]),
                              rng.choice(keys), 2, k, rng.choice(keys))
        else:
            c.expire(k, rng.randint(100, 1000))


def assert_same(coord, replica):
    want, got = dump(coord.client()), dump(replica.client())
    assert want == got, diff(want, got)
    return want


def test_collections_converge_by_stream_partial_resync_and_full_sync(tmp_path):
    coord = Server(str(tmp_path / "coord")).start()
    r1 = start_replica(str(tmp_path / "r1"), coord.port)
    r2 = None
    try:
        c = coord.client()
        rng = random.Random(7)
        hash_load(c, rng, 3000)
        set_load(c, rng, 3000)
        zset_load(c, rng, 3000)
        # One hash and one set far larger than a snapshot batch, with an expiry.
        pipe = c.pipeline(transaction=False)
        for i in range(20000):
            pipe.hset("big", "field%d" % i, "x" * (i % 50))
            pipe.sadd("bigset", "member%d" % i)
            pipe.zadd("bigzset", {"member%d" % i: i % 997})
        pipe.execute()
        c.expire("big", 10000)
        c.eval("redis.call('hset', KEYS[1], 'by', 'script') "
               "redis.call('hincrby', KEYS[1], 'runs', 1)", 1, "scripted")
        wait_caught_up(c, [r1.client()])
        data = assert_same(coord, r1)
        assert len(dict(data[(0, b"big")][0])) == 20000
        assert r1.client().type("big") == b"hash"
        assert r1.client().hget("scripted", "by") == b"script"
        assert r1.client().scard("bigset") == 20000
        assert r1.client().zcard("bigzset") == 20000

        # A replica away for a while resumes with what it missed.
        r1.stop()
        hash_load(c, rng, 2000)
        set_load(c, rng, 2000)
        zset_load(c, rng, 2000)
        c.zremrangebyrank("bigzset", 0, 4999)
        c.hdel("big", *["field%d" % i for i in range(0, 20000, 2)])
        c.srem("bigset", *["member%d" % i for i in range(0, 20000, 4)])
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
        assert r2.client().scard("bigset") == 15000
        assert r2.client().object("encoding", "bigset") == b"hashtable"
        assert r2.client().zcard("bigzset") == 15000
        assert r2.client().object("encoding", "bigzset") == b"skiplist"
    finally:
        if r2 is not None:
            r2.stop()
        r1.stop()
        coord.stop()
