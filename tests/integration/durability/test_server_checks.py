"""The harness itself (server.py): a server that stops badly fails the test
that made it. ../fake_server.py stands in for edgekv-server here; it answers
like an empty Redis and misbehaves at SIGTERM as told."""
import os

import pytest

from process_check import run_own_pytest
from server import Server

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fake_server.py")

BROKEN = [
    ("ignore-term", "did not exit within 2 s of SIGTERM and was killed with SIGKILL"),
    ("exit1", "stopped with exit status 1 after SIGTERM"),
    ("asan", "sanitizer report: ==%d==ERROR: AddressSanitizer: heap-use-after-free"),
    ("ubsan", "sanitizer report: src/fake.cc:12:5: runtime error: signed integer overflow"),
    ("leak", "sanitizer report: ==%d==ERROR: LeakSanitizer: detected memory leaks"),
    ("die", "died by itself (exit status 3) before the test stopped it"),
]


def fake(tmp_path, mode):
    return Server(str(tmp_path / "data"), "--fake-mode", mode, binary=FAKE).start()


@pytest.mark.parametrize("mode,expected", BROKEN, ids=[m for m, _ in BROKEN])
def test_a_server_that_stops_badly_is_reported(tmp_path, mode, expected):
    srv = fake(tmp_path, mode)
    pid = srv.proc.pid
    if mode == "die":
        srv.proc.wait(60)
    # One that ignores SIGTERM is waited for 2 s only; the others get the
    # usual time to act on it.
    srv.stop(timeout=2 if mode == "ignore-term" else None)
    problems = srv.take_problems()
    assert len(problems) == 1 and expected.replace("%d", str(pid)) in problems[0], problems


def test_a_clean_stop_and_a_kill_on_purpose_are_not_reported(tmp_path):
    srv = fake(tmp_path, "clean")
    srv.stop()
    srv.start()  # the same data directory and port again
    srv.kill()
    assert srv.proc.returncode == -9
    assert srv.take_problems() == []


def test_a_sanitizer_report_counts_after_a_kill_on_purpose(tmp_path):
    srv = fake(tmp_path, "clean")
    with open(srv.log_path, "a") as log:  # as if the server had printed it
        log.write("==1==ERROR: AddressSanitizer: SEGV on unknown address\n")
    srv.kill()
    problems = srv.take_problems()
    assert len(problems) == 1 and "ERROR: AddressSanitizer: SEGV" in problems[0], problems


def test_only_the_current_process_is_judged_by_its_log(tmp_path):
    srv = fake(tmp_path, "asan")
    srv.stop()
    assert len(srv.take_problems()) == 1
    srv.args[srv.args.index("asan")] = "clean"
    srv.start()  # appends to the same log, after the first report
    srv.stop()
    assert srv.take_problems() == []


# Run by the test below in a pytest of its own, which must fail.
BROKEN_MODE = os.environ.get("EDGEKV_HARNESS_BROKEN_MODE")


@pytest.mark.skipif(not BROKEN_MODE, reason="run by the test below only")
def test_with_a_broken_server(tmp_path):
    assert fake(tmp_path, BROKEN_MODE).client().ping()


def test_a_server_that_ignores_sigterm_fails_its_test():
    rc, out = run_own_pytest(os.path.abspath(__file__), "test_with_a_broken_server",
                             "ignore-term")
    assert rc == 1, out
    assert "1 passed, 1 error" in out, out
    assert "ERROR at teardown of test_with_a_broken_server" in out, out
    assert "killed with SIGKILL" in out, out
