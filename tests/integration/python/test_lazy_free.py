"""Lazy free: dropping a big hash, set or sorted set (more than 64 elements
in a hashtable or skiplist) hands it to the lazy-free thread, as Redis's
UNLINK does, whatever drops it (DEL, UNLINK, an overwrite, FLUSHDB); a
small or compact one is freed by the command. INFO counts both."""
from waiting import until


def lazy(r):
    return r.info("stats")["lazyfreed_objects"]


def settled(r, want):
    """Waits until nothing is pending and `want` objects were freed lazily."""
    until(lambda: r.info("memory")["lazyfree_pending_objects"] == 0 and lazy(r) == want,
          "%d lazily freed objects, none pending" % want)


def test_big_collections_are_freed_by_the_lazy_free_thread(r):
    # The FLUSHALL before each test hands what the last test left to the
    # thread too: those are counted before the test's own.
    until(lambda: r.info("memory")["lazyfree_pending_objects"] == 0,
          "the frees of the last test's collections")
    base = lazy(r)
    r.hset("h", mapping={"f%d" % i: "v" for i in range(1000)})
    r.sadd("s", *["m%d" % i for i in range(1000)])
    r.zadd("z", {"m%d" % i: i for i in range(1000)})
    r.sadd("small", *["m%d" % i for i in range(10)])  # a listpack
    r.sadd("ints", *range(300))  # an intset: one allocation
    assert r.object("encoding", "z") == b"skiplist"
    assert r.delete("h", "small", "ints") == 3
    assert r.unlink("s") == 1
    settled(r, base + 2)
    r.set("z", "now a string")  # an overwrite drops the old value
    settled(r, base + 3)
    r.sadd("s2", *["m%d" % i for i in range(200)])  # past the listpack
    r.flushdb()
    settled(r, base + 4)
    assert r.dbsize() == 0
