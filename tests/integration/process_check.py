"""How the Python harnesses (python/conftest.py, durability/server.py) stop a
server and judge how it ended.

A server is stopped with SIGTERM and given STOP_TIMEOUT_S to exit: a clean
shutdown writes out the log and LevelDB, which takes about a second, but up
to 36 s was seen for the 1.2 GB transaction's server beside two busy
processes, and the sanitizers multiply that; the limit only guards against
a hang. What fails the test that owns the server:

  - it did not exit within the limit and needed SIGKILL;
  - it exited with a status other than 0, or died by a signal (also when
    it died by itself before the test stopped it);
  - its log holds a sanitizer report.

A process the test kills with SIGKILL on purpose (a crash test) is judged by
its log alone.
"""
import contextlib
import os
import re
import signal
import subprocess
import time
import warnings

STOP_TIMEOUT_S = float(os.environ.get("EDGEKV_STOP_TIMEOUT", "300"))
# A clean stop that takes longer than this is reported as a warning (it is
# not a failure: the machine may just be slow).
SLOW_STOP_S = 10.0

# What AddressSanitizer, LeakSanitizer, ThreadSanitizer and
# UndefinedBehaviorSanitizer print first (UBSan: "file:line:col: runtime
# error: ..."), and the summary line each ends with.
SANITIZER_REPORT = re.compile(
    r"ERROR: (?:Address|Leak|Memory|Thread)Sanitizer"
    r"|WARNING: (?:Thread|Memory)Sanitizer"
    r"|SUMMARY: \w*Sanitizer"
    r"|^\S+:\d+:\d+: runtime error: ",
    re.MULTILINE)


def sanitizer_reports(text):
    """The lines of `text` that start or sum up a sanitizer report."""
    lines = text.splitlines()
    return [line for line in lines if SANITIZER_REPORT.search(line)]


def describe_status(returncode):
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return "killed by %s" % signal.Signals(-returncode).name
        except ValueError:
            return "killed by signal %d" % -returncode
    return "exit status %d" % returncode


def terminate(proc, timeout=None):
    """SIGTERM, then waits up to `timeout` (STOP_TIMEOUT_S by default).
    Returns a list of problems: empty if it exited 0 in time."""
    timeout = STOP_TIMEOUT_S if timeout is None else timeout
    if proc.poll() is not None:
        if proc.returncode != 0:
            return ["the server died by itself (%s) before the test stopped it" %
                    describe_status(proc.returncode)]
        return []
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return ["the server did not exit within %.0f s of SIGTERM and was killed "
                "with SIGKILL" % timeout]
    took = time.monotonic() - started
    if took > SLOW_STOP_S:
        warnings.warn("edgekv-server (pid %d) took %.1f s to stop after SIGTERM" %
                      (proc.pid, took))
    if proc.returncode != 0:
        return ["the server stopped with %s after SIGTERM" % describe_status(proc.returncode)]
    return []


def log_problems(log_text):
    reports = sanitizer_reports(log_text)
    if reports:
        return ["the server's log holds a sanitizer report: %s" % "; ".join(reports[:4])]
    return []


def tail(text, limit=4000):
    return text if len(text) <= limit else "..." + text[-limit:]


def run_own_pytest(path, test, mode, **env):
    """For the harnesses' own tests: runs one test of `path` in a pytest of
    its own, with $EDGEKV_HARNESS_BROKEN_MODE=mode (the test starts a fake
    server that misbehaves so; one that ignores SIGTERM is waited for 2 s
    only). Returns its exit status and output."""
    import sys
    env = dict(os.environ, EDGEKV_HARNESS_BROKEN_MODE=mode, **env)
    if mode == "ignore-term":
        env["EDGEKV_STOP_TIMEOUT"] = "2"
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "%s::%s" % (path, test)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=300)
    return p.returncode, p.stdout.decode(errors="replace")


@contextlib.contextmanager
def hang_guard(seconds):
    """Raises TimeoutError in the test (the main thread) after `seconds`: a
    hang fails one test instead of the whole group at ctest's TIMEOUT."""
    def on_alarm(signum, frame):
        raise TimeoutError("test exceeded %d s (a hang guard)" % seconds)

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
