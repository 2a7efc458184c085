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

import pytest

from resp_util import read_reply

CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "fuzz", "corpus")
# Inputs that would change the shared server for the inputs after them (stop
# it, make it a replica, set a password or limits) are left to the
# in-process fuzzer, which builds a fresh server for each input.
GLOBAL_EFFECTS = (b"shutdown", b"replicaof", b"slaveof", b"config", b"client", b"debug",
                  b"reset", b"hello", b"auth")
# A hang guard for one input's exchange (eight run at once).
EXCHANGE_TIMEOUT_S = 120


def corpus(name, skip_prefix=0):
    d = os.path.join(CORPUS, name)
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), "rb") as fh:
            data = fh.read()[skip_prefix:]
        if not any(w in data.lower() for w in GLOBAL_EFFECTS):
            yield f, data


def exchange(port, data, rng):
    """Sends data in random pieces and ends the stream; returns what the
    server sent back before it closed the connection, and whether the close
    was a reset (it closes with input unread after a protocol error, and a
    reset may drop the end of what it sent)."""
    with socket.create_connection(("127.0.0.1", port), timeout=EXCHANGE_TIMEOUT_S) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each piece is a read
        i = 0
        try:
            while i < len(data):
                n = rng.randint(1, 64)
                s.sendall(data[i:i + n])
                i += n
            s.shutdown(socket.SHUT_WR)
        except OSError:
            # Closed after a protocol error, with input unread: a reset, which
            # may have dropped the end of what it sent. (The send took the
            # reset's error: the reads below only see the end of stream.)
            reset_seen = True
        else:
            reset_seen = False
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return out, True
            except socket.timeout:
                raise AssertionError("the server neither answered nor closed in %d s" %
                                     EXCHANGE_TIMEOUT_S)
            if not chunk:
                return out, reset_seen
            out += chunk


@pytest.mark.parametrize("name,skip", [("commands", 0), ("resp_parser", 2)])
def test_fuzz_corpus_over_tcp(make_server, name, skip):
    srv = make_server()
    inputs = list(corpus(name, skip))
    assert len(inputs) > 100

    def check(item):
        fname, data = item
        out, reset = exchange(srv.port, data, random.Random(fname))
        pos = 0
        while pos < len(out):
            nxt = read_reply(out, pos)
            if nxt is None and reset:
                break
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
