"""A script that runs too long never makes the server unreachable: past
busy-reply-threshold other clients get BUSY, SCRIPT KILL ends a script that
has not written, SHUTDOWN NOSAVE (and SIGTERM) end one that has, its writes
unlogged."""
import threading

import pytest
import redis

from conftest import EdgekvServer
from waiting import until

HANG_GUARD_S = 600
BUSY = "busy running a script"


def fresh(srv):
    """A new connection (new ones go to a thread the script does not hold);
    a short read timeout only makes a try on a held thread give way to the
    next one."""
    return srv.client(socket_timeout=5)


def answered_busy(srv):
    try:
        fresh(srv).get("probe")
    except redis.ResponseError as e:
        return BUSY in str(e)
    return False


class Script(threading.Thread):
    """Runs one EVAL on its own connection; keeps its reply or error."""

    def __init__(self, srv, script):
        super().__init__(daemon=True)
        self.srv, self.script = srv, script
        self.reply = self.error = None

    def run(self):
        try:
            self.reply = self.srv.client().eval(self.script, 0)
        except Exception as e:  # noqa: BLE001 - the test reads it
            self.error = e


@pytest.fixture
def busy_server():
    srv = EdgekvServer("--busy-reply-threshold", "100").start()
    yield srv
    srv.cleanup()


@pytest.mark.parametrize("io_threads", [1, 2])
def test_clients_connected_before_the_script_get_busy_rather_than_wait(io_threads):
    """A light load is served by one I/O thread, so the script's connection
    and every other client share it; past the threshold those clients are
    answered from another thread (with io-threads 1, a standby one)."""
    srv = EdgekvServer("--busy-reply-threshold", "100", "--io-threads",
                       str(io_threads)).start()
    try:
        # A wait for the script would outlast this: no reply means a hang.
        before = [srv.client(socket_timeout=HANG_GUARD_S / 10) for _ in range(8)]
        for i, c in enumerate(before):
            assert c.set("k%d" % i, i)
        loop = Script(srv, "local n = 0 while true do n = n + 1 end")
        loop.start()
        until(lambda: answered_busy(srv), "a new client answered BUSY")
        for c in before:
            with pytest.raises(redis.ResponseError, match=BUSY):
                c.get("k0")
        # One of them ends the script; then all are served as before.
        assert before[0].script_kill()
        loop.join(HANG_GUARD_S)
        assert not loop.is_alive()
        assert "Script killed by user with SCRIPT KILL" in str(loop.error), loop.error
        for i, c in enumerate(before):
            assert c.get("k%d" % i) == str(i).encode()
    finally:
        srv.cleanup()


def test_busy_then_script_kill_ends_a_script_that_has_not_written(busy_server):
    srv = busy_server
    assert srv.client().config_get("lua-time-limit") == {"lua-time-limit": "100"}
    with pytest.raises(redis.ResponseError, match="NOTBUSY"):
        srv.client().script_kill()
    loop = Script(srv, "local n = 0 while true do n = n + 1 end")
    loop.start()
    until(lambda: answered_busy(srv), "a new client answered BUSY")
    # Transactions, scripts and writes wait for nothing either.
    with pytest.raises(redis.ResponseError, match=BUSY):
        fresh(srv).eval("return 1", 0)
    with pytest.raises(redis.ResponseError, match=BUSY):
        fresh(srv).execute_command("SHUTDOWN")
    until(lambda: fresh(srv).script_kill(), "SCRIPT KILL answered")
    loop.join(HANG_GUARD_S)
    assert not loop.is_alive()
    assert isinstance(loop.error, redis.ResponseError), loop.error
    assert "Script killed by user with SCRIPT KILL" in str(loop.error)
    c = srv.client()
    assert c.set("after", "1") and c.get("after") == b"1"
    with pytest.raises(redis.ResponseError, match="NOTBUSY"):
        c.script_kill()


def test_a_script_that_wrote_is_unkillable_and_shutdown_nosave_drops_its_writes(
        busy_server):
    srv = busy_server
    srv.client().set("before", "1")
    loop = Script(srv, "redis.call('set', 'partial', '1') while true do end")
    loop.start()
    until(lambda: answered_busy(srv), "a new client answered BUSY")
    with pytest.raises(redis.ResponseError, match="UNKILLABLE"):
        fresh(srv).script_kill()
    with pytest.raises(redis.ResponseError, match=BUSY):
        fresh(srv).shutdown()  # without NOSAVE

    def shutdown_nosave():
        try:
            fresh(srv).shutdown(nosave=True)
        except redis.exceptions.ConnectionError:
            pass  # the server went away: the answer to SHUTDOWN
        return True
    until(shutdown_nosave, "SHUTDOWN NOSAVE sent")
    assert srv.proc.wait(HANG_GUARD_S) == 0
    loop.join(HANG_GUARD_S)
    assert loop.error is not None
    # The script's write was never logged: a restart does not have it.
    srv.start()
    c = srv.client()
    assert c.get("before") == b"1"
    assert c.get("partial") is None


def test_sigterm_ends_a_running_script_and_the_server_stops_cleanly(busy_server):
    srv = busy_server
    loop = Script(srv, "redis.call('set', 'partial', '1') while true do end")
    loop.start()
    until(lambda: answered_busy(srv), "a new client answered BUSY")
    assert srv.stop() == 0  # SIGTERM; the harness fails the test otherwise
    loop.join(HANG_GUARD_S)
    assert loop.error is not None
    srv.start()
    assert srv.client().get("partial") is None


class Call(threading.Thread):
    """Runs one command on its own connection; keeps its reply or error."""

    def __init__(self, srv, *args):
        super().__init__(daemon=True)
        self.srv, self.args = srv, args
        self.reply = self.error = None

    def run(self):
        try:
            self.reply = self.srv.client().execute_command(*self.args)
        except Exception as e:  # noqa: BLE001 - the test reads it
            self.error = e


def test_a_script_catching_errors_in_a_loop_still_ends_at_script_kill(busy_server):
    """Declaring a key, it first runs beside other commands, outlasts its
    budget there and runs again alone; a pcall in a loop catches neither that
    nor SCRIPT KILL."""
    srv = busy_server
    loop = Call(srv, "EVAL", "while true do pcall(function() while true do end end) end",
                "1", "mine")
    loop.start()
    until(lambda: answered_busy(srv), "a new client answered BUSY")
    until(lambda: fresh(srv).script_kill(), "SCRIPT KILL answered")
    loop.join(HANG_GUARD_S)
    assert not loop.is_alive()
    assert "Script killed by user with SCRIPT KILL" in str(loop.error), loop.error
    assert srv.client().ping()


def test_a_long_function_answers_as_redis_busy_stats_and_function_kill(busy_server):
    srv = busy_server
    srv.client().function_load(
        "#!lua name=spin\nredis.register_function('spin', function() "
        "while true do end end)")
    loop = Call(srv, "FCALL", "spin", "1", "k1", "arg")
    loop.start()
    until(lambda: answered_busy(srv), "a new client answered BUSY")
    with pytest.raises(redis.ResponseError, match="You can only call FUNCTION KILL"):
        fresh(srv).get("x")
    # SCRIPT KILL is EVAL's: it answers BUSY for a function, as Redis does.
    with pytest.raises(redis.ResponseError, match="You can only call FUNCTION KILL"):
        fresh(srv).script_kill()
    stats = fresh(srv).execute_command("FUNCTION", "STATS")
    running = dict(zip(stats[1][::2], stats[1][1::2]))
    assert running[b"name"] == b"spin"
    assert running[b"command"] == [b"FCALL", b"spin", b"1", b"k1", b"arg"]
    until(lambda: fresh(srv).execute_command("FUNCTION", "KILL"), "FUNCTION KILL answered")
    loop.join(HANG_GUARD_S)
    assert not loop.is_alive()
    assert "Script killed by user" in str(loop.error), loop.error
    assert srv.client().ping()
