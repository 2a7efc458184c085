"""Scripts and replicas: a script's writes reach the replicas as their
effects (so TIME and RANDOMKEY in a script give every PoP the same data), a
replica runs read-only scripts itself and refuses scripts that write."""
import threading
import time

import pytest
import redis

from cluster import dump, start_replica, wait_caught_up
from server import Server


@pytest.fixture
def pair(tmp_path):
    coord = Server(str(tmp_path / "coord")).start()
    replica = start_replica(str(tmp_path / "r1"), coord.port)
    yield coord, replica
    replica.stop()
    coord.stop()


def test_a_scripts_effects_replicate_not_the_script(pair):
    coord, replica = pair
    c = coord.client()
    c.mset({"k%d" % i: i for i in range(20)})
    # Different on every run of the script: only its effects can agree.
    c.eval("local t = redis.call('time') "
           "redis.call('set', 'stamp', t[1] .. '.' .. t[2]) "
           "local k = redis.call('randomkey') "
           "redis.call('set', 'picked', k) "
           "redis.call('set', 'copy:' .. k, math.random(1000000)) "
           "redis.call('incr', KEYS[1])", 1, "runs")
    wait_caught_up(c, [replica.client()])
    want, got = dump(c), dump(replica.client())
    assert want == got
    assert (0, b"stamp") in want and (0, b"picked") in want


def test_a_replica_runs_read_only_scripts_and_refuses_writing_ones(pair):
    coord, replica = pair
    coord.client().set("flag", "on")
    wait_caught_up(coord.client(), [replica.client()])
    r = replica.client()
    assert r.eval_ro("return redis.call('get', KEYS[1])", 1, "flag") == b"on"
    assert r.eval("#!lua flags=no-writes\nreturn redis.call('get', 'flag')", 0) == b"on"
    assert r.eval("return redis.call('get', 'flag')", 0) == b"on"
    with pytest.raises(redis.exceptions.ReadOnlyError):
        r.eval("#!lua\nreturn redis.call('set', 'flag', 'off')", 0)
    # A script without flags finds out at its write, as in Redis.
    with pytest.raises(redis.exceptions.ReadOnlyError, match="script: "):
        r.eval("return redis.call('set', 'flag', 'off')", 0)
    with pytest.raises(redis.ResponseError, match="Write commands are not allowed"):
        r.eval_ro("return redis.call('set', 'flag', 'off')", 0)
    assert r.get("flag") == b"on" and coord.client().get("flag") == b"on"


def test_with_write_forwarding_a_writing_script_runs_on_the_coordinator(tmp_path):
    """A replica runs a script itself until it writes; then the coordinator
    runs the whole script, sent with its body: EVALSHA of a script only the
    replica has cached works too. Reads stay local."""
    coord = Server(str(tmp_path / "coord")).start()
    replica = start_replica(str(tmp_path / "r1"), coord.port,
                            "--replica-write-forward", "yes")
    try:
        c, r = coord.client(), replica.client()
        c.set("hits", "10")
        wait_caught_up(c, [r])
        sha = r.script_load("local n = redis.call('incr', KEYS[1]) "
                            "redis.call('set', 'last', ARGV[1]) return n")
        assert c.script_exists(sha) == [False]
        assert r.evalsha(sha, 1, "hits", "pop-1") == 11
        # Read your writes at the PoP once WAIT 0 says it has them (their
        # records come back through replication), and the coordinator has
        # them.
        assert r.execute_command("WAIT", 0, 300 * 1000) == 1
        assert r.get("hits") == b"11" and r.get("last") == b"pop-1"
        assert c.get("hits") == b"11"
        # A script that only reads is answered by the replica itself.
        forwarded = coord.client().info("commandstats").get("cmdstat_eval", {}).get("calls", 0)
        assert r.eval("return redis.call('get', 'hits')", 0) == b"11"
        assert coord.client().info("commandstats").get(
            "cmdstat_eval", {}).get("calls", 0) == forwarded
        # Its errors come back as the coordinator's.
        with pytest.raises(redis.ResponseError, match="not an integer"):
            r.eval("redis.call('set', 'x', '1') return redis.call('incr', 'last')", 0)
        assert c.get("x") == b"1"
    finally:
        replica.stop()
        coord.stop()


LIBRARY = """#!lua name=edge
redis.register_function('hit', function(keys, args)
  return redis.call('incrby', keys[1], args[1]) end)
redis.register_function{function_name='look', callback=function(keys)
  return redis.call('get', keys[1]) end, flags={'no-writes'}}
"""


def names(client):
    return sorted(pairs(l)[b"library_name"].decode() for l in client.function_list())


def pairs(flat):
    """A RESP2 map (a flat list of keys and values) as a dict."""
    return dict(zip(flat[::2], flat[1::2]))


def test_libraries_reach_replicas_in_full_sync_and_in_the_stream(tmp_path):
    coord = Server(str(tmp_path / "coord")).start()
    replica = None
    try:
        c = coord.client()
        c.function_load(LIBRARY)
        c.function_load("#!lua name=old\nredis.register_function('old_fn', "
                        "function() return 'old' end)")
        # Loaded before the replica exists: the full sync brings them.
        replica = start_replica(str(tmp_path / "r1"), coord.port)
        r = replica.client()
        wait_caught_up(c, [r])
        assert names(r) == ["edge", "old"]
        # Then every change comes with the stream.
        assert c.fcall("hit", 1, "n", 3) == 3
        c.function_delete("old")
        c.function_load("#!lua name=late\nredis.register_function{function_name='late_fn', "
                        "callback=function() return 'late' end, flags={'no-writes'}}")
        wait_caught_up(c, [r])
        assert names(r) == ["edge", "late"]
        assert r.fcall_ro("look", 1, "n") == b"3"
        assert r.fcall("late_fn", 0) == b"late"
        # A writing function is refused on a replica, as in Redis.
        with pytest.raises(redis.exceptions.ReadOnlyError):
            r.fcall("hit", 1, "n", 1)
        with pytest.raises(redis.exceptions.ReadOnlyError):
            r.function_load("#!lua name=mine\nredis.register_function('m', "
                            "function() return 1 end)")
        # A replica restarted from its own disk has them too.
        replica.stop()
        replica.start()
        r = replica.client()
        wait_caught_up(c, [r])
        assert names(r) == ["edge", "late"]
        c.function_flush()
        wait_caught_up(c, [r])
        assert names(r) == []
    finally:
        if replica is not None:
            replica.stop()
        coord.stop()


def test_a_replica_changes_its_libraries_at_once(pair):
    """FUNCTION RESTORE ... FLUSH reaches a replica as a flush and then each
    library's code: FCALL there finds the function before, during and after
    every restore, never "Function not found" between the two."""
    coord, replica = pair
    c = coord.client()
    # Many functions: the replica takes a while to run the library's code,
    # the time a reader had to find it missing.
    c.function_load(LIBRARY + "".join(
        "redis.register_function('f%d', function() return %d end)\n" % (i, i)
        for i in range(2000)))
    c.set("k", "v")
    wait_caught_up(c, [replica.client()])
    payload = c.function_dump()
    stop, started = threading.Event(), threading.Event()
    calls, failures = [0], []

    def call_at_the_replica():
        r = replica.client()
        try:
            while not stop.is_set():
                assert r.fcall_ro("look", 1, "k") == b"v"
                calls[0] += 1
                started.set()
        except BaseException as e:  # reaches the test below
            failures.append(e)
            started.set()

    t = threading.Thread(target=call_at_the_replica)
    t.start()
    try:
        assert started.wait(300)
        seen = calls[0]
        for _ in range(20):
            c.function_restore(payload, "FLUSH")
        wait_caught_up(c, [replica.client()])
        # The reader went on calling while the restores arrived.
        deadline = time.monotonic() + 300  # a hang guard
        while calls[0] < seen + 100 and not failures and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        t.join(300)
    assert not t.is_alive()
    assert failures == []
    assert names(replica.client()) == ["edge"]


def test_with_write_forwarding_a_writing_function_runs_on_the_coordinator(tmp_path):
    coord = Server(str(tmp_path / "coord")).start()
    replica = start_replica(str(tmp_path / "r1"), coord.port,
                            "--replica-write-forward", "yes")
    try:
        c, r = coord.client(), replica.client()
        c.function_load(LIBRARY)
        wait_caught_up(c, [r])
        assert r.fcall("hit", 1, "visits", 5) == 5
        assert r.execute_command("WAIT", 0, 300 * 1000) == 1
        assert r.get("visits") == b"5" and c.get("visits") == b"5"
        # FUNCTION LOAD at a PoP is a write: the coordinator takes it, and it
        # comes back to every replica.
        assert r.function_load("#!lua name=popfn\nredis.register_function('p', "
                               "function() return 'p' end)") == b"popfn"
        wait_caught_up(c, [r])
        assert names(c) == names(r) == ["edge", "popfn"]
    finally:
        replica.stop()
        coord.stop()
