"""A disk whose fsync fails (a FUSE file system as `dir`, see fault_fs.py):
as Redis does for its AOF, writes get MISCONF while fsyncs fail, reads keep
working, and writes are accepted again once an fsync succeeds. Nothing
acknowledged is lost. The server's log stays outside the FUSE mount."""
import os
import time

import pytest
import redis

from fault_fs import fault_fs  # noqa: F401 (a fixture)
from server import Server


def wait_for(pred, timeout=120):  # a hang guard
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def misconf(c, key):
    try:
        c.set(key, "x")
        return None
    except redis.ResponseError as e:
        return str(e)


@pytest.mark.parametrize("policy", ["everysec", "always"])
def test_failing_fsync_refuses_writes_keeps_reads_and_recovers(fault_fs, tmp_path, policy):
    data = os.path.join(fault_fs.mnt, "data")
    srv = Server(data, "--appendfsync", policy, log_path=str(tmp_path / "first.log")).start()
    try:
        c = srv.client()
        acked = {}
        for i in range(200):
            c.set("before:%d" % i, "v%d" % i)
            acked["before:%d" % i] = b"v%d" % i

        fault_fs.fail_fsync(True)
        # With always the write whose fsync fails is never acknowledged (a
        # short timeout moves on: a write it cuts short is not counted);
        # everysec acknowledges it, and the fsync a moment later fails.
        # Either way writes then get MISCONF.
        probe = srv.client(socket_timeout=2)
        errors = []

        def refused():
            try:
                err = misconf(probe, "during")
            except redis.TimeoutError:
                return False
            errors.append(err)
            return err is not None

        # LevelDB's own syncs fail too ("Errors writing to LevelDB"), but the
        # log's error is the one reported once its fsync has failed.
        aof_error = "MISCONF Errors writing to the AOF file: Input/output error"
        wait_for(lambda: refused() and errors[-1] == aof_error)
        c = srv.client()
        info = c.info("persistence")
        assert info["aof_last_write_status"] == "err"
        assert c.get("before:7") == b"v7"  # reads keep working
        assert c.dbsize() >= 200

        fault_fs.fail_fsync(False)
        wait_for(lambda: misconf(c, "after") is None)
        acked["after"] = b"x"
        assert c.get("after") == b"x"
        assert c.info("persistence")["aof_last_write_status"] == "ok"
        srv.kill()  # a crash: what it acknowledged must be on disk

        srv2 = Server(data, log_path=str(tmp_path / "second.log")).start()
        try:
            c2 = srv2.client()
            keys = list(acked)
            lost = [k for k, v in zip(keys, c2.mget(keys)) if v != acked[k]]
            assert not lost, "lost %d acknowledged writes, e.g. %s" % (len(lost), lost[:3])
        finally:
            srv2.stop()
    finally:
        fault_fs.fail_fsync(False)
        srv.stop()  # (after a failure: before the file system goes)
