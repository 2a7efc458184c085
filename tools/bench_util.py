#!/usr/bin/python3
"""Helpers for tools/bench_tiers.sh and tools/bench_replication.sh.

Plain sockets and a minimal RESP reader (no redis-py), so that the client's
own overhead stays small next to what is measured.

  bench_util.py load PORT FIRST COUNT VSIZE [--deadline S]
      MSET keys key:%012d for FIRST .. FIRST+COUNT-1 (the names
      redis-benchmark -r uses for __rand_int__), 1000 keys per MSET, 16 MSETs
      in flight. Stops early after S seconds. Prints "KEYS SECONDS".
  bench_util.py restart --port P --pidfile F --log F --key I --vsize V -- CMD...
      Starts CMD (a server), then polls it: prints the milliseconds from
      just before the start until it accepts a connection, until INFO
      persistence says loading:0, and until GET key:I returns its value.
  bench_util.py probe MPORT RPORT [--duration S] [--interval-ms 10]
                                  [--poll-us 200]
      Time-to-visible: every interval, SET a fresh value to a probe key on
      the master, then GET it from the replica until it shows that value.
      Prints count, timeouts and p50/p99/max of ack->visible, send->visible
      and of the SET round trip, in ms.
"""
import argparse
import os
import socket
import subprocess
import sys
import time

POOL = None


def value(i, vsize):
    """The value loaded for key i: unique per key, and for values of 32 bytes
    or more incompressible (LevelDB compresses blocks with snappy)."""
    global POOL
    if vsize < 32:
        return (b"%020d" % i)[-vsize:]
    if POOL is None:
        import random
        rnd = random.Random(4242)
        POOL = rnd.randbytes((1 << 20) + vsize)
    head = b"%012d:" % i
    off = (i * 1031) % (1 << 20)
    return (head + POOL[off:off + vsize])[:vsize]


def key(i):
    return b"key:%012d" % i


def command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        if self.pos:
            self.buf = self.buf[self.pos:]
            self.pos = 0
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i]
                self.pos = i + 2
                return line
            self._fill()

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest
        if t == b"-":
            return RuntimeError(rest.decode(errors="replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) - self.pos < n + 2:
                self._fill()
            data = self.buf[self.pos:self.pos + n]
            self.pos += n + 2
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ValueError("bad reply line %r" % line)

    def call(self, *args):
        self.send(command(*args))
        r = self.reply()
        if isinstance(r, RuntimeError):
            raise r
        return r


def cmd_load(a):
    c = Conn(a.port, timeout=120)
    batch, depth = 1000, 16
    t0 = time.monotonic()
    deadline = t0 + a.deadline if a.deadline > 0 else None
    end = a.first + a.count
    i = a.first
    outstanding = 0
    loaded = 0
    pending = []  # keys per MSET in flight
    while i < end or outstanding:
        while i < end and outstanding < depth:
            n = min(batch, end - i)
            parts = [b"*%d\r\n$4\r\nMSET\r\n" % (1 + 2 * n)]
            for j in range(i, i + n):
                k, v = key(j), value(j, a.vsize)
                parts.append(b"$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
            c.send(b"".join(parts))
            pending.append(n)
            i += n
            outstanding += 1
        r = c.reply()
        if isinstance(r, RuntimeError):
            sys.exit("load: MSET failed: %s" % r)
        loaded += pending.pop(0)
        outstanding -= 1
        if deadline is not None and time.monotonic() > deadline and i < end:
            end = i  # stop sending; drain what is in flight
    print(loaded, "%.2f" % (time.monotonic() - t0))


def cmd_hashes(a):
    """Loads hashes, pipelined HSETs of up to 1000 fields each: `big` is one
    hash "bighash" of `count` fields "field:%010d" (16 bytes) with 16-byte
    values; `small` is `count` hashes "session:%010d" of 10 fields "f0".."f9"
    with 8-byte values (the session/flag shape); `wide` is `count` hashes
    "h:%012d" (redis-benchmark's __rand_int__) of 100 fields "f0".."f99" with
    1000-byte incompressible values; `onebig` is one hash "big" of `count`
    fields "f:%012d" with 100-byte incompressible values; `onebigzset` is one
    sorted set "bigz" of `count` members "m:%012d" (redis-benchmark's
    __rand_int__) with the scores 0..count-1 in another order; `mix` is
    `count` hashes "h:%012d" of 10 fields "f0".."f9" with 8-byte values and
    `count` sorted sets "z:%012d" of 100 members "m0".."m99" with scores
    below 1000 (the shapes tools/bench_mix.sh reads)."""
    c = Conn(a.port, timeout=120)
    depth, outstanding = 16, 0
    if a.shape == "onebigzset":
        def batches():
            for i in range(0, a.count, 1000):
                args = [b"ZADD", b"bigz"]
                for j in range(i, min(i + 1000, a.count)):
                    args += [b"%d" % (j * 7919 % a.count), b"m:%012d" % j]
                yield args
    elif a.shape == "mix":
        def batches():
            for i in range(a.count):
                args = [b"HSET", b"h:%012d" % i]
                for f in range(10):
                    args += [b"f%d" % f, b"v%07d" % f]
                yield args
                args = [b"ZADD", b"z:%012d" % i]
                for m in range(100):
                    args += [b"%d" % ((m * 37 + i) % 1000), b"m%d" % m]
                yield args
    elif a.shape == "onebig":
        def batches():
            for i in range(0, a.count, 1000):
                args = [b"HSET", b"big"]
                for j in range(i, min(i + 1000, a.count)):
                    args += [b"f:%012d" % j, value(j, 100)]
                yield args
    elif a.shape == "wide":
        def batches():
            for i in range(a.count):
                args = [b"HSET", b"h:%012d" % i]
                for f in range(100):
                    args += [b"f%d" % f, value(i * 100 + f, 1000)]
                yield args
    elif a.shape == "big":
        def batches():
            for i in range(0, a.count, 1000):
                n = min(1000, a.count - i)
                args = [b"HSET", b"bighash"]
                for j in range(i, i + n):
                    args += [b"field:%010d" % j, b"v%015d" % j]
                yield args
    else:
        def batches():
            for i in range(a.count):
                args = [b"HSET", b"session:%010d" % i]
                for f in range(10):
                    args += [b"f%d" % f, b"v%07d" % f]
                yield args
    for args in batches():
        c.send(command(*args))
        outstanding += 1
        if outstanding >= depth:
            r = c.reply()
            if isinstance(r, RuntimeError):
                raise r
            outstanding -= 1
    while outstanding:
        r = c.reply()
        if isinstance(r, RuntimeError):
            raise r
        outstanding -= 1


def cmd_restart(a):
    t0 = time.monotonic()
    with open(a.log, "ab") as log:
        p = subprocess.Popen(a.server_cmd, stdout=log, stderr=subprocess.STDOUT)
    with open(a.pidfile, "w") as f:
        f.write("%d\n" % p.pid)
    limit = t0 + a.timeout
    ms = lambda: (time.monotonic() - t0) * 1000.0  # noqa: E731
    c = None
    while c is None:
        if p.poll() is not None:
            sys.exit("restart: the server exited with status %s" % p.returncode)
        try:
            c = Conn(a.port)
        except OSError:
            if time.monotonic() > limit:
                sys.exit("restart: no connection after %d s" % a.timeout)
            time.sleep(0.001)
    listen_ms = ms()
    while True:
        info = c.call("INFO", "persistence")
        if b"\r\nloading:0\r\n" in info:
            break
        if time.monotonic() > limit:
            sys.exit("restart: still loading after %d s" % a.timeout)
        time.sleep(0.001)
    loaded_ms = ms()
    want = value(a.key, a.vsize)
    while True:
        got = c.call("GET", key(a.key))
        if got == want:
            break
        if time.monotonic() > limit:
            sys.exit("restart: GET %s returned %r, not the loaded value" % (key(a.key), got))
        time.sleep(0.001)
    get_ms = ms()
    c.close()
    print("%.1f %.1f %.1f" % (listen_ms, loaded_ms, get_ms))


def pct(sorted_vals, q):
    if not sorted_vals:
        return float("nan")
    i = min(len(sorted_vals) - 1, max(0, int(round(q * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def cmd_probe(a):
    m, r = Conn(a.master), Conn(a.replica)
    probe_key = b"bench:probe:%d" % os.getpid()
    get_cmd = command(b"GET", probe_key)
    ack_vis, send_vis, set_rtt = [], [], []
    timeouts = 0
    polls = 0
    interval = a.interval_ms / 1000.0
    poll_sleep = a.poll_us / 1e6
    t_end = time.monotonic() + a.duration
    next_t = time.monotonic()
    n = 0
    while time.monotonic() < t_end:
        now = time.monotonic()
        if now < next_t:
            time.sleep(next_t - now)
        next_t += interval
        n += 1
        val = b"%d:%d" % (n, time.time_ns())
        t_send = time.monotonic()
        m.call(b"SET", probe_key, val)
        t_ack = time.monotonic()
        give_up = t_ack + 5.0
        while True:
            r.send(get_cmd)
            got = r.reply()
            polls += 1
            t = time.monotonic()
            if got == val:
                break
            if t > give_up:
                timeouts += 1
                t = None
                break
            if poll_sleep > 0:
                time.sleep(poll_sleep)
        set_rtt.append((t_ack - t_send) * 1000)
        if t is not None:
            ack_vis.append((t - t_ack) * 1000)
            send_vis.append((t - t_send) * 1000)
        if next_t < time.monotonic():  # a slow probe: do not bunch up
            next_t = time.monotonic()
    for lst in (ack_vis, send_vis, set_rtt):
        lst.sort()

    def row(name, v):
        return "%-22s %6d %8.2f %8.2f %8.2f" % (name, len(v), pct(v, 0.5), pct(v, 0.99),
                                                v[-1] if v else float("nan"))
    print("%-22s %6s %8s %8s %8s" % ("probe (ms)", "count", "p50", "p99", "max"))
    print(row("ack->visible", ack_vis))
    print(row("send->visible", send_vis))
    print(row("SET round trip", set_rtt))
    print("timeouts(>5s) %d  replica GETs %d  (%.1f per probe)" %
          (timeouts, polls, polls / max(1, n)))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("load")
    p.add_argument("port", type=int)
    p.add_argument("first", type=int)
    p.add_argument("count", type=int)
    p.add_argument("vsize", type=int)
    p.add_argument("--deadline", type=float, default=0)
    p = sub.add_parser("hashes")
    p.add_argument("port", type=int)
    p.add_argument("shape", choices=["big", "small", "wide", "onebig", "onebigzset", "mix"])
    p.add_argument("count", type=int)
    p = sub.add_parser("restart")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pidfile", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--key", type=int, required=True)
    p.add_argument("--vsize", type=int, required=True)
    p.add_argument("--timeout", type=int, default=300)
    p.add_argument("server_cmd", nargs=argparse.REMAINDER)
    p = sub.add_parser("probe")
    p.add_argument("master", type=int)
    p.add_argument("replica", type=int)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--interval-ms", type=float, default=10)
    p.add_argument("--poll-us", type=float, default=200)
    a = ap.parse_args()
    if a.mode == "load":
        cmd_load(a)
    elif a.mode == "hashes":
        cmd_hashes(a)
    elif a.mode == "restart":
        if a.server_cmd[:1] == ["--"]:
            a.server_cmd = a.server_cmd[1:]
        if not a.server_cmd:
            ap.error("restart: the server command is missing")
        cmd_restart(a)
    else:
        cmd_probe(a)


if __name__ == "__main__":
    main()
