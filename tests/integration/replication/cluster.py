"""Coordinator + replicas as real processes, a TCP proxy that can cut or stall
links, and full-dump comparison."""
import select
import socket
import threading
import time

import redis

from server import Server, free_port


def dump(client, dbs=(0, 1, 2)):
    """{(db, key): (value, pexpiretime)} of every key, via SCAN; a hash's
    value is the sorted tuple of its (field, value) pairs, a set's the
    sorted tuple of its members, a sorted set's its (member, score) pairs in
    order."""
    out = {}
    for db in dbs:
        client.execute_command("SELECT", db)
        keys = list(client.scan_iter(count=2000))
        for i in range(0, len(keys), 2000):
            chunk = keys[i:i + 2000]
            pipe = client.pipeline(transaction=False)
            for k in chunk:
                pipe.type(k)
            types = pipe.execute()
            for k, t in zip(chunk, types):
                if t == b"hash":
                    pipe.hgetall(k)
                elif t == b"set":
                    pipe.smembers(k)
                elif t == b"zset":
                    pipe.zrange(k, 0, -1, withscores=True)
                else:
                    pipe.get(k)
                pipe.execute_command("PEXPIRETIME", k)
            res = pipe.execute()
            for j, k in enumerate(chunk):
                val, exp = res[2 * j], res[2 * j + 1]
                if isinstance(val, dict):
                    val = tuple(sorted(val.items())) if val else None
                elif isinstance(val, set):
                    val = ("set",) + tuple(sorted(val)) if val else None
                elif isinstance(val, list):  # a sorted set, in its order
                    val = ("zset",) + tuple(val) if val else None
                if val is not None:
                    out[(db, k)] = (val, exp)
    client.execute_command("SELECT", 0)
    return out


def diff(a, b, limit=5):
    problems = []
    for k in set(a) | set(b):
        if a.get(k) != b.get(k):
            problems.append("%r: %r != %r" % (k, a.get(k), b.get(k)))
            if len(problems) >= limit:
                break
    return problems


def offset(client):
    return client.info("replication")["master_repl_offset"]


# Hang guards, not measures: far above what a sanitizer build on a loaded
# machine needs.
CATCH_UP_TIMEOUT_S = 300
LINK_UP_TIMEOUT_S = 300


def wait_caught_up(coord, replicas, timeout=CATCH_UP_TIMEOUT_S):
    """Waits until every replica applied the coordinator's last sequence;
    returns seconds it took."""
    target = offset(coord)
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if all(offset(r) >= target for r in replicas):
            return time.monotonic() - start
        time.sleep(0.005)
    raise AssertionError("replicas did not catch up with seq %d: %s" %
                         (target, [offset(r) for r in replicas]))


def wait_link_up(client, timeout=LINK_UP_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.info("replication")
        if info.get("master_link_status") == "up":
            return
        time.sleep(0.02)
    raise AssertionError("replica link did not come up: %r" % client.info("replication"))


def start_replica(data, upstream_port, *args, log_path=None):
    srv = Server(data, "--replicaof", "127.0.0.1 %d" % upstream_port, *args, log_path=log_path)
    srv.start_any()
    wait_link_up(srv.client())
    return srv


class Link:
    """One connection through the proxy: client side, upstream side, whether
    it still forwards, and how many bytes went each way."""

    def __init__(self, client, upstream):
        self.client, self.upstream = client, upstream
        self.open = True
        self.bytes_up = self.bytes_down = 0


class Proxy:
    """Forwards 127.0.0.1:port to a target port; can cut every connection or
    stall (stop forwarding without closing), or stop one direction only:
    `hold_down` stops what the target sends (and, with `down_limit`, each
    link stops once that many bytes went down), `hold_up` what the client
    sends. `severed` counts the links a cut found open (a cut that finds none
    severs nothing)."""

    def __init__(self, target_port):
        self.hold_down = threading.Event()
        self.hold_up = threading.Event()
        self.down_limit = None
        self.target = target_port
        self.port = free_port()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.stalled = threading.Event()
        self.stop_flag = threading.Event()
        self.links = []
        self.lock = threading.Lock()
        self.severed = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop_flag.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=60)
            except OSError:
                c.close()
                continue
            u.settimeout(None)
            link = Link(c, u)
            with self.lock:
                self.links.append(link)
            threading.Thread(target=self._pump, args=(link, c, u, "bytes_up"),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(link, u, c, "bytes_down"),
                             daemon=True).start()

    def _pump(self, link, src, dst, counter):
        # Blocking sockets: a reader slower than the stream holds the pump
        # up in sendall (as TCP holds up a sender) instead of ending the link.
        down = counter == "bytes_down"
        hold = self.hold_down if down else self.hold_up
        while not self.stop_flag.is_set():
            limit = self.down_limit if down else None
            if self.stalled.is_set() or hold.is_set() or (
                    limit is not None and link.bytes_down >= limit):
                if not link.open:  # cut meanwhile
                    break
                time.sleep(0.01)
                continue
            try:
                if not select.select([src], [], [], 0.2)[0]:
                    continue
                data = src.recv(65536 if limit is None else
                                max(1, min(65536, limit - link.bytes_down)))
            except (OSError, ValueError):  # (ValueError: closed by a cut)
                break
            if not data:
                break
            try:
                dst.sendall(data)
            except OSError:
                break
            with self.lock:
                setattr(link, counter, getattr(link, counter) + len(data))
        with self.lock:
            link.open = False
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

    def open_links(self):
        """The links that still forward, oldest first."""
        with self.lock:
            return [link for link in self.links if link.open]

    def cut(self):
        """Closes every link; returns how many were still open."""
        with self.lock:
            links, self.links = self.links, []
            live = [link for link in links if link.open]
            for link in links:
                link.open = False
        for link in links:
            for s in (link.client, link.upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
        self.severed += len(live)
        return len(live)

    def close(self):
        self.stop_flag.set()
        self.sock.close()
        self.cut()
