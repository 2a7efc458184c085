"""Starts and kills the real edgekv-server for crash and fault tests."""
import os
import signal
import socket
import subprocess
import time

import redis


def server_binary():
    path = os.environ.get("EDGEKV_SERVER")
    if not path:
        raise RuntimeError("EDGEKV_SERVER is not set (path of the edgekv-server binary)")
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One edgekv-server process on a data directory that outlives it."""

    def __init__(self, data_dir, *args):
        self.data_dir = data_dir
        self.args = [str(a) for a in args]
        self.proc = None
        self.port = None
        self.log_path = os.path.join(os.path.dirname(data_dir.rstrip("/")) or ".",
                                     os.path.basename(data_dir.rstrip("/")) + ".log")

    def start(self, timeout=60.0):
        """Starts and waits until loading is over (data commands work)."""
        return self._start(timeout, lambda c: c.info("persistence").get("loading") == 0)

    def start_any(self, timeout=60.0):
        """Starts and waits until it answers (a replica may still be syncing)."""
        return self._start(timeout, lambda c: c.ping())

    def _start(self, timeout, ready):
        # A restart keeps the port: replicas are configured with it.
        self.port = self.port or free_port()
        cmd = [server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
               "--dir", self.data_dir] + self.args
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("edgekv-server exited with %s:\n%s" %
                                   (self.proc.returncode, self.log()))
            try:
                if ready(self.client()):
                    return self
            except (redis.ConnectionError, redis.ResponseError, OSError):
                pass
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("edgekv-server did not become ready:\n" + self.log())

    def client(self, **kw):
        kw.setdefault("socket_timeout", 30)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def kill(self):
        """kill -9: a process crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_peak_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""
