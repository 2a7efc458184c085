"""Scripts and replicas: a script's writes reach the replicas as their
effects (so TIME and RANDOMKEY in a script give every PoP the same data), a
replica runs read-only scripts itself and refuses scripts that write."""
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
        # Read your writes at the PoP, and the coordinator has them.
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
