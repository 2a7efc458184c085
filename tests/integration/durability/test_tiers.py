"""Keys on disk behave exactly like keys in memory: SCAN cursors survive
evictions and restarts, TTLs hold on disk, every command sees cold keys."""
import os
import select
import socket
import time

import redis

from server import Server


def fill(c, n, prefix="k", value=b"v" * 512, **kw):
    for start in range(0, n, 1000):
        pipe = c.pipeline(transaction=False)
        for i in range(start, min(n, start + 1000)):
            pipe.set("%s%d" % (prefix, i), value, **kw)
        pipe.execute()


def test_scan_cursor_stays_valid_across_restart(tmp_path):
    data = str(tmp_path / "data")
    srv = Server(data, "--maxmemory", "4mb").start()
    c = srv.client()
    fill(c, 20_000)
    seen = set()
    cursor = 0
    for _ in range(5):
        cursor, keys = c.scan(cursor, count=500)
        seen |= {k.decode() for k in keys}
    assert cursor != 0
    srv.stop()
    srv2 = Server(data, "--maxmemory", "4mb").start()
    c = srv2.client()
    try:
        while True:
            cursor, keys = c.scan(cursor, count=500)
            seen |= {k.decode() for k in keys}
            if cursor == 0:
                break
        assert seen == {"k%d" % i for i in range(20_000)}
    finally:
        srv2.stop()


def test_scan_match_prefix_and_keys_see_cold_keys(tmp_path):
    srv = Server(str(tmp_path / "data"), "--maxmemory", "4mb").start()
    c = srv.client()
    try:
        fill(c, 10_000, prefix="user:")
        fill(c, 10_000, prefix="session:")
        assert c.info("stats")["keys_moved_to_disk"] > 0
        sessions = {k.decode() for k in c.scan_iter(match="session:*", count=1000)}
        assert sessions == {"session:%d" % i for i in range(10_000)}
        assert len(c.keys("user:1*")) == 1 + 10 + 100 + 1000
        assert c.dbsize() == 20_000
        assert c.randomkey() is not None
    finally:
        srv.stop()


def test_commands_on_cold_keys(tmp_path):
    srv = Server(str(tmp_path / "data"), "--maxmemory", "4mb").start()
    c = srv.client()
    try:
        c.set("cold", "value", ex=1000)
        c.set("cold2", "x")
        fill(c, 20_000)  # pushes the first keys out of memory
        assert c.exists("cold") == 1
        assert c.type("cold") == b"string"
        assert 0 < c.ttl("cold") <= 1000
        assert c.copy("cold2", "copy") == 1
        c.rename("cold", "renamed")
        assert c.get("renamed") == b"value" and c.get("cold") is None
        assert c.incr("counter") == 1
        assert c.delete("k5", "k6", "nope") == 2
        # cold, cold2, 20000 k*, copy, counter; minus k5 and k6
        assert c.dbsize() == 2 + 20_000 + 2 - 2
    finally:
        srv.stop()


def test_expired_keys_on_disk_are_never_returned_and_get_deleted(tmp_path):
    srv = Server(str(tmp_path / "data"), "--maxmemory", "4mb", "--hz", "50").start()
    c = srv.client()
    try:
        # The 20,000 writes after the TTL keys must all happen before any of
        # them expires: on a machine too slow for that with 5 s, the same
        # again with a longer TTL.
        for ttl_s in (5, 20, 80):
            started = time.monotonic()
            fill(c, 5_000, prefix="ttl:", px=ttl_s * 1000)
            last_ttl_set = time.monotonic()
            fill(c, 20_000)  # evicts the TTL keys to disk
            if time.monotonic() - started < ttl_s * 0.8:
                break
            c.flushall()
        else:
            raise AssertionError("25,000 writes took over 64 s")
        assert c.info("keyspace")["db0"]["expires"] == 5_000
        time.sleep(max(0.0, last_ttl_set + ttl_s + 0.1 - time.monotonic()))  # all expired
        assert c.get("ttl:1") is None
        assert c.exists("ttl:2") == 0
        assert not list(c.scan_iter(match="ttl:*", count=1000))
        deadline = time.monotonic() + 300  # a hang guard
        while c.dbsize() > 20_000 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert c.dbsize() == 20_000
        assert c.info("keyspace")["db0"].get("expires", 0) == 0
    finally:
        srv.stop()


def test_missing_keys_cost_no_disk_read_while_memory_holds_every_key(tmp_path):
    data = str(tmp_path / "data")
    srv = Server(data).start()
    c = srv.client()
    try:
        fill(c, 1000)
        for i in range(200):
            assert c.get("absent%d" % i) is None
        c.set("new", "1")  # a new key: no disk lookup either
        assert c.info("stats")["cold_misses"] == 0
    finally:
        srv.stop()
    # After a restart the keys are on disk only: a missing key is asked of
    # LevelDB once (its bloom filter), then remembered.
    srv = Server(data).start()
    c = srv.client()
    try:
        assert c.get("absent1") is None and c.get("absent1") is None
        assert c.info("stats")["cold_misses"] == 1
        assert c.get("k7") == b"v" * 512
        assert c.info("stats")["cold_reads"] == 1
        # A flushed database is empty on disk too.
        c.flushall()
        c.set("x", "1")
        assert c.get("k8") is None and c.get("absent2") is None
        assert c.info("stats")["cold_misses"] == 1
    finally:
        srv.stop()
    # Evicted keys are found again on disk.
    srv = Server(data, "--maxmemory", "4mb").start()
    c = srv.client()
    try:
        fill(c, 20_000, prefix="e")
        assert c.info("stats")["keys_moved_to_disk"] > 0
        pipe = c.pipeline(transaction=False)
        for i in range(20_000):
            pipe.get("e%d" % i)
        assert all(v == b"v" * 512 for v in pipe.execute())
        assert c.get("absent3") is None
        assert c.info("stats")["cold_misses"] >= 1
    finally:
        srv.stop()


def test_last_write_of_each_key_reaches_leveldb(tmp_path):
    """LevelDB gets each group of writes sorted, with only the last write of
    each key; a clean restart reads that state back (nothing to replay)."""
    data = str(tmp_path / "data")
    srv = Server(data).start()
    c = srv.client()
    try:
        pipe = c.pipeline(transaction=False)
        for i in range(50):
            pipe.set("over", "v%d" % i)
        pipe.set("gone", "1").delete("gone")
        pipe.delete("back").set("back", "2")
        pipe.set("ttl", "3", ex=1000).persist("ttl")
        pipe.set("tmp", "4").expire("tmp", 1000)
        for i in range(100):
            pipe.incr("counter")
        pipe.select(1).set("other", "db1").select(0)
        pipe.execute()
        srv.stop()
        srv = Server(data).start()
        c = srv.client()
        assert c.info("persistence")["recovery_replayed_batches"] == 0
        assert c.get("over") == b"v49"
        assert c.get("gone") is None and c.get("back") == b"2"
        assert c.ttl("ttl") == -1 and 0 < c.ttl("tmp") <= 1000
        assert c.get("counter") == b"100"
        assert c.dbsize() == 5  # over back ttl tmp counter
        assert c.info("keyspace")["db0"]["expires"] == 1
        c.execute_command("SELECT", 1)
        assert c.get("other") == b"db1"
    finally:
        srv.stop()


def thread_policies(pid):
    """Thread name -> set of (scheduling policy, nice) of its threads."""
    threads = {}
    task_dir = "/proc/%d/task" % pid
    for tid in os.listdir(task_dir):
        try:
            with open(os.path.join(task_dir, tid, "comm")) as f:
                name = f.read().strip()
            with open(os.path.join(task_dir, tid, "stat")) as f:
                nice = int(f.read().rsplit(")", 1)[1].split()[16])
            policy = os.sched_getscheduler(int(tid))
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
        threads.setdefault(name, set()).add((policy, nice))
    return threads


def wait_for_applier_nice(pid, nice, timeout=300.0):  # a hang guard
    deadline = time.monotonic() + timeout
    while True:
        seen = thread_policies(pid)["ekv-disk-apply"]
        if {n for _, n in seen} == {nice} or time.monotonic() > deadline:
            return seen
        time.sleep(0.02)


def test_background_threads_are_named_and_yield_the_cpu(tmp_path):
    srv = Server(str(tmp_path / "data"), "--enable-debug-command", "yes").start()
    try:
        c = srv.client()
        fill(c, 20_000)  # enough for LevelDB to flush and compact
        c.save()
        threads = thread_policies(srv.proc.pid)
        assert {"ekv-io-0", "ekv-wal-write", "ekv-disk-apply"} <= set(threads), threads
        # Client and log threads are ordinary; LevelDB's compactions run at
        # the lowest priority. No thread is SCHED_IDLE: one preempted while
        # holding the process's memory-map lock held up the others.
        assert threads["ekv-io-0"] == {(os.SCHED_OTHER, 0)}
        assert threads["ekv-wal-write"] == {(os.SCHED_OTHER, 0)}
        if "ekv-compact" in threads:
            assert threads["ekv-compact"] == {(os.SCHED_OTHER, 19)}
        # The applier: nice 10, and nice 19 while nobody waits for it, where
        # the kernel lets it come back (a privileged process).
        assert {policy for policy, _ in threads["ekv-disk-apply"]} == {os.SCHED_OTHER}
        if os.geteuid() != 0:
            assert {nice for _, nice in threads["ekv-disk-apply"]} == {10}
            return
        assert wait_for_applier_nice(srv.proc.pid, 19) == {(os.SCHED_OTHER, 19)}
        # Someone waits (a SCAN needs every earlier write in LevelDB): back to
        # nice 10 at once, even while it is paused.
        c.execute_command("DEBUG", "SET-DISK-APPLY", "0")
        c.set("one-more", "x")
        scanner = socket.create_connection(("127.0.0.1", srv.port))
        scanner.sendall(b"SCAN 0 COUNT 10\r\n")
        assert wait_for_applier_nice(srv.proc.pid, 10) == {(os.SCHED_OTHER, 10)}
        assert select.select([scanner], [], [], 0.2)[0] == []  # SCAN still waits
        c.execute_command("DEBUG", "SET-DISK-APPLY", "1")
        scanner.settimeout(120)  # a hang guard
        assert scanner.recv(65536).startswith(b"*2\r\n")
        scanner.close()
        # Nobody waits any more: idle again after its next group.
        c.set("and-another", "y")
        assert wait_for_applier_nice(srv.proc.pid, 19) == {(os.SCHED_OTHER, 19)}
    finally:
        srv.stop()


def test_scan_waits_for_the_disk_without_holding_up_other_clients(tmp_path):
    # SCAN walks LevelDB, so it waits until the applier has every earlier
    # write. With one I/O thread, a client on the same thread is served
    # meanwhile.
    srv = Server(str(tmp_path / "data"), "--io-threads", "1",
                 "--enable-debug-command", "yes").start()
    try:
        c = srv.client()
        c.execute_command("DEBUG", "SET-DISK-APPLY", "0")  # writes stay in the log
        fill(c, 5_000, value=b"v" * 100)
        assert c.info("persistence")["disk_apply_queue_bytes"] > 0
        a = socket.create_connection(("127.0.0.1", srv.port))
        b = socket.create_connection(("127.0.0.1", srv.port))
        a.sendall(b"SCAN 0 COUNT 10\r\n")
        b.sendall(b"GET k7\r\n")
        b.settimeout(120)  # a hang guard
        reply = b""
        while not reply.endswith(b"v" * 100 + b"\r\n"):
            reply += b.recv(65536)
        assert select.select([a], [], [], 0.3)[0] == []  # SCAN still waits
        c.execute_command("DEBUG", "SET-DISK-APPLY", "1")
        a.settimeout(120)  # a hang guard
        reply = b""
        while reply.count(b"\r\n") < 3 + 10:  # cursor, then 10 keys
            reply += a.recv(65536)
        assert reply.startswith(b"*2\r\n$")
        # The applier counts what it applied off its queue just after the
        # disk holds it (when the SCAN may already have its answer).
        deadline = time.monotonic() + 120  # a hang guard
        while c.info("persistence")["disk_apply_queue_bytes"] != 0:
            assert time.monotonic() < deadline, "the applier's queue never emptied"
            time.sleep(0.01)
        # And the walk saw every key written before it.
        assert sum(1 for _ in c.scan_iter(count=1000)) == 5_000
        a.close()
        b.close()
    finally:
        srv.stop()


def test_flush_aborts_watchers_of_keys_that_exist_only_on_disk(tmp_path):
    """Redis 7: FLUSHDB/SWAPDB change a watched key only if it exists. A key
    that lives only in LevelDB (after a restart, memory holds nothing) exists."""
    data = str(tmp_path / "data")
    srv = Server(data).start()
    srv.client().set("cold", "1")
    srv.stop()
    srv = Server(data).start()
    try:
        c, other = srv.client(), srv.client()

        def transaction_runs(change):
            pipe = c.pipeline(transaction=True)
            pipe.watch("cold")
            change()
            pipe.multi()
            pipe.set("x", "1")
            try:
                return pipe.execute() == [True]
            except redis.WatchError:
                return False
            finally:
                pipe.reset()

        assert not transaction_runs(lambda: other.swapdb(0, 1))  # moved to db 1
        assert not transaction_runs(lambda: other.swapdb(0, 1))  # back from db 1
        assert c.info("stats")["hot_reads"] == 0  # still only on disk
        assert not transaction_runs(lambda: other.flushdb())
        # Now it exists nowhere: a flush or swap leaves the transaction alone.
        assert transaction_runs(lambda: other.flushall())
        assert transaction_runs(lambda: other.swapdb(0, 1))
    finally:
        srv.stop()


def test_a_maxmemory_below_what_memory_cannot_give_up_still_takes_writes(tmp_path):
    """With maxmemory smaller than the table itself, eviction cannot get
    memory under it: once the disk holds every write, a write goes ahead
    instead of waiting (until repl-timeout, an hour here) for room that
    waiting cannot make."""
    srv = Server(str(tmp_path / "data"), "--maxmemory", "1kb", "--repl-timeout", "3600").start()
    try:
        c = srv.client()
        # A write at a time (no pipeline): each one meets the full table.
        for i in range(300):
            assert c.zadd("z%d" % i, {"a": 1, "b": i}) == 2
        assert c.info("stats")["keys_moved_to_disk"] > 200
        for i in range(300):
            assert dict(c.zrange("z%d" % i, 0, -1, withscores=True)) == {b"a": 1, b"b": i}
        assert c.dbsize() == 300
    finally:
        srv.stop()


def test_a_sorted_sets_minus_zero_reads_the_same_on_disk_and_loaded_back(tmp_path):
    """A score of -0 in a sorted set too big for a listpack is kept as -0 (as
    Redis's skiplist keeps it), on disk too; once the set has shrunk there to
    a listpack's size and is read back whole, it still reads -0, as it did
    element by element on disk."""
    srv = Server(str(tmp_path / "data"), "--maxmemory", "1kb").start()
    c = srv.client()
    for name in ("ZSCORE", "ZRANGE", "ZUNION"):  # the replies' bytes, not floats
        c.set_response_callback(name, lambda reply, **options: reply)

    def wait_only_on_disk(key):
        deadline = time.monotonic() + 120  # a hang guard
        tick = 0
        while c.object("idletime", key) != 65535:  # only on disk
            assert time.monotonic() < deadline, "%s stayed in memory" % key
            tick += 1
            # A write that takes memory over maxmemory: the least recently
            # used keys go.
            c.set("tick", b"%d" % tick + b"x" * 2048)
            time.sleep(0.01)

    try:
        members = {"m%03d" % i: i + 1 for i in range(129)}
        c.zadd("z", dict(members, neg=-0.0))
        assert c.object("encoding", "z") == b"skiplist"
        assert c.execute_command("ZSCORE", "z", "neg") == b"-0"
        wait_only_on_disk("z")
        # 128 members, a listpack's size: the change leaves it on disk, and
        # reaches it.
        assert c.zrem("z", "m000", "m001") == 2
        written = c.info("persistence")["wal_last_seq"]
        deadline = time.monotonic() + 120  # a hang guard
        while c.info("persistence")["disk_applied_seq"] < written:
            assert time.monotonic() < deadline, "the disk never had the ZREM"
            time.sleep(0.01)
        assert c.execute_command("ZSCORE", "z", "neg") == b"-0"
        assert c.execute_command("ZRANGE", "z", "0", "0", "WITHSCORES") == [b"neg", b"-0"]
        reads = c.info("stats")["cold_reads"]
        whole = c.execute_command("ZUNION", "1", "z", "WITHSCORES")  # loads it whole
        assert c.info("stats")["cold_reads"] == reads + 1
        assert whole[:2] == [b"neg", b"-0"] and len(whole) == 2 * 128
        assert c.object("encoding", "z") == b"listpack"
        assert c.execute_command("ZSCORE", "z", "neg") == b"-0"
        # A listpack turns a command's -0 into 0, as Redis's does: so does
        # the disk.
        c.zadd("small", {"a": -0.0, "b": 1})
        assert c.execute_command("ZSCORE", "small", "a") == b"0"
        wait_only_on_disk("small")
        assert c.execute_command("ZSCORE", "small", "a") == b"0"
        assert c.execute_command("ZUNION", "1", "small", "WITHSCORES")[:2] == [b"a", b"0"]
    finally:
        srv.stop()


def test_an_idle_server_writes_its_memtable_out_and_keeps_its_data(tmp_path):
    """LevelDB's memtable (up to its write buffer, tens of megabytes) is
    written out to a table once the server has written nothing for a few
    seconds, instead of staying in memory until more writes fill it."""
    data = str(tmp_path / "data")
    srv = Server(data).start()
    try:
        c = srv.client()
        fill(c, 4000)  # 4000 x 512 bytes: about 2 MB
        c.save()  # in LevelDB now, in its memtable
        persistence = c.info("persistence")
        if persistence["disk_idle_memtable_flushes"] == 0:  # (no 5 s pause in the fill)
            assert persistence["disk_memtable_bytes"] > 1 << 20, persistence
        deadline = time.monotonic() + 120  # a hang guard
        while True:
            persistence = c.info("persistence")
            # What is left under 256 KB stays until more writes come.
            if (persistence["disk_idle_memtable_flushes"] > 0 and
                    persistence["disk_memtable_bytes"] < 256 << 10):
                break
            assert time.monotonic() < deadline, "the idle memtable stayed: %s" % persistence
            time.sleep(0.1)
        assert c.get("k3999") == b"v" * 512 and c.dbsize() == 4000
    finally:
        srv.stop()
    srv = Server(data).start()
    try:
        c = srv.client()
        assert c.dbsize() == 4000 and c.get("k0") == b"v" * 512
    finally:
        srv.stop()
