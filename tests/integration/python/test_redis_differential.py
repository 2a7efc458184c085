"""edgekv and a stock redis-server (Debian's) side by side: the same random
command sequences, in RESP2 and RESP3, must get byte-identical replies.

The sequences come from a fixed seed: string commands with edge-case values
(integer limits, floats, inf/nan, bad numbers, empty strings), options in any
order, wrong arities, key commands across databases, MULTI/EXEC/WATCH,
unknown commands. Replies whose order is unspecified (KEYS, SCAN) are
compared as sets; TTLs may differ by the second that passed between the two
servers. Left out: what only one of them has (other data types, OBJECT),
what depends on the server (INFO, TIME, CLIENT, CONFIG SET) and DBSIZE
(Redis counts a key set with a time already past until it is touched;
edgekv drops it at once).
"""
import random
import re
import threading
import time

import pytest

from redis_ref import start_redis, stop_redis
from resp_util import RawClient, encode

KEYS = ["a", "b", "c", "n", "f", "s", "e"]
VALUES = ["", "v", "0", "10", "-5", "3.5", "9223372036854775807", "-9223372036854775808",
          "1e3", "abc", "x" * 40, " 1", "inf", "-inf", "nan", "0x10", "1.0", "5.0e2", "+1",
          "007"]
INTS = ["0", "1", "-1", "2", "100", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "abc", "1.5", "", "-100", "3"]
FLOATS = ["0", "1.5", "-2.25", "1e308", "1e309", "inf", "nan", "abc", "", "5", "-0", "0.1",
          "1e-5", "123456789012345678", "1.7976931348623157e308", "0.30000000000000004",
          "17e-1", "3.0"]
TIMES = ["100", "0", "-1", "1000", "9223372036854775807", "abc", "1.5", "100000000000000",
         "-9223372036854775808", "9223372036854775", "4611686018427387",
         "18446744073709551615", " 100", "100 ", "4102444800", "4102444800000"]
DBS = ["0", "1", "0", "16", "abc", "-1", "2147483648", "-9223372036854775808"]


BIT_OFFSETS = ["0", "1", "7", "8", "13", "63", "64", "100", "1000", "-1", "abc", "4294967296",
               "4294967295", "9223372036854775807"]
RANGES = ["0", "1", "-1", "2", "-2", "5", "7", "8", "-8", "100", "-100", "abc", "9223372036854775807"]
UNITS = ["BYTE", "BIT", "bit", "FOO"]
FIELD_TYPES = ["i1", "i5", "i8", "i16", "i32", "i63", "i64", "u1", "u7", "u8", "u16", "u32",
               "u63", "u64", "x8", "i0", "i65", "I8", "u"]
FIELD_VALUES = ["0", "1", "-1", "100", "-100", "127", "128", "-129", "255", "256", "65535",
                "2147483647", "-2147483648", "9223372036854775807", "-9223372036854775808", "abc"]


def bitfield_op(r):
    kind = r.choice(["GET", "SET", "INCRBY", "OVERFLOW", "get", "FOO"])
    if kind == "OVERFLOW":
        return [kind, r.choice(["WRAP", "SAT", "FAIL", "sat", "BAD"])]
    op = [kind, r.choice(FIELD_TYPES),
          r.choice(["0", "1", "5", "7", "13", "64", "#0", "#1", "#3", "-1", "abc", "#-1"])]
    if kind.upper() in ("SET", "INCRBY") and r.random() < 0.95:
        op.append(r.choice(FIELD_VALUES))
    return op


def key(r):
    return r.choice(KEYS)


def value(r):
    return r.choice(VALUES)


def set_options(r):
    opts = []
    for _ in range(r.randint(0, 3)):
        o = r.choice(["EX", "PX", "EXAT", "PXAT", "NX", "XX", "KEEPTTL", "GET", "ex", "BAD"])
        opts.append(o)
        if o.upper() in ("EX", "PX", "EXAT", "PXAT") and r.random() < 0.9:
            opts.append(r.choice(TIMES))
    return opts


GENERATORS = [
    lambda r: ["SET", key(r), value(r)] + set_options(r),
    lambda r: ["SET", key(r), value(r), "PX", r.choice(["100000", "5000000"])],
    lambda r: ["GET", key(r)],
    lambda r: ["SETNX", key(r), value(r)],
    lambda r: [r.choice(["SETEX", "PSETEX"]), key(r), r.choice(TIMES), value(r)],
    lambda r: ["GETSET", key(r), value(r)],
    lambda r: ["GETDEL", key(r)],
    lambda r: ["GETEX", key(r)] + r.choice(
        [[], ["PERSIST"], ["EX", r.choice(TIMES)], ["PX", r.choice(TIMES)],
         ["EXAT", r.choice(TIMES)], ["PXAT", r.choice(TIMES)], ["EX"], ["FOO"],
         ["PERSIST", "EX", "10"]]),
    lambda r: ["MGET"] + [key(r) for _ in range(r.randint(1, 3))],
    lambda r: ["MSET"] + sum([[key(r), value(r)] for _ in range(r.randint(1, 2))], [])
    + ([key(r)] if r.random() < 0.2 else []),
    lambda r: ["MSETNX"] + sum([[key(r), value(r)] for _ in range(r.randint(1, 2))], []),
    lambda r: ["APPEND", key(r), value(r)],
    lambda r: ["STRLEN", key(r)],
    lambda r: [r.choice(["GETRANGE", "SUBSTR"]), key(r), r.choice(INTS), r.choice(INTS)],
    lambda r: ["TOUCH"] + [key(r) for _ in range(r.randint(1, 3))],
    lambda r: ["LCS", key(r), key(r)] + r.sample(
        ["IDX", "LEN", "WITHMATCHLEN", "MINMATCHLEN", r.choice(INTS), "BAD"], r.randint(0, 3)),
    lambda r: ["SETRANGE", key(r), r.choice(["0", "1", "5", "-1", "abc", "536870912", "3"]),
               value(r)],
    lambda r: [r.choice(["INCR", "DECR"]), key(r)],
    lambda r: [r.choice(["INCRBY", "DECRBY"]), key(r), r.choice(INTS)],
    lambda r: ["INCRBYFLOAT", key(r), r.choice(FLOATS)],
    lambda r: [r.choice(["DEL", "UNLINK", "EXISTS"])] + [key(r) for _ in range(r.randint(1, 3))],
    lambda r: ["TYPE", key(r)],
    lambda r: [r.choice(["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"]), key(r),
               r.choice(TIMES)] + r.sample(["NX", "XX", "GT", "LT", "FOO"], r.randint(0, 2)),
    lambda r: [r.choice(["TTL", "EXPIRETIME", "PERSIST"]), key(r)],
    lambda r: [r.choice(["RENAME", "RENAMENX"]), key(r), key(r)],
    lambda r: ["COPY", key(r), key(r)] + r.choice(
        [[], ["REPLACE"], ["DB", r.choice(DBS)], ["DB", "1", "REPLACE"], ["FOO"]]),
    lambda r: ["MOVE", key(r), r.choice(DBS)],
    lambda r: ["SELECT", r.choice(DBS)],
    lambda r: ["SWAPDB", r.choice(["0", "1", "2"] + DBS), r.choice(["0", "1"] + DBS)],
    lambda r: ["FLUSHDB"] + r.choice([[], ["ASYNC"], ["SYNC"], ["FOO"]]),
    lambda r: ["ECHO", value(r)],
    lambda r: ["PING"] + ([value(r)] if r.random() < 0.5 else []),
    lambda r: [r.choice(["MULTI", "EXEC", "DISCARD", "UNWATCH"])],
    lambda r: ["WATCH", key(r)],
    lambda r: ["KEYS", r.choice(["*", "a*", "?", "[ab]", "[^a]*", "\\a", "*a*"])],
    lambda r: ["SCAN", "0", "COUNT", "1000"] + r.choice(
        [[], ["MATCH", "a*"], ["TYPE", "string"], ["TYPE", "list"], ["COUNT", "0"], ["FOO"]]),
    lambda r: ["CONFIG", "GET", r.choice(["maxmemory", "appendfsync", "databases", "timeout",
                                          "nosuch"])],
    lambda r: ["SETRANGE", key(r), r.choice(INTS), value(r)],
    lambda r: [r.choice(["GETRANGE", "SUBSTR"]), key(r), r.choice(INTS), r.choice(INTS)],
    lambda r: ["TOUCH"] + [key(r) for _ in range(r.randint(1, 3))],
    lambda r: ["LCS", key(r), key(r)] + r.sample(
        ["IDX", "LEN", "WITHMATCHLEN", "MINMATCHLEN", r.choice(INTS), "BAD"], r.randint(0, 3)),
    lambda r: [r.choice(["FOO", "get", "sEt", "EXEC", "CLIENT"])]
    + [value(r)] * r.randint(0, 2),
    lambda r: ["SETBIT", key(r), r.choice(BIT_OFFSETS[:-2]), r.choice(["0", "1", "1", "2", "-1", "a"])],
    lambda r: ["GETBIT", key(r), r.choice(BIT_OFFSETS)],
    lambda r: ["BITCOUNT", key(r)] + r.choice(
        [[], [r.choice(RANGES)], [r.choice(RANGES), r.choice(RANGES)],
         [r.choice(RANGES), r.choice(RANGES), r.choice(UNITS)]]),
    lambda r: ["BITPOS", key(r), r.choice(["0", "1", "1", "0", "2", "x"])] + r.choice(
        [[], [r.choice(RANGES)], [r.choice(RANGES), r.choice(RANGES)],
         [r.choice(RANGES), r.choice(RANGES), r.choice(UNITS)]]),
    lambda r: ["BITOP", r.choice(["AND", "OR", "XOR", "NOT", "not", "NAND"]), key(r)]
    + [key(r) for _ in range(r.randint(1, 3))],
    lambda r: [r.choice(["BITFIELD", "BITFIELD", "BITFIELD_RO"]), key(r)]
    + sum([bitfield_op(r) for _ in range(r.randint(1, 4))], []),
    lambda r: [r.choice(["GET", "SET", "INCR", "MGET", "DEL", "EXPIRE", "GETEX", "SETRANGE",
                         "COPY", "TTL", "ECHO", "PING", "SELECT", "SWAPDB", "MSET", "RENAME",
                         "APPEND", "INCRBYFLOAT", "GETRANGE"])]
    + [value(r) for _ in range(r.randint(0, 5))],
]
UNORDERED = ("KEYS", "SCAN")
CLOCK = ("TTL", "EXPIRETIME")  # may differ by the second between the two calls
IN_MULTI_SKIPPED = UNORDERED + CLOCK


def array_items(reply, pos=0):
    """The bulk strings of a flat array reply at pos, and where it ends."""
    out = []
    end = reply.index(b"\r\n", pos)
    n = int(reply[pos + 1:end])
    pos = end + 2
    for _ in range(n):
        end = reply.index(b"\r\n", pos)
        length = int(reply[pos + 1:end])
        pos = end + 2
        out.append(reply[pos:pos + length])
        pos += length + 2
    return out, pos


def comparable(cmd, reply):
    name = cmd[0].upper()
    if name == "KEYS" and reply[:1] == b"*":
        return sorted(array_items(reply)[0])
    if name == "SCAN" and reply[:2] == b"*2":
        cursor_end = reply.index(b"\r\n", reply.index(b"\r\n", 4) + 2)
        return sorted(array_items(reply, cursor_end + 2)[0])
    return reply


def close_integers(a, b):
    try:
        return abs(int(a[1:-2]) - int(b[1:-2])) <= 1
    except ValueError:
        return False


@pytest.fixture(scope="module")
def redis_port():
    proc, port, d = start_redis()
    yield port
    stop_redis(proc, d)


def _raw_caller(port):
    """call(*args) -> the reply as redis-py parses it, without its command
    callbacks (the server's own shape)."""
    import redis
    conn = redis.Redis(port=port, decode_responses=True).connection_pool.get_connection("_")

    def call(*args):
        conn.send_command(*args)
        return conn.read_response()
    return call


@pytest.mark.parametrize("protocol", [2, 3])
def test_replies_match_redis_byte_for_byte(server, redis_port, protocol):
    ours, theirs = RawClient(server.port), RawClient(redis_port)
    mismatches = []
    for seed in range(12):
        rng = random.Random(seed * 10 + protocol)
        for c in (ours, theirs):
            c.cmd(["DISCARD"])
            c.cmd(["UNWATCH"])
            assert c.cmd(["FLUSHALL"]) == b"+OK\r\n"
            c.cmd(["SELECT", "0"])
            c.cmd(["HELLO", str(protocol)])
        in_multi = False
        history = []
        for _ in range(400):
            cmd = rng.choice(GENERATORS)(rng)
            if rng.random() < 0.03 and len(cmd) > 1:
                cmd = cmd[:-1]  # one argument short
            if in_multi and cmd[0].upper() in IN_MULTI_SKIPPED:
                continue
            # Both servers get the command before either reply is read: a key
            # with a TTL of 100 ms expires at about the same point of both
            # streams, however long a round trip takes.
            ours.send(cmd)
            theirs.send(cmd)
            a, b = ours.read(), theirs.read()
            history.append((cmd, b))
            if cmd[0].upper() == "MULTI" and b == b"+OK\r\n":
                in_multi = True
            if cmd[0].upper() in ("EXEC", "DISCARD"):
                in_multi = False
            if comparable(cmd, a) == comparable(cmd, b):
                continue
            if cmd[0].upper() in CLOCK and close_integers(a, b):
                continue
            mismatches.append("seed %d: %r\n  edgekv: %r\n  redis:  %r\n  after: %r" % (
                seed, cmd, a, b, history[-8:-1]))
            break  # the two states may differ from here on
    assert not mismatches, "\n".join(mismatches)


# Fixed edge cases of the connection, server and transaction commands. Not
# here: HELLO's reply (version and client id differ), CLIENT SETINFO (Redis
# 7.2; Debian has 7.0), COMMAND INFO/DOCS/LIST (edgekv has fewer commands
# and no ACL categories beyond the group), and the order in which CONFIG SET
# lists an enum's values.
EDGE_CASES = [
    ["AUTH", "x"], ["AUTH", "default", "x"], ["AUTH"], ["AUTH", "a", "b", "c"],
    ["HELLO", "4"], ["HELLO", "abc"], ["HELLO", "3", "AUTH", "default"], ["HELLO", "2", "FOO"],
    ["HELLO", "2", "SETNAME", "a b"],
    ["CLIENT", "SETNAME", "a b"], ["CLIENT", "SETNAME", ""], ["CLIENT", "GETNAME"],
    ["CLIENT", "SETNAME", "n1"], ["CLIENT", "GETNAME"], ["CLIENT", "KILL", "1.2.3.4:5"],
    ["CLIENT", "KILL", "ID", "abc"], ["CLIENT", "KILL", "ID", "999999"], ["CLIENT", "NOSUCH"],
    ["CLIENT"],
    ["SCAN", "abc"], ["SCAN", "0", "COUNT", "-1"], ["SCAN", "0", "COUNT", "abc"],
    ["SCAN", "0", "MATCH"], ["SCAN", "-1"], ["SCAN", "18446744073709551616"],
    ["SCAN", "0", "TYPE"], ["KEYS"], ["KEYS", "[a-"], ["KEYS", "\\"], ["KEYS", "[]"],
    ["KEYS", "[^]"], ["KEYS", "a[b-]"], ["RANDOMKEY"], ["SET", "only", "1"], ["RANDOMKEY"],
    ["RANDOMKEY", "x"],
    ["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"], ["COMMAND", "GETKEYS", "get", "k"],
    ["COMMAND", "GETKEYS", "nosuch", "k"], ["COMMAND", "GETKEYS", "PING"],
    ["COMMAND", "GETKEYS", "PING", "x"], ["COMMAND", "GETKEYS", "GET", "a", "b"],
    ["COMMAND", "COUNT", "x"],
    ["CONFIG", "GET"], ["CONFIG", "SET", "nosuch", "1"], ["CONFIG", "SET", "maxmemory", "abc"],
    ["CONFIG", "SET", "timeout", "-1"], ["CONFIG", "SET", "maxmemory"],
    ["CONFIG", "RESETSTAT", "x"], ["CONFIG", "SET", "appendfsync", "sometimes"],
    ["TIME", "x"], ["DBSIZE", "x"], ["LASTSAVE", "x"], ["ECHO"], ["PING", "a", "b"],
    ["SELECT"], ["RESET", "x"],
    ["MULTI"], ["SELECT", "1"], ["SET", "k", "v"], ["EXEC"], ["SELECT", "0"], ["GET", "k"],
    ["MULTI"], ["MULTI"], ["DISCARD"], ["EXEC"], ["MULTI"], ["WATCH", "x"], ["EXEC"],
    ["WATCH"], ["MULTI"], ["EXEC", "x"], ["EXEC"],
    ["INFO", "nosuch"], ["ROLE", "x"], ["WAIT", "0"], ["WAIT", "abc", "0"],
    ["WAIT", "0", "abc"], ["WAIT", "0", "-1"], ["SHUTDOWN", "FOO"], ["DEBUG"], ["SAVE", "x"],
    ["REPLICAOF", "no"],
    ["SET", "k", "v", "EX", "10", "PX", "10"], ["SET", "k", "v", "NX", "XX"],
    ["SET", "k", "v", "KEEPTTL", "EX", "1"], ["SET", "k", "v", "GET", "GET"],
    ["GETEX", "k", "EX", "10", "PX", "10"], ["GETEX", "k", "PERSIST", "PERSIST"],
    ["EXPIRE", "k", "10", "NX", "XX"], ["EXPIRE", "k", "10", "GT", "LT"],
    ["EXPIRE", "k", "10", "NX", "GT"], ["COPY", "k", "k"], ["COPY", "k", "k", "DB", "0"],
    ["COPY", "k", "k2", "DB", "0", "DB", "1"], ["MOVE", "k", "0"], ["RENAME", "nosuch", "k"],
    ["RENAME", "k", "k"], ["RENAMENX", "k", "k"], ["SETRANGE", "k", "536870911", "xx"],
    ["SETRANGE", "k", "0", ""], ["SETRANGE", "nk", "0", ""],
    ["GETRANGE", "k", "0", "-1", "x"], ["INCRBYFLOAT", "k", "1"], ["SET", "fl", "1.5"],
    ["INCRBYFLOAT", "fl", "1e400"], ["INCRBYFLOAT", "fl", "-1.5"], ["GET", "fl"],
    ["INCRBYFLOAT", "fl", "0x10"], ["INCRBYFLOAT", "fl", " 1"], ["INCRBYFLOAT", "fl", "1 "],
    ["SET", "big", "9223372036854775807"], ["INCR", "big"],
    ["DECRBY", "big", "-9223372036854775808"], ["INCRBY", "big", "-9223372036854775808"],
    ["MSET"], ["MSET", "a"], ["MGET"], ["DEL"], ["EXISTS"], ["TYPE"], ["TTL"], ["UNLINK"],
    ["FLUSHALL", "ASYNC", "x"], ["FLUSHALL", "FOO"], ["FLUSHDB", "SYNC", "ASYNC"],
    ["SWAPDB", "0"],
    ["SLOWLOG"], ["SLOWLOG", "FOO"], ["SLOWLOG", "LEN", "x"], ["SLOWLOG", "GET", "abc"],
    ["SLOWLOG", "GET", "-2"], ["SLOWLOG", "GET", "1", "2"], ["SLOWLOG", "GET", "0"],
    ["SLOWLOG", "HELP"], ["SLOWLOG", "HELP", "x"], ["SLOWLOG", "RESET", "x"],
    ["CONFIG", "SET", "slowlog-log-slower-than", "-2"],
    ["CONFIG", "SET", "slowlog-max-len", "-1"], ["CONFIG", "GET", "slowlog-max-len"],
    # A bit write that changes nothing does not touch the key (WATCH holds).
    ["SETBIT", "wk", "7", "0"], ["WATCH", "wk"], ["BITFIELD", "wk", "SET", "u8", "0", "0"],
    ["SETBIT", "wk", "3", "0"], ["MULTI"], ["GET", "wk"], ["EXEC"],
    ["WATCH", "wk"], ["BITFIELD", "wk", "SET", "u8", "0", "1"], ["MULTI"], ["EXEC"],
    # OBJECT and MEMORY (the encoding SET gives a value; IDLETIME and sizes
    # are timing and allocator figures, compared elsewhere).
    ["SET", "o1", "123"], ["SET", "o2", "12345"], ["SET", "o3", "hello"],
    ["SET", "o4", "x" * 44], ["SET", "o5", "x" * 45], ["SET", "o6", "-0"], ["SET", "o7", "007"],
    ["SET", "o8", "-9223372036854775808"], ["SET", "o9", "9223372036854775808"],
    ["SET", "o10", "9999"], ["SET", "o11", "10000"], ["SET", "o12", "-1"], ["SET", "o13", ""],
    ["SET", "o14", " 1"], ["SET", "o15", "1.5"],
] + [["OBJECT", sub, "o%d" % i] for sub in ("ENCODING", "REFCOUNT") for i in range(1, 16)] + [
    ["OBJECT", "ENCODING", "nosuch"], ["OBJECT", "REFCOUNT", "nosuch"],
    ["OBJECT", "IDLETIME", "nosuch"], ["OBJECT", "FREQ", "nosuch"], ["OBJECT", "FREQ", "o3"],
    ["OBJECT", "encoding", "o1"], ["OBJECT"], ["OBJECT", "FOO"], ["OBJECT", "ENCODING"],
    ["OBJECT", "ENCODING", "o1", "o2"], ["OBJECT", "HELP"], ["OBJECT", "HELP", "x"],
    ["MEMORY"], ["MEMORY", "HELP"], ["MEMORY", "NOSUCH"], ["MEMORY", "USAGE"],
    ["MEMORY", "USAGE", "nosuch"], ["MEMORY", "USAGE", "o3", "SAMPLES"],
    ["MEMORY", "USAGE", "o3", "SAMPLES", "x"], ["MEMORY", "USAGE", "o3", "SAMPLES", "-1"],
    ["MEMORY", "USAGE", "o3", "FOO", "1"], ["MEMORY", "USAGE", "nosuch", "SAMPLES", "0"],
    ["MEMORY", "PURGE"], ["MEMORY", "PURGE", "x"], ["MEMORY", "DOCTOR", "x"],
    ["MEMORY", "STATS", "x"], ["MEMORY", "MALLOC-STATS", "x"],
    # LATENCY (no events: monitoring is off on both; figures are timings,
    # compared in their own tests below).
    ["LATENCY"], ["LATENCY", "FOO"], ["LATENCY", "HELP"], ["LATENCY", "help", "x"],
    ["LATENCY", "LATEST"], ["LATENCY", "LATEST", "x"], ["LATENCY", "HISTORY"],
    ["LATENCY", "HISTORY", "command"], ["LATENCY", "HISTORY", "a", "b"],
    ["LATENCY", "GRAPH"], ["LATENCY", "GRAPH", "command"], ["LATENCY", "RESET", "nosuch"],
    ["LATENCY", "DOCTOR"], ["LATENCY", "DOCTOR", "x"], ["LATENCY", "HISTOGRAM", "nosuch"],
    ["LATENCY", "HISTOGRAM", "nosuch|x"],
    ["CONFIG", "GET", "latency-monitor-threshold"], ["CONFIG", "GET", "latency-tracking"],
    ["CONFIG", "SET", "latency-monitor-threshold", "-1"],
    ["CONFIG", "SET", "latency-monitor-threshold", "x"],
    ["CONFIG", "SET", "latency-tracking", "maybe"],
    ["CONFIG", "SET", "latency-tracking-info-percentiles", "abc"],
    ["CONFIG", "SET", "latency-tracking-info-percentiles", "50 101"],
    ["CONFIG", "SET", "latency-tracking-info-percentiles", "50.0 99.990 0 1e1"],
    ["CONFIG", "GET", "latency-tracking-info-percentiles"],
    ["CONFIG", "SET", "latency-tracking-info-percentiles", ""],
    ["CONFIG", "GET", "latency-tracking-info-percentiles"],
    ["CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9"],
    # WAIT inside a transaction is queued and answers at once in EXEC.
    ["MULTI"], ["WAIT", "0", "0"], ["WAIT", "1", "100"], ["EXEC"],
    # CLIENT's steering subcommands (a pause itself is tested below).
    ["CLIENT", "PAUSE"], ["CLIENT", "PAUSE", "abc"], ["CLIENT", "PAUSE", "-1"],
    ["CLIENT", "PAUSE", "abc", "foo"], ["CLIENT", "UNBLOCK", "abc", "foo"],
    ["CLIENT", "PAUSE", "100", "foo"], ["CLIENT", "PAUSE", "100", "write", "x"],
    ["CLIENT", "UNPAUSE", "x"],
    ["CLIENT", "UNPAUSE"], ["CLIENT", "NO-EVICT"], ["CLIENT", "NO-EVICT", "maybe"],
    ["CLIENT", "NO-EVICT", "on"], ["CLIENT", "NO-EVICT", "OFF"], ["CLIENT", "REPLY"],
    ["CLIENT", "REPLY", "maybe"], ["CLIENT", "REPLY", "on"], ["CLIENT", "UNBLOCK"],
    ["CLIENT", "UNBLOCK", "abc"], ["CLIENT", "UNBLOCK", "999999"],
    ["CLIENT", "UNBLOCK", "999999", "foo"], ["CLIENT", "UNBLOCK", "999999", "error"],
    ["CLIENT", "UNBLOCK", "999999", "error", "x"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_edge_cases_match_redis_byte_for_byte(make_server, redis_port, protocol):
    ours, theirs = RawClient(make_server().port), RawClient(redis_port)
    for c in (ours, theirs):
        c.cmd(["FLUSHALL"])
        c.cmd(["HELLO", str(protocol)])
    mismatches = []
    for cmd in EDGE_CASES:
        a, b = ours.cmd(cmd), theirs.cmd(cmd)
        if a != b:
            mismatches.append("%r\n  edgekv: %r\n  redis:  %r" % (cmd, a, b))
    assert not mismatches, "\n".join(mismatches)


def test_command_info_acl_categories_match_redis(server, redis_port):
    """Every command edgekv lists (subcommands too) has the ACL categories
    redis-server gives it in COMMAND INFO (those Redis knows), and a
    container command (CLIENT, CONFIG) no flags, as in Redis."""
    ours, theirs = _raw_caller(server.port), _raw_caller(redis_port)
    infos = []
    for info in ours("COMMAND"):
        infos.append(info)
        infos.extend(info[9])
    compared, mismatches = 0, []
    for info in infos:
        expected = theirs("COMMAND", "INFO", info[0])[0]
        if expected is None:  # edgekv's own (DEBUG SET-IO-THREADS, ...)
            continue
        compared += 1
        if info[6] != expected[6]:
            mismatches.append("%s: edgekv %s, redis %s" % (info[0], info[6], expected[6]))
        if expected[9] and info[2] != expected[2]:
            mismatches.append("%s flags: edgekv %s, redis %s" % (info[0], info[2], expected[2]))
    assert compared >= 80, compared
    assert not mismatches, "\n".join(mismatches)


def test_slowlog_entries_match_redis(make_server, redis_port):
    """With every command logged, both servers log the same commands with the
    same arguments, cut and redacted alike, and the same client names. Ids,
    times, durations and ports differ and are left out."""
    import redis

    def run(port):
        c = redis.Redis(port=port, decode_responses=True)
        c.config_set("slowlog-log-slower-than", 0)
        c.slowlog_reset()
        c.client_setname("diff")
        c.mset({str(i): i for i in range(1, 21)})  # 41 arguments: cut to 32
        c.set("big", "x" * 300)  # cut at 128 bytes
        for cmd in (["AUTH", "pw"], ["AUTH", "default", "pw"],
                    ["HELLO", "2", "AUTH", "default", "pw"]):
            try:
                c.execute_command(*cmd)
            except redis.ResponseError:
                pass
        c.config_set("masterauth", "secret")
        c.config_set("masterauth", "")
        p = c.pipeline(transaction=True)
        p.set("a", 1).incr("a")
        p.execute()
        # From here on only a command slower than a second would be logged.
        c.config_set("slowlog-log-slower-than", 1000000)
        entries = c.execute_command("SLOWLOG", "GET", "-1")
        c.config_set("slowlog-log-slower-than", 0)
        c.config_set("slowlog-max-len", 2)
        c.ping()
        length = c.slowlog_len()
        c.config_set("slowlog-max-len", 128)
        c.config_set("slowlog-log-slower-than", 10000)
        return [(e[3], e[5]) for e in entries], length

    ours, theirs = run(make_server().port), run(redis_port)
    assert ours == theirs
    assert len(ours[0]) >= 10


def test_info_commandstats_and_errorstats_match_redis(make_server, redis_port):
    """The same requests (runs, failures, refusals, a transaction) give the same
    INFO commandstats counts (times aside) and errorstats on both servers."""
    import redis

    def run(port):
        c = redis.Redis(port=port)
        c.config_resetstat()
        raw = RawClient(port)
        for cmd in (["SET", "n", "1"], ["INCR", "n"], ["SET", "s", "x"], ["INCR", "s"],
                    ["INCR"], ["GET"], ["GET", "n"], ["CONFIG", "GET", "hz"],
                    ["CONFIG", "NOSUCH"], ["NOSUCH", "x"], ["MULTI"], ["INCR", "s"],
                    ["SET", "t"], ["EXEC"], ["MULTI"], ["INCR", "s"], ["GET", "n"], ["EXEC"],
                    ["SETBIT", "b", "1", "5"], ["BITCOUNT", "b", "0"], ["AUTH", "x"],
                    ["SELECT", "99"], ["WATCH"], ["EXPIRE", "n", "abc"],
                    ["SLOWLOG", "GET", "x"], ["CONFIG"], ["SLOWLOG"], ["EXEC", "x"],
                    ["MULTI"], ["EXEC", "x"], ["MULTI"], ["SET"], ["EXEC"]):
            raw.cmd(cmd)
        raw.close()
        stats = c.info("commandstats")
        for v in stats.values():
            v.pop("usec")
            v.pop("usec_per_call")
        stats.pop("cmdstat_info", None)
        return stats, c.info("errorstats"), c.info("stats")["total_error_replies"]

    ours, theirs = run(make_server().port), run(redis_port)
    assert ours == theirs
    assert ours[0]["cmdstat_incr"]["failed_calls"] >= 1


def test_latency_events_match_redis(make_server):
    """With latency-monitor-threshold 100, the same slow commands a second
    apart give both servers the same LATENCY LATEST, HISTORY, GRAPH and
    DOCTOR (times and milliseconds aside, which are the two hosts' own; other
    events a loaded host may add are left out)."""
    ours = make_server("--enable-debug-command", "yes", "--latency-monitor-threshold", "100")
    proc, port, d = start_redis("--enable-debug-command", "yes",
                                "--latency-monitor-threshold", "100")
    try:
        calls = [_raw_caller(ours.port), _raw_caller(port)]
        for c in calls:
            c("LATENCY", "RESET")
        for i, seconds in enumerate(("0.3", "0.4", "0.15")):
            if i:
                time.sleep(1.1)  # one sample per second: a new one
            for c in calls:
                assert c("DEBUG", "SLEEP", seconds) == "OK"
        got = []
        for c in calls:
            latest = {e[0]: e[1:] for e in c("LATENCY", "LATEST")}
            history = c("LATENCY", "HISTORY", "command")
            graph = c("LATENCY", "GRAPH", "command")
            doctor = c("LATENCY", "DOCTOR")
            got.append((latest, history, graph, doctor))
            c("CONFIG", "SET", "latency-monitor-threshold", "0")
            assert c("LATENCY", "RESET", "command", "nosuch") == 1
            assert "command" not in [e[0] for e in c("LATENCY", "LATEST")]
        for latest, history, graph, doctor in got:
            when, last_ms, max_ms = latest["command"]
            assert last_ms >= 150 and max_ms >= 400
            ms = [s[1] for s in history]
            assert len(ms) == 3 and ms[0] >= 300 and ms[1] >= 400 and ms[2] >= 150, ms
            assert when == history[-1][0]
            lines = graph.split("\n")
            assert re.fullmatch(r"command - high \d+ ms, low \d+ ms \(all time high \d+ ms\)",
                                lines[0]), lines[0]
            assert lines[1] == "-" * 80
        (_, h_ours, g_ours, d_ours), (_, h_theirs, g_theirs, d_theirs) = got
        g_ours, g_theirs = g_ours.split("\n"), g_theirs.split("\n")
        assert len(g_ours) == len(g_theirs), (g_ours, g_theirs)
        if [s[1] for s in h_ours] == [s[1] for s in h_theirs]:
            # The same milliseconds draw the same bars (labels are ages).
            assert g_ours[:7] == g_theirs[:7], (g_ours, g_theirs)
        numbers = re.compile(r"\d+(\.\d+)?")

        def command_line(report):
            return [numbers.sub("N", line) for line in report.split("\n")
                    if ". command: " in line]
        d_ours, d_theirs = d_ours.split("\n"), d_theirs.split("\n")
        assert d_ours[0] == d_theirs[0]
        assert command_line("\n".join(d_ours)) == command_line("\n".join(d_theirs))
        assert len(command_line("\n".join(d_ours))) == 1
        assert "I have a few advices for you:" in d_ours
        assert "I have a few advices for you:" in d_theirs
    finally:
        stop_redis(proc, d)


LATENCY_LABELS = {1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454, 16908,
                  33816, 67633, 135266, 270532, 541065, 1073741}


def test_latency_histograms_match_redis(make_server, redis_port):
    """The same commands give both servers histograms for the same commands,
    with the same calls, buckets labelled alike, and INFO latencystats lines
    for the same commands."""
    def histograms(call, *names):
        flat = call("LATENCY", "HISTOGRAM", *names)
        out = {}
        for name, body in zip(flat[::2], flat[1::2]):
            body = dict(zip(body[::2], body[1::2]))
            out[name] = (body["calls"], list(zip(body["histogram_usec"][::2],
                                                 body["histogram_usec"][1::2])))
        return out

    def run(port):
        call = _raw_caller(port)
        call("CONFIG", "RESETSTAT")
        for i in range(50):
            call("SET", "k%d" % i, "v")
        for i in range(20):
            call("GET", "k%d" % i)
        call("CONFIG", "GET", "hz")
        call("CONFIG", "GET", "port")
        call("PING")
        all_ = histograms(call)
        some = histograms(call, "config", "set", "nosuch", "ping|x")
        info = call("INFO", "latencystats")
        call("CONFIG", "SET", "latency-tracking", "no")
        off = call("INFO", "latencystats")
        off_histograms = histograms(call)
        call("CONFIG", "SET", "latency-tracking", "yes")
        return all_, some, info, off, off_histograms

    ours, theirs = run(make_server().port), run(redis_port)
    all_ours, all_theirs = ours[0], theirs[0]
    assert {k: v[0] for k, v in all_ours.items()} == {k: v[0] for k, v in all_theirs.items()}
    assert all_ours["set"][0] == 50 and all_ours["config|get"][0] == 2
    for name, (calls, points) in all_ours.items():
        assert {p[0] for p in points} <= LATENCY_LABELS, (name, points)
        cumulative = [p[1] for p in points]
        assert cumulative == sorted(set(cumulative)) and cumulative[-1] == calls, name
    assert sorted(ours[1]) == sorted(theirs[1]) == ["config|get", "config|resetstat", "set"]

    def latencystats(text):
        lines = [line for line in text.splitlines() if line and not line.startswith("#")]
        return dict(line.split(":", 1) for line in lines)
    info_ours, info_theirs = latencystats(ours[2]), latencystats(theirs[2])
    assert sorted(info_ours) == sorted(info_theirs)
    assert "latency_percentiles_usec_config|get" in info_ours
    for v in info_ours.values():
        assert re.fullmatch(r"p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}", v), v
    # latency-tracking off: an empty section; the histograms are still there.
    assert ours[3] == theirs[3] == "# Latencystats\r\n"
    assert sorted(ours[4]) == sorted(theirs[4])


def test_wait_without_replicas_blocks_until_its_timeout_as_in_redis(server, redis_port):
    """WAIT for more replicas than are online blocks until its timeout and
    answers how many acknowledged, whether or not the client wrote anything;
    WAIT 0 answers at once (long before its timeout)."""
    for port in (server.port, redis_port):
        for write_first in (False, True):
            c = RawClient(port)
            if write_first:
                c.cmd(["SET", "waited", "1"])
            started = time.monotonic()
            assert c.cmd(["WAIT", "1", "200"]) == b":0\r\n"
            assert time.monotonic() - started >= 0.15, (port, write_first)
            started = time.monotonic()
            assert c.cmd(["WAIT", "0", "60000"]) == b":0\r\n"
            assert time.monotonic() - started < 30
            c.close()


# INFO fields that monitoring reads (redis_exporter, RedisInsight, Datadog's
# and Grafana's dashboards); each is checked against redis-server too.
INFO_FIELDS = {
    "server": ["redis_version", "redis_git_sha1", "redis_mode", "os", "arch_bits",
               "monotonic_clock", "multiplexing_api", "gcc_version", "process_id",
               "process_supervised", "run_id", "tcp_port", "server_time_usec",
               "uptime_in_seconds", "uptime_in_days", "hz", "configured_hz", "lru_clock",
               "executable", "config_file", "io_threads_active"],
    "clients": ["connected_clients", "client_recent_max_input_buffer",
                "client_recent_max_output_buffer", "blocked_clients", "tracking_clients",
                "maxclients"],
    "memory": ["used_memory", "used_memory_human", "used_memory_rss", "used_memory_peak",
               "used_memory_peak_perc", "used_memory_startup", "used_memory_dataset",
               "total_system_memory", "total_system_memory_human", "maxmemory",
               "maxmemory_policy", "mem_fragmentation_ratio", "mem_fragmentation_bytes",
               "mem_allocator"],
    "persistence": ["loading", "async_loading", "rdb_changes_since_last_save",
                    "rdb_bgsave_in_progress", "rdb_last_save_time", "aof_enabled",
                    "aof_rewrite_in_progress"],
    "stats": ["total_connections_received", "total_commands_processed",
              "instantaneous_ops_per_sec", "total_net_input_bytes", "total_net_output_bytes",
              "instantaneous_input_kbps", "instantaneous_output_kbps",
              "rejected_connections", "expired_keys", "evicted_keys", "keyspace_hits",
              "keyspace_misses", "total_error_replies", "sync_full"],
    "replication": ["role", "connected_slaves", "master_replid", "master_repl_offset"],
    "cpu": ["used_cpu_sys", "used_cpu_user", "used_cpu_sys_children",
            "used_cpu_user_children"],
}


def test_info_has_the_fields_monitoring_reads(server, redis_port):
    import redis
    for port in (server.port, redis_port):
        c = redis.Redis(port=port)
        for section, names in INFO_FIELDS.items():
            got = c.info(section)
            missing = [n for n in names if n not in got]
            assert not missing, (port, section, missing)
        assert c.info("memory")["used_memory_peak_perc"].endswith("%")


def test_instantaneous_rates_follow_the_load(server):
    """instantaneous_ops_per_sec and the kbps figures rise under load and fall
    back when it stops (Redis's 1.6 s window of 100 ms samples)."""
    r = server.client()
    stop = time.monotonic() + 1.2
    p = r.pipeline(transaction=False)
    sent = 0
    while time.monotonic() < stop:
        for _ in range(50):
            p.set("rate", "x" * 100)
        p.execute()
        sent += 50
    stats = r.info("stats")
    assert 0.2 * sent / 1.6 < stats["instantaneous_ops_per_sec"] < 2 * sent, (stats, sent)
    assert stats["instantaneous_input_kbps"] > 1
    assert stats["instantaneous_output_kbps"] > 0
    deadline = time.monotonic() + 60  # the 1.6 s window passes once idle
    while True:
        stats = r.info("stats")
        if stats["instantaneous_ops_per_sec"] < 10 and stats["instantaneous_input_kbps"] < 1:
            break
        assert time.monotonic() < deadline, stats
        time.sleep(0.2)


def test_client_pause_holds_writes_or_everything_as_in_redis(server, redis_port):
    """CLIENT PAUSE WRITE holds writes (and an EXEC holding one) until the
    pause ends or CLIENT UNPAUSE, while reads go on; a held client counts in
    blocked_clients; PAUSE ALL holds every command. Timed on both servers
    alike, from before the pause. (The first pause is 3 s, so that reads that
    were not held are told apart from held ones also on a slow machine.)"""
    import redis

    for port in (server.port, redis_port):
        admin = redis.Redis(port=port)
        c = redis.Redis(port=port, socket_timeout=60)
        c.ping()
        admin.set("p", "1")
        started = time.monotonic()
        assert admin.execute_command("CLIENT", "PAUSE", "3000", "WRITE")
        assert c.get("p") == b"1"
        reads = c.pipeline(transaction=True)
        reads.get("p")
        reads.execute()
        assert time.monotonic() - started < 2.5, port  # reads were not held
        c.set("p", "2")
        assert time.monotonic() - started > 2.9, port  # the write was
        assert admin.get("p") == b"2"
        started = time.monotonic()
        assert admin.execute_command("CLIENT", "PAUSE", "1000", "WRITE")
        writes = c.pipeline(transaction=True)
        writes.incr("n")
        writes.execute()
        assert time.monotonic() - started > 0.9, port
        # UNPAUSE lets a held write go at once.
        assert admin.execute_command("CLIENT", "PAUSE", "600000", "WRITE")  # ended below
        held = []
        t = threading.Thread(target=lambda: held.append(c.set("p", "3")))
        t.start()
        deadline = time.monotonic() + 60  # a hang guard
        while admin.info("clients")["blocked_clients"] != 1:
            assert time.monotonic() < deadline, port
            time.sleep(0.01)
        assert admin.get("p") == b"2"
        assert admin.execute_command("CLIENT", "UNPAUSE")
        t.join(60)
        assert not t.is_alive()
        assert held == [True], port  # (an exception in the thread leaves it empty)
        assert admin.get("p") == b"3"
        # ALL holds reads too.
        started = time.monotonic()
        assert admin.execute_command("CLIENT", "PAUSE", "1000")
        assert c.get("p") == b"3"
        assert time.monotonic() - started > 0.9, port


def test_a_write_pause_keeps_expired_keys_out_of_the_log(make_server):
    """While writes are paused nothing reaches the log (and so the replicas):
    a key past its TTL reads as missing but is deleted only after the pause."""
    r = make_server().client()
    # The pause must begin before the key expires: on a machine too slow for
    # that, the same with a longer TTL.
    for ttl_ms in (1000, 5000, 30000):
        set_at = time.monotonic()
        r.set("ttl", "v", px=ttl_ms)
        offset = r.info("replication")["master_repl_offset"]
        expired = r.info("stats")["expired_keys"]
        assert r.execute_command("CLIENT", "PAUSE", "600000", "WRITE")  # ended below
        if time.monotonic() - set_at < ttl_ms / 1000 * 0.8:
            break
        assert r.execute_command("CLIENT", "UNPAUSE")
        r.delete("ttl")
    else:
        raise AssertionError("could not pause within 24 s of a SET")
    # Past the TTL; the active expiry runs 10 times a second meanwhile.
    time.sleep(max(0.0, set_at + ttl_ms / 1000 + 0.5 - time.monotonic()))
    assert r.get("ttl") is None
    assert r.info("replication")["master_repl_offset"] == offset
    assert r.info("stats")["expired_keys"] == expired
    assert r.execute_command("CLIENT", "UNPAUSE")
    deadline = time.monotonic() + 60  # a hang guard
    while r.info("stats")["expired_keys"] == expired and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.info("stats")["expired_keys"] == expired + 1
    assert r.info("replication")["master_repl_offset"] > offset


def test_client_reply_off_skip_on_match_redis(server, redis_port):
    got = []
    for port in (server.port, redis_port):
        c = RawClient(port)
        c.sock.sendall(b"".join(encode(cmd) for cmd in (
            ["CLIENT", "REPLY", "OFF"], ["SET", "r", "1"], ["GET", "r"], ["NOSUCH"],
            ["CLIENT", "REPLY", "SKIP"], ["CLIENT", "REPLY", "ON"], ["GET", "r"],
            ["CLIENT", "REPLY", "SKIP"], ["SET", "r", "2"], ["GET", "r"],
            # A blocked command's reply is skipped when it comes.
            ["CLIENT", "REPLY", "SKIP"], ["WAIT", "1", "100"], ["ECHO", "x"])))
        # ECHO's reply comes last: read until it (a reply that was not
        # skipped comes before it and makes the bytes differ).
        c.sock.settimeout(60)
        data = b""
        while not data.endswith(b"$1\r\nx\r\n"):
            chunk = c.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        got.append(data)
        c.close()
    assert got[0] == got[1] == b"+OK\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\nx\r\n", got


def test_client_unblock_ends_a_wait_as_in_redis(server, redis_port):
    """CLIENT UNBLOCK ends another client's WAIT as a timeout (its count) or
    with -UNBLOCKED; the blocked client shows in INFO blocked_clients and
    with flag b in CLIENT LIST."""
    import redis
    results = []
    for port in (server.port, redis_port):
        admin = redis.Redis(port=port, decode_responses=True)
        out = []
        for reason in ("TIMEOUT", "ERROR"):
            waiter = RawClient(port)
            wid = int(waiter.cmd(["CLIENT", "ID"])[1:-2])
            waiter.sock.sendall(encode(["WAIT", "1", "0"]))  # no replica: forever
            deadline = time.monotonic() + 60  # a hang guard
            while admin.info("clients")["blocked_clients"] != 1:
                assert time.monotonic() < deadline, port
                time.sleep(0.01)
            flags = [c["flags"] for c in admin.client_list() if int(c["id"]) == wid]
            out.append((flags, admin.execute_command("CLIENT", "UNBLOCK", wid, reason)))
            waiter.sock.settimeout(60)
            out.append(waiter.sock.recv(1024))
            out.append(admin.execute_command("CLIENT", "UNBLOCK", wid))
            waiter.close()
        results.append(out)
    assert results[0] == results[1], results
    assert results[0][0] == (["b"], 1)
    assert results[0][1] == b":0\r\n"
    assert results[0][4] == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"


def test_a_blocked_client_is_not_idle_as_in_redis(make_server):
    """With timeout 1, a client blocked in WAIT for 2.5 s gets its reply
    instead of being closed as idle, on both servers; an idle one is closed
    (without a word: it is read, not written to)."""
    ours = make_server("--timeout", "1")
    proc, port, d = start_redis("--timeout", "1")
    try:
        for p in (ours.port, port):
            waiter, idle = RawClient(p, timeout=60), RawClient(p, timeout=60)
            idle.cmd(["PING"])
            started = time.monotonic()
            assert waiter.cmd(["WAIT", "1", "2500"]) == b":0\r\n", p
            assert time.monotonic() - started > 2.0
            try:
                assert idle.sock.recv(100) == b""  # closed while idle
            except ConnectionResetError:
                pass
            waiter.close()
            idle.close()
    finally:
        stop_redis(proc, d)
