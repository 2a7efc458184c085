"""The fuzzers' inputs (tests/fuzz/corpus) sent to the real server over TCP.

The in-process fuzzers run the parser and the command layer; this sends the
same bytes through the network layer, the write-ahead log and LevelDB of a
real edgekv-server, cut into reads of random sizes. Whatever the input, the
server answers with well-formed replies (a protocol error closes only that
connection) and keeps serving others.
"""
import concurrent.futures
import os
import random
import socket
import time

import pytest

CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "fuzz", "corpus")
# Inputs that would change the shared server for the inputs after them (stop
# it, make it a replica, set a password or limits) are left to the
# in-process fuzzer, which builds a fresh server for each input.
GLOBAL_EFFECTS = (b"shutdown", b"replicaof", b"slaveof", b"config", b"client", b"debug",
                  b"reset", b"hello", b"auth")


def corpus(name, skip_prefix=0):
    d = os.path.join(CORPUS, name)
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), "rb") as fh:
            data = fh.read()[skip_prefix:]
        if not any(w in data.lower() for w in GLOBAL_EFFECTS):
            yield f, data


def read_reply(buf, pos, depth=0):
    """Returns the position after one well-formed RESP2 reply at pos, None if
    buf ends first; raises AssertionError if it is malformed."""
    eol = buf.find(b"\r\n", pos)
    if eol < 0:
        return None
    t, line, pos = buf[pos:pos + 1], buf[pos + 1:eol], eol + 2
    assert depth < 64
    if t in (b"+", b"-"):
        assert b"\r" not in line and b"\n" not in line, line
        return pos
    n = int(line)  # ValueError on garbage fails the test as well
    if t == b":":
        return pos
    if t == b"$":
        if n == -1:
            return pos
        if len(buf) < pos + n + 2:
            return None
        assert buf[pos + n:pos + n + 2] == b"\r\n"
        return pos + n + 2
    assert t == b"*", buf[pos - 10:pos + 10]
    for _ in range(max(n, 0)):
        pos = read_reply(buf, pos, depth + 1)
        if pos is None:
            return None
    return pos


def exchange(port, data, rng):
    """Sends data in random pieces, then reads until the server closes or
    goes quiet; returns what it sent back."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.settimeout(5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each piece is a read
        i = 0
        try:
            while i < len(data):
                n = rng.randint(1, 64)
                s.sendall(data[i:i + n])
                i += n
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # closed after a protocol error: what it said is read below
        out = b""
        deadline = time.monotonic() + 5
        s.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out


@pytest.mark.parametrize("name,skip", [("commands", 0), ("resp_parser", 2)])
def test_fuzz_corpus_over_tcp(make_server, name, skip):
    srv = make_server()
    inputs = list(corpus(name, skip))
    assert len(inputs) > 100

    def check(item):
        fname, data = item
        out = exchange(srv.port, data, random.Random(fname))
        pos = 0
        while pos < len(out):
            nxt = read_reply(out, pos)
            assert nxt is not None, f"{fname}: reply cut short: {out[pos:pos + 80]!r}"
            pos = nxt

    # Eight connections at a time: the inputs also meet each other's keys. (A
    # server sees the end of stream that came with a read's data at its next
    # connection check, up to 100 ms later, so one at a time would be slow.)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for _ in pool.map(check, inputs):
            pass
    assert srv.proc.poll() is None, "the server stopped:\n" + srv.log()
    c = srv.client()
    assert c.ping()
    c.set("after", "fuzz")
    assert c.get("after") == b"fuzz"
