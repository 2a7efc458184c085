"""The hash commands on edgekv and on a stock redis-server (Debian's 7.0) side
by side: the same random command sequences, in RESP2 and RESP3, must get
byte-identical replies; then fixed edge cases; then hashes across a restart.

The sequences come from a fixed seed and a few keys, so that commands meet
on the same keys: HSET, HSETNX, HMSET, HGET, HMGET, HDEL, HEXISTS, HLEN,
HSTRLEN, HINCRBY and HINCRBYFLOAT with edge-case numbers, HGETALL, HKEYS,
HVALS, HRANDFIELD, HSCAN; TYPE and OBJECT ENCODING (listpack up to 512
fields of at most 64 bytes, as redis-server's defaults, hashtable past
either, and never back); DEL, EXISTS, EXPIRE/TTL/PERSIST, RENAME and COPY of
hashes; string commands on hashes and hash commands on strings (WRONGTYPE);
wrong arities; MULTI/EXEC, and WATCH with writes from a second connection.

Replies whose order is unspecified are compared as multisets: HGETALL as
pairs (a map in RESP3), HKEYS and HVALS as items, HSCAN as the union of the
pairs of a whole cursor loop on each server, KEYS and SCAN as in
test_redis_differential. HRANDFIELD picks at random: only its shape (the
count and each item's type) is compared, and each server's items must be
fields (with their values) of its own hash, distinct for a positive count.
TTLs may differ by the second that passed between the two servers.
"""
import pytest

import differential
from differential import CLOCK, children, connect, pairs_of, run_cases, run_seeds
from differential import run_watched_writes, same_anyway, scan_both, send_both
from resp_util import RawClient
from test_redis_differential import comparable as keyspace_comparable

redis_port = differential.redis_port  # the fixture: pytest finds it by this name

LONG_FIELD = "F" * 65  # past hash-max-listpack-value (64)
KEYS = ["h", "g", "k", "s", "w"]
FIELDS = ["f", "g", "h", "n", "1", "", "a b", "*", "w1", "w300", "w511", "f" * 64, LONG_FIELD,
          b"\x00\xff\r\n", "\u00e9"]
VALUES = ["", "v", "0", "1", "10", "-5", "3.5", "1.0", "007", "-0", " 1", "1e3", "0x10", "abc",
          "inf", "nan", "9223372036854775807", "-9223372036854775808", "x" * 64, "y" * 65,
          "z" * 300, b"\x00\r\n\xff"]
INTS = ["0", "1", "-1", "5", "100", "-100", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "abc", "1.5", "", " 1", "0x10"]
FLOATS = ["0", "1", "1.5", "-2.25", "0.1", "0.2", "1e308", "1e309", "1.7976931348623157e308",
          "1e-20", "17e-1", "3.0", "5.0e3", "-0", "inf", "-inf", "nan", "abc", "", " 1", "1 ",
          "0x10", "123456789012345678"]
# No large negative counts: Redis builds a reply of that many items (only
# WITHVALUES below -LONG_MAX/2 is refused; the fixed cases have those).
COUNTS = ["0", "1", "2", "3", "5", "-1", "-2", "-5", "-20", "100", "600", "9223372036854775807",
          "abc", "1.5", "-0"]
PATTERNS = ["*", "f*", "w1*", "?", "[fg]", "*\\*", "w[0-3]?", "", "a b"]
TTLS = ["100", "1000", "0", "-1", "abc", "9223372036854775807"]


def key(r):
    return r.choice(KEYS)


def field(r):
    return r.choice(FIELDS)


def value(r):
    return r.choice(VALUES)


def number_field(r):
    return r.choice(["n", "n", "m", "f", ""] + FIELDS)


def pairs(r):
    return sum([[field(r), value(r)] for _ in range(r.randint(1, 3))], [])


def scan_options(r):
    opts = []
    for _ in range(r.randint(0, 2)):
        opts += r.choice([["MATCH", r.choice(PATTERNS)], ["COUNT", r.choice(["1", "3", "100"])],
                          ["count", "1000"]])
    if r.random() < 0.05:
        opts += r.choice([["COUNT", "0"], ["COUNT", "abc"], ["MATCH"], ["FOO"]])
    return opts


def wide_range(r):
    start = r.choice([0, 0, 200, 400])
    return range(start, start + r.choice([20, 128, 129, 511, 512, 513, 600]))


GENERATORS = [
    lambda r: ["HSET", key(r)] + pairs(r),
    lambda r: ["HSET", key(r)] + pairs(r),
    lambda r: ["HSETNX", key(r), field(r), value(r)],
    lambda r: ["HMSET", key(r)] + pairs(r),
    lambda r: ["HGET", key(r), field(r)],
    lambda r: ["HMGET", key(r)] + [field(r) for _ in range(r.randint(1, 4))],
    lambda r: ["HGETALL", key(r)],
    lambda r: ["HDEL", key(r)] + [field(r) for _ in range(r.randint(1, 3))],
    lambda r: ["HEXISTS", key(r), field(r)],
    lambda r: ["HLEN", key(r)],
    lambda r: ["HSTRLEN", key(r), field(r)],
    lambda r: [r.choice(["HKEYS", "HVALS"]), key(r)],
    lambda r: ["HINCRBY", key(r), number_field(r), r.choice(INTS)],
    lambda r: ["HINCRBY", key(r), number_field(r), r.choice(INTS[:6])],
    lambda r: ["HINCRBYFLOAT", key(r), number_field(r), r.choice(FLOATS)],
    lambda r: ["HINCRBYFLOAT", key(r), number_field(r), r.choice(FLOATS[:6])],
    lambda r: ["HRANDFIELD", key(r)] + r.choice(
        [[], [r.choice(COUNTS)], [r.choice(COUNTS), "WITHVALUES"],
         [r.choice(COUNTS), "withvalues"], [r.choice(COUNTS), "FOO"]]),
    lambda r: ["HSCAN", key(r), r.choice(["0"] * 9 + ["abc"])] + scan_options(r),
    *differential.key_commands(key, TTLS),
    # String commands, mostly on the one string key.
    lambda r: [r.choice(["GET", "STRLEN", "INCR"]), key(r)],
    lambda r: [r.choice(["SET", "APPEND"]), r.choice(["s", "s", key(r)]), value(r)],
    lambda r: ["MGET", key(r), key(r)],
    lambda r: ["SCAN", "0", "COUNT", "1000", "TYPE", r.choice(["hash", "string"])],
    lambda r: ["KEYS", "*"],
    # Many fields in one command, around the 512 of hash-max-listpack-entries.
    lambda r: ["HSET", key(r)] + sum([["w%d" % i, r.choice(["v", "%d" % i, ""])]
                                      for i in wide_range(r)], []),
    lambda r: ["HDEL", key(r)] + ["w%d" % i for i in wide_range(r)],
    lambda r: [r.choice(["MULTI", "EXEC", "DISCARD", "UNWATCH"])],
    lambda r: ["WATCH", key(r)],
]
# Rarer: fields added one command at a time, up to and past 512.
LOOPS = [
    lambda r, k: [["HSET", k, "w%d" % i, "%d" % i] for i in range(r.choice([0, 300]), 520)],
    lambda r, k: [["HSETNX", k, "w%d" % i, "v"] for i in range(r.choice([100, 500]), 530)],
]
UNORDERED = ("HGETALL", "HKEYS", "HVALS", "HRANDFIELD", "HSCAN", "KEYS", "SCAN")
IN_MULTI_SKIPPED = UNORDERED + CLOCK


def comparable(cmd, reply):
    """What is compared of a reply: those whose order is unspecified as
    multisets (HGETALL of pairs), the rest byte for byte."""
    name = cmd[0].upper()
    if name in ("HGETALL", "HKEYS", "HVALS") and reply[:1] in (b"*", b"%"):
        header, items = children(reply)
        if name == "HGETALL":
            return header, sorted(zip(items[::2], items[1::2]))
        return header, sorted(items)
    if name == "HSCAN" and reply[:4] == b"*2\r\n":  # one call (the loop is scan_all's)
        cursor, items = children(reply)[1]
        header, items = children(items)
        return cursor, header[:1], sorted(zip(items[::2], items[1::2]))
    return keyspace_comparable(cmd, reply)


def hash_of(conn, k):
    """The hash at k as {field: value}, each as its reply's bytes."""
    items = children(conn.cmd(["HGETALL", k]))[1]
    return dict(zip(items[::2], items[1::2]))


def random_items(conn, cmd, reply):
    """What must match of an HRANDFIELD reply: an error, a nil or an empty
    reply itself; else its shape (the header and each item's type), the
    items that are not in the hash (none) and whether a positive count gave
    a field twice (never)."""
    if reply[:1] not in (b"$", b"*") or reply in (b"$-1\r\n", b"*0\r\n"):
        return reply
    h = hash_of(conn, cmd[1])
    if reply[:1] == b"$":
        return b"$", [] if reply in h else [reply]
    header, items = children(reply)
    if len(cmd) > 3:  # WITHVALUES: pairs, each its own array in RESP3
        got = pairs_of(items)
    else:
        got = [(i, h.get(i)) for i in items]
    strays = [p for p in got if len(p) != 2 or p[0] not in h or h[p[0]] != p[1]]
    try:
        positive = int(cmd[2]) > 0
    except (ValueError, IndexError):
        positive = False
    fields = [p[:1] for p in got]
    return header, [i[:1] for i in items], strays, positive and len(set(fields)) != len(fields)


def exchange(pair, cmd):
    """Runs cmd on both servers, (edgekv, redis): (same, edgekv's, redis's),
    each reply as it is compared."""
    ours, theirs = pair
    name = cmd[0].upper()
    if name == "HSCAN" and len(cmd) > 2 and cmd[2] == "0":
        return scan_both(pair, cmd, pairs=True)
    a, b = send_both(pair, cmd)
    if name == "HRANDFIELD":
        a, b = random_items(ours, cmd, a), random_items(theirs, cmd, b)
        return a == b, a, b
    if same_anyway(name, a, b):
        return True, a, b
    a, b = comparable(cmd, a), comparable(cmd, b)
    return a == b, a, b


# A write from another connection between WATCH and EXEC, and whether Redis
# aborts the transaction for it: any write that changes the hash does (also
# HSET of the value it had); one that changes nothing, or fails, does not.
WATCHED_WRITES = [
    (["HSET", "wh", "a", "2"], True), (["HSET", "wh", "a", "1"], True),
    (["HMSET", "wh", "z", "1"], True), (["HSETNX", "wh", "z", "1"], True),
    (["HSETNX", "wh", "a", "5"], False), (["HDEL", "wh", "a"], True),
    (["HDEL", "wh", "nosuch"], False), (["HINCRBY", "wh", "a", "0"], True),
    (["HINCRBYFLOAT", "wh", "a", "0.5"], True), (["HINCRBY", "wh", "a", "abc"], False),
    (["HINCRBY", "wh", "a", "9223372036854775807"], False), (["HGETALL", "wh"], False),
    (["HGET", "wh", "a"], False), (["EXPIRE", "wh", "1000"], True), (["DEL", "wh"], True),
    (["SET", "wh", "x"], True), (["RENAME", "other", "wh"], True),
]


tier = differential.tiers(exchange)


@differential.TIER_PROTOCOLS
def test_hash_replies_match_redis_byte_for_byte(tier, redis_port, protocol):
    server, exchange_of_tier = tier
    main = connect(server, redis_port, protocol)
    other = connect(server, redis_port, protocol)
    mismatches = run_seeds(main, other, protocol, 12, 500, generators=GENERATORS, loops=LOOPS,
                           loop_key=key, exchange=exchange_of_tier,
                           skipped_in_multi=IN_MULTI_SKIPPED)
    mismatches += run_watched_writes(
        main, other, protocol, [("wh", write, aborts) for write, aborts in WATCHED_WRITES],
        setup=[["HSET", "wh", "a", "1", "b", "2"], ["HSET", "other", "o", "1"]],
        queued=[["HSET", "wh", "c", "3"], ["HGET", "wh", "a"]], exchange=exchange_of_tier,
        check_reset=False)
    assert not mismatches, "\n".join(mismatches)


def hset_many(k, names, v="v"):
    return ["HSET", k] + sum([[n, v] for n in names], [])


W512 = ["w%d" % i for i in range(512)]

EDGE_CASES = [
    # Arity, checked first; the name in lower case, however it was sent.
    ["HSET", "k"], ["HSET", "k", "f"], ["HSET", "k", "f", "v", "g"], ["hset", "k", "f", "v", "g"],
    ["HMSET", "k", "f"], ["HMSET", "k", "f", "v", "g"], ["HSETNX", "k", "f"],
    ["HSETNX", "k", "f", "v", "w"], ["HGET", "k"], ["HGET", "k", "f", "g"], ["HMGET", "k"],
    ["HDEL", "k"], ["HEXISTS", "k"], ["HEXISTS", "k", "f", "g"], ["HLEN"], ["HLEN", "k", "x"],
    ["HSTRLEN", "k"], ["HKEYS"], ["HVALS", "k", "x"], ["HGETALL"], ["HGETALL", "k", "x"],
    ["HINCRBY", "k", "f"], ["HINCRBY", "k", "f", "1", "2"], ["HINCRBYFLOAT", "k", "f"],
    ["HINCRBYFLOAT", "k", "f", "1", "2"], ["HRANDFIELD"], ["HSCAN", "k"], ["EXISTS", "k"],
    # A missing key: empty replies (an empty map in RESP3); HSCAN checks the
    # cursor but not its options.
    ["HGET", "k", "f"], ["HMGET", "k", "f", "g"], ["HGETALL", "k"], ["HKEYS", "k"],
    ["HVALS", "k"], ["HLEN", "k"], ["HSTRLEN", "k", "f"], ["HEXISTS", "k", "f"],
    ["HDEL", "k", "f"], ["TYPE", "k"], ["OBJECT", "ENCODING", "k"], ["HRANDFIELD", "k"],
    ["HRANDFIELD", "k", "5"], ["HRANDFIELD", "k", "-5", "WITHVALUES"], ["HRANDFIELD", "k", "0"],
    ["HRANDFIELD", "k", "abc"], ["HSCAN", "k", "0"], ["HSCAN", "k", "0", "COUNT", "0"],
    ["HSCAN", "k", "0", "FOO"], ["HSCAN", "k", "abc"], ["HSCAN", "k", "-1"], ["EXISTS", "k"],
    # Setting: the count of new fields; a field given twice is set twice.
    ["HSET", "k", "f", "v", "f", "w"], ["HGET", "k", "f"], ["HSETNX", "k", "f", "x"],
    ["HSETNX", "k", "g", "x"], ["HMSET", "k", "f", "1", "h", ""], ["HSET", "k", "", ""],
    ["HGET", "k", ""], ["HEXISTS", "k", ""], ["HSTRLEN", "k", ""], ["HSTRLEN", "k", "nosuch"],
    ["HSTRLEN", "k", "f"], ["HLEN", "k"], ["HSET", "k", b"\x00\r\n", b"\xff\xfe"],
    ["HGET", "k", b"\x00\r\n"], ["HSTRLEN", "k", b"\x00\r\n"],
    ["HMGET", "k", "f", "f", "nosuch", ""], ["HGETALL", "k"], ["HKEYS", "k"], ["HVALS", "k"],
    ["HDEL", "k", "g", "g", "nosuch"], ["HDEL", "k", "nosuch"], ["TYPE", "k"],
    ["HSET", "k", "n", "12345"], ["HSTRLEN", "k", "n"],
    # HINCRBY: overflow both ways; increments and values that are not integers.
    ["HINCRBY", "n", "i", "9223372036854775807"], ["HINCRBY", "n", "i", "9223372036854775807"],
    ["HINCRBY", "n", "i", "1"], ["HINCRBY", "n", "i", "0"], ["HGET", "n", "i"],
    ["HINCRBY", "n", "j", "-9223372036854775808"], ["HINCRBY", "n", "j", "-1"],
    ["HINCRBY", "n", "j", "9223372036854775807"], ["HINCRBY", "n", "k", "9223372036854775808"],
    ["HINCRBY", "n", "k", "abc"], ["HINCRBY", "n", "k", ""], ["HINCRBY", "n", "k", "1.5"],
    ["HINCRBY", "n", "k", " 1"], ["HINCRBY", "n", "k", "1 "], ["HINCRBY", "n", "k", "+1"],
    ["HINCRBY", "n", "k", "007"], ["HINCRBY", "n", "k", "-0"], ["HEXISTS", "n", "k"],
    ["HMSET", "n", "v1", "abc", "v2", "1.5", "v3", " 1", "v4", "", "v5", "007", "v6", "-0", "v7",
     "1e3", "v8", "0x10", "v9", "inf", "v10", "nan", "v11", "+1", "v12", "9223372036854775808"],
] + [["HINCRBY", "n", "v%d" % i, "1"] for i in range(1, 13)] + [
    ["HINCRBYFLOAT", "n", "v%d" % i, "1"] for i in range(1, 13)] + [
    # HINCRBYFLOAT: long double sums (1e308 twice is no overflow), printed
    # with 17 decimals and no trailing zeros; inf and nan are refused as the
    # increment with their own error.
    ["HINCRBYFLOAT", "fl", "a", "1e308"], ["HINCRBYFLOAT", "fl", "a", "1e308"],
    ["HSTRLEN", "fl", "a"], ["HINCRBYFLOAT", "fl", "b", "1e4932"],
    ["HINCRBYFLOAT", "fl", "b", "1e4932"], ["HSTRLEN", "fl", "b"],
    ["HINCRBYFLOAT", "fl", "c", "1e4933"], ["HINCRBYFLOAT", "fl", "c", "inf"],
    ["HINCRBYFLOAT", "fl", "c", "-inf"], ["HINCRBYFLOAT", "fl", "c", "+inf"],
    ["HINCRBYFLOAT", "fl", "c", "Infinity"], ["HINCRBYFLOAT", "fl", "c", "nan"],
    ["HINCRBYFLOAT", "fl", "c", "abc"], ["HINCRBYFLOAT", "fl", "c", ""],
    ["HINCRBYFLOAT", "fl", "c", " 1"], ["HINCRBYFLOAT", "fl", "c", "1 "],
    ["HINCRBYFLOAT", "fl", "c", "1e-4950"], ["HINCRBYFLOAT", "fl", "c", "0x1p3"],
    ["HINCRBYFLOAT", "fl", "d", "0.1"], ["HINCRBYFLOAT", "fl", "d", "0.2"],
    ["HINCRBYFLOAT", "fl", "e", "1.5"], ["HINCRBYFLOAT", "fl", "e", "-3"],
    ["HINCRBYFLOAT", "fl", "f", "3.0"], ["HINCRBYFLOAT", "fl", "g", "1e-20"],
    ["HINCRBYFLOAT", "fl", "g", "1e-17"], ["HINCRBYFLOAT", "fl", "h", "12.3456789012345678901"],
    ["HINCRBYFLOAT", "fl", "i", "-0"], ["HINCRBYFLOAT", "fl", "j", "1e20"],
    ["HINCRBYFLOAT", "fl", "k", "17e-1"], ["HINCRBYFLOAT", "fl", "l", "5.0e3"],
    ["HINCRBYFLOAT", "fl", "l", "-5000"], ["HINCRBYFLOAT", "fl", "m", "0.30000000000000004"],
    ["HINCRBYFLOAT", "fl", "n", "123456789012345678"], ["HGETALL", "fl"],
    # Encodings: listpack while at most 512 fields and every field and value
    # at most 64 bytes; hashtable after, also when it shrinks again. HSETNX
    # of a field that is there sets nothing and converts nothing.
    ["HSET", "e1", "f", "x" * 64], ["OBJECT", "ENCODING", "e1"], ["HSET", "e1", "f", "x" * 65],
    ["OBJECT", "ENCODING", "e1"], ["HSET", "e2", "f" * 64, "v"], ["OBJECT", "ENCODING", "e2"],
    ["HSET", "e2", "f" * 65, "v"], ["OBJECT", "ENCODING", "e2"], ["HDEL", "e2", "f" * 65],
    ["OBJECT", "ENCODING", "e2"], ["HSETNX", "e3", "a", "1"], ["HSETNX", "e3", "a", "x" * 65],
    ["OBJECT", "ENCODING", "e3"], ["HSETNX", "e3", "b", "x" * 65], ["OBJECT", "ENCODING", "e3"],
    ["HINCRBY", "e4", "f" * 65, "1"], ["OBJECT", "ENCODING", "e4"], ["HSET", "e5", "a", "1"],
    ["HINCRBYFLOAT", "e5", "a", "1e308"], ["OBJECT", "ENCODING", "e5"],
    ["HSET", "e6", "a", "1", "a", "x" * 65, "a", "2"], ["OBJECT", "ENCODING", "e6"],
    ["HGET", "e6", "a"], hset_many("e7", W512), ["OBJECT", "ENCODING", "e7"], ["HLEN", "e7"],
    ["HSET", "e7", "w0", "again"], ["OBJECT", "ENCODING", "e7"], ["HSET", "e7", "one", "more"],
    ["OBJECT", "ENCODING", "e7"], ["HDEL", "e7"] + W512[:510], ["OBJECT", "ENCODING", "e7"],
    ["HGETALL", "e7"], hset_many("e8", W512 + ["w512"]), ["OBJECT", "ENCODING", "e8"],
    ["COPY", "e7", "e9"], ["OBJECT", "ENCODING", "e9"], ["RENAME", "e1", "e10"],
    ["OBJECT", "ENCODING", "e10"], ["HDEL", "e10", "f"], ["EXISTS", "e10"],
    ["OBJECT", "ENCODING", "e10"], ["HSCAN", "e8", "0", "COUNT", "7"],
    ["HSCAN", "e8", "0", "MATCH", "w1*", "COUNT", "1"], ["HKEYS", "e8"], ["HVALS", "e8"],
    # HRANDFIELD: the count is parsed before the key is looked at.
    ["HSET", "r", "a", "1", "b", "2", "c", "3"], ["HRANDFIELD", "r", "abc"],
    ["HRANDFIELD", "r", "1.5"], ["HRANDFIELD", "r", ""], ["HRANDFIELD", "r", "5", "FOO"],
    ["HRANDFIELD", "r", "5", "WITHVALUES", "x"], ["HRANDFIELD", "r", "-9223372036854775808"],
    ["HRANDFIELD", "r", "-9223372036854775807", "WITHVALUES"],
    ["HRANDFIELD", "r", "-4611686018427387904", "WITHVALUES"],
    ["HRANDFIELD", "nosuch", "-9223372036854775807", "WITHVALUES"],
    ["HRANDFIELD", "r", "0"], ["HRANDFIELD", "r", "0", "WITHVALUES"],
    ["HRANDFIELD", "r", "9223372036854775807"], ["HRANDFIELD", "r", "3", "WITHVALUES"],
    ["HRANDFIELD", "r", "9223372036854775807", "WITHVALUES"], ["HRANDFIELD", "r", "-7"],
    ["HRANDFIELD", "r", "-7", "withvalues"], ["HRANDFIELD", "r", "2"], ["HRANDFIELD", "r"],
    ["HRANDFIELD", "e8", "-3", "WITHVALUES"], ["HRANDFIELD", "e8", "20"],
    # HSCAN: the cursor first (an unsigned number; "" is 0), then the type,
    # then the options (COUNT at least 1; no TYPE or NOVALUES in 7.0).
    ["HSCAN", "r", "0", "COUNT", "0"], ["HSCAN", "r", "0", "COUNT", "-1"],
    ["HSCAN", "r", "0", "COUNT", "abc"], ["HSCAN", "r", "0", "COUNT", "9223372036854775808"],
    ["HSCAN", "r", "0", "COUNT", "9223372036854775807"], ["HSCAN", "r", "0", "MATCH"],
    ["HSCAN", "r", "0", "COUNT"], ["HSCAN", "r", "0", "TYPE", "string"],
    ["HSCAN", "r", "0", "NOVALUES"], ["HSCAN", "r", "0", "FOO", "1"], ["HSCAN", "r", "abc"],
    ["HSCAN", "r", "18446744073709551616"], ["HSCAN", "r", " 0"], ["HSCAN", "r", "1.5"],
    ["HSCAN", "r", ""], ["HSCAN", "r", "007"],
    ["HSCAN", "r", "0", "count", "1", "MATCH", "a", "match", "b"],
    ["HSCAN", "r", "0", "MATCH", "[ab]"],
    # WRONGTYPE, both ways. An argument that does not parse is reported
    # first; MGET answers nil for a hash, SET replaces it, LCS has its own error.
    ["SET", "s", "x"], ["HGET", "s", "a"], ["HSET", "s", "a", "1"], ["HSETNX", "s", "a", "1"],
    ["HMSET", "s", "a", "1"], ["HMGET", "s", "a"], ["HGETALL", "s"], ["HKEYS", "s"],
    ["HVALS", "s"], ["HLEN", "s"], ["HSTRLEN", "s", "a"], ["HEXISTS", "s", "a"], ["HDEL", "s", "a"],
    ["HINCRBY", "s", "a", "1"], ["HINCRBY", "s", "a", "x"], ["HINCRBYFLOAT", "s", "a", "1"],
    ["HINCRBYFLOAT", "s", "a", "x"], ["HINCRBYFLOAT", "s", "a", "inf"], ["HRANDFIELD", "s"],
    ["HRANDFIELD", "s", "-1"], ["HRANDFIELD", "s", "abc"], ["HSCAN", "s", "0"],
    ["HSCAN", "s", "abc"], ["HSCAN", "s", "0", "COUNT", "0"], ["GET", "s"],
    ["GET", "r"], ["SET", "r", "v", "GET"], ["GETDEL", "r"], ["GETEX", "r"], ["GETSET", "r", "x"],
    ["SETNX", "r", "1"], ["MSETNX", "r", "1", "z", "1"], ["APPEND", "r", "x"], ["STRLEN", "r"],
    ["INCR", "r"], ["DECR", "r"], ["INCRBY", "r", "1"], ["INCRBYFLOAT", "r", "1"],
    ["SETRANGE", "r", "0", "x"], ["GETRANGE", "r", "0", "1"], ["SUBSTR", "r", "0", "1"],
    ["SETBIT", "r", "1", "1"], ["GETBIT", "r", "1"], ["BITCOUNT", "r"], ["BITPOS", "r", "1"],
    ["LCS", "r", "s"], ["LCS", "s", "r"], ["MGET", "r", "s", "nosuch"], ["TYPE", "r"],
    # Commands that parse their arguments before they look at the key: a bad
    # argument is that error, not WRONGTYPE.
    ["INCRBY", "r", "x"], ["DECRBY", "r", "x"], ["INCRBYFLOAT", "r", "x"],
    ["GETRANGE", "r", "a", "1"], ["SUBSTR", "r", "0", "b"], ["SETRANGE", "r", "-1", "x"],
    ["SETBIT", "r", "x", "1"], ["SETBIT", "r", "1", "2"], ["GETBIT", "r", "x"],
    ["BITPOS", "r", "2"], ["BITFIELD", "r", "GET", "u99", "0"], ["GETEX", "r", "FOO"],
    ["BITFIELD_RO", "r", "GET", "u8", "0"], ["BITCOUNT", "r", "0", "x"],
    ["OBJECT", "ENCODING", "r"], ["COPY", "r", "r2"], ["SET", "r2", "str"], ["TYPE", "r2"],
    ["HGETALL", "r2"],
    # Expiry, rename and copy: hash writes keep the TTL, SET drops it, a hash
    # whose last field goes is gone with its TTL.
    ["HSET", "t", "a", "1"], ["EXPIRE", "t", "100"], ["HSET", "t", "b", "2"], ["TTL", "t"],
    ["HINCRBY", "t", "a", "1"], ["HDEL", "t", "a"], ["TTL", "t"], ["RENAME", "t", "t2"],
    ["TTL", "t2"], ["EXISTS", "t"], ["COPY", "t2", "t3"], ["TTL", "t3"], ["HGETALL", "t3"],
    ["COPY", "t2", "t3"], ["COPY", "r", "t3", "REPLACE"], ["TTL", "t3"], ["HGETALL", "t3"],
    ["PERSIST", "t2"], ["TTL", "t2"], ["PERSIST", "t2"], ["EXPIRE", "t2", "100", "NX"],
    ["HDEL", "t2", "b"], ["TTL", "t2"], ["EXISTS", "t2"], ["HSET", "t2", "a", "1"],
    ["TTL", "t2"], ["EXPIRE", "t2", "100"], ["SET", "t2", "x"], ["TTL", "t2"],
    ["HSET", "t4", "a", "1"], ["EXPIRE", "t4", "0"], ["EXISTS", "t4"], ["HGETALL", "t4"],
    ["RENAME", "r", "s"], ["TYPE", "s"], ["HLEN", "s"], ["RENAMENX", "s", "k"],
    ["RENAME", "s", "s"], ["DEL", "s", "k", "nosuch"], ["EXISTS", "s", "k"],
    # Transactions: an arity error discards it; WRONGTYPE is one item of EXEC.
    ["HSET", "x", "a", "1"], ["MULTI"], ["HSET", "x", "b", "2"], ["HGET", "x"], ["EXEC"],
    ["HLEN", "x"], ["MULTI"], ["HSET", "x", "b", "2"], ["GET", "x"], ["HINCRBY", "x", "b", "z"],
    ["HINCRBY", "x", "b", "3"], ["HINCRBYFLOAT", "x", "b", "0.5"], ["HGET", "x", "b"],
    ["HMGET", "x", "a", "b", "c"], ["HDEL", "x", "a"], ["HEXISTS", "x", "a"], ["HLEN", "x"],
    ["TYPE", "x"], ["OBJECT", "ENCODING", "x"], ["EXEC"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_hash_error_replies_match_redis(server, redis_port, protocol):
    pair = (RawClient(server.port), RawClient(redis_port))
    for c in pair:
        assert c.cmd(["FLUSHALL"]) == b"+OK\r\n"
        c.cmd(["HELLO", str(protocol)])
    mismatches = run_cases(pair, EDGE_CASES, exchange)
    assert not mismatches, "\n".join(mismatches)


def test_hashes_survive_a_restart(make_server):
    """Hashes (a small one with empty, binary and long fields, one of 2000
    fields, one with a TTL), with fields deleted, changed and added, come
    back whole after a restart, and again after a second restart that
    follows writes to the reloaded keys."""
    srv = make_server()
    r = srv.client()
    expected = {}
    small = {b"f": b"v", b"": b"", b"\x00\r\n\xff": b"bin\x00", b"long": b"x" * 100,
             b"n": b"10", b"e": b"\xc3\xa9"}
    r.hset("small", mapping=small)
    assert r.hincrby("small", "n", 5) == 15
    small[b"n"] = b"15"
    r.hincrbyfloat("small", "fl", "0.1")
    assert r.hincrbyfloat("small", "fl", "0.2") == 0.3
    small[b"fl"] = b"0.3"
    expected[b"small"] = small
    wide = {b"w%d" % i: (b"v%d" % i) * (i % 7) + (b"L" * 200 if i % 100 == 0 else b"")
            for i in range(2000)}
    r.hset("wide", mapping=wide)
    gone = [b"w%d" % i for i in range(0, 2000, 7)]
    assert r.hdel("wide", *gone) == len(gone)
    for f in gone:
        del wide[f]
    for i in range(3, 2000, 11):
        f = b"w%d" % i
        assert r.hset("wide", f, b"changed%d" % i) == (0 if f in wide else 1)
        wide[f] = b"changed%d" % i
    expected[b"wide"] = wide
    expected[b"ttl"] = {b"a": b"1", b"b": b"2"}
    r.hset("ttl", mapping=expected[b"ttl"])
    assert r.expire("ttl", 1000)
    expected[b"short"] = {b"a": b"1", b"b": b"2", b"c": b"3"}
    r.hset("short", mapping={b"a": b"1", b"b": b"2", b"c": b"3", b"d": b"4"})
    assert r.hdel("short", "d", "nosuch") == 1
    expected[b"persisted"] = {b"p": b"1"}
    r.hset("persisted", "p", "1")
    r.expire("persisted", 1000)
    assert r.persist("persisted")
    r.hset("torename", mapping={b"r": b"1"})
    assert r.rename("torename", "renamed")
    expected[b"renamed"] = {b"r": b"1"}
    assert r.copy("short", "copied")
    expected[b"copied"] = dict(expected[b"short"])
    r.hset("emptied", mapping={b"a": b"1", b"b": b"2"})
    assert r.hdel("emptied", "a", "b") == 2
    r.hset("string_now", "a", "1")
    r.set("string_now", "str")
    r.set("hash_now", "str")
    r.delete("hash_now")
    r.hset("hash_now", "h", "1")
    expected[b"hash_now"] = {b"h": b"1"}

    def check():
        r = srv.client()
        for k, fields in expected.items():
            assert r.type(k) == b"hash", k
            assert r.hlen(k) == len(fields), k
            assert r.hgetall(k) == fields, k
            names = sorted(fields)
            assert r.hmget(k, names) == [fields[f] for f in names], k
        still_gone = [f for f in gone if f not in expected[b"wide"]]
        assert r.hmget("wide", still_gone) == [None] * len(still_gone)
        assert 0 < r.ttl("ttl") <= 1000
        for k in (b"small", b"wide", b"short", b"persisted", b"renamed", b"copied"):
            assert r.ttl(k) == -1, k
        assert r.exists("emptied", "torename") == 0
        assert r.get("string_now") == b"str"
        assert r.object("encoding", "wide") == b"hashtable"
        assert r.object("encoding", "short") == b"listpack"
        return r

    check()
    srv.stop()
    srv.start()
    r = check()
    r.hset("wide", "added", "after the restart")
    expected[b"wide"][b"added"] = b"after the restart"
    assert r.hdel("wide", "w1", "w2") == 2
    del expected[b"wide"][b"w1"], expected[b"wide"][b"w2"]
    assert r.hincrby("small", "n", 1) == 16
    expected[b"small"][b"n"] = b"16"
    r.hset("ttl", "c", "3")
    expected[b"ttl"][b"c"] = b"3"
    srv.stop()
    srv.start()
    check()
