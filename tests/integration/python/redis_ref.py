"""A stock redis-server (Debian's) beside edgekv, for differential tests."""
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from resp_util import RawClient


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(*extra_args):
    """A stock redis-server on a free port: (process, port, directory)."""
    path = shutil.which("redis-server")
    if path is None:
        pytest.fail("redis-server is not installed (tools/setup.sh --test installs it)")
    d = tempfile.mkdtemp(prefix="edgekv-redis-")
    port = _free_port()
    proc = subprocess.Popen([path, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", d] + list(extra_args),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120  # a hang guard
    while True:
        try:
            RawClient(port).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    return proc, port, d


def stop_redis(proc, d):
    proc.terminate()
    proc.wait(120)
    shutil.rmtree(d, ignore_errors=True)
