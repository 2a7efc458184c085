"""Scripts on different keys run beside each other (keyed mode, see
docs/scripting.md): each holds the stripes of its KEYS, and of other keys
only while they are free. What other clients see stays what Redis shows: no
state between two of a script's commands, exact counters. A script that
meets a key another thread holds, or a command that needs more than its
keys, runs again alone; what it changed first is undone, in memory and in
the log."""
import random
import threading
import time

import pytest
import redis

HANG_GUARD_S = 300  # far above what these take on a loaded machine

TRANSFER = """
local amount = tonumber(ARGV[1])
local from = tonumber(redis.call('get', KEYS[1]) or '0')
if from < amount then return 0 end
redis.call('decrby', KEYS[1], amount)
redis.call('incrby', KEYS[2], amount)
return 1
"""

SUM = """
local total = 0
for _, k in ipairs(KEYS) do total = total + tonumber(redis.call('get', k) or '0') end
return total
"""


def stat(client, name):
    return int(client.info("stats")[name])


def run_threads(targets, beside=None):
    """Runs each target on a thread of its own, and `beside(stop)` (a loop
    until the event is set) alongside until they are done; what any of them
    raised fails the test."""
    errors = []
    stop = threading.Event()

    def guarded(fn):
        try:
            fn()
        except Exception as e:  # reaches the test below
            errors.append(repr(e))

    background = None
    if beside is not None:
        background = threading.Thread(target=guarded, args=(lambda: beside(stop),))
        background.start()
    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(HANG_GUARD_S)
            assert not t.is_alive(), "a client thread hung"
    finally:
        stop.set()
        if background is not None:
            background.join(HANG_GUARD_S)
    assert background is None or not background.is_alive(), "the background thread hung"
    assert not errors, errors


def test_transfers_on_declared_keys_run_keyed_and_never_show_half_a_transfer(make_server):
    s = make_server()
    c = s.client()
    accounts = ["acct:%d" % i for i in range(20)]
    c.mset({a: 100 for a in accounts})
    before = stat(c, "scripts_keyed") + stat(c, "scripts_rerun_alone")
    seen = []

    def mover(seed):
        rng = random.Random(seed)
        r = s.client()
        for _ in range(1500):
            a, b = rng.sample(accounts, 2)
            r.eval(TRANSFER, 2, a, b, rng.randint(1, 30))

    def auditor(stop):
        r = s.client()
        while not stop.is_set():
            seen.append(r.eval_ro(SUM, len(accounts), *accounts))

    run_threads([lambda i=i: mover(i) for i in range(4)], beside=auditor)
    assert seen and set(seen) == {2000}, set(seen)
    assert sum(int(v) for v in c.mget(accounts)) == 2000
    # Every transfer was run keyed (or, one that overran keyed mode's time
    # budget on a busy machine, tried keyed and run again alone).
    assert stat(c, "scripts_keyed") + stat(c, "scripts_rerun_alone") - before >= 6000


def test_a_script_meeting_a_held_key_runs_again_alone_with_its_first_change_undone(
        make_server):
    s = make_server("--appendfsync", "always")
    c = s.client()
    # The holder keeps `hot` (declared) for a while each time; the others
    # change their own key, then reach `hot` without declaring it.
    holder = ("local x = 0 for i = 1, 20000 do x = x + i end "
              "return redis.call('incr', KEYS[1])")
    reacher = "redis.call('incr', KEYS[1]) return redis.call('incr', 'hot')"
    counts = {"holder": 0}

    def hold(stop):
        r = s.client()
        while not stop.is_set():
            r.eval(holder, 1, "hot")
            counts["holder"] += 1

    def reach(i):
        r = s.client()
        deadline = time.monotonic() + HANG_GUARD_S
        n = 0
        # Until the contended path ran (the test causes what it checks).
        while n < 300 or stat(r, "scripts_rerun_alone") == 0:
            assert time.monotonic() < deadline, "no script ever met the held key"
            r.eval(reacher, 1, "own:%d" % i)
            n += 1
        counts[i] = n

    run_threads([lambda i=i: reach(i) for i in range(3)], beside=hold)
    assert stat(c, "scripts_rerun_alone") > 0
    want = {"own:%d" % i: counts[i] for i in range(3)}
    want["hot"] = counts["holder"] + sum(counts[i] for i in range(3))

    def values(client):
        return {k: int(client.get(k)) for k in want}

    assert values(c) == want
    # The log has the undo with the change: a restart replays to the same.
    s.stop()
    s.start()
    assert values(s.client()) == want


def test_a_script_needing_more_than_its_keys_runs_alone_from_then_on(make_server):
    s = make_server()
    c = s.client()
    c.set("k", "1")
    script = "redis.call('incr', KEYS[1]) return redis.call('dbsize')"
    sha = c.script_load(script)
    alone = stat(c, "scripts_alone")
    reruns = stat(c, "scripts_rerun_alone")
    assert c.evalsha(sha, 1, "k") == 1
    assert c.get("k") == b"2"  # the first INCR was undone, not done twice
    assert stat(c, "scripts_rerun_alone") == reruns + 1
    # Its next runs go alone at once: from the second on or, on a machine
    # so busy that a keyed run overran its budget before it reached DBSIZE
    # (and went alone for that reason), from the run after the one that did.
    n = 2
    for _ in range(20):
        before = stat(c, "scripts_rerun_alone")
        assert c.evalsha(sha, 1, "k") == 1
        n += 1
        assert c.get("k") == b"%d" % n
        if stat(c, "scripts_rerun_alone") == before:
            break
    else:
        pytest.fail("every run was tried keyed first")
    before = stat(c, "scripts_rerun_alone")
    for _ in range(3):
        assert c.evalsha(sha, 1, "k") == 1
        n += 1
    assert c.get("k") == b"%d" % n
    assert stat(c, "scripts_rerun_alone") == before
    assert stat(c, "scripts_alone") == alone + n - 1  # every run ended alone, once
