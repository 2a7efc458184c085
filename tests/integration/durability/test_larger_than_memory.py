"""A dataset much larger than maxmemory: cold keys are read from LevelDB,
nothing is lost, and the process's memory stays bounded."""
import os
import random

import pytest
import redis

from server import Server

MAXMEMORY_MB = 64
# Fixed base on top of 2 x maxmemory: LevelDB memtables (2 x 4 MB), block
# cache (8 MB), the applier's group (8 MB, about twice that while applied),
# WAL buffers, allocator slack, code.
BASE_MB = 96
# Sorted sets on top of that: the applier writes each member twice (its
# element record and its score-index record), so its LevelDB batches for
# them are twice the size. The sorted-set load below peaks at about 156 MB
# on a quiet machine, and went past the 160 MB of the other types (163, 172)
# on a busy one.
ZSET_INDEX_MB = 24
VALUE_SIZE = 1024
# 1 GB of values; a sanitizer build, where memory is not measured, writes a
# quarter of it (still four times maxmemory).
KEYS = 262_144 if os.environ.get("EDGEKV_SANITIZED") else 1_000_000


def value_of(i):
    seed = ("%08d" % i).encode()
    return (seed * (VALUE_SIZE // len(seed) + 1))[:VALUE_SIZE]


def add_all(c, kind, key, items):
    """HSET (a dict), ZADD (member -> score) or SADD (a set) of all items."""
    if kind == "hash":
        c.hset(key, mapping=items)
    elif kind == "zset":
        c.zadd(key, items)
    else:
        c.sadd(key, *items)


def test_one_gigabyte_through_64mb_of_memory(tmp_path):
    assert KEYS * VALUE_SIZE >= 4 * (MAXMEMORY_MB << 20)
    srv = Server(str(tmp_path / "data"), "--maxmemory", "%dmb" % MAXMEMORY_MB).start()
    c = srv.client()
    try:
        batch = 2000
        for start in range(0, KEYS, batch):
            pipe = c.pipeline(transaction=False)
            for i in range(start, min(start + batch, KEYS)):
                pipe.set("key:%08d" % i, value_of(i))
            pipe.execute()
        assert c.dbsize() == KEYS
        rng = random.Random(7)
        sample = rng.sample(range(KEYS), 10_000)
        pipe = c.pipeline(transaction=False)
        for i in sample:
            pipe.get("key:%08d" % i)
        got = pipe.execute()
        wrong = [i for i, v in zip(sample, got) if v != value_of(i)]
        assert not wrong, "wrong or missing values for %d keys, e.g. %s" % (len(wrong), wrong[:3])

        # Not in a sanitizer build (tools/sanitize.sh): its shadow memory and
        # quarantine multiply the process's memory.
        if not os.environ.get("EDGEKV_SANITIZED"):
            peak_mb = srv.rss_peak_kb() / 1024
            assert peak_mb < 2 * MAXMEMORY_MB + BASE_MB, "peak RSS %.0f MB" % peak_mb
        stats = c.info("stats")
        assert stats["keys_moved_to_disk"] > KEYS // 2
        # The applier's bound follows maxmemory: four groups of an eighth.
        persistence = c.info("persistence")
        assert persistence["disk_apply_queue_limit_bytes"] == 4 * (MAXMEMORY_MB << 20) // 8
        assert persistence["disk_writes_paced"] in (0, 1)
        assert persistence["disk_apply_rate_bytes_per_sec"] > 0

        # A key that is only on disk: one cold read, then hot.
        cold_key = None
        for i in range(0, KEYS, 9973):
            k = "key:%08d" % i
            before = c.info("stats")
            c.get(k)
            after = c.info("stats")
            if after["cold_reads"] == before["cold_reads"] + 1:
                cold_key = k
                break
        assert cold_key is not None, "no key was on disk only"
        before = c.info("stats")
        assert c.get(cold_key) is not None
        after = c.info("stats")
        assert after["cold_reads"] == before["cold_reads"]
        assert after["hot_reads"] == before["hot_reads"] + 1
        # Keys that do not exist are not read from disk again and again.
        c.get("no-such-key")
        before = c.info("stats")
        for _ in range(100):
            assert c.get("no-such-key") is None
        after = c.info("stats")
        assert after["cold_misses"] == before["cold_misses"]
    finally:
        srv.stop()


def test_the_applier_bound_follows_config_set_maxmemory(tmp_path):
    srv = Server(str(tmp_path / "data")).start()
    try:
        c = srv.client()

        def limit():
            return c.info("persistence")["disk_apply_queue_limit_bytes"]

        assert limit() == 4 * (32 << 20)  # no maxmemory: four 32 MB groups
        c.config_set("maxmemory", "64mb")
        assert limit() == 4 * (64 << 20) // 8
        for i in range(2000):  # writes go on under the new bound
            c.set("k:%d" % i, "v" * 100)
        c.save()
        assert c.info("persistence")["disk_apply_queue_bytes"] == 0
        c.config_set("maxmemory", "0")
        assert limit() == 4 * (32 << 20)
    finally:
        srv.stop()


@pytest.mark.parametrize("kind", ["hash", "set", "zset"])
def test_collections_larger_than_memory_move_to_disk_and_come_back(tmp_path, kind):
    """Many hashes (sets, sorted sets), together four times maxmemory: the cold ones leave
    memory (whole, once their elements are on disk) and are read back element
    by element from LevelDB; nothing is lost."""
    maxmemory_mb = 32
    srv = Server(str(tmp_path / "data"), "--maxmemory", "%dmb" % maxmemory_mb).start()
    c = srv.client()
    hashes, fields = 2500, 50  # 2500 x 50 x ~1 KB: about 128 MB

    def field_value(h, f):
        return value_of(h * fields + f)

    def contents(h):
        if kind == "hash":
            return {b"f%02d" % f: field_value(h, f) for f in range(fields)}
        if kind == "zset":
            return {b"%02d:" % f + field_value(h, f): float(f) for f in range(fields)}
        return {b"%02d:" % f + field_value(h, f) for f in range(fields)}

    try:
        for h in range(hashes):
            add_all(c, kind, "hash:%05d" % h, contents(h))
        assert c.dbsize() == hashes
        assert c.info("stats")["keys_moved_to_disk"] > hashes // 2
        rng = random.Random(11)
        for h in rng.sample(range(hashes), 200):
            key = "hash:%05d" % h
            assert c.type(key) == kind.encode()
            if kind == "hash":
                assert c.hlen(key) == fields
                assert c.hgetall(key) == contents(h), key
            elif kind == "zset":
                assert c.zcard(key) == fields
                assert dict(c.zrange(key, 0, -1, withscores=True)) == contents(h), key
            else:
                assert c.scard(key) == fields
                assert c.smembers(key) == contents(h), key
        # DEL of a collection only on disk reads its record, not its elements.
        cold = None
        for h in range(hashes):
            key = "hash:%05d" % h
            if c.object("idletime", key) == 65535:  # only on disk
                cold = key
                break
        assert cold is not None, "no collection was on disk only"
        # Point reads of it read those elements alone and leave it on disk.
        h = int(cold[len("hash:"):])
        before = c.info("stats")
        if kind == "hash":
            assert c.hget(cold, "f07") == field_value(h, 7)
            assert c.hmget(cold, ["f01", "nope", "f49"]) == [
                field_value(h, 1), None, field_value(h, 49)]
            assert c.hexists(cold, "f02") and not c.hexists(cold, "nope")
            assert c.hstrlen(cold, "f03") == VALUE_SIZE
            assert c.hget(cold, "nope") is None
            reads = 1 + 3 + 2 + 1 + 1
        else:
            member = lambda f: b"%02d:" % f + field_value(h, f)  # noqa: E731
            if kind == "zset":
                assert c.zscore(cold, member(7)) == 7.0
                assert c.zmscore(cold, [member(1), "nope"]) == [1.0, None]
                assert c.zscore(cold, "nope") is None
            else:
                assert c.sismember(cold, member(7))
                assert [bool(x) for x in c.smismember(cold, [member(1), "nope"])] == [
                    True, False]
                assert not c.sismember(cold, "nope")
            reads = 4
        assert {"hash": c.hlen, "set": c.scard, "zset": c.zcard}[kind](cold) == fields
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            c.get(cold)
        # So do the reads of its type and expiry.
        assert c.exists(cold) == 1
        assert c.type(cold) == kind.encode()
        assert c.ttl(cold) == -1 and c.pttl(cold) == -1 and c.expiretime(cold) == -1
        after = c.info("stats")
        assert after["cold_element_reads"] == before["cold_element_reads"] + reads
        assert after["cold_reads"] == before["cold_reads"]
        assert c.object("idletime", cold) == 65535
        if kind == "zset":
            # Ranges and ranks read its score index and leave it there too.
            m = lambda f: b"%02d:" % f + field_value(h, f)  # noqa: E731
            assert c.zrank(cold, m(10)) == 10 and c.zrevrank(cold, m(45)) == 4
            assert c.zrank(cold, "nope") is None
            assert c.zrange(cold, 0, 2, withscores=True) == [(m(f), float(f)) for f in range(3)]
            assert c.zrange(cold, -3, -1) == [m(f) for f in range(47, 50)]
            assert c.zrevrange(cold, 0, 1) == [m(49), m(48)]
            assert c.zrangebyscore(cold, "(10", 12) == [m(11), m(12)]
            assert c.zrevrangebyscore(cold, 30, "-inf", start=1, num=2) == [m(29), m(28)]
            assert c.zcount(cold, 5, "(10") == 5
            assert c.zrange(cold, 2, 3, desc=True) == [m(47), m(46)]
            stats = c.info("stats")
            assert stats["cold_reads"] == after["cold_reads"], "the sorted set was loaded"
            assert stats["cold_element_reads"] > after["cold_element_reads"]
            assert c.object("idletime", cold) == 65535
            after = stats
        before = after
        assert c.delete(cold) == 1
        after = c.info("stats")
        assert after["cold_reads"] == before["cold_reads"]
        assert c.exists(cold) == 0 and c.dbsize() == hashes - 1
        if not os.environ.get("EDGEKV_SANITIZED"):
            peak_mb = srv.rss_peak_kb() / 1024
            bound = 2 * maxmemory_mb + BASE_MB + (ZSET_INDEX_MB if kind == "zset" else 0)
            assert peak_mb < bound, "peak RSS %.0f MB" % peak_mb
    finally:
        srv.stop()


@pytest.mark.parametrize("kind", ["hash", "set", "zset"])
def test_changes_to_a_collection_on_disk_leave_it_there(tmp_path, kind):
    """A collection past its compact encoding's limit (16 here) that is only
    on disk stays there when its elements or its expiry change: the changes
    wait in memory until the disk has them; a command that needs the whole
    collection sees disk and changes together, and so does a restart."""
    limits = ["--hash-max-listpack-entries", "16", "--set-max-intset-entries", "16",
              "--set-max-listpack-entries", "16", "--zset-max-listpack-entries", "16",
              "--enable-debug-command", "yes"]
    srv = Server(str(tmp_path / "data"), "--maxmemory", "16mb", *limits).start()
    count, fields = 1000, 50  # 1000 x 50 x ~1 KB: about 50 MB

    def member(h, f):
        return b"%02d:" % f + value_of(h * fields + f)

    def contents(h):
        if kind == "hash":
            return {b"f%02d" % f: value_of(h * fields + f) for f in range(fields)}
        if kind == "zset":
            return {member(h, f): float(f) for f in range(fields)}
        return {member(h, f) for f in range(fields)}

    def whole(c, key):
        """All of it, by a command that loads it whole."""
        if kind == "hash":
            flat = c.hrandfield(key, 1 << 20, withvalues=True)
            return dict(zip(flat[::2], flat[1::2]))
        if kind == "zset":
            return dict(c.zunion([key], withscores=True))
        return c.sunion([key])

    def scan(c, key, cursor, **options):
        """One HSCAN (SSCAN, ZSCAN): the next cursor and what it returned,
        as a list of elements (of (element, value) pairs)."""
        cursor, batch = {"hash": c.hscan, "set": c.sscan, "zset": c.zscan}[kind](
            key, cursor, **options)
        return cursor, list(batch.items()) if kind == "hash" else list(batch)

    def scanned(c, key, cursor=0, **options):
        """A whole cursor loop from `cursor`: what it returned, and the calls."""
        got, calls = [], 0
        while True:
            cursor, batch = scan(c, key, cursor, **options)
            got += batch
            calls += 1
            if cursor == 0:
                return got, calls

    def like_expected(elements):
        return set(elements) if kind == "set" else dict(elements)

    try:
        c = srv.client()
        for h in range(count):
            add_all(c, kind, "coll:%05d" % h, contents(h))
        cold = next((k for k in ("coll:%05d" % h for h in range(count))
                     if c.object("idletime", k) == 65535), None)
        assert cold is not None, "no collection was on disk only"
        h = int(cold[len("coll:"):])
        expected = contents(h)
        # The changes below stay in memory until the reads have merged them
        # (the applier waits).
        assert c.execute_command("DEBUG", "SET-DISK-APPLY", "0") == b"OK"
        before = c.info("stats")
        if kind == "hash":
            assert c.hset(cold, mapping={"new": "v", "f07": "changed"}) == 1
            assert c.hdel(cold, "f01", "nope") == 1
            assert c.hget(cold, "f07") == b"changed" and c.hget(cold, "new") == b"v"
            assert c.hget(cold, "f01") is None and c.hget(cold, "f02") == expected[b"f02"]
            assert c.hsetnx(cold, "f03", "x") == 0 and c.hsetnx(cold, "nx", "y") == 1
            assert c.hincrby(cold, "counter", 5) == 5
            assert c.hincrbyfloat(cold, "counter", 0.5) == 5.5
            with pytest.raises(redis.ResponseError, match="not an integer"):
                c.hincrby(cold, "f04", 1)
            expected.update({b"new": b"v", b"f07": b"changed", b"nx": b"y",
                             b"counter": b"5.5"})
            del expected[b"f01"]
        elif kind == "zset":
            assert c.zadd(cold, {"new": 1.5, member(h, 7): 70}) == 1
            assert c.zincrby(cold, 1, member(h, 8)) == 9.0
            assert c.zadd(cold, {member(h, 9): 9}, nx=True) == 0
            assert c.zrem(cold, member(h, 1), "nope") == 1
            assert c.zscore(cold, member(h, 7)) == 70 and c.zscore(cold, member(h, 1)) is None
            expected.update({b"new": 1.5, member(h, 7): 70.0, member(h, 8): 9.0})
            del expected[member(h, 1)]
        else:
            assert c.sadd(cold, "new", member(h, 7)) == 1
            assert c.srem(cold, member(h, 1), "nope") == 1
            assert c.sismember(cold, "new") and not c.sismember(cold, member(h, 1))
            expected = (expected | {b"new"}) - {member(h, 1)}
        # A script's change too (it runs alone rather than copy the collection).
        script = {"hash": "return redis.call('hset', KEYS[1], 'scripted', '1')",
                  "set": "return redis.call('sadd', KEYS[1], 'scripted')",
                  "zset": "return redis.call('zadd', KEYS[1], 1, 'scripted')"}[kind]
        assert c.eval(script, 1, cold) == 1
        if kind == "hash":
            expected[b"scripted"] = b"1"
        elif kind == "zset":
            expected[b"scripted"] = 1.0
        else:
            expected.add(b"scripted")
        assert c.expire(cold, 3600) == 1 and 3500 < c.ttl(cold) <= 3600
        assert {"hash": c.hlen, "set": c.scard, "zset": c.zcard}[kind](cold) == len(expected)
        assert c.object("encoding", cold) == (b"skiplist" if kind == "zset" else b"hashtable")
        after = c.info("stats")
        assert after["cold_reads"] == before["cold_reads"], "the collection was loaded"
        if kind == "zset":
            # Ranges and pops read the score index with the changes merged
            # in, in order, and leave it on disk.
            in_order = sorted(expected.items(), key=lambda ms: (ms[1], ms[0]))
            assert c.zrange(cold, 0, -1, withscores=True) == in_order
            assert c.zrank(cold, "new") == in_order.index((b"new", 1.5))
            assert c.zrevrange(cold, 0, 0) == [in_order[-1][0]]
            assert c.zpopmin(cold) == [in_order[0]]
            assert c.zremrangebyscore(cold, 70, 70) == 1
            del expected[in_order[0][0]], expected[member(h, 7)]
            assert c.zrange(cold, 0, -1, withscores=True) == sorted(
                expected.items(), key=lambda ms: (ms[1], ms[0]))
            assert c.info("stats")["cold_reads"] == after["cold_reads"], "it was loaded"
        # HSCAN (SSCAN, ZSCAN) walks it on disk, a few elements a call, with
        # the changes merged in, each element once.
        got, calls = scanned(c, cold, count=7)
        assert like_expected(got) == expected and len(got) == len(expected)
        assert calls >= len(expected) // 7
        prefix = b"f0" if kind == "hash" else b"0"
        got, _ = scanned(c, cold, match=prefix.decode() + "*", count=5)
        assert got and like_expected(got) == like_expected(
            e for e in (expected if kind == "set" else expected.items())
            if (e if kind == "set" else e[0]).startswith(prefix))
        assert c.info("stats")["cold_reads"] == after["cold_reads"], "it was loaded"
        # So do the commands that return all of it.
        if kind == "hash":
            assert c.hgetall(cold) == expected
            assert c.hkeys(cold) == sorted(expected) and c.hvals(cold) == [
                expected[f] for f in sorted(expected)]
        elif kind == "set":
            assert c.smembers(cold) == expected
        assert c.info("stats")["cold_reads"] == after["cold_reads"], "it was loaded"
        assert c.execute_command("DEBUG", "SET-DISK-APPLY", "1") == b"OK"
        # A scan begun on disk and ended in memory starts over there: it may
        # return elements twice, and misses none.
        cursor, first = scan(c, cold, 0, count=7)
        assert cursor != 0 and len(first) == 7
        assert whole(c, cold) == expected
        assert c.info("stats")["cold_reads"] == after["cold_reads"] + 1
        got, _ = scanned(c, cold, cursor, count=7)
        assert like_expected(first + got) == expected
        srv.stop()
        srv = Server(str(tmp_path / "data"), "--maxmemory", "16mb", *limits).start()
        c = srv.client()
        assert whole(c, cold) == expected
        assert 3500 < c.ttl(cold) <= 3600
        assert c.dbsize() == count
    finally:
        srv.stop()


def test_one_hash_larger_than_maxmemory(tmp_path):
    """One hash of 100 MB written through 32 MB of memory: once it leaves
    memory, its fields are changed, read and scanned on disk, so memory
    stays bounded; nothing is lost."""
    maxmemory_mb = 32
    srv = Server(str(tmp_path / "data"), "--maxmemory", "%dmb" % maxmemory_mb).start()
    c = srv.client()
    fields, batch = 100_000, 100
    try:
        for i in range(0, fields, batch):
            c.hset("big", mapping={b"f%d" % j: value_of(j) for j in range(i, i + batch)})
        assert c.hlen("big") == fields
        assert c.object("encoding", "big") == b"hashtable"
        assert c.info("stats")["cold_element_reads"] > 0, "the hash never left memory"
        rng = random.Random(5)
        sample = rng.sample(range(fields), 2000)
        got = c.hmget("big", [b"f%d" % j for j in sample])
        wrong = [j for j, v in zip(sample, got) if v != value_of(j)]
        assert not wrong, "wrong or missing fields, e.g. %s" % wrong[:3]
        assert c.hdel("big", "f1", "f2", "nope") == 2
        assert c.hset("big", "f3", "short") == 0 and c.hget("big", "f3") == b"short"
        assert c.hlen("big") == fields - 2
        assert c.expire("big", 3600) == 1 and c.ttl("big") > 3500
        # HSCAN walks it on disk, a thousand fields a call, each field once.
        seen, wrong, cursor = 0, [], 0
        while True:
            cursor, batch = c.hscan("big", cursor, count=1000)
            seen += len(batch)
            wrong += [f for f, v in batch.items()
                      if v != (b"short" if f == b"f3" else value_of(int(f[1:])))]
            if cursor == 0:
                break
        assert seen == fields - 2 and not wrong, wrong[:3]
        if not os.environ.get("EDGEKV_SANITIZED"):
            peak_mb = srv.rss_peak_kb() / 1024
            assert peak_mb < 2 * maxmemory_mb + BASE_MB, "peak RSS %.0f MB" % peak_mb
    finally:
        srv.stop()
