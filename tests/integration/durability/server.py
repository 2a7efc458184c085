"""Starts, stops and kills the real edgekv-server for crash, fault and
replication tests, and judges how each of its processes ended.

Every Server a test makes is stopped when the test ends, and the test fails
if a process of it needed SIGKILL after SIGTERM, exited with another status
than 0 (also by itself, before the test stopped it) or left a sanitizer
report in its log (see ../process_check.py). A process the test kills with
kill() is a crash on purpose: only its log counts. The `servers_are_checked`
and `watchdog` fixtures do this; conftest.py imports them.
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import redis

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import process_check  # noqa: E402


def cannot_run(why):
    """A fault test whose file system cannot be set up: as root (CI, which
    can) that fails the test; elsewhere it is skipped, saying why."""
    if os.geteuid() == 0:
        pytest.fail(why + " (running as root, where this must work)", pytrace=False)
    pytest.skip(why + " (needs root)")

# Hang guards, not measures: several times what the slowest test (the 1 GB
# one, under a minute on an idle machine) takes in a sanitizer build on a
# loaded machine.
TEST_TIMEOUT_S = int(os.environ.get("EDGEKV_TEST_TIMEOUT", "1800"))
READY_TIMEOUT_S = 300
SOCKET_TIMEOUT_S = 120


def server_binary():
    path = os.environ.get("EDGEKV_SERVER")
    if not path:
        raise RuntimeError("EDGEKV_SERVER is not set (path of the edgekv-server binary)")
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Every Server ever made, in order: servers_are_checked judges those a test
# made.
_servers = []


class Server:
    """One edgekv-server process on a data directory that outlives it.

    Its log is `log_path` (by default beside the data directory; a test whose
    data directory is on a file system it fills or breaks puts it
    elsewhere). `problems` collects what went wrong when one of its
    processes ended."""

    def __init__(self, data_dir, *args, binary=None, log_path=None):
        self.data_dir = data_dir
        self.args = [str(a) for a in args]
        self.binary = binary
        self.proc = None
        self.port = None
        self.log_path = log_path or os.path.join(
            os.path.dirname(data_dir.rstrip("/")) or ".",
            os.path.basename(data_dir.rstrip("/")) + ".log")
        self.problems = []
        self._judged = True  # no process yet
        self._log_start = 0  # where the current process's part of the log begins
        _servers.append(self)

    def start(self, timeout=READY_TIMEOUT_S):
        """Starts and waits until loading is over (data commands work)."""
        return self._start(timeout, lambda c: c.info("persistence").get("loading") == 0)

    def start_any(self, timeout=READY_TIMEOUT_S):
        """Starts and waits until it answers (a replica may still be syncing:
        INFO is answered while loading, PING is not, as in Redis)."""
        return self._start(timeout, lambda c: c.info("server"))

    def _start(self, timeout, ready):
        # A process the test ended by itself (a signal of its own) is judged
        # before the next one starts.
        self.stop()
        # A restart keeps the port: replicas are configured with it.
        self.port = self.port or free_port()
        cmd = [self.binary or server_binary(), "--port", str(self.port),
               "--bind", "127.0.0.1", "--dir", self.data_dir] + self.args
        try:
            self._log_start = os.path.getsize(self.log_path)
        except OSError:
            self._log_start = 0
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self._judged = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                # Refused to start (which a test may expect): the exception
                # says so; a sanitizer report still counts.
                self._judged = True
                self._record(process_check.log_problems(self.log(whole=True)))
                raise RuntimeError("edgekv-server exited with %s:\n%s" %
                                   (self.proc.returncode, self.log()))
            try:
                if ready(self.client(socket_timeout=10)):
                    return self
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, OSError):
                pass
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("edgekv-server did not become ready in %d s:\n%s" %
                           (timeout, self.log()))

    def client(self, **kw):
        kw.setdefault("socket_timeout", SOCKET_TIMEOUT_S)
        kw.setdefault("socket_connect_timeout", SOCKET_TIMEOUT_S)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """kill -9: a process crash, on purpose. Only its log is judged."""
        if self.proc is None or self._judged:
            return
        self._judged = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(60)
        elif self.proc.returncode != 0:
            self._record(["the server died by itself (%s) before the test killed it" %
                          process_check.describe_status(self.proc.returncode)])
        self._record(process_check.log_problems(self.log(whole=True)))

    def stop(self, timeout=None):
        """SIGTERM; a clean stop exits 0 (see process_check.py)."""
        if self.proc is None or self._judged:
            return
        self._judged = True
        problems = process_check.terminate(self.proc, timeout)
        problems += process_check.log_problems(self.log(whole=True))
        self._record(problems)

    def _record(self, problems):
        if problems:
            self.problems.append("edgekv-server on port %s (%s): %s\n--- its log ---\n%s" % (
                self.port, self.data_dir, "; ".join(problems), self.log()))

    def take_problems(self):
        problems, self.problems = self.problems, []
        return problems

    def rss_peak_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def log(self, whole=False):
        """The current process's part of the log (its last 4000 characters,
        unless whole)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_start)
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return text if whole else process_check.tail(text)


class Thread(threading.Thread):
    """A thread whose exception reaches the test: join() re-raises it, and
    fails if the thread is still running after `timeout`."""

    def __init__(self, target, *args, name=None):
        super().__init__(daemon=True, name=name)
        self._work = target
        self._args = args
        self.error = None

    def run(self):
        try:
            self._work(*self._args)
        except BaseException as e:  # noqa: BLE001 - handed to join()
            self.error = e

    def join(self, timeout=TEST_TIMEOUT_S):
        super().join(timeout)
        if self.is_alive():
            raise AssertionError("thread %s still running after %.0f s" % (self.name, timeout))
        if self.error is not None:
            raise self.error


@pytest.fixture(autouse=True)
def watchdog():
    with process_check.hang_guard(TEST_TIMEOUT_S):
        yield


@pytest.fixture(autouse=True)
def servers_are_checked():
    """Stops every server the test made and fails the test if one of its
    processes ended badly."""
    first = len(_servers)
    yield
    problems = []
    for srv in _servers[first:]:
        srv.stop()
        problems += srv.take_problems()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
