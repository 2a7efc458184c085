"""Fixtures that run the real edgekv-server binary on a free loopback port.

The binary comes from $EDGEKV_SERVER (ctest sets it). Every test runs under a
SIGALRM watchdog so that a hang fails the test instead of blocking the suite.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import redis

TEST_TIMEOUT_S = 20
SOCKET_TIMEOUT_S = 5


def server_binary():
    path = os.environ.get("EDGEKV_SERVER")
    if not path:
        pytest.fail("EDGEKV_SERVER is not set (path of the edgekv-server binary)")
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EdgekvServer:
    """One edgekv-server process in its own temporary directory."""

    def __init__(self, *extra_args):
        self.extra_args = [str(a) for a in extra_args]
        self.dir = tempfile.mkdtemp(prefix="edgekv-py-")
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.port = None

    def start(self):
        last = ""
        for _ in range(5):  # the picked port may be taken meanwhile: retry
            self.port = free_port()
            data_dir = os.path.join(self.dir, "data")
            os.makedirs(data_dir, exist_ok=True)
            args = [server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                    "--dir", data_dir, "--save", ""] + self.extra_args
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
            if self._wait_ready(10.0):
                return self
            if self.proc.poll() is None:
                break
            last = self.log()
        self.stop()
        raise RuntimeError("edgekv-server did not become ready:\n" + last + self.log())

    def _password(self):
        args = self.extra_args
        for i in range(len(args) - 1):
            if args[i] == "--requirepass":
                return args[i + 1]
        return None

    def _wait_ready(self, timeout):
        """Accepting connections and done loading: EXISTS is refused with
        -LOADING while the dataset is still being recovered (PING is not)."""
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
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    s.settimeout(2)
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

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode if self.proc is not None else None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def watchdog():
    def on_alarm(signum, frame):
        raise TimeoutError(f"test exceeded {TEST_TIMEOUT_S} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_TIMEOUT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="session")
def shared_server():
    srv = EdgekvServer().start()
    yield srv
    srv.cleanup()


@pytest.fixture
def server(shared_server):
    """The session's server, emptied before each test."""
    assert shared_server.proc.poll() is None, "server died:\n" + shared_server.log()
    c = shared_server.client()
    c.flushall()
    c.config_set("maxclients", "10000")
    c.close()
    return shared_server


@pytest.fixture
def r(server):
    client = server.client()
    yield client
    client.close()


@pytest.fixture
def make_server():
    """Starts dedicated servers with extra directives; stops them afterwards."""
    started = []

    def make(*extra_args):
        srv = EdgekvServer(*extra_args).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.cleanup()
