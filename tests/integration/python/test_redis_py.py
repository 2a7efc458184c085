"""redis-py against edgekv, used the way applications use it."""
import inspect
import os
import threading
import time

import pytest
import redis
from redis.exceptions import ResponseError, WatchError


def test_connection_handshake_name_and_db(server):
    # client_name and db make redis-py send CLIENT SETNAME and SELECT on connect.
    c = server.client(client_name="py-app", db=3, decode_responses=True)
    assert c.ping() is True
    assert c.client_getname() == "py-app"
    assert c.set("where", "db3") is True
    info = c.client_info()
    assert info["name"] == "py-app"
    assert str(info["db"]) == "3"
    assert server.client(db=0).get("where") is None
    assert server.client(db=3).get("where") == b"db3"
    c.close()


def test_basic_string_commands(r):
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert r.set("k", "w", nx=True) is None
    assert r.set("k", "w", xx=True, get=True) == b"v"
    assert r.mset({"a": 1, "b": 2}) is True
    assert r.mget("a", "b", "nope") == [b"1", b"2", None]
    assert r.incr("a") == 2
    assert r.incrby("a", 10) == 12
    assert r.decr("a") == 11
    assert r.incrbyfloat("f", 1.5) == 1.5
    assert r.append("k", "xyz") == 4
    assert r.strlen("k") == 4
    assert r.getrange("k", 1, 2) == b"xy"
    assert r.getdel("k") == b"wxyz"
    assert r.exists("k", "a", "b") == 2
    assert r.type("a") == b"string"
    assert r.copy("a", "a2") is True
    assert r.rename("a2", "a3") is True
    assert r.get("a3") == b"11"
    assert r.dbsize() == 4
    assert sorted(r.keys("*")) == [b"a", b"a3", b"b", b"f"]
    assert r.delete("a", "a3", "nope") == 2
    assert r.randomkey() in (b"b", b"f")
    assert r.flushdb() is True
    assert r.dbsize() == 0
    t = r.time()
    assert abs(t[0] - time.time()) < 5


def test_decode_responses(server):
    c = server.client(decode_responses=True)
    c.set("ключ", "значение")
    assert c.get("ключ") == "значение"
    assert c.strlen("ключ") == len("значение".encode())
    c.close()


def test_pipeline_without_transaction(r):
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"p:{i}", i)
        pipe.incr("counter")
    results = pipe.execute()
    assert len(results) == 2000
    assert results[0::2] == [True] * 1000
    assert results[1::2] == list(range(1, 1001))
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.get(f"p:{i}")
    assert pipe.execute() == [str(i).encode() for i in range(1000)]


def test_pipeline_transaction(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("a", 1).incr("a").get("a").mget("a", "missing")
    assert pipe.execute() == [True, 2, b"2", [b"2", None]]

    # A runtime error inside EXEC does not stop the other commands.
    r.set("s", "text")
    pipe = r.pipeline(transaction=True)
    pipe.incr("s").set("b", 1)
    with pytest.raises(ResponseError, match="value is not an integer or out of range"):
        pipe.execute()
    assert r.get("b") == b"1"
    pipe = r.pipeline(transaction=True)
    pipe.incr("s").set("b", 2)
    res = pipe.execute(raise_on_error=False)
    assert isinstance(res[0], ResponseError)
    assert res[1] is True


def test_watch_retry_loop_with_concurrent_modification(server, r):
    other = server.client()
    r.set("balance", 100)
    attempts = 0
    with r.pipeline() as pipe:
        while True:
            try:
                pipe.watch("balance")
                balance = int(pipe.get("balance"))
                attempts += 1
                if attempts == 1:
                    other.incrby("balance", 50)  # someone else writes meanwhile
                pipe.multi()
                pipe.set("balance", balance - 30)
                pipe.execute()
                break
            except WatchError:
                continue
    assert attempts == 2
    assert r.get("balance") == b"120"  # 100 + 50 - 30: no lost update
    other.close()


def test_watch_concurrent_increments_lose_nothing(server):
    server.client().set("ctr", 0)
    n_threads, per_thread = 4, 50
    errors = []

    def worker():
        c = server.client()
        try:
            for _ in range(per_thread):
                def incr(pipe):
                    v = int(pipe.get("ctr"))
                    pipe.multi()
                    pipe.set("ctr", v + 1)
                c.transaction(incr, "ctr")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)  # a hang guard
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert server.client().get("ctr") == str(n_threads * per_thread).encode()


def test_transaction_discard_and_unwatch(r):
    pipe = r.pipeline()
    pipe.watch("w")
    pipe.unwatch()
    pipe.multi()
    pipe.set("w", 1)
    pipe.reset()  # DISCARD path: nothing is written
    assert r.get("w") is None


def test_binary_values(r):
    value = bytes(range(256)) * 40 + b"\r\n\x00\r\n$5\r\n*1\r\n"
    key = b"bin\x00key\r\n\xff"
    assert r.set(key, value) is True
    assert r.get(key) == value
    assert r.strlen(key) == len(value)
    assert r.get(b"bin") is None
    assert r.append(key, b"\x00") == len(value) + 1
    assert r.getrange(key, -2, -1) == b"\n\x00"
    r.mset({b"\x00": b"\x01", b"\xfe": b""})
    assert r.mget(b"\x00", b"\xfe") == [b"\x01", b""]
    big = bytes((i * 7) & 0xFF for i in range(2 * 1024 * 1024))
    r.set("big", big)
    assert r.get("big") == big


def test_ttl_expiry(r):
    assert r.set("short", "x", px=200) is True
    assert 0 < r.pttl("short") <= 200
    assert r.ttl("short") in (0, 1)
    r.set("long", "y", ex=100)
    assert 95 <= r.ttl("long") <= 100
    assert r.expiretime("long") >= int(time.time()) + 95
    time.sleep(0.35)
    assert r.get("short") is None
    assert r.exists("short") == 0
    assert r.pttl("short") == -2
    # EXPIRETIME rounds to the nearest second, like TTL.
    r.set("at", "z")
    assert r.pexpireat("at", 4_102_444_800_600) is True
    assert r.pexpiretime("at") == 4_102_444_800_600
    assert r.expiretime("at") == 4_102_444_801
    assert r.persist("long") is True
    assert r.ttl("long") == -1
    assert r.expire("long", 1) is True
    assert r.pexpire("long", 100) is True
    time.sleep(0.25)
    assert r.get("long") is None
    # getex/setex/psetex
    r.setex("se", 100, "v")
    assert 95 <= r.ttl("se") <= 100
    assert r.getex("se", persist=True) == b"v"
    assert r.ttl("se") == -1
    r.psetex("pse", 150, "v")
    time.sleep(0.3)
    assert r.get("pse") is None


def test_expired_keys_are_reaped_without_access(r):
    # The active expire cycle removes keys nobody touches.
    for i in range(200):
        r.set(f"tmp:{i}", "x", px=100)
    r.set("keep", "x")
    deadline = time.monotonic() + 60  # a hang guard
    while time.monotonic() < deadline and r.dbsize() > 1:
        time.sleep(0.1)
    assert r.dbsize() == 1


def test_scan_iter_10k_keys(r):
    pipe = r.pipeline(transaction=False)
    expected = set()
    for i in range(10000):
        k = f"key:{i}"
        expected.add(k.encode())
        pipe.set(k, i)
    pipe.execute()
    assert r.dbsize() == 10000

    seen = list(r.scan_iter(count=100))
    assert len(seen) == 10000  # every key exactly once (no writes during the scan)
    assert set(seen) == expected

    matched = list(r.scan_iter(match="key:99*", count=500))
    assert sorted(matched) == sorted(k for k in expected if k.startswith(b"key:99"))
    assert len(matched) == 111  # key:99, key:990..999, key:9900..9999

    # Explicit cursor loop with a default COUNT.
    cursor, total = 0, 0
    while True:
        cursor, keys = r.scan(cursor)
        total += len(keys)
        if cursor == 0:
            break
    assert total == 10000


def test_scan_type_and_errors(r):
    r.set("a", 1)
    assert list(r.scan_iter(_type="string")) == [b"a"]
    assert list(r.scan_iter(_type="list")) == []
    with pytest.raises(ResponseError, match="invalid cursor"):
        r.execute_command("SCAN", "notacursor")


def supports_resp3():
    return "protocol" in inspect.signature(redis.Redis.__init__).parameters


@pytest.mark.skipif(not supports_resp3(), reason="installed redis-py has no protocol=3")
def test_resp3_protocol(server):
    c = server.client(protocol=3)
    assert c.ping() is True
    c.set("k", "v")
    assert c.get("k") == b"v"
    assert c.get("missing") is None
    assert c.config_get("maxclients") == {b"maxclients": b"10000"} or \
        c.config_get("maxclients") == {"maxclients": "10000"}
    c.close()


def test_resp3_hello_raw(r):
    # redis-py 4.3 has no RESP3 parser, but HELLO 2 still works through it.
    hello = r.execute_command("HELLO", "2")
    fields = dict(zip(hello[0::2], hello[1::2]))
    assert fields[b"server"] == b"redis"
    assert fields[b"proto"] == 2
    with pytest.raises(ResponseError, match="NOPROTO unsupported protocol version"):
        r.execute_command("HELLO", "4")


def test_info_parsing(r):
    r.set("a", 1)
    r.set("b", 2, ex=100)
    info = r.info()
    assert "redis_version" in info
    assert info["redis_version"].count(".") == 2
    assert info["tcp_port"] == r.connection_pool.connection_kwargs["port"]
    assert isinstance(info["connected_clients"], int)
    assert info["db0"]["keys"] == 2
    assert info["db0"]["expires"] == 1
    keyspace = r.info("keyspace")
    assert keyspace["db0"]["keys"] == 2
    assert "db1" not in keyspace
    stats = r.info("stats")
    assert stats["total_commands_processed"] > 0
    assert "used_memory" in r.info("memory")
    everything = r.info("all")
    assert "redis_version" in everything and "total_connections_received" in everything


def test_config_get_set(r):
    assert r.config_get("maxclients") == {"maxclients": "10000"}
    assert r.config_set("maxclients", 500) is True
    assert r.config_get("maxclients") == {"maxclients": "500"}
    assert r.config_set("timeout", 0) is True
    some = r.config_get("*max*")
    assert "maxclients" in some and "maxmemory" in some
    with pytest.raises(ResponseError, match="Unknown option or number of arguments for CONFIG SET - 'no-such-option'"):
        r.config_set("no-such-option", 1)
    with pytest.raises(ResponseError, match=r"CONFIG SET failed \(possibly related to argument 'maxclients'\)"):
        r.config_set("maxclients", "lots")
    assert r.config_resetstat() is True


def test_client_setname_and_list(server, r):
    other = server.client()
    assert other.client_setname("py-worker") is True
    assert other.client_getname() in ("py-worker", b"py-worker")
    my_id = other.client_id()
    clients = r.client_list()
    mine = [c for c in clients if c["name"] == "py-worker"]
    assert len(mine) == 1
    assert int(mine[0]["id"]) == my_id
    assert mine[0]["addr"].startswith("127.0.0.1:")
    assert r.client_kill_filter(_id=my_id) == 1
    deadline = time.monotonic() + 60  # a hang guard
    while any(c["name"] == "py-worker" for c in r.client_list()):
        assert time.monotonic() < deadline, "killed client still listed"
        time.sleep(0.02)
    # redis-py notices the dead connection and transparently reconnects; the
    # new connection has no name.
    assert other.ping() is True
    assert other.client_getname() is None
    assert other.client_id() != my_id
    other.close()


def test_bitmaps_as_redis_py_uses_them(r):
    # A feature flag per user id, as a bitmap.
    for uid in (3, 17, 1000):
        assert r.setbit("flag:beta", uid, 1) == 0
    assert r.getbit("flag:beta", 17) == 1
    assert r.getbit("flag:beta", 18) == 0
    assert r.bitcount("flag:beta") == 3
    assert r.bitpos("flag:beta", 1) == 3
    assert r.strlen("flag:beta") == 126
    r.setbit("flag:other", 17, 1)
    assert r.bitop("AND", "flag:both", "flag:beta", "flag:other") == 126
    assert r.bitcount("flag:both") == 1
    # Counters packed in one string.
    bf = r.bitfield("counters")
    bf.incrby("u8", "#0", 250).incrby("u8", "#0", 10).set("i16", "#1", -5).get("i16", "#1")
    assert bf.execute() == [250, 4, 0, -5]
    sat = r.bitfield("counters", default_overflow="SAT")
    assert sat.incrby("u8", "#0", 1000).execute() == [255]


def test_slowlog_as_redis_py_reads_it(make_server):
    # Logged from 0.1 s on: a command as fast as SET stays out however slow
    # the machine.
    srv = make_server("--slowlog-log-slower-than", "100000", "--enable-debug-command", "yes")
    c = srv.client()
    c.client_setname("slow-worker")
    c.set("fast", "1")
    c.execute_command("DEBUG", "SLEEP", "0.2")
    entries = c.slowlog_get()
    assert len(entries) == 1, entries
    e = entries[0]
    assert e["command"] in (b"DEBUG SLEEP 0.2", "DEBUG SLEEP 0.2")
    assert e["duration"] >= 200000
    assert abs(e["start_time"] - time.time()) < 5
    raw = c.execute_command("SLOWLOG", "GET")[0]  # redis-py 4.3 drops the client
    assert raw[4].startswith(b"127.0.0.1:") and raw[5] == b"slow-worker"
    assert c.slowlog_len() == 1
    assert c.slowlog_reset() is True
    assert c.slowlog_get() == []
    c.close()


def test_error_replies_raise_response_error(r):
    with pytest.raises(ResponseError) as e:
        r.execute_command("NOSUCHCMD", "x")
    assert str(e.value) == "unknown command 'NOSUCHCMD', with args beginning with: 'x' "
    with pytest.raises(ResponseError) as e:
        r.execute_command("GET")
    assert str(e.value) == "wrong number of arguments for 'get' command"
    r.set("s", "abc")
    with pytest.raises(ResponseError) as e:
        r.incr("s")
    assert str(e.value) == "value is not an integer or out of range"
    with pytest.raises(ResponseError) as e:
        r.set("k", "v", ex=0)
    assert str(e.value) == "invalid expire time in 'set' command"
    with pytest.raises(ResponseError) as e:
        r.execute_command("SET", "k", "v", "NX", "XX")
    assert str(e.value) == "syntax error"
    with pytest.raises(ResponseError) as e:
        r.rename("nokey", "x")
    assert str(e.value) == "no such key"
    with pytest.raises(ResponseError) as e:
        r.incrbyfloat("s", 1.0)
    assert str(e.value) == "value is not a valid float"
    # The connection is still usable afterwards.
    assert r.ping() is True


def test_select_swapdb_move(server):
    c0 = server.client(db=0)
    c1 = server.client(db=1)
    c0.set("k", "zero")
    assert c0.move("k", 1) is True
    assert c0.get("k") is None
    assert c1.get("k") == b"zero"
    assert c0.swapdb(0, 1) is True
    assert c0.get("k") == b"zero"
    assert c1.get("k") is None
    assert c0.flushall() is True
    assert c0.dbsize() == 0


def test_requirepass_with_redis_py(make_server):
    srv = make_server("--requirepass", "py-secret")
    with pytest.raises(redis.AuthenticationError):
        srv.client().ping()
    # redis-py 4.3 maps WRONGPASS to a plain ResponseError, later ones to
    # AuthenticationError.
    with pytest.raises((redis.AuthenticationError, ResponseError), match="WRONGPASS"):
        srv.client(password="wrong").ping()
    c = srv.client(password="py-secret")
    assert c.ping() is True
    c2 = srv.client(username="default", password="py-secret")
    assert c2.set("k", "v") is True


def test_what_a_log_record_cannot_hold_is_refused_before_it_runs():
    # A write-ahead log record holds a write whole, at most 2 GiB: values stop
    # at proto-max-bulk-len, which stops at 1gb (unlike Redis), and keys at
    # 512 MB, Redis's documented limit. The error comes before anything runs.
    import socket

    from conftest import EdgekvServer

    srv = EdgekvServer("--proto-max-bulk-len", "1gb").start()
    try:
        c = srv.client()
        with pytest.raises(ResponseError, match="proto-max-bulk-len"):
            c.config_set("proto-max-bulk-len", "2gb")
        assert c.config_get("proto-max-bulk-len") == {"proto-max-bulk-len": "1073741824"}
        # MSET small 1 <a key of 512 MB + 1 byte> 2, streamed in 1 MB pieces.
        key_len = 512 * 1024 * 1024 + 1
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=120)  # a hang guard
        s.sendall(b"*5\r\n$4\r\nMSET\r\n$5\r\nsmall\r\n$1\r\n1\r\n$%d\r\n" % key_len)
        piece = b"k" * (1024 * 1024)
        for _ in range(key_len // len(piece)):
            s.sendall(piece)
        s.sendall(b"k" * (key_len % len(piece)) + b"\r\n$1\r\n2\r\n")
        assert s.recv(100) == b"-ERR key is longer than 512 MB\r\n"
        s.close()
        assert c.dbsize() == 0  # nothing of the MSET happened
        assert c.set(b"k" * 1024, b"v") is True
        assert c.dbsize() == 1
        c.close()
    finally:
        srv.cleanup()


def test_bgsave_runs_one_checkpoint_at_a_time(make_server):
    """A pipeline of BGSAVEs starts one background checkpoint, not one thread
    per command (which could run the process out of threads): the others get
    Redis's "already in progress" error, and INFO shows it running."""
    import os
    import time

    from resp_util import RawClient

    srv = make_server()
    r = srv.client()
    r.mset({"k%d" % i: "v" * 100 for i in range(20000)})
    raw = RawClient(srv.port)
    n = 3000
    raw.sock.sendall(b"BGSAVE\r\n" * n)
    buf = b""
    while buf.count(b"\r\n") < n:
        chunk = raw.sock.recv(65536)
        assert chunk, "connection closed"
        buf += chunk
    threads = len(os.listdir("/proc/%d/task" % srv.proc.pid))
    lines = buf.split(b"\r\n")[:n]
    started = lines.count(b"+Background saving started")
    busy = lines.count(b"-ERR Background save already in progress")
    assert started >= 1 and busy >= 1 and started + busy == n, set(lines)
    assert threads < 64, "%d threads after %d BGSAVEs" % (threads, n)
    assert raw.cmd(["BGSAVE", "NOW"]).startswith(b"-ERR syntax error")
    deadline = time.monotonic() + 300  # a hang guard
    while r.info("persistence")["rdb_bgsave_in_progress"] == 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert raw.cmd(["BGSAVE"]) == b"+Background saving started\r\n"
    assert r.ping()


def test_an_idle_server_does_not_wake_its_log_writer_every_few_ms(make_server):
    """The WAL writer thread parks once nothing has been written for a
    while (it used to pass by every 5 ms, 200 wake-ups a second), and a
    write still reaches the log."""
    import os
    import time

    srv = make_server()
    r = srv.client()
    r.set("k", "v")

    def writer_switches():
        for t in os.listdir("/proc/%d/task" % srv.proc.pid):
            base = "/proc/%d/task/%s/" % (srv.proc.pid, t)
            with open(base + "comm") as f:
                if f.read().strip() != "ekv-wal-write":
                    continue
            with open(base + "status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        return int(line.split()[1])
        raise AssertionError("no ekv-wal-write thread")

    # It parks 100 ms after the last write: wait until it keeps still (a
    # writer that never parks wakes 100 times in the half second).
    deadline = time.monotonic() + 60  # a hang guard
    while True:
        before = writer_switches()
        time.sleep(0.5)
        if writer_switches() - before <= 2:
            break
        assert time.monotonic() < deadline, "the log writer never parked"
    before = writer_switches()
    time.sleep(2)
    assert writer_switches() - before <= 6
    r.set("k", "w")  # wakes it; written as before
    assert r.get("k") == b"w"
    assert r.info("persistence")["wal_written_seq"] == r.info("persistence")["wal_last_seq"]


def test_object_and_memory_introspection(make_server):
    """What GUIs, redis-cli --memkeys and exporters ask about keys and memory,
    through redis-py's own helpers."""
    r = make_server().client()
    # (redis-py has no helper for MEMORY DOCTOR.) A fresh server holds about
    # 1.4 MB, under the 5 MB below which the doctor calls an instance empty;
    # under a loaded CI host one run read 5 MB or more at this point (not
    # understood; not seen here in 30 polls of a fresh server), so either of
    # the doctor's "no problem" answers is accepted.
    doctor = r.execute_command("MEMORY", "DOCTOR")
    assert doctor.startswith(b"Hi Sam, this instance is empty") or doctor.startswith(
        b"Hi Sam, I can't find any memory issue"), doctor
    r.set("token", "t" * 100)
    token_set = time.monotonic()
    r.set("flag", 1)
    assert r.object("encoding", "token") == b"raw"
    assert r.object("encoding", "flag") == b"int"
    assert r.object("refcount", "flag") == 2147483647
    assert r.object("encoding", "nope") is None
    small, big = r.memory_usage("flag"), r.memory_usage("token")
    assert 0 < small < big and big >= 100 + len("token")
    assert r.memory_usage("nope") is None
    # OBJECT looks without touching: the idle time goes on; a GET resets it.
    # (Idle times count the whole seconds of a clock that passed: at most
    # one more than the time that went by.)
    time.sleep(2.2)
    assert 2 <= r.object("idletime", "token") <= time.monotonic() - token_set + 1
    assert r.object("idletime", "token") >= 2
    assert r.memory_usage("token") == big
    assert r.object("idletime", "token") >= 2
    got = time.monotonic()
    r.get("token")
    assert r.object("idletime", "token") <= time.monotonic() - got + 1
    r.mset({"k%d" % i: "v" * 64 for i in range(1000)})
    stats = r.memory_stats()  # redis-py parses the map (db.0 as a nested map)
    assert stats["keys.count"] == r.dbsize() == 1002
    assert stats["db.0"]["overhead.hashtable.main"] >= 1002 * 24
    assert stats["overhead.total"] >= stats["startup.allocated"] + stats["db.0"]["overhead.hashtable.main"]
    # The allocator's figures are glibc's (mallinfo2): a sanitizer's allocator
    # replaces it and they read 0 there, as INFO's used_memory does.
    if not os.environ.get("EDGEKV_SANITIZED"):
        assert stats["total.allocated"] >= stats["startup.allocated"] > 0
        assert stats["peak.allocated"] >= stats["total.allocated"]
        assert 0 < float(stats["dataset.percentage"]) <= 100  # a bulk string in RESP2
    assert r.memory_purge() is True
    # Inside a transaction (EXEC holds every stripe of the table).
    p = r.pipeline(transaction=True)
    p.execute_command("MEMORY", "STATS")
    p.object("encoding", "flag")
    p.memory_usage("flag")
    stats_list, encoding, usage = p.execute()
    assert b"keys.count" in stats_list and encoding == b"int" and usage == small


def test_object_and_memory_usage_describe_a_key_on_disk_without_loading_it(make_server):
    """redis-cli --memkeys runs MEMORY USAGE on every key: a key only on disk
    is described from LevelDB, not brought into memory (it would push the
    hot keys out)."""
    srv = make_server()
    r = srv.client()
    r.set("cold", "v" * 100)
    r.set("n", 5)
    srv.stop()  # restart: every key is on disk only
    srv.start()
    r = srv.client()

    def cold_reads():
        return r.info("stats")["cold_reads"]

    before = cold_reads()
    assert r.object("encoding", "cold") == b"raw"
    assert r.object("refcount", "n") == 2147483647
    assert r.memory_usage("cold") >= 100 + len("cold")
    assert r.object("idletime", "cold") == 65535  # left memory for being idle
    assert r.object("encoding", "nope") is None
    assert cold_reads() == before
    got = time.monotonic()
    assert r.get("cold") == b"v" * 100
    assert cold_reads() == before + 1
    assert r.object("idletime", "cold") <= time.monotonic() - got + 1  # whole seconds



def test_one_command_cannot_take_the_servers_memory_with_its_reply(make_server):
    """An MGET naming one large value many times, or an EXEC of many GETs of
    it, would build a reply far larger than its request (Redis builds it
    whole). edgekv closes such a client once its reply passes maxmemory (or
    the hard output limit, or a quarter of the machine's memory), as Redis
    closes a client past its output buffer limit; the server's memory stays
    bounded, other clients go on, and a large reply within the bound works."""
    server = make_server("--maxmemory", "64mb", "--proto-max-bulk-len", "8mb")
    r = server.client()
    r.set("big", b"v" * (8 << 20))
    pid = r.info("server")["process_id"]

    def rss_mb():
        with open("/proc/%d/status" % pid) as f:
            return int(f.read().split("VmRSS:")[1].split()[0]) // 1024

    before = rss_mb()
    greedy = server.client()
    with pytest.raises(redis.ConnectionError):
        greedy.mget(["big"] * 40)  # 320 MB of reply
    with pytest.raises((redis.ConnectionError, redis.ResponseError)):
        p = greedy.pipeline(transaction=True)
        for _ in range(40):
            p.get("big")
        p.execute()
    if not os.environ.get("EDGEKV_SANITIZED"):
        # (ASan's allocator keeps freed memory in quarantine: RSS says nothing.)
        assert rss_mb() < before + 128, (before, rss_mb())
    assert r.info("stats")["client_output_buffer_limit_disconnections"] >= 2
    assert len(r.mget(["big"] * 5)) == 5  # 40 MB: within the bound
    assert r.get("big") == b"v" * (8 << 20)
