"""The sorted-set commands on edgekv and on a stock redis-server (Debian's
7.0) side by side: the same random command sequences, in RESP2 and RESP3,
must get byte-identical replies; then fixed edge cases; then sorted sets
across a restart; then edgekv's own zset encodings, which are Redis 7.0's.

The sequences come from a fixed seed and a few keys, so that commands meet
on the same keys: ZADD (NX XX GT LT CH INCR and their invalid
combinations), ZINCRBY, ZREM, ZCARD, ZCOUNT, ZLEXCOUNT, ZSCORE, ZMSCORE,
ZRANK, ZREVRANK, ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES, in any order,
and the invalid combinations), ZRANGESTORE, ZRANGEBYSCORE, ZREVRANGEBYSCORE,
ZRANGEBYLEX, ZREVRANGEBYLEX, ZREVRANGE, ZREMRANGEBYRANK, ZREMRANGEBYSCORE,
ZREMRANGEBYLEX, ZPOPMIN, ZPOPMAX, ZMPOP, ZRANDMEMBER, ZUNION, ZINTER, ZDIFF
and their STORE (WEIGHTS, AGGREGATE, WITHSCORES; plain sets as inputs),
ZINTERCARD, ZSCAN; scores of every shape ("0.1", "1e-7", "-0", "0x10",
"inf", "1e17", 17 digits, ... and "nan", "", " 1", "1e400" that are
refused), score ranges ("(1", "(inf", "", "(", "[1", "(abc") and lex ranges
("-", "+", "[a", "(a", "a"), ties in score, long (past 64 bytes), binary and
empty members, ranks and LIMITs of every sign and size; zsets across 128
members; TYPE, OBJECT ENCODING (compared byte for byte: Redis 7.0 has the
same listpack and skiplist encodings), DEL, EXISTS, EXPIRE/TTL/PERSIST,
RENAME and COPY of zsets, SCAN TYPE zset; zset commands on a string, a hash
and a set (WRONGTYPE, except as the inputs of ZUNION, ZINTER, ZDIFF and
ZINTERCARD), string, hash and set commands on a zset, *STORE over a key of
another type; wrong arities; MULTI/EXEC, and WATCH with writes from a
second connection.

Sorted-set replies are ordered (by score, then member bytes), so they are
compared byte for byte, the scores' formatting included ("%.17g", inf and
-inf; a RESP3 double `,`). Only these are not:

- ZSCAN: the union of the (member, score) pairs of a whole cursor loop on
  each server, with the types of the cursor and array. (The scores are
  still compared as text: a listpack's ZSCAN shows a score as the listpack
  holds it, 1e17 as 100000000000000000, a skiplist's as "%.17g".)
- ZRANDMEMBER: only the shape (the header with its count and each item's
  type), and each server's items must be members (with their scores, for
  WITHSCORES) of its own zset, distinct for a positive count.
- KEYS and SCAN as in test_redis_differential; TTL within a second.
- OBJECT ENCODING of a string (edgekv guesses it from the value) and of a
  plain set (edgekv follows Redis 7.2 there).

ZRANDMEMBER, ZSCAN, TTL and OBJECT are left out inside MULTI, where EXEC
would carry them in order.

Lexicographical ranges on a zset whose scores differ are undefined in Redis,
and on a skiplist they really do depend on its random levels: the lex
commands (ZRANGEBYLEX, ZREVRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX, ZRANGE and
ZRANGESTORE BYLEX) only ever see the keys l and l2 (and a missing key),
which only ever get the score 0 (or -0): by ZADD and ZINCRBY of 0, by stores
from l and l2 only (without WEIGHTS), and otherwise only lose members. All
the other commands read them too.
"""
import pytest

import differential
from differential import CLOCK, children, connect, pairs_of, reset, run_cases, run_seeds
from differential import run_watched_writes, same_anyway, scan_both, send_both, zero_cursor
from test_redis_differential import comparable as keyspace_comparable

redis_port = differential.redis_port  # the fixture: pytest finds it by this name

KEYS = ["a", "b", "c", "d", "x", "h", "s"]  # x mostly a string, h a hash, s a set
ZSET_KEYS = ["a", "a", "b", "b", "c", "d"]
LEX_KEYS = ["l", "l", "l2"]  # every score 0 (see the docstring)
READ_KEYS = ZSET_KEYS + ZSET_KEYS + ["l", "l", "x", "h", "s", "nosuch"]
# Most members come from a few, so that commands find them.
CORE_MEMBERS = ["a", "b", "c", "m", "aa", "1", "10", ""]
MEMBERS = ["n", "ab", "b\x00", "a b", "2", "-1", "01", "\u00e9", b"\x00\xff\r\n", "x" * 64, "w1",
           "w2", "w10", "W", "*", "[a", "(a", "-", "+"]
LONG_MEMBERS = ["y" * 65, "z" * 300]
# Ties on purpose: few distinct values, some equal as doubles ("1", "1.0",
# "0x1"; "0" and "-0"; "inf" and "+inf").
SCORES = ["0", "1", "1", "2", "2", "-1", "1.5", "0.1", "0.2", "0.3", "1.0", "0x1", "0x10", "1e20",
          "1e-7", "inf", "+inf", "-inf", "-0", "0", "0.30000000000000004", "12345678901234567",
          "1e17", "123456789012345678", "-2.5", "1e308", "4.9e-324", "3", "10", "1e-310",
          "1.7976931348623157e308", "-1e17"]
BAD_SCORES = ["nan", "NaN", "-nan", "abc", "", " 1", "1 ", "1e400", "-1e400", "1e-400", "inf1",
              "1,5", "(1", "[1", b"1\x002"]
SCORE_BOUNDS = ["-inf", "+inf", "inf", "-inf", "+inf", "(1", "1", "(0", "0", "2", "(2", "1.5",
                "(inf", "(-inf", "-1", "0.1", "(0.1", "1e20", "(1e20", "-0", "(-0", "10", "0x10",
                "", "(", " 1", "1e400", "-1e400", "3", "(3"]
BAD_SCORE_BOUNDS = ["(abc", "[1", "abc", "1 ", "nan", "(nan", "(1 ", "1e"]
LEX_BOUNDS = ["-", "+", "-", "+", "[a", "(a", "[b", "(b", "[m", "(m", "[", "(", "[aa", "(aa",
              "[1", "(10", "[w", "[w10", "(w2", "[\u00e9", "[\xff", "[z", "(", "[", "[c"]
BAD_LEX_BOUNDS = ["a", "", "+a", "-a", "b", "{a"]
RANKS = ["0", "0", "1", "2", "3", "-1", "-1", "-2", "-3", "5", "-100", "100", "127", "128",
         "9223372036854775807", "-9223372036854775808"]
BAD_RANKS = ["abc", "1.5", "", "01", "+1", "-0", "9223372036854775808", " 1"]
OFFSETS = ["0", "0", "0", "1", "2", "-1", "5", "100", "9223372036854775807"]
LIMIT_COUNTS = ["-1", "-1", "0", "1", "2", "3", "5", "-5", "100", "9223372036854775807"]
POP_COUNTS = ["0", "1", "1", "2", "3", "5", "100", "9223372036854775807"]
BAD_COUNTS = ["-1", "abc", "1.5", "", "-0", "9223372036854775808"]
# No large negative counts: Redis builds a reply of that many items (the
# fixed cases have them for a missing key, and with WITHSCORES).
RAND_COUNTS = ["0", "1", "2", "3", "5", "-1", "-2", "-5", "-20", "100", "9223372036854775807"]
WEIGHTS = ["1", "1", "2", "0", "-1", "0.5", "-0", "inf", "-inf", "1e308", "0x2"]
BAD_WEIGHTS = ["abc", "nan", "", "1 "]
PATTERNS = ["*", "a*", "w*", "w1*", "?", "[ab]", "*\\*", "", "a b", "[^a-m]*"]
TTLS = ["100", "1000", "100", "1000", "0", "-1", "abc"]
VALUES = ["v", "", "1", "abc", "10"]
SET_MEMBERS = ["1", "2", "10", "a", "b", "m", "w1", "", "y" * 65]


def pick(r, good, bad, p=0.04):
    """Mostly a good value, now and then one that is refused."""
    return r.choice(bad) if r.random() < p else r.choice(good)


def key(r):
    return r.choice(KEYS)


def zset_key(r):
    return r.choice(ZSET_KEYS)


def read_key(r):
    return r.choice(READ_KEYS)


def lex_key(r):
    # Not x, h or s: a store can make any of them a zset of mixed scores
    # (WRONGTYPE for the lex commands is among the fixed cases).
    return r.choice(LEX_KEYS + LEX_KEYS + ["nosuch"])


def member(r):
    x = r.random()
    if x < 0.03:
        return r.choice(LONG_MEMBERS)
    return r.choice(CORE_MEMBERS if x < 0.65 else MEMBERS)


def score(r):
    return pick(r, SCORES, BAD_SCORES)


def rank(r):
    return pick(r, RANKS, BAD_RANKS)


def ranks(r):
    """A start and a stop; often one of them an end, so that the range is
    not empty."""
    x = r.random()
    if x < 0.25:
        return [rank(r), "-1"]
    if x < 0.4:
        return ["0", rank(r)]
    return [rank(r), rank(r)]


def count(r, good=POP_COUNTS):
    return pick(r, good, BAD_COUNTS, 0.05)


def score_value(bound):
    """About what a score bound means, to put two in order."""
    text = bound.lstrip("(").strip()
    for parse in (float, float.fromhex):
        try:
            return parse(text)
        except ValueError:
            pass
    return 0.0


def lex_value(bound):
    return {"-": (0, ""), "+": (2, "")}.get(bound, (1, bound[1:]))


def ordered(r, lo, hi, value, reverse):
    """Mostly in the order the command reads them (max first for REV and
    ZREV*), now and then the other way."""
    if r.random() < 0.75:
        lo, hi = sorted([lo, hi], key=value)
        if reverse:
            lo, hi = hi, lo
    return [lo, hi]


def score_range(r, reverse=False):
    lo, hi = pick(r, SCORE_BOUNDS, BAD_SCORE_BOUNDS), pick(r, SCORE_BOUNDS, BAD_SCORE_BOUNDS)
    return ordered(r, lo, hi, score_value, reverse)


def lex_range(r, reverse=False):
    lo, hi = pick(r, LEX_BOUNDS, BAD_LEX_BOUNDS), pick(r, LEX_BOUNDS, BAD_LEX_BOUNDS)
    return ordered(r, lo, hi, lex_value, reverse)


def limit(r):
    if r.random() < 0.05:
        return r.choice([["LIMIT"], ["LIMIT", "0"], ["limit", "0", "1", "2"]])
    return [r.choice(["LIMIT", "LIMIT", "limit"]), pick(r, OFFSETS, BAD_RANKS),
            pick(r, LIMIT_COUNTS, BAD_RANKS)]


def zadd(r, k=None, score_of=score):
    flags = []
    if r.random() < 0.5:
        flags = r.sample(["NX", "XX", "GT", "LT", "CH", "CH", "INCR", "nx", "gt"],
                         r.randint(1, 2))
    pairs = []
    for _ in range(1 if "INCR" in flags and r.random() < 0.9 else r.randint(1, 4)):
        pairs += [score_of(r), member(r)]
    return ["ZADD", k or r.choice([zset_key(r), zset_key(r), key(r)])] + flags + pairs


def lex_zadd(r):
    """Only the score 0: lex ranges stay defined."""
    return zadd(r, r.choice(LEX_KEYS), lambda r: r.choice(["0", "0", "-0"]))


def zrange(r, name="ZRANGE"):
    """ZRANGE or ZRANGESTORE by rank, score or lex, with its options in any
    order; now and then an invalid combination."""
    kind = r.choice(["rank", "rank", "score", "score", "lex"])
    rev = r.random() < 0.3
    if kind == "rank":
        src = read_key(r)
        args, opts = ranks(r), []
        if r.random() < 0.04:
            opts.append(limit(r))  # LIMIT needs BYSCORE or BYLEX
    elif kind == "score":
        src = read_key(r)
        args, opts = score_range(r, rev), [["BYSCORE"]]
        if r.random() < 0.4:
            opts.append(limit(r))
    else:
        src = lex_key(r)
        args, opts = lex_range(r, rev), [["BYLEX"]]
        if r.random() < 0.4:
            opts.append(limit(r))
    if rev:
        opts.append([r.choice(["REV", "rev"])])
    if name == "ZRANGE" and r.random() < (0.05 if kind == "lex" else 0.4):
        opts.append(["WITHSCORES"])  # an error with BYLEX
    if r.random() < 0.03:
        opts.append([r.choice(["WITHSCORES", "BYSCORE", "BYLEX", "REV", "FOO"])])
    r.shuffle(opts)
    if name == "ZRANGE":
        return ["ZRANGE", src] + args + sum(opts, [])
    # A store into a lex key only from a lex key.
    dst = r.choice(LEX_KEYS) if src in LEX_KEYS and r.random() < 0.3 else key(r)
    if dst in LEX_KEYS and src not in LEX_KEYS:
        dst = key(r)
    return ["ZRANGESTORE", dst, src] + args + sum(opts, [])


def range_by(r):
    """The older range commands, their arguments in their own order."""
    name = r.choice(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZRANGEBYLEX", "ZREVRANGEBYLEX",
                     "ZREVRANGE"])
    if name == "ZREVRANGE":
        cmd = [name, read_key(r)] + ranks(r)
        opts = [["WITHSCORES"]] if r.random() < 0.5 else []
    elif "LEX" in name:
        cmd = [name, lex_key(r)] + lex_range(r, name.startswith("ZREV"))
        opts = [limit(r)] if r.random() < 0.4 else []
    else:
        cmd = [name, read_key(r)] + score_range(r, name.startswith("ZREV"))
        opts = [limit(r)] if r.random() < 0.4 else []
        if r.random() < 0.4:
            opts.append(["WITHSCORES"])
    if r.random() < 0.04:
        opts.append([r.choice(["WITHSCORES", "LIMIT", "REV", "BYSCORE", "FOO"])])
    r.shuffle(opts)
    return cmd + sum(opts, [])


def sources(r, most=3):
    return [r.choice([key(r), zset_key(r), zset_key(r), "l", "s"])
            for _ in range(r.randint(1, most))]


def numkeys(r, ks):
    if r.random() < 0.93:
        return str(len(ks))
    return r.choice(["0", "-1", "abc", str(len(ks) + 1), "1", ""])


def set_operation(r):
    """ZUNION, ZINTER, ZDIFF or their STORE, with WEIGHTS and AGGREGATE
    (refused by ZDIFF) and WITHSCORES (refused by the STORE)."""
    name = r.choice(["ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"])
    ks = sources(r)
    opts = []
    if r.random() < (0.05 if "DIFF" in name else 0.35):
        n = len(ks) if r.random() < 0.9 else r.choice([len(ks) - 1, len(ks) + 1])
        opts.append([r.choice(["WEIGHTS", "weights"])] + [pick(r, WEIGHTS, BAD_WEIGHTS)
                                                          for _ in range(n)])
    if r.random() < (0.05 if "DIFF" in name else 0.35):
        opts.append(["AGGREGATE", r.choice(["SUM", "MIN", "MAX", "min", "max", "FOO"])])
        if r.random() < 0.05:
            opts[-1] = opts[-1][:1]
    if r.random() < (0.05 if "STORE" in name else 0.5):
        opts.append(["WITHSCORES"])
    if r.random() < 0.03:
        opts.append([r.choice(["FOO", "LIMIT", "WITHSCORES"])])
    r.shuffle(opts)
    dst = [key(r)] if name.endswith("STORE") else []
    return [name] + dst + [numkeys(r, ks)] + ks + sum(opts, [])


def lex_store(r):
    """A store into a lex key from lex keys only: every score stays 0."""
    ks = [r.choice(LEX_KEYS + ["nosuch"]) for _ in range(r.randint(1, 3))]
    agg = r.choice([[], [], ["AGGREGATE", r.choice(["SUM", "MIN", "MAX"])]])
    return [r.choice(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]), r.choice(LEX_KEYS),
            str(len(ks))] + ks + agg


def zintercard(r):
    ks = sources(r)
    opts = r.choice([[], [], ["LIMIT", r.choice(["0", "1", "2", "5"])], ["limit", "1"],
                     ["LIMIT", "1", "LIMIT", "0"]])
    if r.random() < 0.05:
        opts = r.choice([["LIMIT"], ["FOO"], ["WITHSCORES"], ["LIMIT", r.choice(BAD_COUNTS)]])
    return ["ZINTERCARD", numkeys(r, ks)] + ks + opts


def zmpop(r):
    ks = [r.choice([zset_key(r), read_key(r), "l"]) for _ in range(r.randint(1, 3))]
    where = r.choice(["MIN", "MAX", "min", "max"] * 12 + ["FOO", "MINMAX"])
    opts = r.choice([[], [], ["COUNT", count(r, POP_COUNTS[1:])], ["count", "2"]])
    if r.random() < 0.05:
        opts = r.choice([["COUNT"], ["COUNT", "0"], ["COUNT", "1", "COUNT", "2"], ["FOO"]])
    return ["ZMPOP", numkeys(r, ks)] + ks + [where] + opts


def scan_options(r):
    opts = []
    for _ in range(r.randint(0, 2)):
        opts += r.choice([["MATCH", r.choice(PATTERNS)], ["COUNT", r.choice(["1", "3", "100"])],
                          ["count", "1000"], ["match", r.choice(PATTERNS)]])
    if r.random() < 0.05:
        opts += r.choice([["COUNT", "0"], ["COUNT", "abc"], ["MATCH"], ["FOO"], ["NOVALUES"]])
    return opts


def wide_pairs(r, score_of):
    start = r.choice([0, 0, 50, 100])
    n = r.choice([20, 127, 128, 129, 200])
    return sum([[score_of(i), "w%d" % i] for i in range(start, start + n)], [])


GENERATORS = [
    zadd, zadd, zadd, lex_zadd,
    lambda r: ["ZINCRBY", r.choice([zset_key(r), zset_key(r), key(r)]), score(r), member(r)],
    lambda r: ["ZINCRBY", r.choice(LEX_KEYS), r.choice(["0", "-0"]), member(r)],
    lambda r: ["ZREM", r.choice([zset_key(r), read_key(r)])] + [
        member(r) for _ in range(r.randint(1, 3))],
    lambda r: ["ZCARD", read_key(r)],
    lambda r: ["ZCOUNT", read_key(r)] + score_range(r),
    lambda r: ["ZLEXCOUNT", lex_key(r)] + lex_range(r),
    lambda r: ["ZSCORE", read_key(r), member(r)],
    lambda r: ["ZMSCORE", read_key(r)] + [member(r) for _ in range(r.randint(1, 4))],
    lambda r: [r.choice(["ZRANK", "ZREVRANK"]), read_key(r), member(r)],
    zrange, zrange, zrange,
    lambda r: zrange(r, "ZRANGESTORE"),
    range_by, range_by,
    lambda r: ["ZREMRANGEBYRANK", r.choice([zset_key(r), read_key(r)])] + ranks(r),
    lambda r: ["ZREMRANGEBYSCORE", r.choice([zset_key(r), read_key(r)])] + score_range(r),
    lambda r: ["ZREMRANGEBYLEX", lex_key(r)] + lex_range(r),
    lambda r: [r.choice(["ZPOPMIN", "ZPOPMAX"]), r.choice([zset_key(r), read_key(r)])] + r.choice(
        [[], [], [count(r)], [count(r)], [count(r)]] + ([["1", "2"]] if r.random() < 0.1 else [])),
    zmpop,
    lambda r: ["ZRANDMEMBER", r.choice([zset_key(r), read_key(r)])] + r.choice(
        [[], [count(r, RAND_COUNTS)], [count(r, RAND_COUNTS), "WITHSCORES"],
         [count(r, RAND_COUNTS)], [count(r, RAND_COUNTS), "withscores"]] + (
            [[r.choice(RAND_COUNTS), "FOO"]] if r.random() < 0.1 else [])),
    set_operation, set_operation, set_operation, lex_store, zintercard,
    lambda r: ["ZSCAN", read_key(r), r.choice(["0"] * 9 + ["abc"])] + scan_options(r),
    lambda r: ["TYPE", read_key(r)],
    lambda r: ["OBJECT", "ENCODING", read_key(r)],
    lambda r: [r.choice(["DEL", "EXISTS"])] + [read_key(r) for _ in range(r.randint(1, 3))],
    lambda r: ["EXPIRE", read_key(r), r.choice(TTLS)] + r.sample(["NX", "XX", "GT", "LT"],
                                                                   r.randint(0, 1)),
    lambda r: [r.choice(["TTL", "PERSIST"]), read_key(r)],
    lambda r: [r.choice(["RENAME", "RENAMENX"]), r.choice([key(r), zset_key(r), "l"]),
               r.choice([key(r), zset_key(r)])],
    lambda r: ["COPY", r.choice([key(r), zset_key(r), "l"]), r.choice([key(r), zset_key(r)])] + (
        r.choice([[], ["REPLACE"]])),
    # Other types: x mostly a string, h a hash and s a set (an input of
    # ZUNION, ZINTER, ZDIFF and ZINTERCARD), now and then any key.
    lambda r: ["SET", r.choice(["x"] * 9 + [key(r)]), r.choice(VALUES)],
    lambda r: ["HSET", r.choice(["h"] * 9 + [key(r)]), r.choice(["f", "g"]), r.choice(VALUES)],
    lambda r: ["SADD", r.choice(["s"] * 9 + [key(r)])] + r.sample(SET_MEMBERS, r.randint(1, 3)),
    lambda r: ["SREM", "s"] + r.sample(SET_MEMBERS, r.randint(1, 2)),
    lambda r: [r.choice(["GET", "STRLEN", "HLEN", "SCARD"]), read_key(r)],
    lambda r: ["INCR", r.choice(["x", key(r)])],
    lambda r: ["SISMEMBER", read_key(r), r.choice(SET_MEMBERS)],
    lambda r: ["MGET", read_key(r), read_key(r)],
    lambda r: ["SCAN", "0", "COUNT", "1000", "TYPE", r.choice(["zset", "set", "string", "hash"])],
    lambda r: ["KEYS", "*"],
    # Many members in one command, around the 128 of zset-max-listpack-entries.
    lambda r: ["ZADD", zset_key(r)] + wide_pairs(r, lambda i: r.choice(["%d" % i, "1", "-0"])),
    lambda r: ["ZADD", r.choice(LEX_KEYS)] + wide_pairs(r, lambda i: "0"),
    lambda r: ["ZREM", r.choice([zset_key(r), "l"])] + wide_pairs(r, lambda i: "w%d" % i)[::2],
    lambda r: [r.choice(["MULTI", "EXEC", "EXEC", "EXEC", "DISCARD", "UNWATCH"])],
    lambda r: ["WATCH", read_key(r)],
]
# Rarer: members added one command at a time, up to and past 128.
LOOPS = [
    lambda r, k: [["ZADD", k, "%d" % (i % 7), "w%d" % i] for i in range(r.choice([0, 100]), 135)],
    lambda r, k: [["ZADD", "l", "0", "w%d" % i] for i in range(r.choice([0, 100]), 135)],
    lambda r, k: [["ZINCRBY", k, "0.5", "w%d" % i] for i in range(0, 135, 3)],
    lambda r, k: [["ZREM", k, "w%d" % i] for i in range(0, 135, 2)],
]
UNORDERED = ("ZSCAN", "ZRANDMEMBER", "KEYS", "SCAN")
IN_MULTI_SKIPPED = UNORDERED + CLOCK + ("OBJECT",)


def zset_of(conn, k):
    """The zset at k as {member: score}, each as its reply's bytes in the
    connection's protocol (empty if there is no key); None if k holds
    another type."""
    reply = conn.cmd(["ZRANGE", k, "0", "-1", "WITHSCORES"])
    if reply[:1] != b"*":
        return None
    return dict(pairs_of(children(reply)[1]))


def random_items(conn, cmd, reply):
    """What must match of a ZRANDMEMBER reply: an error, a nil or an empty
    reply itself; else its shape (the header and each item's type, and each
    pair's), the items that are not in the zset (none), and whether a
    positive count gave a member twice (never)."""
    if reply[:1] not in (b"$", b"*") or reply in (b"$-1\r\n", b"*0\r\n"):
        return reply
    z = zset_of(conn, cmd[1])
    if reply[:1] == b"$":
        return b"$", [] if z is not None and reply in z else [reply]
    header, items = children(reply)
    shape = [i[:1] for i in items] + [[j[:1] for j in children(i)[1]] for i in items
                                      if i[:1] == b"*"]
    if len(cmd) > 3:  # WITHSCORES
        got = pairs_of(items)
        strays = [p for p in got if len(p) != 2 or z is None or z.get(p[0]) != p[1]]
        picked = [p[0] for p in got]
    else:
        strays = [i for i in items if z is None or i not in z]
        picked = items
    try:
        positive = int(cmd[2]) > 0
    except (ValueError, IndexError):
        positive = False
    return header, shape, strays, positive and len(set(picked)) != len(picked)


def exchange(pair, cmd):
    """Runs cmd on both servers, (edgekv, redis): (same, edgekv's, redis's),
    each reply as it is compared."""
    ours, theirs = pair
    name = cmd[0].upper()
    in_multi = getattr(ours, "in_multi", False)
    if not in_multi and name == "ZSCAN" and len(cmd) > 2 and zero_cursor(cmd[2]):
        return scan_both(pair, cmd, pairs=True)
    a, b = send_both(pair, cmd)
    if in_multi:
        return a == b, a, b
    if name == "ZRANDMEMBER" and len(cmd) > 1:
        a, b = random_items(ours, cmd, a), random_items(theirs, cmd, b)
        return a == b, a, b
    if same_anyway(name, a, b):
        return True, a, b
    if name == "OBJECT" and len(cmd) == 3 and a != b and a[:1] == b[:1] == b"$" \
            and all(c.cmd(["TYPE", cmd[2]]) == b"+set\r\n" for c in pair):
        return True, a, b"(a set's encoding is not compared)"
    a, b = keyspace_comparable(cmd, a), keyspace_comparable(cmd, b)
    return a == b, a, b


# A write from another connection between WATCH and EXEC, and whether Redis
# 7.0 aborts the transaction for it: a write that changes the watched key
# does; one that changes nothing (ZADD of the score a member has, XX of a
# missing member, GT/LT that loses, ZINCRBY by 0, a pop or remove of
# nothing), or fails, does not. A store always does when its destination
# existed (also with an empty result, which deletes it), and does not when
# it did not and the result is empty. Before each: wz is {a: 1, b: 2}, src
# {m: 1, a: 5}, other {o: 1}, str a string, set a set, nothing else; WATCH
# the key.
WATCHED_WRITES = [
    ("wz", ["ZADD", "wz", "3", "c"], True), ("wz", ["ZADD", "wz", "1", "a"], False),
    ("wz", ["ZADD", "wz", "1", "a", "2", "b"], False), ("wz", ["ZADD", "wz", "1.0", "a"], False),
    ("wz", ["ZADD", "wz", "5", "a"], True), ("wz", ["ZADD", "wz", "-0", "zz"], True),
    ("wz", ["ZADD", "wz", "XX", "5", "nosuch"], False),
    ("wz", ["ZADD", "wz", "NX", "5", "a"], False),
    ("wz", ["ZADD", "wz", "GT", "0", "a"], False), ("wz", ["ZADD", "wz", "LT", "0", "a"], True),
    ("wz", ["ZADD", "wz", "CH", "1", "a"], False), ("wz", ["ZADD", "wz", "INCR", "0", "a"], False),
    ("wz", ["ZADD", "wz", "XX", "INCR", "1", "nosuch"], False),
    ("wz", ["ZADD", "wz", "INCR", "1", "a"], True), ("wz", ["ZADD", "wz", "abc", "a"], False),
    ("wz", ["ZADD", "wz", "INCR", "-inf", "a"], True), ("wz", ["ZINCRBY", "wz", "0", "a"], False),
    ("wz", ["ZINCRBY", "wz", "1", "a"], True), ("wz", ["ZINCRBY", "wz", "1", "new"], True),
    ("wz", ["ZINCRBY", "wz", "abc", "a"], False), ("wz", ["ZREM", "wz", "a"], True),
    ("wz", ["ZREM", "wz", "nosuch"], False), ("wz", ["ZREM", "wz", "a", "b"], True),
    ("wz", ["ZPOPMIN", "wz"], True), ("wz", ["ZPOPMIN", "wz", "0"], False),
    ("wz", ["ZPOPMAX", "wz", "-1"], False), ("wz", ["ZPOPMAX", "wz", "5"], True),
    ("wz", ["ZMPOP", "1", "wz", "MIN"], True), ("wz", ["ZMPOP", "2", "nosuch", "wz", "MAX"], True),
    ("wz", ["ZMPOP", "1", "wz", "MAX", "COUNT", "10"], True),
    ("wz", ["ZMPOP", "1", "other", "MIN"], False), ("wz", ["ZRANDMEMBER", "wz", "-5"], False),
    ("wz", ["ZREMRANGEBYRANK", "wz", "5", "10"], False),
    ("wz", ["ZREMRANGEBYRANK", "wz", "0", "0"], True),
    ("wz", ["ZREMRANGEBYSCORE", "wz", "10", "20"], False),
    ("wz", ["ZREMRANGEBYSCORE", "wz", "1", "1"], True),
    ("wz", ["ZREMRANGEBYLEX", "wz", "[x", "+"], False),
    ("wz", ["ZREMRANGEBYLEX", "wz", "-", "+"], True),
    ("wz", ["ZUNIONSTORE", "wz", "1", "wz"], True),
    ("wz", ["ZUNIONSTORE", "wz", "1", "nosuch"], True),
    ("wz", ["ZINTERSTORE", "wz", "2", "wz", "nosuch"], True),
    ("wz", ["ZDIFFSTORE", "wz", "1", "wz"], True),
    ("wz", ["ZDIFFSTORE", "other", "1", "wz"], False),
    ("wz", ["ZUNIONSTORE", "wz", "1", "set"], True),
    ("wz", ["ZUNIONSTORE", "wz", "1", "str"], False),
    ("wz", ["ZRANGESTORE", "wz", "wz", "0", "-1"], True),
    ("wz", ["ZRANGESTORE", "wz", "wz", "5", "10"], True),
    ("wz", ["ZRANGESTORE", "wz", "str", "0", "-1"], False),
    ("wz", ["ZRANGESTORE", "other", "wz", "0", "-1"], False),
    ("wz", ["ZRANGE", "wz", "0", "-1"], False),
    ("wz", ["ZINTERCARD", "1", "wz"], False), ("wz", ["ZSCAN", "wz", "0"], False),
    ("wz", ["EXPIRE", "wz", "1000"], True), ("wz", ["DEL", "wz"], True),
    ("wz", ["SET", "wz", "x"], True), ("wz", ["RENAME", "other", "wz"], True),
    ("wz", ["COPY", "wz", "wz2"], False), ("wz", ["ZRANGESTORE", "wz", "src", "0", "0"], True),
    ("wz", ["ZINTERSTORE", "wz", "2", "src", "wz", "AGGREGATE", "MAX"], True),
    # A watched key that is not there.
    ("wm", ["ZUNIONSTORE", "wm", "1", "nosuch"], False),
    ("wm", ["ZINTERSTORE", "wm", "2", "wz", "nosuch"], False),
    ("wm", ["ZDIFFSTORE", "wm", "2", "wz", "wz"], False),
    ("wm", ["ZRANGESTORE", "wm", "wz", "5", "10"], False),
    ("wm", ["ZRANGESTORE", "wm", "nosuch", "0", "-1"], False),
    ("wm", ["ZUNIONSTORE", "wm", "1", "wz"], True),
    ("wm", ["ZRANGESTORE", "wm", "wz", "0", "0"], True),
    ("wm", ["ZADD", "wm", "XX", "1", "a"], False), ("wm", ["ZADD", "wm", "1", "a"], True),
    ("wm", ["ZINCRBY", "wm", "0", "a"], True), ("wm", ["ZREM", "wm", "a"], False),
    ("wm", ["ZPOPMIN", "wm"], False), ("wm", ["ZMPOP", "1", "wm", "MIN"], False),
    ("wm", ["ZREMRANGEBYRANK", "wm", "0", "-1"], False),
    ("wm", ["ZDIFFSTORE", "wm", "2", "src", "wz"], True),
]


def as_after_restart(reply):
    """A reply as Redis gives it once its sorted sets went through an RDB:
    a small skiplist comes back as a listpack, which keeps -0 as 0."""
    if isinstance(reply, (list, tuple)):
        return type(reply)(as_after_restart(r) for r in reply)
    if not isinstance(reply, bytes):
        return reply
    return reply.replace(b"$2\r\n-0\r\n", b"$1\r\n0\r\n").replace(b",-0\r\n", b",0\r\n")


tier = differential.tiers(exchange, after_disk=as_after_restart)


@differential.TIER_PROTOCOLS
def test_zset_replies_match_redis_byte_for_byte(tier, redis_port, protocol):
    server, exchange_of_tier = tier
    main = connect(server, redis_port, protocol)
    other = connect(server, redis_port, protocol)
    mismatches = run_seeds(main, other, protocol, 16, 600, generators=GENERATORS, loops=LOOPS,
                           loop_key=zset_key, exchange=exchange_of_tier,
                           skipped_in_multi=IN_MULTI_SKIPPED, loop_chance=0.002)
    mismatches += run_watched_writes(
        main, other, protocol, WATCHED_WRITES,
        setup=[["ZADD", "wz", "1", "a", "2", "b"], ["ZADD", "src", "1", "m", "5", "a"],
               ["ZADD", "other", "1", "o"], ["SET", "str", "v"], ["SADD", "set", "a"]],
        queued=[["ZADD", "wz", "3", "c"], ["ZSCORE", "wz", "a"]], exchange=exchange_of_tier)
    assert not mismatches, "\n".join(mismatches)


def zadd_many(k, pairs):
    return ["ZADD", k] + sum([[s, m] for s, m in pairs], [])


LONG = "L" * 65
W200 = [("%d" % i, "w%03d" % i) for i in range(200)]
W128 = W200[:128]
EVERY_SCORE = ["1", "-1", "1.5", "0.1", "1e20", "1e-7", "inf", "+inf", "-inf", "-0", "0x10",
               "0X1p3", "0.30000000000000004", "12345678901234567", "123456789012345678",
               "1e17", "1e16", "4611686018427387904", "4611686018427388928",
               "-4611686018427387904", "9223372036854775807", "1e15", "2.5e-5", "0.0001",
               "1e-310", "4.9e-324", "1.7976931348623157e308", "1e308", "-1e17", "3.0", "100",
               "1E3", ".5", "5.", "+1", "00012", "-.5e-2", "Infinity", "-INFINITY", "INF"]
NOT_SCORES = ["nan", "NaN", "-nan", "+nan", "abc", "", " 1", "1 ", "\t1", "1e400", "-1e400",
              "1e-400", "inf1", "1,5", "(1", "[1", "1e", "e1", "0x", "--1", "1.5.5", b"1\x002"]

EDGE_CASES = [
    # Arity, checked first; the name in lower case, however it was sent.
    ["ZADD"], ["ZADD", "k"], ["zadd", "k", "1"], ["ZADD", "k", "NX"], ["ZADD", "k", "INCR"],
    ["ZINCRBY", "k", "1"], ["ZINCRBY", "k", "1", "m", "n"], ["ZREM", "k"], ["ZCARD"],
    ["ZCARD", "k", "x"], ["ZCOUNT", "k", "1"], ["ZLEXCOUNT", "k", "-"], ["ZSCORE", "k"],
    ["ZSCORE", "k", "m", "n"], ["ZMSCORE", "k"], ["ZRANK", "k"], ["ZRANK", "k", "m", "WITHSCORE"],
    ["ZREVRANK", "k", "m", "n"], ["ZRANGE", "k", "0"], ["ZRANGESTORE", "d", "k", "0"],
    ["ZRANGEBYSCORE", "k", "0"], ["ZREVRANGEBYSCORE", "k"], ["ZRANGEBYLEX", "k", "-"],
    ["ZREVRANGEBYLEX", "k"], ["ZREVRANGE", "k", "0"], ["ZREMRANGEBYRANK", "k", "0"],
    ["ZREMRANGEBYSCORE", "k", "0"], ["ZREMRANGEBYLEX", "k", "-"], ["ZPOPMIN"], ["ZPOPMAX"],
    ["ZMPOP"], ["ZMPOP", "1"], ["ZMPOP", "1", "k"], ["ZRANDMEMBER"], ["ZUNION"], ["ZUNION", "1"],
    ["ZINTER", "1"], ["ZDIFF", "1"], ["ZUNIONSTORE", "d", "1"], ["ZINTERSTORE", "d"],
    ["ZDIFFSTORE", "d", "1"], ["ZINTERCARD", "1"], ["ZSCAN", "k"], ["zscan"], ["EXISTS", "k", "d"],
    # A missing key: empty replies, nil for a score or rank (RESP3's `_`),
    # ZMPOP's nil is a nil array (`*-1` in RESP2); arguments are parsed
    # before the key is looked at.
    ["ZCARD", "k"], ["ZSCORE", "k", "m"], ["ZMSCORE", "k", "m", "n"], ["ZRANK", "k", "m"],
    ["ZREVRANK", "k", "m"], ["ZCOUNT", "k", "-inf", "+inf"], ["ZCOUNT", "k", "abc", "1"],
    ["ZLEXCOUNT", "k", "-", "+"], ["ZLEXCOUNT", "k", "a", "b"], ["ZRANGE", "k", "0", "-1"],
    ["ZRANGE", "k", "a", "b"], ["ZRANGE", "k", "0", "1", "FOO"],
    ["ZRANGE", "k", "abc", "1", "BYSCORE"],
    ["ZRANGE", "k", "0", "1", "LIMIT", "0", "1"], ["ZRANGEBYSCORE", "k", "0", "1", "WITHSCORES"],
    ["ZRANGEBYLEX", "k", "-", "+"], ["ZREVRANGE", "k", "0", "-1"], ["ZREM", "k", "m"],
    ["ZREMRANGEBYRANK", "k", "0", "-1"], ["ZREMRANGEBYSCORE", "k", "-inf", "inf"],
    ["ZREMRANGEBYLEX", "k", "-", "+"], ["ZPOPMIN", "k"], ["ZPOPMAX", "k", "2"],
    ["ZPOPMIN", "k", "0"], ["ZPOPMIN", "k", "-1"], ["ZPOPMIN", "k", "abc"],
    ["ZMPOP", "1", "k", "MIN"], ["ZMPOP", "2", "k", "k2", "MAX", "COUNT", "3"],
    ["ZRANDMEMBER", "k"], ["ZRANDMEMBER", "k", "3"], ["ZRANDMEMBER", "k", "-3", "WITHSCORES"],
    ["ZRANDMEMBER", "k", "0"], ["ZRANDMEMBER", "k", "abc"],
    ["ZRANDMEMBER", "k", "-9223372036854775807"], ["ZRANDMEMBER", "k", "-9223372036854775808"],
    ["ZRANDMEMBER", "k", "-4611686018427387903", "WITHSCORES"],
    ["ZRANDMEMBER", "k", "-4611686018427387904", "WITHSCORES"],
    ["ZUNION", "1", "k"], ["ZINTER", "2", "k", "k2", "WITHSCORES"], ["ZDIFF", "1", "k"],
    ["ZUNIONSTORE", "d", "1", "k"], ["ZINTERSTORE", "d", "1", "k"], ["ZDIFFSTORE", "d", "1", "k"],
    ["ZRANGESTORE", "d", "k", "0", "-1"], ["EXISTS", "d"], ["ZINTERCARD", "1", "k"],
    ["ZSCAN", "k", "0"], ["ZSCAN", "k", "abc"], ["ZSCAN", "k", "0", "COUNT", "0"],
    ["ZINCRBY", "k", "abc", "m"], ["TYPE", "k"], ["OBJECT", "ENCODING", "k"], ["EXISTS", "k"],
    # Scores: strtod's syntax (hex, exponents, inf and Infinity in any case),
    # no nan, no space, nothing after the number, no overflow or underflow
    # to 0 (a subnormal is fine); replies in "%.17g" ("1e+20", "0.10000000000000001"),
    # integers without a point, inf and -inf.
    ["ZADD", "sc"] + sum([[s, "m%02d" % i] for i, s in enumerate(EVERY_SCORE)], []),
    ["ZRANGE", "sc", "0", "-1", "WITHSCORES"], ["ZSCAN", "sc", "0"],
] + [["ZADD", "sc", s, "bad"] for s in NOT_SCORES] + [
    ["ZINCRBY", "sc", s, "bad"] for s in NOT_SCORES[:12]] + [
    ["EXISTS", "bad"], ["ZSCORE", "sc", "bad"], ["ZADD", "sc", "1", "a", "abc", "b"],
    ["ZSCORE", "sc", "a"], ["ZADD", "sc2", "abc", "a"], ["EXISTS", "sc2"],
    ["ZMSCORE", "sc", "m00", "m05", "m09", "nosuch", "m12", "m13", "m16", "m22", "m23"],
    ["ZINCRBY", "sc", "0.2", "m03"], ["ZINCRBY", "sc", "1e308", "m27"],
    ["ZINCRBY", "sc", "1e308", "m27"], ["ZINCRBY", "sc", "-inf", "m07"],
    ["ZINCRBY", "sc", "inf", "m07"], ["ZINCRBY", "sc", "-inf", "m06"], ["ZSCORE", "sc", "m06"],
    ["ZADD", "sc", "INCR", "+inf", "m08"], ["ZADD", "sc", "INCR", "-1", "m00"],
    ["ZCARD", "sc"], ["ZRANK", "sc", "m08"], ["ZREVRANK", "sc", "m08"], ["ZRANK", "sc", "m07"],
    ["ZRANGE", "sc", "0", "-1", "WITHSCORES"],
    # ZADD's flags: XX and NX refuse each other, then NX, GT and LT; INCR
    # takes a single pair; all scores are parsed before the key's type is
    # checked; a member given twice is added once and set in turn (CH counts
    # each change).
    ["ZADD", "f", "NX", "XX", "1", "a"], ["ZADD", "f", "xx", "nx", "GT", "1", "a"],
    ["ZADD", "f", "GT", "LT", "1", "a"], ["ZADD", "f", "NX", "GT", "1", "a"],
    ["ZADD", "f", "NX", "LT", "1", "a"], ["ZADD", "f", "XX", "GT", "LT", "1", "a"],
    ["ZADD", "f", "INCR", "1", "a", "2", "b"], ["ZADD", "f", "INCR", "1"],
    ["ZADD", "f", "INCR", "a", "1"], ["ZADD", "f", "1", "a", "2"], ["ZADD", "f", "FOO", "1", "a"],
    ["ZADD", "f", "NX", "1"], ["EXISTS", "f"], ["ZADD", "f", "XX", "1", "a"], ["EXISTS", "f"],
    ["ZADD", "f", "XX", "INCR", "1", "a"], ["EXISTS", "f"], ["ZADD", "f", "5", "a"],
    ["ZADD", "f", "GT", "1", "new"], ["ZADD", "f", "LT", "10", "new2"],
    ["ZADD", "f", "GT", "CH", "6", "a", "1", "b"], ["ZADD", "f", "LT", "CH", "7", "a", "1", "c"],
    ["ZADD", "f", "XX", "GT", "CH", "7", "a", "1", "nope"], ["ZADD", "f", "XX", "LT", "1", "a"],
    ["ZADD", "f", "CH", "CH", "1", "a"], ["ZADD", "f", "1", "a", "1", "a", "2", "a"],
    ["ZADD", "f", "3", "q", "2", "q"], ["ZADD", "f", "CH", "3", "q", "4", "q"],
    ["ZADD", "f", "NX", "CH", "9", "q", "9", "r"], ["ZADD", "f", "gt", "ch", "nx", "1", "a"],
    ["ZRANGE", "f", "0", "-1", "WITHSCORES"],
    ["ZADD", "f", "INCR", "GT", "-1", "a"], ["ZADD", "f", "INCR", "LT", "-1", "a"],
    ["ZADD", "f", "INCR", "LT", "1", "a"], ["ZADD", "f", "INCR", "GT", "1", "zz"],
    ["ZADD", "f", "CH", "INCR", "1", "a"], ["ZADD", "f", "INCR", "INCR", "2", "a"],
    ["ZADD", "f", "NX", "INCR", "1", "a"], ["ZADD", "f", "XX", "INCR", "1", "nosuch"],
    ["ZADD", "f", "INCR", "0", "a"], ["ZADD", "f", "INCR", "inf", "a"],
    ["ZADD", "f", "INCR", "-inf", "a"], ["ZADD", "f", "GT", "INCR", "-inf", "a"],
    ["ZADD", "f", "INCR", "nan", "a"], ["ZSCORE", "f", "a"], ["ZINCRBY", "f", "-inf", "a"],
    ["ZINCRBY", "f", "1", "nosuch"], ["ZINCRBY", "nz", "1.5", "m"], ["TYPE", "nz"],
    ["ZRANGE", "f", "0", "-1", "WITHSCORES"],
    # -0: a listpack holds a score as text, an integral one as the integer,
    # so -0 becomes 0 there; a skiplist keeps it. A zset is created as a
    # listpack unless its first member is too long, and a member that is
    # inserted while it is one loses the sign.
    ["ZADD", "z0", "-0", "m"], ["ZSCORE", "z0", "m"], ["ZADD", "z1", "1", LONG, "-0", "m"],
    ["ZSCORE", "z1", "m"], ["ZADD", "z2", "-0", "m", "1", LONG], ["ZSCORE", "z2", "m"],
    ["ZADD", "z1", "0", "m"], ["ZADD", "z1", "CH", "0", "m"], ["ZINCRBY", "z1", "0", "m"],
    ["ZSCORE", "z1", "m"], ["ZADD", "z1", "INCR", "-0", "m"], ["ZADD", "z1", "GT", "0", "m"],
    ["ZADD", "z1", "-0", "n", "0", "o"], ["ZRANGE", "z1", "0", "-1", "WITHSCORES"],
    ["ZRANGEBYSCORE", "z1", "0", "0"], ["ZRANGEBYSCORE", "z1", "(-0", "0"],
    ["ZRANGEBYSCORE", "z1", "-0", "-0", "WITHSCORES"], ["ZCOUNT", "z1", "-0", "(0"],
    ["ZSCAN", "z1", "0"], ["ZUNION", "1", "z1", "WITHSCORES"],
    ["ZUNION", "2", "z1", "z1", "WITHSCORES"], ["ZUNION", "1", "z1", "WEIGHTS", "-1", "WITHSCORES"],
    ["ZUNION", "1", "z1", "WEIGHTS", "0", "WITHSCORES"],
    ["ZUNION", "1", "z1", "WEIGHTS", "-0", "WITHSCORES"],
    ["ZINTER", "2", "z1", "z1", "AGGREGATE", "MIN", "WITHSCORES"],
    ["ZUNIONSTORE", "z3", "1", "z1"], ["ZRANGE", "z3", "0", "-1", "WITHSCORES"],
    ["OBJECT", "ENCODING", "z3"], ["ZRANGESTORE", "z4", "z1", "0", "-1"],
    ["ZRANGE", "z4", "0", "-1", "WITHSCORES"], ["ZRANGESTORE", "z5", "z1", "0", "-1", "REV"],
    ["ZRANGE", "z5", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "z6", "z1", "-inf", "inf", "BYSCORE"],
    ["ZRANGE", "z6", "0", "-1", "WITHSCORES"], ["ZREM", "z3", LONG],
    ["ZUNIONSTORE", "z7", "1", "z3"], ["OBJECT", "ENCODING", "z7"],
    ["ZRANGE", "z7", "0", "-1", "WITHSCORES"], ["COPY", "z1", "z8"], ["ZSCORE", "z8", "m"],
    ["RENAME", "z8", "z9"], ["ZSCORE", "z9", "m"], ["ZPOPMIN", "z1"], ["ZPOPMIN", "z1", "2"],
    ["ZMPOP", "1", "z9", "MIN", "COUNT", "2"], ["ZRANDMEMBER", "z9", "-3", "WITHSCORES"],
    # Listpack and skiplist show a large integral score differently in
    # ZSCAN (the listpack holds 1e17 as an integer), nowhere else.
    ["ZADD", "big_lp", "1e17", "a", "123456789012345678", "b", "4611686018427387904", "c",
     "4611686018427388928", "d", "-1e17", "e", "1e16", "f"],
    ["ZADD", "big_sk", "1e17", "a", "123456789012345678", "b", "4611686018427387904", "c",
     "4611686018427388928", "d", "-1e17", "e", "1e16", "f", "0", LONG],
    ["ZSCAN", "big_lp", "0"], ["ZSCAN", "big_sk", "0"],
    ["ZRANGE", "big_lp", "0", "-1", "WITHSCORES"],
    ["ZRANGE", "big_sk", "0", "-1", "WITHSCORES"], ["ZRANDMEMBER", "big_lp", "6", "WITHSCORES"],
    ["ZRANDMEMBER", "big_sk", "-3", "WITHSCORES"], ["ZPOPMAX", "big_lp"],
    # Ties: by member bytes (shorter first, binary, empty first).
    ["ZADD", "t", "1", "b", "1", "a", "1", "", "1", "ab", "1", "A", "1", b"\xff", "1", "a\x00",
     "1", "\u00e9", "0", "z", "2", "0"],
    ["ZRANGE", "t", "0", "-1", "WITHSCORES"], ["ZREVRANGE", "t", "0", "-1"], ["ZRANK", "t", ""],
    ["ZRANK", "t", "a\x00"], ["ZREVRANK", "t", b"\xff"], ["ZRANGEBYSCORE", "t", "1", "1"],
    ["ZREVRANGEBYSCORE", "t", "1", "1", "LIMIT", "1", "2"], ["ZPOPMIN", "t", "2"],
    ["ZPOPMAX", "t", "2"],
    # Ranks: start and stop are clamped, negative from the end; an empty
    # range is an empty reply; REV counts from the highest.
    ["ZADD", "r", "1", "a", "2", "b", "3", "c", "3", "d"], ["ZRANGE", "r", "0", "-1"],
    ["ZRANGE", "r", "-2", "-1"], ["ZRANGE", "r", "-100", "1"], ["ZRANGE", "r", "2", "1"],
    ["ZRANGE", "r", "5", "10"], ["ZRANGE", "r", "-10", "-5"], ["ZRANGE", "r", "3", "3"],
    ["ZRANGE", "r", "-9223372036854775808", "9223372036854775807"],
    ["ZRANGE", "r", "0", "-1", "REV"],
    ["ZRANGE", "r", "-2", "-1", "REV", "WITHSCORES"], ["ZRANGE", "r", "-1", "0", "REV"],
    ["ZREVRANGE", "r", "0", "1", "WITHSCORES"], ["ZREVRANGE", "r", "0", "-1", "withscores"],
    ["ZREVRANGE", "r", "0", "-1", "BYSCORE"], ["ZREVRANGE", "r", "0", "-1", "LIMIT", "0", "1"],
    ["ZREVRANGE", "r", "0", "-1", "WITHSCORES", "WITHSCORES"], ["ZREVRANGE", "r", "a", "b"],
    ["ZRANGE", "r", "01", "1"], ["ZRANGE", "r", "+1", "1"], ["ZRANGE", "r", "-0", "1"],
    ["ZRANGE", "r", " 1", "1"], ["ZRANGE", "r", "1.0", "2"], ["ZRANGE", "r", "", "1"],
    ["ZRANGE", "r", "0", "9223372036854775808"], ["ZRANGE", "r", "0", "1", "2"],
    ["ZRANGE", "r", "0", "1", "LIMIT", "0", "1"],
    ["ZRANGE", "r", "0", "1", "WITHSCORES", "LIMIT", "0", "1"],
    # ZRANGE's options in any order, each at most once but WITHSCORES and
    # LIMIT (the last counts); WITHSCORES not with BYLEX, LIMIT only with
    # BYSCORE or BYLEX.
    ["ZRANGE", "r", "0", "1", "BYSCORE", "BYSCORE"], ["ZRANGE", "r", "0", "1", "REV", "REV"],
    ["ZRANGE", "r", "0", "1", "WITHSCORES", "WITHSCORES"],
    ["ZRANGE", "r", "-", "+", "BYLEX", "BYSCORE"],
    ["ZRANGE", "r", "0", "5", "LIMIT", "0", "1", "BYSCORE"],
    ["ZRANGE", "r", "0", "5", "LIMIT", "1", "1", "LIMIT", "0", "2", "BYSCORE"],
    ["ZRANGE", "r", "-", "+", "BYLEX", "LIMIT", "0", "1", "WITHSCORES"],
    ["ZRANGE", "r", "-", "+", "WITHSCORES", "BYLEX"], ["ZRANGE", "r", "0", "1", "byscore", "rev"],
    ["ZRANGE", "r", "3", "1", "BYSCORE", "REV"], ["ZRANGE", "r", "1", "3", "BYSCORE", "REV"],
    ["ZRANGE", "r", "(3", "1", "BYSCORE", "REV", "LIMIT", "0", "-1", "WITHSCORES"],
    ["ZRANGE", "r", "0", "1", "LIMIT", "0"], ["ZRANGE", "r", "0", "1", "BYSCORE", "LIMIT", "0"],
    ["ZRANGE", "r", "0", "1", "BYSCORE", "LIMIT", "0", "abc"], ["ZRANGE", "r", "0", "1", "FOO"],
    ["ZRANGE", "r", "1", "2", "BYLEX"], ["ZRANGE", "r", "[a", "[b", "BYSCORE"],
    # Score ranges: "(" for exclusive; strtod, so leading spaces, hex, inf,
    # Infinity, overflow to inf and "" (0) are fine, "(" alone is (0; no
    # nan, no "[", nothing after the number.
    ["ZADD", "sr", "1", "a", "2", "b", "3", "c", "16", "d", "inf", "e", "-inf", "f", "0", "g"],
] + [["ZRANGEBYSCORE", "sr", lo, "+inf"] for lo in SCORE_BOUNDS] + [
    ["ZRANGEBYSCORE", "sr", "-inf", hi] for hi in SCORE_BOUNDS] + [
    ["ZRANGEBYSCORE", "sr", "(1", "3"], ["ZRANGEBYSCORE", "sr", "( 1", "3"],
    ["ZRANGEBYSCORE", "sr", "3", "1"], ["ZREVRANGEBYSCORE", "sr", "3", "1"],
    ["ZREVRANGEBYSCORE", "sr", "1", "3"], ["ZRANGEBYSCORE", "sr", "(inf", "+inf"],
    ["ZRANGEBYSCORE", "sr", "-inf", "(-inf"], ["ZRANGEBYSCORE", "sr", "-inf", "-inf"],
    ["ZRANGEBYSCORE", "sr", "infinity", "-infinity"], ["ZRANGEBYSCORE", "sr", "-Infinity", "INF"],
    ["ZRANGEBYSCORE", "sr", "1", "1"], ["ZRANGEBYSCORE", "sr", "(1", "1"],
    ["ZRANGEBYSCORE", "sr", "1", "(1"], ["ZCOUNT", "sr", "(1", "(3"],
    ["ZCOUNT", "sr", "-inf", "inf"],
    ["ZCOUNT", "sr", "abc", "3"], ["ZCOUNT", "sr", "1", "[3"],
    ["ZREMRANGEBYSCORE", "sr", "[1", "3"],
    # LIMIT: offset and count; a negative count is all the rest, a negative
    # offset an empty reply; both integers; a LIMIT's arguments are checked
    # when they are read, before the ranges.
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "LIMIT", "0", "-1"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "LIMIT", "1", "-5"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "LIMIT", "-1", "2"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "LIMIT", "0", "0"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "LIMIT", "2", "3", "WITHSCORES"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "WITHSCORES", "LIMIT", "2", "3"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "LIMIT", "9223372036854775807", "1"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "LIMIT", "0", "9223372036854775807"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "LIMIT", "0", "9223372036854775808"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "LIMIT", "abc", "1"],
    ["ZRANGEBYSCORE", "sr", "abc", "inf", "LIMIT", "abc", "1"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "LIMIT", "0"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "LIMIT"], ["ZRANGEBYSCORE", "sr", "-inf", "inf", "FOO"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "WITHSCORES", "WITHSCORES"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "LIMIT", "0", "1", "LIMIT", "1", "1"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "REV"],
    ["ZRANGEBYSCORE", "sr", "-inf", "inf", "BYSCORE"],
    ["ZREVRANGEBYSCORE", "sr", "+inf", "-inf", "LIMIT", "1", "2", "WITHSCORES"],
    ["ZREVRANGEBYSCORE", "sr", "3", "3", "LIMIT", "0", "1"],
    ["ZRANGE", "sr", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "2", "-1", "WITHSCORES"],
    ["ZRANGE", "sr", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "-1"],
    # Lex ranges: "-", "+", or "[" / "(" and a member ("[" alone is the
    # empty string); anything else is refused, before the key is looked at.
    ["ZADD", "lx", "0", "a", "0", "b", "0", "c", "0", "d", "0", "", "0", "aa", "0", "-", "0", "+",
     "0", "[a"],
] + [["ZRANGEBYLEX", "lx", lo, "+"] for lo in LEX_BOUNDS] + [
    ["ZRANGEBYLEX", "lx", "-", hi] for hi in LEX_BOUNDS] + [
    ["ZRANGEBYLEX", "lx", "+", "-"], ["ZREVRANGEBYLEX", "lx", "+", "-"],
    ["ZREVRANGEBYLEX", "lx", "-", "+"], ["ZREVRANGEBYLEX", "lx", "(c", "[a"],
    ["ZRANGEBYLEX", "lx", "[a", "(c"], ["ZRANGEBYLEX", "lx", "[c", "[a"],
    ["ZRANGEBYLEX", "lx", "-", "+", "LIMIT", "1", "2"],
    ["ZRANGEBYLEX", "lx", "-", "+", "LIMIT", "1", "-1"],
    ["ZRANGEBYLEX", "lx", "-", "+", "LIMIT", "-1", "1"],
    ["ZRANGEBYLEX", "lx", "-", "+", "LIMIT", "0"],
    ["ZRANGEBYLEX", "lx", "-", "+", "WITHSCORES"], ["ZREVRANGEBYLEX", "lx", "+", "-", "WITHSCORES"],
    ["ZRANGEBYLEX", "lx", "-", "+", "REV"], ["ZRANGEBYLEX", "lx", "-", "+", "FOO"],
    ["ZREVRANGEBYLEX", "lx", "+", "-", "LIMIT", "1", "1"], ["ZLEXCOUNT", "lx", "-", "+"],
    ["ZLEXCOUNT", "lx", "[a", "[b"], ["ZLEXCOUNT", "lx", "a", "b"], ["ZLEXCOUNT", "lx", "(a", "(a"],
    ["ZRANGE", "lx", "-", "+", "BYLEX"], ["ZRANGE", "lx", "[b", "+", "BYLEX", "REV"],
    ["ZRANGE", "lx", "+", "[b", "BYLEX", "REV", "LIMIT", "0", "2"],
    ["ZRANGE", "lx", "0", "-1", "BYLEX"], ["ZRANGE", "lx", "-", "+", "BYSCORE"],
    ["ZRANGESTORE", "lxs", "lx", "[b", "+", "BYLEX"], ["ZRANGE", "lxs", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "lxs", "lx", "+", "[b", "BYLEX", "REV", "LIMIT", "1", "1"],
    ["ZRANGE", "lxs", "0", "-1", "WITHSCORES"], ["ZREMRANGEBYLEX", "lx", "a", "b"],
    ["ZREMRANGEBYLEX", "lx", "[a", "[aa"], ["ZREMRANGEBYLEX", "lx", "(d", "+"],
    ["ZRANGE", "lx", "0", "-1"],
    # ZREMRANGEBYRANK and ZREMRANGEBYSCORE; the last member gone takes the key.
    ["ZADD", "rr", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"],
    ["ZREMRANGEBYRANK", "rr", "5", "1"], ["ZREMRANGEBYRANK", "rr", "-100", "-5"],
    ["ZREMRANGEBYRANK", "rr", "-1", "-1"], ["ZREMRANGEBYRANK", "rr", "a", "1"],
    ["ZREMRANGEBYSCORE", "rr", "(2", "3"], ["ZREMRANGEBYSCORE", "rr", "abc", "3"],
    ["ZRANGE", "rr", "0", "-1", "WITHSCORES"],
    ["ZREMRANGEBYRANK", "rr", "-9223372036854775808", "9223372036854775807"], ["EXISTS", "rr"],
    ["ZADD", "rr", "1", "a"], ["ZREM", "rr", "a", "a"], ["EXISTS", "rr"], ["ZADD", "rr", "1", "a"],
    ["ZREMRANGEBYSCORE", "rr", "-inf", "inf"], ["EXISTS", "rr"], ["ZADD", "rr", "0", "a"],
    ["ZREMRANGEBYLEX", "rr", "-", "+"], ["EXISTS", "rr"],
    # Pops: without a count one pair (flat, also in RESP3), with one an array
    # of pairs in RESP3 (flat in RESP2), however many; ZMPOP is [key, pairs]
    # in both protocols; counts at least 0 (ZMPOP's at least 1).
    ["ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d"], ["ZPOPMIN", "p"], ["ZPOPMIN", "p", "1"],
    ["ZPOPMAX", "p", "0"], ["ZPOPMAX", "p", "-1"], ["ZPOPMAX", "p", "abc"], ["ZPOPMAX", "p", "1.5"],
    ["ZPOPMAX", "p", "1", "2"], ["ZPOPMAX", "p", "9223372036854775808"], ["ZPOPMAX", "p"],
    ["ZPOPMAX", "p", "9223372036854775807"], ["EXISTS", "p"], ["ZPOPMIN", "p"],
    ["ZPOPMIN", "p", "3"], ["ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d"],
    ["ZMPOP", "1", "p", "MIN"], ["ZMPOP", "1", "p", "max", "COUNT", "2"],
    ["ZMPOP", "2", "nosuch", "p", "MAX", "COUNT", "9223372036854775807"], ["EXISTS", "p"],
    ["ZMPOP", "1", "p", "MIN"], ["ZMPOP", "0", "p", "MIN"], ["ZMPOP", "-1", "p", "MIN"],
    ["ZMPOP", "abc", "p", "MIN"], ["ZMPOP", "2", "p", "MIN"], ["ZMPOP", "1", "p", "FOO"],
    ["ZMPOP", "1", "p", "MIN", "COUNT"], ["ZMPOP", "1", "p", "MIN", "COUNT", "0"],
    ["ZMPOP", "1", "p", "MIN", "COUNT", "-1"], ["ZMPOP", "1", "p", "MIN", "COUNT", "abc"],
    ["ZMPOP", "1", "p", "MIN", "COUNT", "1", "COUNT", "1"], ["ZMPOP", "1", "p", "MIN", "FOO"],
    ["ZMPOP", "9223372036854775807", "p", "MIN"], ["ZMPOP", "2147483648", "p", "MIN"],
    # ZRANDMEMBER: the count parsed before the key is looked at; WITHSCORES
    # only within +-LONG_MAX/2; a negative count repeats members.
    ["ZADD", "rm", "1", "a", "2", "b", "3", "c"], ["ZRANDMEMBER", "rm", "abc"],
    ["ZRANDMEMBER", "rm", "1.5"], ["ZRANDMEMBER", "rm", ""], ["ZRANDMEMBER", "rm", "0"],
    ["ZRANDMEMBER", "rm", "0", "WITHSCORES"], ["ZRANDMEMBER", "rm", "1", "FOO"],
    ["ZRANDMEMBER", "rm", "1", "WITHSCORES", "FOO"], ["ZRANDMEMBER", "rm", "2", "withscores"],
    ["ZRANDMEMBER", "rm", "-9223372036854775808"],
    ["ZRANDMEMBER", "rm", "-9223372036854775807", "WITHSCORES"],
    ["ZRANDMEMBER", "rm", "-4611686018427387904", "WITHSCORES"],
    ["ZRANDMEMBER", "rm", "9223372036854775807"],
    ["ZRANDMEMBER", "rm", "9223372036854775807", "WITHSCORES"],
    ["ZRANDMEMBER", "rm", "4611686018427387903", "WITHSCORES"], ["ZRANDMEMBER", "rm", "-7"],
    ["ZRANDMEMBER", "rm", "-7", "WITHSCORES"], ["ZRANDMEMBER", "rm", "2"], ["ZRANDMEMBER", "rm"],
    ["ZRANDMEMBER", "rm", "3", "WITHSCORES"], ["ZRANDMEMBER", "rm", "-1"],
    # ZUNION, ZINTER, ZDIFF: numkeys first (at least 1, at most the
    # arguments left), then each key's type (a set is a zset of score 1),
    # then the options; sums in the order of the inputs sorted by size
    # (ties in argument order); inf + -inf and inf * 0 are 0.
    ["SET", "str", "v"], ["HSET", "hh", "f", "v"], ["SADD", "st", "1", "2", "a"],
    ["ZADD", "ua", "0.1", "x", "1", "y"], ["ZADD", "ub", "0.2", "x", "2", "y", "5", "z"],
    ["ZADD", "uc", "0.3", "x", "3", "y", "6", "z", "7", "w"], ["ZADD", "ud", "0.3", "x"],
    ["ZADD", "ue", "0.1", "x"], ["ZADD", "uf", "0.2", "x"], ["ZADD", "i1", "inf", "x"],
    ["ZADD", "i2", "-inf", "x"],
    ["ZUNION", "3", "ua", "ub", "uc", "WITHSCORES"],
    ["ZUNION", "3", "uc", "ub", "ua", "WITHSCORES"],
    ["ZINTER", "3", "uc", "ub", "ua", "WITHSCORES"],
    ["ZUNION", "3", "ud", "ue", "uf", "WITHSCORES"],
    ["ZUNION", "3", "uf", "ud", "ue", "WITHSCORES"],
    ["ZINTER", "3", "uf", "ud", "ue", "WITHSCORES"],
    ["ZINTER", "3", "ue", "uf", "ud", "WITHSCORES"], ["ZUNION", "2", "i1", "i2", "WITHSCORES"],
    ["ZINTER", "2", "i1", "i2", "WITHSCORES"],
    ["ZUNION", "2", "i1", "i2", "WEIGHTS", "0", "1", "WITHSCORES"],
    ["ZUNION", "1", "i1", "WEIGHTS", "0", "WITHSCORES"],
    ["ZUNION", "1", "i1", "WEIGHTS", "-1", "WITHSCORES"],
    ["ZUNION", "1", "i1", "WEIGHTS", "nan", "WITHSCORES"],
    ["ZUNION", "1", "ua", "WEIGHTS", "1e308", "WITHSCORES"],
    ["ZUNION", "2", "ua", "ua", "WEIGHTS", "1e308", "1e308", "WITHSCORES"],
    ["ZUNION", "2", "i1", "i2", "AGGREGATE", "MAX", "WITHSCORES"],
    ["ZUNION", "2", "ua", "ub", "AGGREGATE", "min", "WITHSCORES"],
    ["ZINTER", "2", "uc", "ub", "WEIGHTS", "2", "3", "WITHSCORES"],
    ["ZINTER", "2", "uc", "ub", "WEIGHTS", "2", "3", "AGGREGATE", "MAX", "WITHSCORES", "WEIGHTS",
     "1", "1"],
    ["ZINTER", "2", "uc", "ub", "withscores", "aggregate", "min", "weights", "1", "1"],
    ["ZUNION", "1", "ua", "WEIGHTS", "abc"], ["ZUNION", "1", "ua", "WEIGHTS"],
    ["ZUNION", "2", "ua", "ub", "WEIGHTS", "1"],
    ["ZUNION", "2", "ua", "ub", "WEIGHTS", "1", "2", "3"],
    ["ZUNION", "1", "ua", "AGGREGATE"], ["ZUNION", "1", "ua", "AGGREGATE", "foo"],
    ["ZUNION", "0", "ua"], ["ZUNION", "-1", "ua"], ["ZUNION", "abc", "ua"],
    ["ZUNION", "3", "ua", "ub"],
    ["ZUNION", "1", "ua", "ub"], ["ZUNION", "2147483648", "ua"],
    ["ZUNION", "9223372036854775807", "ua"], ["ZUNIONSTORE", "dst", "0", "ua"],
    ["ZUNIONSTORE", "dst", "abc", "ua"], ["ZUNIONSTORE", "dst", "1", "ua", "WITHSCORES"],
    ["ZINTERSTORE", "dst", "1", "ua", "WITHSCORES"], ["ZDIFFSTORE", "dst", "1", "ua", "WITHSCORES"],
    ["ZDIFFSTORE", "dst", "0", "ua"], ["ZDIFF", "0", "ua"], ["ZDIFF", "1", "ua", "WEIGHTS", "1"],
    ["ZDIFF", "1", "ua", "AGGREGATE", "SUM"], ["ZDIFF", "2", "ua", "ub", "WITHSCORES"],
    ["ZDIFF", "2", "uc", "ub", "WITHSCORES"], ["ZDIFF", "3", "uc", "ua", "ub", "WITHSCORES"],
    ["ZDIFF", "1", "ua", "WITHSCORES"], ["ZDIFF", "2", "ua", "ua"], ["ZINTER", "0", "ua"],
    ["ZUNION", "1", "str", "WEIGHTS", "abc"], ["ZUNION", "2", "ua", "str", "FOO"],
    ["ZUNION", "3", "str", "ua"], ["ZUNION", "2", "hh", "ua"], ["ZUNION", "2", "nosuch", "hh"],
    ["ZDIFF", "2", "nosuch", "str"], ["ZINTER", "2", "nosuch", "str"],
    ["ZUNION", "2", "st", "ub", "WITHSCORES"], ["ZINTER", "2", "st", "ua", "WITHSCORES"],
    ["ZINTER", "2", "st", "st", "WITHSCORES"], ["ZDIFF", "2", "st", "ua", "WITHSCORES"],
    ["ZDIFF", "2", "ua", "st", "WITHSCORES"], ["ZDIFF", "1", "st", "WITHSCORES"],
    ["ZUNION", "2", "st", "ua", "WEIGHTS", "2", "1", "WITHSCORES"],
    ["ZUNIONSTORE", "dst", "1", "st"], ["TYPE", "dst"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    # ZINTERCARD: numkeys, then the keys' types, then LIMIT (0 is none; the
    # last counts).
    ["ZINTERCARD", "2", "uc", "ub"], ["ZINTERCARD", "2", "uc", "ub", "LIMIT", "1"],
    ["ZINTERCARD", "2", "uc", "ub", "LIMIT", "0"], ["ZINTERCARD", "2", "uc", "ub", "LIMIT", "-1"],
    ["ZINTERCARD", "2", "uc", "ub", "LIMIT", "abc"], ["ZINTERCARD", "2", "uc", "ub", "LIMIT"],
    ["ZINTERCARD", "2", "uc", "ub", "LIMIT", "1", "LIMIT", "5"],
    ["ZINTERCARD", "1", "uc", "limit", "2"], ["ZINTERCARD", "2", "uc", "st"],
    ["ZINTERCARD", "2", "uc", "nosuch"], ["ZINTERCARD", "2", "uc"], ["ZINTERCARD", "0", "uc"],
    ["ZINTERCARD", "-1", "uc"], ["ZINTERCARD", "abc", "uc"],
    ["ZINTERCARD", "1", "uc", "WITHSCORES"],
    ["ZINTERCARD", "2", "str", "uc", "LIMIT", "-1"],
    ["ZINTERCARD", "2", "uc", "str", "LIMIT", "abc"],
    ["ZINTERCARD", "9223372036854775807", "uc"],
    # The STORE commands: the result replaces a key of any type (and its
    # TTL); an empty result deletes the destination; the destination may be
    # an input; the encoding is the smallest that holds the result.
    ["ZUNIONSTORE", "str", "2", "ua", "ub"], ["TYPE", "str"],
    ["ZRANGE", "str", "0", "-1", "WITHSCORES"],
    ["ZINTERSTORE", "hh", "2", "ua", "ub"], ["TYPE", "hh"], ["ZDIFFSTORE", "st2", "2", "uc", "ua"],
    ["ZRANGE", "st2", "0", "-1", "WITHSCORES"], ["SET", "str", "v"],
    ["ZINTERSTORE", "str", "2", "ua", "nosuch"], ["EXISTS", "str"], ["SET", "str", "v"],
    ["ZUNIONSTORE", "dst", "1", "nosuch"], ["EXISTS", "dst"], ["ZADD", "dst", "1", "x"],
    ["EXPIRE", "dst", "100"], ["ZUNIONSTORE", "dst", "2", "dst", "ua"], ["TTL", "dst"],
    ["ZRANGE", "dst", "0", "-1", "WITHSCORES"], ["ZDIFFSTORE", "dst", "2", "dst", "dst"],
    ["EXISTS", "dst"], ["ZINTERSTORE", "ua2", "2", "ua", "ua"],
    ["ZRANGE", "ua2", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "str", "ua", "0", "-1"], ["TYPE", "str"], ["SET", "str", "v"],
    ["ZRANGESTORE", "dst", "str", "0", "-1"], ["ZRANGESTORE", "dst", "st", "0", "-1"],
    ["ZRANGESTORE", "dst", "ua", "0", "-1", "WITHSCORES"], ["ZRANGESTORE", "dst", "ua", "5", "10"],
    ["EXISTS", "dst"], ["ZRANGESTORE", "dst", "uc", "1", "2", "REV"],
    ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "dst", "uc", "(1", "+inf", "BYSCORE", "LIMIT", "1", "-1"],
    ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "dst", "ua", "0", "1", "LIMIT", "0", "1"],
    ["ZRANGESTORE", "dst", "ua", "a", "b"], ["ZRANGESTORE", "ua", "ua", "0", "0"],
    ["ZRANGE", "ua", "0", "-1", "WITHSCORES"], ["ZRANGESTORE", "dst", "nosuch", "0", "-1"],
    zadd_many("u200", W200), ["ZADD", "u200", "0", LONG],
    ["ZUNIONSTORE", "e1", "1", "ua"], ["OBJECT", "ENCODING", "e1"],
    ["ZUNIONSTORE", "e2", "1", "u200"], ["OBJECT", "ENCODING", "e2"],
    ["ZRANGESTORE", "e3", "u200", "0", "127"], ["OBJECT", "ENCODING", "e3"],
    ["ZRANGESTORE", "e4", "u200", "1", "128"], ["OBJECT", "ENCODING", "e4"],
    ["ZRANGESTORE", "e5", "u200", "0", "0"], ["OBJECT", "ENCODING", "e5"],
    ["ZRANGESTORE", "e6", "u200", "1", "129"], ["OBJECT", "ENCODING", "e6"],
    ["ZRANGESTORE", "e7", "u200", "(0", "199", "BYSCORE", "LIMIT", "0", "128"],
    ["OBJECT", "ENCODING", "e7"],
    ["ZRANGESTORE", "e7", "u200", "(0", "199", "BYSCORE", "LIMIT", "0", "129"],
    ["OBJECT", "ENCODING", "e7"], ["ZRANGESTORE", "e7", "u200", "[w001", "+", "BYLEX"],
    ["OBJECT", "ENCODING", "e7"], ["ZINTERSTORE", "e8", "2", "u200", "e4"],
    ["OBJECT", "ENCODING", "e8"], ["ZINTERSTORE", "e8", "2", "u200", "e6"],
    ["OBJECT", "ENCODING", "e8"], ["ZDIFFSTORE", "e9", "2", "u200", "ua"],
    ["OBJECT", "ENCODING", "e9"], ["ZDIFFSTORE", "e9", "2", "u200", "e4"],
    ["OBJECT", "ENCODING", "e9"], ["ZADD", "shortlong", "1", "a", "2", "b", "3", LONG],
    ["ZADD", "long1", "1", LONG], ["ZDIFFSTORE", "e10", "2", "shortlong", "long1"],
    ["OBJECT", "ENCODING", "e10"],
    zadd_many("a10", [("1", LONG)] + [("%d" % i, "a%d" % i) for i in range(9)]),
    ["ZDIFFSTORE", "e11", "3", "a10", "long1", "ua"], ["OBJECT", "ENCODING", "e11"],
    ["ZINTERSTORE", "e12", "2", "shortlong", "long1"], ["OBJECT", "ENCODING", "e12"],
    ["ZUNIONSTORE", "e13", "2", "e4", "ua"], ["OBJECT", "ENCODING", "e13"],
    # ZSCAN: the cursor first (an unsigned number: "", "-0" and "+0" are 0),
    # then the type, then the options (COUNT at least 1; no TYPE or
    # NOVALUES); a listpack is answered whole, with a cursor of 0, whatever
    # the cursor given.
    ["ZSCAN", "uc", "0", "COUNT", "0"], ["ZSCAN", "uc", "0", "COUNT", "-1"],
    ["ZSCAN", "uc", "0", "COUNT", "abc"], ["ZSCAN", "uc", "0", "MATCH"],
    ["ZSCAN", "uc", "0", "COUNT"],
    ["ZSCAN", "uc", "0", "TYPE", "zset"], ["ZSCAN", "uc", "0", "NOVALUES"],
    ["ZSCAN", "uc", "0", "FOO", "1"], ["ZSCAN", "uc", "abc"],
    ["ZSCAN", "uc", "18446744073709551616"],
    ["ZSCAN", "uc", " 0"], ["ZSCAN", "uc", "1.5"], ["ZSCAN", "uc", ""], ["ZSCAN", "uc", "-0"],
    ["ZSCAN", "uc", "+0"], ["ZSCAN", "uc", "7"], ["ZSCAN", "uc", "-1"],
    ["ZSCAN", "uc", "0", "count", "1", "MATCH", "a", "match", "[wx]"],
    ["ZSCAN", "u200", "0", "COUNT", "7"], ["ZSCAN", "u200", "0", "MATCH", "w1*", "COUNT", "1"],
    ["ZSCAN", "u200", "0", "MATCH", "*"], ["ZSCAN", "str", "abc"],
    ["ZSCAN", "str", "0", "COUNT", "0"],
    # WRONGTYPE, both ways; an argument that does not parse is reported
    # first (but ZRANGE by rank parses its ranks, ZUNION checks the keys
    # before its options).
    ["DEL", "str", "hh", "st"], ["SET", "str", "v"], ["HSET", "hh", "f", "v"],
    ["SADD", "st", "1", "2", "a"],
    ["ZADD", "str", "1", "a"], ["ZADD", "str", "abc", "a"], ["ZADD", "str", "NX", "XX", "1", "a"],
    ["ZADD", "st", "1", "a"], ["ZADD", "hh", "1", "a"], ["ZINCRBY", "str", "1", "a"],
    ["ZINCRBY", "str", "abc", "a"], ["ZREM", "str", "a"], ["ZCARD", "hh"], ["ZCARD", "st"],
    ["ZSCORE", "str", "a"], ["ZMSCORE", "st", "a"], ["ZRANK", "hh", "f"], ["ZREVRANK", "st", "a"],
    ["ZCOUNT", "str", "1", "2"], ["ZCOUNT", "str", "a", "2"], ["ZLEXCOUNT", "str", "-", "+"],
    ["ZLEXCOUNT", "str", "a", "b"], ["ZRANGE", "str", "0", "-1"], ["ZRANGE", "str", "a", "b"],
    ["ZRANGE", "st", "0", "1", "FOO"], ["ZRANGE", "str", "a", "b", "BYSCORE"],
    ["ZRANGE", "hh", "-", "+", "BYLEX"], ["ZRANGE", "str", "a", "b", "BYLEX"],
    ["ZRANGEBYSCORE", "st", "0", "1"], ["ZREVRANGEBYLEX", "hh", "+", "-"],
    ["ZREVRANGE", "str", "0", "1"], ["ZREMRANGEBYRANK", "str", "0", "1"],
    ["ZREMRANGEBYRANK", "str", "a", "1"], ["ZREMRANGEBYSCORE", "str", "abc", "1"],
    ["ZREMRANGEBYSCORE", "hh", "1", "2"], ["ZREMRANGEBYLEX", "st", "-", "+"],
    ["ZREMRANGEBYLEX", "str", "a", "b"], ["ZPOPMIN", "str"], ["ZPOPMAX", "st", "1"],
    ["ZPOPMIN", "str", "abc"], ["ZPOPMIN", "str", "-1"], ["ZMPOP", "1", "st", "MIN"],
    ["ZMPOP", "2", "nosuch", "str", "MAX"], ["ZMPOP", "2", "str", "ua", "MAX"],
    ["ZRANDMEMBER", "str"], ["ZRANDMEMBER", "st", "1"], ["ZRANDMEMBER", "str", "abc"],
    ["ZRANDMEMBER", "str", "-9223372036854775807", "WITHSCORES"], ["ZSCAN", "st", "0"],
    ["ZSCAN", "str", "0"], ["ZRANGESTORE", "dst", "hh", "0", "-1"],
    ["ZADD", "zz", "1", "a"], ["GET", "zz"], ["STRLEN", "zz"], ["APPEND", "zz", "x"],
    ["INCR", "zz"], ["GETRANGE", "zz", "0", "1"], ["SETRANGE", "zz", "0", "x"],
    ["GETSET", "zz", "x"], ["GETDEL", "zz"], ["HGET", "zz", "a"], ["HSET", "zz", "a", "1"],
    ["HLEN", "zz"], ["HGETALL", "zz"], ["SADD", "zz", "a"], ["SREM", "zz", "a"], ["SCARD", "zz"],
    ["SISMEMBER", "zz", "a"], ["SMEMBERS", "zz"], ["SUNION", "zz"], ["SINTERSTORE", "d2", "zz"],
    ["SINTERCARD", "1", "zz"], ["MGET", "zz", "str", "nosuch"], ["TYPE", "zz"],
    ["OBJECT", "ENCODING", "zz"], ["COPY", "zz", "zz2"], ["SET", "zz2", "str"], ["TYPE", "zz2"],
    ["ZRANGE", "zz2", "0", "-1"], ["SUNIONSTORE", "zz2", "st"], ["TYPE", "zz2"],
    ["SCAN", "0", "COUNT", "1000", "TYPE", "zset"], ["SCAN", "0", "COUNT", "1000", "TYPE", "ZSET"],
    ["SCAN", "0", "COUNT", "1000", "TYPE", "string"], ["KEYS", "*"],
    # Expiry, rename and copy: zset writes keep the TTL, a STORE and SET
    # drop it, a zset whose last member goes is gone with its TTL.
    ["ZADD", "t1", "1", "a", "2", "b", "3", "c"], ["EXPIRE", "t1", "100"],
    ["ZADD", "t1", "4", "d"], ["TTL", "t1"], ["ZREM", "t1", "a"], ["ZINCRBY", "t1", "1", "b"],
    ["ZPOPMIN", "t1"], ["ZREMRANGEBYRANK", "t1", "0", "0"], ["TTL", "t1"],
    ["RENAME", "t1", "t3"], ["TTL", "t3"], ["EXISTS", "t1"], ["COPY", "t3", "t4"], ["TTL", "t4"],
    ["ZRANGE", "t4", "0", "-1", "WITHSCORES"], ["COPY", "t3", "t4"],
    ["COPY", "str", "t4", "REPLACE"], ["TYPE", "t4"], ["COPY", "t3", "t4", "REPLACE"],
    ["TYPE", "t4"], ["OBJECT", "ENCODING", "t4"], ["PERSIST", "t3"], ["TTL", "t3"],
    ["PERSIST", "t3"], ["EXPIRE", "t3", "100", "NX"], ["ZPOPMAX", "t3", "10"], ["EXISTS", "t3"],
    ["TTL", "t3"], ["ZADD", "t3", "1", "z"], ["TTL", "t3"], ["EXPIRE", "t3", "100"],
    ["ZRANGESTORE", "t3", "t3", "0", "-1"], ["TTL", "t3"], ["EXPIRE", "t3", "100"],
    ["SET", "t3", "x"], ["TTL", "t3"], ["EXPIRE", "t4", "0"], ["EXISTS", "t4"],
    ["ZCARD", "t4"], ["ZADD", "t5", "1", "a"], ["RENAME", "t5", "str"], ["TYPE", "str"],
    ["ZCARD", "str"], ["RENAMENX", "str", "hh"], ["RENAME", "str", "str"],
    ["RENAMENX", "str", "newname"], ["ZRANGE", "newname", "0", "-1"],
    ["DEL", "newname", "hh", "nosuch"], ["EXISTS", "newname", "hh"],
    # Transactions: an arity error discards it; WRONGTYPE and a refused
    # score are items of EXEC.
    ["ZADD", "x1", "1", "a"], ["MULTI"], ["ZADD", "x1", "2", "b"], ["ZCARD"], ["EXEC"],
    ["ZCARD", "x1"], ["SET", "xs", "v"], ["MULTI"], ["ZADD", "x1", "3", "c"], ["ZCARD", "x1"],
    ["ZSCORE", "x1", "c"], ["ZMSCORE", "x1", "a", "z"], ["ZREM", "x1", "a"], ["GET", "x1"],
    ["ZADD", "xs", "1", "a"], ["ZADD", "x1", "nan", "a"], ["ZINCRBY", "x1", "-inf", "c"],
    ["ZINCRBY", "x1", "inf", "c"], ["ZINCRBY", "x1", "-inf", "c"],
    ["ZRANGE", "x1", "0", "-1", "WITHSCORES"], ["ZPOPMIN", "x1", "-1"], ["ZPOPMIN", "x1"],
    ["ZINTERCARD", "1", "x1"], ["ZINTERCARD", "0", "x1"], ["ZUNIONSTORE", "x2", "1", "x1"],
    ["ZRANGESTORE", "x3", "x2", "0", "0"], ["ZMPOP", "1", "x2", "MAX"], ["EXISTS", "x2"],
    ["ZRANDMEMBER", "x3", "-2", "WITHSCORES"], ["TYPE", "x3"], ["OBJECT", "ENCODING", "x3"],
    ["EXEC"], ["ZRANGE", "x3", "0", "-1", "WITHSCORES"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_zset_error_replies_match_redis(server, redis_port, protocol):
    pair = connect(server, redis_port, protocol)
    reset(pair)
    mismatches = run_cases(pair, EDGE_CASES, exchange)
    assert not mismatches, "\n".join(mismatches)


def test_zsets_survive_a_restart(make_server):
    """Sorted sets (a small one with empty, binary and long members and
    scores of every shape, one of 2000 members, one with a TTL, the results
    of ZINCRBY, the pops and the *STORE commands), with members removed,
    rescored and added, come back whole, every score's bytes the same, after
    a restart, and again after a second restart that follows writes to the
    reloaded keys."""
    srv = make_server()
    r = srv.client()
    r.zadd("small", {b"m": 1, b"": 0, b"\x00\r\n\xff": 2.5, b"x" * 100: -3, b"10": 0.1,
                     b"\xc3\xa9": 1e-7, b"tie1": 1, b"tie0": 1, b"inf": float("inf"),
                     b"-inf": float("-inf"), b"big": 1e20, b"precise": 0.30000000000000004,
                     b"digits": 12345678901234567, b"e17": 1e17})
    assert r.zincrby("small", 0.2, "10") == 0.30000000000000004
    assert r.zrem("small", "nosuch", "m") == 1
    wide = {b"w%d" % i + (b"L" * 200 if i % 100 == 0 else b""): (i % 37) / 8 for i in range(2000)}
    assert r.zadd("wide", wide) == 2000
    assert r.zrem("wide", *[b"w%d" % i for i in range(1, 2000, 7)]) > 0
    assert r.zadd("wide", {b"w%d" % i: i * 1.5 for i in range(2, 2000, 11)}) > 0
    r.zadd("ttl", {"a": 1, "b": 2})
    assert r.expire("ttl", 1000)
    r.zadd("persisted", {"p": 5})
    r.expire("persisted", 1000)
    assert r.persist("persisted")
    r.zadd("torename", {"r": 1, "1": 2})
    assert r.rename("torename", "renamed")
    assert r.copy("small", "copied")
    r.zadd("emptied", {"a": 1, "b": 2})
    assert r.zrem("emptied", "a", "b") == 2
    r.zadd("string_now", {"a": 1})
    r.set("string_now", "str")
    r.set("zset_now", "str")
    r.delete("zset_now")
    r.zadd("zset_now", {"z": 3})
    r.zadd("popped", {b"p%d" % i: i for i in range(50)})
    assert len(r.zpopmin("popped", 10)) == 10 and len(r.zpopmax("popped", 5)) == 5
    assert r.zmpop(1, ["popped"], min=True, count=3)[0] == b"popped"
    r.set("stored_over_string", "x")
    assert r.zunionstore("stored_over_string", ["small", "renamed"], aggregate="MAX") > 0
    assert r.zinterstore("inter", {"small": 2, "copied": 3}) == r.zcard("small")
    assert r.zdiffstore("diff", ["wide", "small"]) > 0
    r.sadd("plain", "a", "b", "1")
    assert r.zunionstore("from_set", ["plain", "renamed"]) == 4
    assert r.zrangestore("ranged", "wide", 10, 300) == 291
    assert r.zrangestore("by_score", "wide", "(1", 3, byscore=True, offset=5, num=50) == 50
    r.zadd("empty_store", {"x": 1})
    assert r.zinterstore("empty_store", ["small", "nosuch"]) == 0
    keys = [b"small", b"wide", b"ttl", b"persisted", b"renamed", b"copied", b"zset_now",
            b"popped", b"stored_over_string", b"inter", b"diff", b"from_set", b"ranged",
            b"by_score"]

    def snapshot(r):
        """Each key's zset as ZRANGE WITHSCORES's exact bytes, and its TTL."""
        return {k: (r.execute_command("ZRANGE", k, 0, -1, "WITHSCORES"), r.ttl(k) > 0)
                for k in keys}

    expected = snapshot(r)
    assert expected[b"ttl"][1] and not expected[b"persisted"][1]

    def check():
        r = srv.client()
        for k in keys:
            assert r.type(k) == b"zset", k
        assert snapshot(r) == expected
        assert 0 < r.ttl("ttl") <= 1000
        assert r.zscore("small", "10") == 0.30000000000000004
        assert r.zmscore("small", ["", "e17", "nosuch"]) == [0, 1e17, None]
        assert r.zrank("wide", "w4") is not None
        assert r.exists("emptied", "torename", "empty_store") == 0
        assert r.get("string_now") == b"str"
        return r

    check()
    srv.stop()
    srv.start()
    r = check()
    assert r.zadd("wide", {"added": 7, "after the restart": -1, "w7": 100}) == 2
    assert r.zrem("wide", "w2", "w3", "w1") == 2
    assert r.zincrby("small", 1, "tie1") == 2
    assert r.zadd("ttl", {"c": 3}) == 1
    assert r.zpopmin("ranged", 2)
    expected = snapshot(r)
    srv.stop()
    srv.start()
    check()


def test_zset_encodings_follow_redis_7_0(make_server):
    """edgekv's zset encodings, which are Redis 7.0's: a listpack while a
    zset has at most zset-max-listpack-entries (128) members of at most
    zset-max-listpack-value (64) bytes, else a skiplist; a zset converts
    only upward, when a member is added, never back. ZADD and ZINCRBY make a
    new zset a listpack unless the threshold is 0 or the command's first
    member is too long; the *STORE commands make their result the smallest
    encoding that holds it."""
    srv = make_server()
    r = srv.client()

    def enc(k):
        return r.object("encoding", k).decode()

    def config(name):
        return r.execute_command("CONFIG", "GET", name)

    assert config("zset-max-listpack-entries") == [b"zset-max-listpack-entries", b"128"]
    assert config("zset-max-listpack-value") == [b"zset-max-listpack-value", b"64"]
    assert config("zset-max-ziplist-entries") == [b"zset-max-ziplist-entries", b"128"]
    assert config("zset-max-ziplist-value") == [b"zset-max-ziplist-value", b"64"]

    # Up to 128 members of up to 64 bytes: a listpack, whatever the scores.
    r.zadd("s", {"a": 1, "b": float("inf"), "c": -0.0, "d": 0.1})
    assert enc("s") == "listpack"
    r.zadd("w", {"w%d" % i: i for i in range(128)})
    assert enc("w") == "listpack"
    assert r.zadd("w", {"w0": 5}) == 0 and enc("w") == "listpack"
    r.zadd("w", {"w128": 128})
    assert enc("w") == "skiplist"
    r.zrem("w", *["w%d" % i for i in range(1, 129)])
    assert r.zcard("w") == 1 and enc("w") == "skiplist"
    for i in range(129):
        r.zadd("w1", {"w%d" % i: 1})
        if i == 127:
            assert enc("w1") == "listpack"
    assert enc("w1") == "skiplist"
    r.zadd("w2", {"w%d" % i: i for i in range(129)})
    assert enc("w2") == "skiplist"
    # A member past 64 bytes: a skiplist, whether it comes first or later,
    # and kept when it goes again.
    r.zadd("v", {"x" * 64: 1})
    assert enc("v") == "listpack"
    r.zadd("v", {"y" * 65: 1})
    assert enc("v") == "skiplist"
    r.zrem("v", "y" * 65)
    assert enc("v") == "skiplist"
    r.zadd("v1", {"y" * 65: 1})
    assert enc("v1") == "skiplist"
    r.zincrby("v2", 1, "y" * 65)
    assert enc("v2") == "skiplist"
    r.zincrby("v3", 1, "a")
    assert enc("v3") == "listpack"
    # Nothing added, nothing converted: XX of a new member, NX of one that
    # is there, a refused INCR.
    r.zadd("n", {"a": 1})
    r.zadd("n", {"y" * 65: 1}, xx=True)
    assert enc("n") == "listpack" and r.zcard("n") == 1
    r.zadd("n", {"a": 2}, nx=True)
    assert enc("n") == "listpack"
    r.zadd("n", {"y" * 65: 1}, nx=True)
    assert enc("n") == "skiplist"
    r.zadd("n2", {"a": 1, "b": 2})
    r.zadd("n2", {"y" * 65: 0}, gt=True)  # GT and LT add new members
    assert enc("n2") == "skiplist"
    assert r.zadd("n3", {"a": 1}, xx=True) == 0 and not r.exists("n3")
    # The STORE commands: the smallest encoding that holds the result, also
    # when a long member of an input is left out.
    r.zadd("lp", {"a": 1, "b": 2, "c": 3})
    r.zadd("sl", {"a": 1, "b": 2, "y" * 65: 3})
    r.sadd("plain", *range(200))
    assert r.zunionstore("st1", ["lp"]) == 3 and enc("st1") == "listpack"
    assert r.zunionstore("st2", ["lp", "sl"]) == 4 and enc("st2") == "skiplist"
    assert r.zinterstore("st3", ["lp", "sl"]) == 2 and enc("st3") == "listpack"
    assert r.zdiffstore("st4", ["sl", "v1"]) == 2 and enc("st4") == "listpack"
    assert r.zdiffstore("st5", ["sl", "lp"]) == 1 and enc("st5") == "skiplist"
    assert r.zunionstore("st6", ["plain"]) == 200 and enc("st6") == "skiplist"
    assert r.zunionstore("st7", ["w2", "lp"]) == 132 and enc("st7") == "skiplist"
    assert r.zinterstore("st8", ["w2", "w1"]) == 129 and enc("st8") == "skiplist"
    assert r.zdiffstore("st9", ["w2", "w"]) == 128 and enc("st9") == "listpack"
    assert r.zrangestore("st10", "w2", 0, 127) == 128 and enc("st10") == "listpack"
    assert r.zrangestore("st11", "w2", 0, 128) == 129 and enc("st11") == "skiplist"
    assert r.zrangestore("st12", "sl", 0, 1) == 2 and enc("st12") == "listpack"
    assert r.zrangestore("st13", "sl", 1, 2) == 2 and enc("st13") == "skiplist"
    assert r.zrangestore("st14", "w2", "(0", 200, byscore=True) == 128 \
        and enc("st14") == "listpack"
    assert r.zrangestore("st15", "w2", "-", "+", bylex=True) == 129 and enc("st15") == "skiplist"
    assert r.zinterstore("st16", ["w2", "lp"]) == 0 and not r.exists("st16")
    # COPY and RENAME keep the encoding.
    for k in ("s", "w", "v", "st7"):
        assert r.copy(k, k + "_copy") and enc(k + "_copy") == enc(k), k
        assert r.rename(k + "_copy", k + "_renamed") and enc(k + "_renamed") == enc(k), k
    # A restart keeps them (a zset that shrank again is left out: Redis
    # reloads its snapshot in the smallest encoding).
    kept = {k: enc(k) for k in ("s", "w1", "w2", "v1", "v2", "v3", "st1", "st2", "st9", "st11")}
    srv.stop()
    srv.start()
    r = srv.client()
    assert {k: enc(k) for k in kept} == kept
    # The thresholds are settings (also by their old ziplist names); a zset
    # converts when a member is added past them, not when they change.
    r.zadd("lp10", {"p%d" % i: i for i in range(10)})
    assert r.config_set("zset-max-listpack-entries", 3)
    assert r.config_set("zset-max-listpack-value", 8)
    assert config("zset-max-listpack-entries") == [b"zset-max-listpack-entries", b"3"]
    assert config("zset-max-ziplist-value") == [b"zset-max-ziplist-value", b"8"]
    assert enc("lp10") == "listpack"
    r.zadd("lp10", {"p0": 7})
    assert enc("lp10") == "listpack"
    r.zadd("lp10", {"new": 1})
    assert enc("lp10") == "skiplist"
    r.zadd("l3", {"a": 1, "b": 2, "c": 3})
    assert enc("l3") == "listpack"
    r.zadd("l3", {"d": 4})
    assert enc("l3") == "skiplist"
    r.zadd("e8", {"12345678": 1})
    assert enc("e8") == "listpack"
    r.zadd("e8", {"123456789": 1})
    assert enc("e8") == "skiplist"
    assert r.zunionstore("st20", ["l3"]) == 4 and enc("st20") == "skiplist"
    assert r.zrangestore("st21", "l3", 0, 2) == 3 and enc("st21") == "listpack"
    assert r.execute_command("CONFIG", "SET", "zset-max-ziplist-entries", "0") in (b"OK", True)
    assert config("zset-max-listpack-entries") == [b"zset-max-listpack-entries", b"0"]
    r.zadd("zero", {"a": 1})
    assert enc("zero") == "skiplist"
    assert r.zunionstore("st22", ["lp"]) == 3 and enc("st22") == "skiplist"
    assert r.zrangestore("st23", "lp", 0, 0) == 1 and enc("st23") == "skiplist"
    assert r.zrangestore("st24", "lp", 0, 1, byscore=True) == 1 and enc("st24") == "skiplist"
    assert r.config_set("zset-max-listpack-entries", 128)
    assert r.config_set("zset-max-ziplist-value", 0)
    r.zadd("v0", {"a": 1})
    assert enc("v0") == "skiplist"
    r.zadd("e0", {"": 1})
    assert enc("e0") == "listpack"
    for name in ("zset-max-listpack-entries", "zset-max-listpack-value"):
        with pytest.raises(Exception):
            r.config_set(name, "abc")
    with pytest.raises(Exception):
        r.config_set("zset-max-listpack-entries", -1)
