"""The harness itself: a server that stops badly fails the test that started
it. tests/integration/fake_server.py stands in for edgekv-server here; it
answers like an empty Redis and misbehaves at SIGTERM as told."""
import os

import pytest

from conftest import EdgekvServer
from process_check import run_own_pytest

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fake_server.py")

BROKEN = [
    ("ignore-term", "did not exit within 2 s of SIGTERM and was killed with SIGKILL"),
    ("exit1", "stopped with exit status 1 after SIGTERM"),
    ("asan", "sanitizer report: ==%d==ERROR: AddressSanitizer: heap-use-after-free"),
    ("ubsan", "sanitizer report: src/fake.cc:12:5: runtime error: signed integer overflow"),
    ("leak", "sanitizer report: ==%d==ERROR: LeakSanitizer: detected memory leaks"),
    ("die", "died by itself (exit status 3) before the test stopped it"),
]


@pytest.mark.parametrize("mode,expected", BROKEN, ids=[m for m, _ in BROKEN])
def test_a_server_that_stops_badly_is_reported(mode, expected):
    srv = EdgekvServer("--fake-mode", mode, binary=FAKE).start()
    pid = srv.proc.pid
    if mode == "die":
        srv.proc.wait(60)
    # One that ignores SIGTERM is waited for 2 s only; the others get the
    # usual time to act on it.
    srv.stop(timeout=2 if mode == "ignore-term" else None)
    problems = srv.take_problems()
    assert len(problems) == 1 and expected.replace("%d", str(pid)) in problems[0], problems


def test_a_server_that_stops_cleanly_is_not_reported():
    srv = EdgekvServer("--fake-mode", "clean", binary=FAKE).start()
    assert srv.stop() == 0
    assert srv.take_problems() == []
    srv.cleanup()


# Run by the tests below in a pytest of their own, which must fail.
BROKEN_MODE = os.environ.get("EDGEKV_HARNESS_BROKEN_MODE")


@pytest.mark.skipif(not BROKEN_MODE, reason="run by the tests below only")
def test_with_a_dedicated_broken_server(make_server):
    assert make_server("--fake-mode", BROKEN_MODE, binary=FAKE).client().ping()


@pytest.mark.skipif(not BROKEN_MODE, reason="run by the tests below only")
def test_with_the_shared_broken_server(r):
    assert r.ping()


def test_a_dedicated_server_that_ignores_sigterm_fails_its_test():
    rc, out = run_own_pytest(os.path.abspath(__file__), "test_with_a_dedicated_broken_server",
                             "ignore-term")
    assert rc == 1, out
    assert "1 passed, 1 error" in out, out
    assert "ERROR at teardown of test_with_a_dedicated_broken_server" in out, out
    assert "killed with SIGKILL" in out, out


def test_a_shared_server_that_exits_badly_fails_the_session():
    # The shared server gets no extra arguments: the fake's mode comes from
    # its environment.
    rc, out = run_own_pytest(os.path.abspath(__file__), "test_with_the_shared_broken_server",
                             "exit1", EDGEKV_SERVER=FAKE, FAKE_EDGEKV_MODE="exit1")
    assert rc == 1, out
    assert "the session's shared server" in out, out
    assert "stopped with exit status 1 after SIGTERM" in out, out
