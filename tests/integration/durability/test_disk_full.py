"""A full disk: writes get MISCONF, reads keep working, nothing acknowledged
is lost, and writes resume once space is freed. Uses a small tmpfs as `dir`
(needs root, as CI has); the server's log stays outside it."""
import os
import time

import pytest
import redis

from server import Server
from small_fs import fill, small_fs  # noqa: F401 (a fixture)


def test_full_disk_refuses_writes_keeps_reads_and_recovers(small_fs, tmp_path):
    data = os.path.join(small_fs, "data")
    srv = Server(data, "--appendfsync", "always", log_path=str(tmp_path / "first.log")).start()
    check_full_disk(srv, small_fs, data, tmp_path)


def check_full_disk(srv, small_fs, data, tmp_path):
    c = srv.client()
    acked = {}
    for i in range(2000):
        c.set("before:%d" % i, "v%d" % i)
        acked["before:%d" % i] = b"v%d" % i
    filler = fill(small_fs)
    # A write whose record cannot be written is held (never acknowledged)
    # until the disk takes it; a timeout lets the test move on (a write it
    # cuts short counts as not acknowledged, whatever became of it).
    c = srv.client(socket_timeout=3)

    misconf = None
    big = "x" * 4096
    for i in range(20000):
        try:
            c.set("during:%d" % i, big)
            acked["during:%d" % i] = big.encode()
        except redis.ResponseError as e:
            misconf = str(e)
            break
        except redis.TimeoutError:
            # A write whose record could not be written is never
            # acknowledged; the next one gets MISCONF.
            c = srv.client(socket_timeout=3)
    assert misconf is not None and misconf.startswith("MISCONF"), misconf
    c = srv.client()
    # Reads keep working.
    assert c.get("before:7") == b"v7"
    assert c.dbsize() >= 2000
    # Still refused while the disk is full.
    with pytest.raises(redis.ResponseError, match="MISCONF"):
        c.set("refused", "x")

    os.remove(filler)
    deadline = time.monotonic() + 120  # a hang guard
    while True:
        try:
            c.set("after", "works")
            break
        except redis.ResponseError as e:
            assert "MISCONF" in str(e)
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert c.get("after") == b"works"
    acked["after"] = b"works"
    srv.kill()  # a crash: what it acknowledged must be on disk

    srv2 = Server(data, log_path=str(tmp_path / "second.log")).start()
    try:
        c2 = srv2.client()
        pipe = c2.pipeline(transaction=False)
        keys = list(acked)
        for k in keys:
            pipe.get(k)
        lost = [k for k, v in zip(keys, pipe.execute()) if v != acked[k]]
        assert not lost, "lost %d acknowledged writes, e.g. %s" % (len(lost), lost[:3])
        assert c2.get("refused") is None
    finally:
        srv2.stop()
