"""Introspection and administration commands side by side with a stock
redis-server: COMMAND (INFO, GETKEYS, GETKEYSANDFLAGS, LIST FILTERBY),
commands Redis refuses inside MULTI, CONFIG SET of what cannot change at run
time and CONFIG GET of aliases, the idle time commands that do not touch a key
leave alone, CLIENT LIST's buffer figures, and MONITOR."""
import re
import socket
import time

import pytest
import redis

from resp_util import RawClient, encode, read_reply
from redis_ref import start_redis, stop_redis


@pytest.fixture(scope="module")
def redis_port():
    proc, port, d = start_redis()
    yield port
    stop_redis(proc, d)


def pair(server, redis_port):
    ours, theirs = RawClient(server.port), RawClient(redis_port)
    for c in (ours, theirs):
        c.cmd(["FLUSHALL"])
    return ours, theirs


def mismatches(ours, theirs, commands):
    out = []
    for cmd in commands:
        a, b = ours.cmd(cmd), theirs.cmd(cmd)
        if a != b:
            out.append("%r\n  edgekv: %r\n  redis:  %r" % (cmd, a, b))
    return out


def parsed(port):
    """call(*args) -> the reply as redis-py parses it, without its command
    callbacks."""
    conn = redis.Redis(port=port, decode_responses=True).connection_pool.get_connection("_")

    def call(*args):
        conn.send_command(*args)
        return conn.read_response()
    return call


def command_names(call):
    names = set()
    for info in call("COMMAND"):
        names.add(info[0])
        names.update(sub[0] for sub in info[9])
    return names


# edgekv's DEBUG is a container of its own test subcommands; Redis's is one
# command with its own. CLIENT SETINFO is Redis 7.2's.
EDGEKV_ONLY_SHAPE = {"debug"}


# ---- COMMAND ---------------------------------------------------------------

def test_command_info_of_every_command_matches_redis(server, redis_port):
    """Name, arity, flags (movablekeys among them), key positions, ACL
    categories, tips and key specifications of every command and subcommand
    both servers have, byte for byte, in RESP2 and RESP3."""
    ours_call, theirs_call = parsed(server.port), parsed(redis_port)
    common = (command_names(ours_call) & command_names(theirs_call)) - EDGEKV_ONLY_SHAPE
    assert len(common) > 100, sorted(common)
    for protocol in (2, 3):
        ours, theirs = pair(server, redis_port)
        for c in (ours, theirs):
            c.cmd(["HELLO", str(protocol)])
        bad = []
        for name in sorted(common):
            cmd = ["COMMAND", "INFO", name]
            a, b = ours.cmd(cmd), theirs.cmd(cmd)
            # A container's subcommands are compared one by one (each has
            # some the other has not).
            if "|" not in name and a != b:
                info_a, info_b = ours_call(*cmd)[0], theirs_call(*cmd)[0]
                if info_a[9] and info_a[:9] == info_b[:9]:
                    continue
            if a != b:
                bad.append("%s\n  edgekv: %r\n  redis:  %r" % (name, a, b))
        assert not bad, "RESP%d:\n" % protocol + "\n".join(bad)


def test_command_getkeys_and_flags_match_redis(server, redis_port):
    ours, theirs = pair(server, redis_port)
    cases = [
        ["SET", "a", "b"], ["SET", "a", "b", "GET"], ["SET", "a", "b", "EX", "10", "get"],
        ["GET", "a"], ["MSET", "a", "1", "b", "2"], ["MSETNX", "a", "1", "b", "2"],
        ["MGET", "a", "b", "c"], ["DEL", "a", "b"], ["UNLINK", "a"], ["EXISTS", "a", "b"],
        ["COPY", "a", "b"], ["COPY", "a", "b", "DB", "1"], ["RENAME", "a", "b"],
        ["RENAMENX", "a", "b"], ["BITOP", "AND", "d", "a", "b"], ["BITFIELD", "k"],
        ["BITFIELD", "k", "GET", "u8", "0"], ["BITFIELD", "k", "SET", "u8", "0", "1"],
        ["BITFIELD", "k", "OVERFLOW", "SAT", "GET", "u8", "0"], ["BITFIELD", "k", "FOO"],
        ["BITFIELD_RO", "k", "GET", "u8", "0"], ["LCS", "a", "b"], ["WATCH", "a", "b"],
        ["OBJECT", "ENCODING", "k"], ["MEMORY", "USAGE", "k"], ["GETEX", "k", "PERSIST"],
        ["TOUCH", "a", "b"], ["INCRBYFLOAT", "k", "1"], ["EXPIRE", "k", "10"],
        ["PING"], ["CLIENT", "LIST"], ["NOSUCH", "a"], ["GET"], ["GET", "a", "b"],
        ["MSET", "a"], ["SET", "a"], ["CONFIG", "GET", "x"], ["KEYS", "*"],
    ]
    commands = []
    for args in cases:
        commands.append(["COMMAND", "GETKEYS"] + args)
        commands.append(["COMMAND", "GETKEYSANDFLAGS"] + args)
    commands += [["COMMAND", "GETKEYS"], ["COMMAND", "GETKEYSANDFLAGS"],
                 ["COMMAND", "GETKEYSANDFLAGS", "get"]]
    bad = mismatches(ours, theirs, commands)
    assert not bad, "\n".join(bad)


def test_command_info_and_docs_of_unknown_names_match_redis(server, redis_port):
    ours, theirs = pair(server, redis_port)
    bad = mismatches(ours, theirs, [
        ["COMMAND", "INFO", "nosuch"], ["COMMAND", "INFO", "nosuch", "get", "GET"],
        ["COMMAND", "INFO", "client|nosuch", "config|get"], ["COMMAND", "INFO", "client|list"],
        ["COMMAND", "INFO", "get|x"], ["COMMAND", "INFO", "client|list|x"],
        ["COMMAND", "INFO", "|"], ["COMMAND", "INFO", ""], ["COMMAND", "DOCS", "nosuch"],
        ["COMMAND", "LIST", "FILTERBY"], ["COMMAND", "LIST", "FILTERBY", "PATTERN"],
        ["COMMAND", "LIST", "FILTERBY", "FOO", "x"], ["COMMAND", "LIST", "FOO"],
        ["COMMAND", "LIST", "FILTERBY", "MODULE", "x"],
        ["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"],
        ["COMMAND", "LIST", "FILTERBY", "PATTERN", "nosuch*"],
    ])
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("filterby", [
    [], ["FILTERBY", "ACLCAT", "connection"], ["FILTERBY", "ACLCAT", "KEYSPACE"],
    ["FILTERBY", "ACLCAT", "read"], ["FILTERBY", "ACLCAT", "dangerous"],
    ["FILTERBY", "PATTERN", "c*"], ["FILTERBY", "PATTERN", "client|*"],
    ["FILTERBY", "PATTERN", "*e?"], ["FILTERBY", "PATTERN", "[gs]et*"],
])
def test_command_list_filters_match_redis(server, redis_port, filterby):
    """The same names for the commands both have (Redis has more; the order
    is unspecified)."""
    ours_call, theirs_call = parsed(server.port), parsed(redis_port)
    common = command_names(ours_call) & command_names(theirs_call)
    a = set(ours_call("COMMAND", "LIST", *filterby))
    b = set(theirs_call("COMMAND", "LIST", *filterby))
    assert a, "edgekv listed nothing"
    assert a & common == b & common, (sorted((a - b) & common), sorted((b - a) & common))


# ---- MULTI -----------------------------------------------------------------

def test_commands_redis_refuses_inside_multi_are_refused(server, redis_port):
    ours, theirs = pair(server, redis_port)
    commands = []
    for inner in (["SAVE"], ["SHUTDOWN"], ["SHUTDOWN", "NOSAVE"], ["PSYNC", "?", "-1"],
                  ["DEBUG", "SLEEP", "0"], ["MONITOR"], ["WATCH", "x"], ["MULTI"],
                  ["REPLICAOF", "NO", "ONE"], ["WAIT", "0", "0"], ["CLIENT", "ID", "x"]):
        commands += [["MULTI"], ["SET", "k", "v"], inner, ["EXEC"], ["GET", "k"], ["DEL", "k"]]
    bad = mismatches(ours, theirs, commands)
    assert not bad, "\n".join(bad)


# ---- CONFIG ----------------------------------------------------------------

def test_config_set_of_what_cannot_change_at_run_time_matches_redis(server, redis_port):
    """Redis's immutable directives, whether edgekv has them or not, get
    Redis's answer; so do unknown ones."""
    ours, theirs = pair(server, redis_port)
    names = ["daemonize", "pidfile", "supervised", "unixsocket", "unixsocketperm",
             "syslog-enabled", "syslog-ident", "always-show-logo", "set-proc-title",
             "cluster-enabled", "aclfile", "appendfilename", "appenddirname", "rdbchecksum",
             "databases", "io-threads", "tcp-backlog", "enable-debug-command", "replicaof",
             "slaveof", "DAEMONIZE", "no-such-directive"]
    commands = [["CONFIG", "SET", n, "x"] for n in names]
    commands += [["CONFIG", "SET", "maxmemory", "1mb", "daemonize", "no"],
                 ["CONFIG", "GET", "maxmemory"]]
    bad = mismatches(ours, theirs, commands)
    assert not bad, "\n".join(bad)


def test_config_get_returns_every_name_asked_for_aliases_included(server, redis_port):
    """The names replied (Redis has more directives: a pattern is compared on
    those edgekv has)."""
    ours, theirs = parsed(server.port), parsed(redis_port)
    as_dict = lambda r: dict(zip(r[::2], r[1::2])) if isinstance(r, list) else r  # noqa: E731
    ours_known = set(as_dict(ours("CONFIG", "GET", "*"))) | {"slaveof"}
    theirs_known = set(as_dict(theirs("CONFIG", "GET", "*"))) | {"slaveof"}
    for args in (["slaveof", "replicaof"], ["replicaof", "slaveof", "replicaof"],
                 ["maxmemory", "MAXMEMORY"], ["timeout", "time*"], ["*max*-len"],
                 ["SLAVEOF"], ["slave*", "replica*"], ["maxmemory", "maxmemory"]):
        a = as_dict(ours("CONFIG", "GET", *args))
        b = as_dict(theirs("CONFIG", "GET", *args))
        assert a, args
        assert {n for n in a if n.lower() in theirs_known} == \
            {n for n in b if n.lower() in ours_known}, (args, a, b)


# ---- idle time -------------------------------------------------------------

def test_ttl_type_and_exists_leave_the_idle_time_as_redis_does(server, redis_port):
    ours, theirs = parsed(server.port), parsed(redis_port)
    for call in (ours, theirs):
        call("FLUSHALL")
        call("SET", "k", "v", "EX", "1000")
    deadline = time.monotonic() + 60  # a hang guard: the clocks tick every second
    while min(call("OBJECT", "IDLETIME", "k") for call in (ours, theirs)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    for call in (ours, theirs):
        for cmd in (["TTL", "k"], ["PTTL", "k"], ["EXPIRETIME", "k"], ["PEXPIRETIME", "k"],
                    ["TYPE", "k"], ["EXISTS", "k"], ["OBJECT", "ENCODING", "k"],
                    ["MEMORY", "USAGE", "k"], ["KEYS", "*"], ["SCAN", "0"], ["DBSIZE"]):
            call(*cmd)
    assert ours("OBJECT", "IDLETIME", "k") >= 2
    assert theirs("OBJECT", "IDLETIME", "k") >= 2
    for call in (ours, theirs):
        call("GET", "k")
    assert ours("OBJECT", "IDLETIME", "k") == theirs("OBJECT", "IDLETIME", "k") == 0


def test_lookups_that_do_not_touch_still_count_hits_and_misses(server, redis_port):
    deltas = []
    for port in (server.port, redis_port):
        c, call = redis.Redis(port=port), parsed(port)
        c.flushall()
        c.set("k", "v", ex=1000)
        before = c.info("stats")
        for cmd in (["TTL", "k"], ["TYPE", "k"], ["EXISTS", "k", "nosuch"], ["PTTL", "nosuch"],
                    ["TYPE", "nosuch"], ["OBJECT", "ENCODING", "k"]):
            call(*cmd)  # (OBJECT counts neither)
        after = c.info("stats")
        deltas.append((after["keyspace_hits"] - before["keyspace_hits"],
                       after["keyspace_misses"] - before["keyspace_misses"]))
    assert deltas[0] == deltas[1]


# ---- CLIENT LIST -----------------------------------------------------------

def client_fields(line):
    return dict(f.split("=", 1) for f in line.split(" "))


def client_line(call, client_id):
    for line in call("CLIENT", "LIST").splitlines():
        f = client_fields(line)
        if f["id"] == str(client_id):
            return f
    raise AssertionError("client %s not listed" % client_id)


def first_reply(sock):
    """The first reply's line, from a raw socket (a hang guard: 60 s)."""
    sock.settimeout(60)
    buf = b""
    while b"\r\n" not in buf:
        chunk = sock.recv(4096)
        assert chunk, "closed after %r" % buf
        buf += chunk
    return buf.split(b"\r\n")[0]


def test_client_list_reports_the_buffers_as_redis_does(server, redis_port):
    for port in (server.port, redis_port):
        call = parsed(port)
        # The caller's own query buffer holds its command (26 bytes), its
        # arguments take 10.
        me = client_fields(call("CLIENT", "INFO"))
        assert me["qbuf"] == "26" and me["argv-mem"] == "10", (port, me)
        assert int(me["qbuf-free"]) > 0 and int(me["tot-mem"]) > 26
        # A client half-way through a large request holds it in its buffer.
        half = socket.create_connection(("127.0.0.1", port))
        half.sendall(encode(["CLIENT", "ID"]))
        half_id = int(first_reply(half)[1:])
        half.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n" + b"x" * 100000)
        deadline = time.monotonic() + 60  # a hang guard
        while True:
            f = client_line(call, half_id)
            if int(f["qbuf"]) >= 100000:
                break
            assert time.monotonic() < deadline, f
            time.sleep(0.02)
        assert int(f["tot-mem"]) >= int(f["qbuf"])
        # A client in MULTI holds its queued commands.
        tx = RawClient(port)
        tx_id = int(tx.cmd(["CLIENT", "ID"])[1:-2])
        tx.cmd(["MULTI"])
        for i in range(3):
            tx.cmd(["SET", "key%d" % i, "v" * 100])
        f = client_line(call, tx_id)
        assert f["multi"] == "-1" or f["multi"] == "3"
        assert int(f["multi-mem"]) >= 300, (port, f)
        # A client that does not read its replies holds them as output.
        slow = socket.create_connection(("127.0.0.1", port))
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(encode(["CLIENT", "ID"]))
        slow_id = int(first_reply(slow)[1:])
        call("SET", "big", "x" * 4000000)
        slow.sendall(encode(["GET", "big"]) * 3)
        deadline = time.monotonic() + 60  # a hang guard
        while True:
            f = client_line(call, slow_id)
            if int(f["omem"]) > 0:
                break
            assert time.monotonic() < deadline, f
            time.sleep(0.02)
        assert int(f["tot-mem"]) >= int(f["omem"]), f
        for s in (half, slow):
            s.close()
        tx.close()
        call("DEL", "big")


def test_client_list_has_redis_fields_in_redis_order(server, redis_port):
    ours = [f.split("=")[0] for f in parsed(server.port)("CLIENT", "INFO").split()]
    theirs = [f.split("=")[0] for f in parsed(redis_port)("CLIENT", "INFO").split()]
    assert ours[:len(theirs)] == theirs


# ---- MONITOR ---------------------------------------------------------------

def monitor(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(60)  # a hang guard
    s.sendall(encode(["MONITOR"]))
    buf = b""
    while b"\r\n" not in buf:
        chunk = s.recv(4096)
        assert chunk, "closed after %r" % buf
        buf += chunk
    assert buf.startswith(b"+OK\r\n"), buf
    return s, buf[5:]


def monitor_lines(sock, buf, until):
    """The monitor's lines up to and including one matching `until`, with
    the time and the client's address replaced by T and ADDR."""
    while until not in buf:
        chunk = sock.recv(65536)
        assert chunk, "monitor closed"
        buf += chunk
    buf = buf[:buf.index(until) + len(until)]
    return [re.sub(rb"^\+\d+\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\]", rb"+T [\1 ADDR]", line)
            for line in buf.split(b"\r\n")]


MONITORED = [
    ["SET", "a", "1"], ["GET", "a"], ["AUTH", "secret"], ["AUTH", "user", "pw"],
    ["HELLO", "2", "AUTH", "default", "pw"], ["SELECT", "3"],
    ["SET", "b", "x y\"\\\n\r\t\x07\x08\x01\xff\x7f"], ["MULTI"], ["INCR", "a"], ["GET", "b"],
    ["EXEC"], ["CONFIG", "GET", "port"], ["NOSUCH"], ["GET"], ["PING"], ["ECHO", ""],
    ["CLIENT", "ID"], ["SELECT", "0"], ["EXISTS", "a"], ["INFO", "server"],
    ["SLOWLOG", "LEN"], ["DEBUG", "SLEEP", "0"], ["INCR", "b"], ["QUIT"],
]


def test_monitor_streams_commands_as_redis_does(server, redis_port):
    """The same lines, byte for byte but for the time and the client's port:
    administrative commands, unknown ones and refused ones are not shown, AUTH's
    arguments are redacted, a transaction's commands show when EXEC runs
    them."""
    results = []
    for port in (server.port, redis_port):
        mon, buf = monitor(port)
        other_mon, other_buf = monitor(port) if port == server.port else (None, None)
        c = socket.create_connection(("127.0.0.1", port))
        c.settimeout(60)  # a hang guard
        c.sendall(b"".join(encode(cmd) for cmd in MONITORED))
        while c.recv(65536):  # every reply, until QUIT closes the connection
            pass
        end = RawClient(port)
        end.cmd(["ECHO", "the end"])
        lines = monitor_lines(mon, buf, b'"ECHO" "the end"')
        if other_mon is not None:  # any number of monitors get the same lines
            assert monitor_lines(other_mon, other_buf, b'"ECHO" "the end"') == lines
            other_mon.close()
        results.append(lines)
        mon.close()
        end.close()
        c.close()
    assert results[0] == results[1], "\n".join(
        "%r | %r" % (a, b) for a, b in zip(results[0] + [b""] * 99, results[1]))


def test_a_monitor_may_not_touch_keys_as_in_redis(server, redis_port):
    results = []
    for port in (server.port, redis_port):
        mon, buf = monitor(port)
        for cmd in (["PING"], ["GET", "a"], ["SET", "a", "1"], ["MONITOR"], ["ECHO", "x"],
                    ["RESET"], ["GET", "nosuchkey"]):
            mon.sendall(encode(cmd))
        while b"$-1\r\n" not in buf:  # the last GET's reply, once RESET ended it
            chunk = mon.recv(65536)
            assert chunk
            buf += chunk
        results.append(re.sub(rb"\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\]", b"+T", buf))
        mon.close()
    assert results[0] == results[1], results


def test_a_monitor_that_does_not_read_is_closed_and_the_server_goes_on(make_server):
    srv = make_server("--client-output-buffer-limit", "normal 1mb 0 0")
    mon = socket.create_connection(("127.0.0.1", srv.port))
    mon.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    mon.sendall(encode(["MONITOR"]))
    c = srv.client()
    payload = "x" * 10000
    deadline = time.monotonic() + 120  # a hang guard
    while True:  # until the monitor is gone from CLIENT LIST
        pipe = c.pipeline(transaction=False)
        for i in range(100):
            pipe.set("k%d" % i, payload)
        pipe.execute()
        if "flags=O" not in c.execute_command("CLIENT", "LIST").decode():
            break
        assert time.monotonic() < deadline, "the monitor was never closed"
    assert c.info("stats")["client_output_buffer_limit_disconnections"] == 1
    assert c.get("k1") == payload.encode()
    mon.close()
    c.close()
