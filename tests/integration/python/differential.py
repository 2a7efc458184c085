"""The harness that test_hash_differential, test_set_differential and
test_zset_differential share: edgekv and a stock redis-server side by side,
a pair of connections (edgekv's, redis's) that gets the same commands, and
their replies compared. Here are what every one of them does alike: the
reference server (the `redis_port` fixture, to be imported by name into a
test module), the reading of aggregate replies, a whole SCAN-like cursor
loop, the replies that count as the same although they differ (a TTL
within a second, a string's encoding), the random-sequence driver with its
writes from a second connection, the fixed cases and the table of writes
under a WATCH. What a type's commands are and how their replies are
compared (its `exchange`) stays in its own module.
"""
import random
import re

import pytest

from redis_ref import start_redis, stop_redis
from resp_util import RawClient, read_reply
from test_redis_differential import close_integers

TRANSACTION = ("MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH")
CLOCK = ("TTL",)  # may differ by the second between the two calls
STRING_ENCODINGS = (b"$3\r\nint\r\n", b"$6\r\nembstr\r\n", b"$3\r\nraw\r\n")


# The (tier, protocol) pairs a differential test runs in: the disk tier
# changes where elements are read from, not how replies are encoded, so it
# runs in RESP2 only.
TIER_PROTOCOLS = pytest.mark.parametrize(
    "tier,protocol", [("memory", 2), ("memory", 3), ("disk", 2)], indirect=["tier"])


def tiers(exchange, after_disk=None):
    """A fixture (to be imported by name, as `tier`, and parametrized by
    TIER_PROTOCOLS) of (server, exchange) for each of two tiers. "memory": the session's shared server and
    `exchange`. "disk": a server with 1 KB of memory, where every key is
    evicted once the disk has it, so that the commands read collections only
    on disk (element by element, a sorted set's ranges through its score
    index), change them there and bring them back whole. One that comes
    back whole takes the encoding its size gives it, as one Redis loads from
    an RDB (Redis keeps a converted encoding at run time): there OBJECT
    ENCODING is not compared, and replies that still differ are compared
    once more through `after_disk` (Redis's form of them after a restart)."""
    def exchange_from_disk(pair, cmd):
        same, a, b = exchange(pair, cmd)
        if same or getattr(pair[0], "in_multi", False):
            return same, a, b
        if cmd[0].upper() == "OBJECT":
            return True, a, b"(an encoding after disk is not compared)"
        if after_disk is None:
            return same, a, b
        return after_disk(a) == after_disk(b), a, b

    @pytest.fixture
    def tier(request):
        if request.param == "memory":
            yield request.getfixturevalue("server"), exchange
            return
        from conftest import EdgekvServer
        srv = EdgekvServer("--maxmemory", "1kb").start()
        yield srv, exchange_from_disk
        stats = srv.client().info("stats")
        assert stats["cold_element_reads"] > 1000, "few elements were read from disk: %s" % stats

    return tier


@pytest.fixture(scope="module")
def redis_port():
    proc, port, d = start_redis()
    yield port
    stop_redis(proc, d)


def connect(server, redis_port, protocol):
    """A pair of new connections, (edgekv, redis), in RESP<protocol>."""
    pair = (RawClient(server.port), RawClient(redis_port))
    for c in pair:
        c.cmd(["HELLO", str(protocol)])
    return pair


def key_commands(key, ttls):
    """Generators of the commands on keys of any type that each type's
    sequences mix in; key(rng) picks a key, ttls are EXPIRE's arguments."""
    return [
        lambda r: ["TYPE", key(r)],
        lambda r: ["OBJECT", "ENCODING", key(r)],
        lambda r: [r.choice(["DEL", "EXISTS"])] + [key(r) for _ in range(r.randint(1, 3))],
        lambda r: ["EXPIRE", key(r), r.choice(ttls)] + r.sample(["NX", "XX", "GT", "LT"],
                                                                r.randint(0, 1)),
        lambda r: [r.choice(["TTL", "PERSIST"]), key(r)],
        lambda r: [r.choice(["RENAME", "RENAMENX"]), key(r), key(r)],
        lambda r: ["COPY", key(r), key(r)] + r.choice([[], ["REPLACE"]]),
    ]


def reset(pair, check=True):
    """Each connection out of any MULTI and WATCH, and its server emptied
    (FLUSHALL must answer +OK unless check is False)."""
    for c in pair:
        c.cmd(["DISCARD"])
        c.cmd(["UNWATCH"])
        c.in_multi = False
        if check:
            assert c.cmd(["FLUSHALL"]) == b"+OK\r\n"
        else:
            c.cmd(["FLUSHALL"])


def children(reply):
    """An aggregate reply's header line and the exact bytes of each of its
    elements (a map's keys and values in turn); no elements for any other."""
    pos = reply.index(b"\r\n") + 2
    header, items = reply[:pos], []
    if reply[:1] in (b"*", b"%", b"~") and header != b"*-1\r\n":
        while pos < len(reply):
            end = read_reply(reply, pos)
            items.append(reply[pos:end])
            pos = end
    return header, items


def payload(bulk):
    """A bulk string reply's bytes."""
    return bulk[bulk.index(b"\r\n") + 2:-2]


def pairs_of(items):
    """The pairs of a reply's items that come in pairs (WITHSCORES,
    WITHVALUES): flat in RESP2, each its own two-item array in RESP3."""
    if items and items[0][:1] == b"*":
        return [tuple(children(i)[1]) for i in items]
    return list(zip(items[::2], items[1::2]))


def zero_cursor(cursor):
    """Whether Redis reads the cursor as 0 (strtoul: "", "-0", "+00", ...)."""
    if isinstance(cursor, bytes):
        cursor = cursor.decode("latin-1")
    return cursor == "" or re.fullmatch(r"[+-]?0+", cursor) is not None


def scan_all(conn, cmd, pairs):
    """cmd (HSCAN, SSCAN or ZSCAN, its cursor cmd[2]) from there until the
    cursor is 0 again: the reply itself if it is not a scan reply (an
    error), else the types of the cursor and of the array (and, for pairs,
    whether it held an even count), and the union of the items of every
    call, (field or member, value or score) pairs for pairs."""
    cmd = list(cmd)
    shapes, seen = set(), set()
    for _ in range(100000):  # a hang guard
        reply = conn.cmd(cmd)
        parts = children(reply)[1]
        if reply[:4] != b"*2\r\n" or parts[0][:1] != b"$":
            return reply
        cursor, items = parts
        header, items = children(items)
        if pairs:
            shapes.add((cursor[:1], header[:1], len(items) % 2))
            seen.update(zip(items[::2], items[1::2]))
        else:
            shapes.add((cursor[:1], header[:1]))
            seen.update(items)
        cmd[2] = payload(cursor)
        if cmd[2] == b"0":
            return sorted(shapes), sorted(seen)
    raise AssertionError("%s did not come back to cursor 0: %r" % (cmd[0].upper(), cmd))


def scan_both(pair, cmd, pairs):
    """scan_all on both servers: (same, edgekv's, redis's)."""
    a, b = scan_all(pair[0], cmd, pairs), scan_all(pair[1], cmd, pairs)
    return a == b, a, b


def send_both(pair, cmd):
    """Both servers' replies to cmd, which both get before either reply is
    read (as in test_redis_differential). Each connection's in_multi
    follows MULTI, EXEC and DISCARD."""
    ours, theirs = pair
    ours.send(cmd)
    theirs.send(cmd)
    a, b = ours.read(), theirs.read()
    name = cmd[0].upper()
    if name == "MULTI" and a == b"+OK\r\n":
        ours.in_multi = theirs.in_multi = True
    if name in ("EXEC", "DISCARD"):
        ours.in_multi = theirs.in_multi = False
    return a, b


def same_anyway(name, a, b):
    """Whether replies a and b to a command called name count as the same
    although they differ: TTLs a second apart; a string's encoding (raw
    after APPEND, ...), which is not what these tests are about: edgekv
    keeps no encoding for strings and guesses from the value."""
    if name in CLOCK and close_integers(a, b):
        return True
    return name == "OBJECT" and all(r in STRING_ENCODINGS for r in (a, b))


def show(x, limit=1500):
    text = repr(x)
    return text if len(text) <= limit else text[:limit] + "... (%d chars)" % len(text)


def mismatch(cmd, a, b, after=()):
    return "%s\n  edgekv: %s\n  redis:  %s%s" % (
        show(cmd), show(a), show(b), "\n  after: " + show(list(after)) if after else "")


def run_sequence(main, other, rng, steps, generators, loops, loop_key, exchange,
                 skipped_in_multi, loop_chance=0.005):
    """One seed's commands on both servers: the first mismatch, or None.
    Each step is one command of a random generator (now and then one
    argument short, or in lower case), or with loop_chance a run of commands
    of a random loop on a key of loop_key. A tenth of the commands come from
    the other connection (a write under the main one's WATCH); those in
    skipped_in_multi are left out while the main one is in a MULTI."""
    in_multi = False
    history = []
    for _ in range(steps):
        if rng.random() < loop_chance:
            cmds = rng.choice(loops)(rng, loop_key(rng))
        else:
            cmd = rng.choice(generators)(rng)
            if rng.random() < 0.03 and len(cmd) > 1:
                cmd = cmd[:-1]  # one argument short
            if rng.random() < 0.03:
                cmd = [cmd[0].lower()] + cmd[1:]
            cmds = [cmd]
        for cmd in cmds:
            name = cmd[0].upper()
            if in_multi and name in skipped_in_multi:
                continue
            pair = main
            if name not in TRANSACTION and rng.random() < 0.1:
                pair = other
            same, a, b = exchange(pair, cmd)
            history.append(("other: " if pair is other else "") + show(cmd, 200))
            if pair is main and name == "MULTI" and b == b"+OK\r\n":
                in_multi = True
            if pair is main and name in ("EXEC", "DISCARD"):
                in_multi = False
            if not same:
                return mismatch(cmd, a, b, history[-8:-1])
    return None


def run_seeds(main, other, protocol, seeds, steps, **sequence):
    """run_sequence (with the arguments in sequence) for each of seeds seeds,
    from empty servers: the mismatches, the first of each seed."""
    mismatches = []
    for seed in range(seeds):
        rng = random.Random(seed * 10 + protocol)
        reset(main)
        found = run_sequence(main, other, rng, steps, **sequence)
        if found:
            mismatches.append("seed %d: %s" % (seed, found))
    return mismatches


def run_watched_writes(main, other, protocol, writes, setup, queued, exchange,
                       check_reset=True):
    """For each (watched key, write, whether Redis aborts for it) of writes,
    from empty servers: the setup commands and a WATCH of the key on the
    main connection, the write from the other one, then MULTI, the queued
    commands and EXEC on the main one; every reply must match, and EXEC be
    nil exactly when the write aborts the transaction. The mismatches."""
    nil = b"*-1\r\n" if protocol == 2 else b"_\r\n"
    mismatches = []
    for watched, write, aborts in writes:
        reset(main, check_reset)
        for cmd in setup + [["WATCH", watched]]:
            exchange(main, cmd)
        steps = [(["other:"] + write, exchange(other, write))]
        steps += [(cmd, exchange(main, cmd)) for cmd in [["MULTI"]] + queued + [["EXEC"]]]
        if not all(same for _, (same, _, _) in steps) or (steps[-1][1][2] == nil) != aborts:
            mismatches.append("WATCH %s, then %s (EXEC %s):\n%s" % (
                watched, show(write), "nil" if aborts else "runs",
                "\n".join(mismatch(cmd, a, b) for cmd, (_, a, b) in steps)))
    return mismatches


def run_cases(pair, cases, exchange):
    """The fixed cases on both servers, in order: a mismatch for each whose
    replies differ."""
    mismatches = []
    for cmd in cases:
        same, a, b = exchange(pair, cmd)
        if not same:
            mismatches.append(mismatch(cmd, a, b))
    return mismatches
