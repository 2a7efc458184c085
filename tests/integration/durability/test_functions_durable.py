"""Function libraries are data: FUNCTION LOAD, DELETE, FLUSH and RESTORE
are logged, so the libraries a client was told about are there after a
clean restart and after kill -9 (with appendfsync always), whether they
were still in the log or already in LevelDB."""
import redis

from server import Server

COUNTER = """#!lua name=counters
local function bump(keys, args)
  return redis.call('incrby', keys[1], args[1])
end
redis.register_function('bump', bump)
redis.register_function{function_name='peek', callback=function(keys)
  return redis.call('get', keys[1]) end, flags={'no-writes'}, description='read one'}
"""


def lib(name, fn):
    return "#!lua name=%s\nredis.register_function('%s', function() return '%s' end)" % (
        name, fn, name)


def libraries(client):
    return sorted(pairs(l)[b"library_name"].decode() for l in client.function_list())


def pairs(flat):
    """A RESP2 map (a flat list of keys and values) as a dict."""
    return dict(zip(flat[::2], flat[1::2]))


def test_libraries_survive_a_clean_restart(tmp_path):
    s = Server(str(tmp_path / "d")).start()
    try:
        c = s.client()
        assert c.function_load(COUNTER) == b"counters"
        assert c.fcall("bump", 1, "n", 5) == 5
        c.function_load(lib("gone", "gone_fn"))
        c.function_load(lib("kept", "kept_fn"))
        c.function_delete("gone")
        c.function_load(lib("kept", "kept_fn2"), replace=True)
        s.stop()
        s.start()
        c = s.client()
        assert libraries(c) == ["counters", "kept"]
        assert c.fcall("bump", 1, "n", 2) == 7
        assert c.fcall_ro("peek", 1, "n") == b"7"
        assert c.fcall("kept_fn2", 0) == b"kept"
        (entry,) = c.function_list(library="counters")
        peek = [pairs(f) for f in pairs(entry)[b"functions"] if pairs(f)[b"name"] == b"peek"][0]
        assert peek[b"description"] == b"read one" and peek[b"flags"] == [b"no-writes"]
        try:
            c.fcall("kept_fn", 0)
            raise AssertionError("a replaced function is still there")
        except redis.ResponseError as e:
            assert "Function not found" in str(e)
    finally:
        s.stop()


def test_acknowledged_library_changes_survive_kill_9(tmp_path):
    s = Server(str(tmp_path / "d"), "--appendfsync", "always").start()
    try:
        c = s.client()
        for i in range(30):
            c.function_load(lib("l%d" % i, "f%d" % i))
        c.function_delete("l3")
        payload = c.function_dump()
        c.function_flush()
        c.function_load(lib("solo", "solo_fn"))
        c.function_restore(payload, "APPEND")
        c.function_delete("l7")
        want = sorted(["solo"] + ["l%d" % i for i in range(30) if i not in (3, 7)])
        assert libraries(c) == want
        s.kill()
        s.start()
        c = s.client()
        assert libraries(c) == want
        assert c.fcall("f12", 0) == b"l12" and c.fcall("solo_fn", 0) == b"solo"
        # FUNCTION FLUSH is logged too.
        c.function_flush()
        s.kill()
        s.start()
        assert libraries(s.client()) == []
    finally:
        s.stop()
