"""Fixtures that run the real edgekv-server binary on a free loopback port.

The binary comes from $EDGEKV_SERVER (ctest sets it). Every server a test
starts is stopped with SIGTERM when the test ends and judged by
process_check.py: one that needs SIGKILL, exits with another status than 0
or leaves a sanitizer report in its log fails that test (the session's
shared server fails the session). Every test runs under a SIGALRM hang
guard, far above what any test takes on a slow machine.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import redis

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import process_check  # noqa: E402

# Hang guards, not measures: several times the slowest test (about 10 s on
# an idle machine) in a sanitizer build on a loaded machine.
TEST_TIMEOUT_S = int(os.environ.get("EDGEKV_TEST_TIMEOUT", "600"))
SOCKET_TIMEOUT_S = 60
READY_TIMEOUT_S = 120


def server_binary():
    path = os.environ.get("EDGEKV_SERVER")
    if not path:
        pytest.fail("EDGEKV_SERVER is not set (path of the edgekv-server binary)")
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Every EdgekvServer ever made, in order: the `servers_are_checked` fixture
# judges those a test made.
_servers = []


class EdgekvServer:
    """One edgekv-server process in its own temporary directory.

    `problems` collects what went wrong when a process of it ended (see
    process_check.py); the test that made it fails on them."""

    def __init__(self, *extra_args, binary=None):
        self.extra_args = [str(a) for a in extra_args]
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="edgekv-py-")
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.port = None
        self.problems = []
        self._judged = True  # no process yet
        _servers.append(self)

    def start(self):
        self.stop()  # a process the test ended by itself is judged first
        last = ""
        for _ in range(5):  # the picked port may be taken meanwhile: retry
            self.port = free_port()
            data_dir = os.path.join(self.dir, "data")
            os.makedirs(data_dir, exist_ok=True)
            args = [self.binary or server_binary(), "--port", str(self.port),
                    "--bind", "127.0.0.1", "--dir", data_dir, "--save", ""] + self.extra_args
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
            self._judged = False
            if self._wait_ready(READY_TIMEOUT_S):
                return self
            if self.proc.poll() is None:
                break
            # It exited during start-up (the port was taken, or a bad
            # directive): that is reported below, but a sanitizer report
            # still counts.
            last = self.log()
            self.problems += process_check.log_problems(last)
            self._judged = True
        self.stop()
        self.problems = []  # the exception below says it all
        raise RuntimeError("edgekv-server did not become ready:\n" + last + self.log())

    def _password(self):
        args = self.extra_args
        for i in range(len(args) - 1):
            if args[i] == "--requirepass":
                return args[i + 1]
        return None

    def _wait_ready(self, timeout):
        """Accepting connections and done loading: EXISTS, a data command,
        is refused with -LOADING while the dataset is still being recovered."""
        password = self._password()
        probe = b""
        if password:
            pw = password.encode()
            probe += b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(pw), pw)
        probe += b"*2\r\n$6\r\nEXISTS\r\n$20\r\nedgekv-readiness-key\r\n"
        expected_lines = 2 if password else 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                    s.settimeout(10)
                    s.sendall(probe)
                    data = b""
                    while data.count(b"\r\n") < expected_lines:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    lines = data.split(b"\r\n")
                    if len(lines) > expected_lines and lines[expected_lines - 1].startswith(b":") \
                            and (not password or lines[0] == b"+OK"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def client(self, **kwargs):
        kwargs.setdefault("socket_timeout", SOCKET_TIMEOUT_S)
        kwargs.setdefault("socket_connect_timeout", SOCKET_TIMEOUT_S)
        return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)

    def stop(self, timeout=None):
        """SIGTERM and judge how it ended (once per process); returns the
        exit status."""
        if self.proc is None:
            return None
        if not self._judged:
            self._judged = True
            problems = process_check.terminate(self.proc, timeout)
            problems += process_check.log_problems(self.log())
            if problems:
                self.problems.append("edgekv-server on port %s: %s\n--- its log ---\n%s" % (
                    self.port, "; ".join(problems), process_check.tail(self.log())))
        return self.proc.returncode

    def take_problems(self):
        problems, self.problems = self.problems, []
        return problems

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def watchdog():
    with process_check.hang_guard(TEST_TIMEOUT_S):
        yield


@pytest.fixture(autouse=True)
def servers_are_checked():
    """Stops every server the test started and fails the test if one of them
    ended badly. (Autouse: set up before, torn down after the fixtures that
    start servers.)"""
    first = len(_servers)
    yield
    problems = []
    for srv in _servers[first:]:
        if getattr(srv, "session_scoped", False):
            continue
        srv.cleanup()
        problems += srv.take_problems()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def shared_server():
    srv = EdgekvServer()
    srv.session_scoped = True
    srv.start()
    yield srv
    srv.cleanup()
    problems = srv.take_problems()
    if problems:
        pytest.fail("the session's shared server: " + "\n\n".join(problems), pytrace=False)


@pytest.fixture
def server(shared_server):
    """The session's server, emptied before each test."""
    assert shared_server.proc.poll() is None, "server died:\n" + shared_server.log()
    c = shared_server.client()
    c.flushall()
    c.config_set("maxclients", "10000")
    c.close()
    yield shared_server
    if shared_server.proc.poll() is not None:
        pytest.fail("the shared server died during the test (%s):\n%s" % (
            process_check.describe_status(shared_server.proc.returncode),
            process_check.tail(shared_server.log())), pytrace=False)


@pytest.fixture
def r(server):
    client = server.client()
    yield client
    client.close()


@pytest.fixture
def make_server():
    """Starts dedicated servers with extra directives (and, for the harness's
    own tests, another binary); servers_are_checked stops and judges them."""
    def make(*extra_args, binary=None):
        return EdgekvServer(*extra_args, binary=binary).start()

    return make
