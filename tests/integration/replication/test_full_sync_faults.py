"""Faults during a replica's full sync: the replica never stalls its I/O
threads waiting for one, retries, and stops cleanly whenever it is told to."""
import time

from server import Server
from test_bad_upstream import FakeUpstream


def test_failed_full_syncs_are_retried_without_stalling_the_replica(tmp_path):
    # Every full sync the upstream starts breaks off (garbage after the
    # FULLRESYNC line). One I/O thread serves both the link and the clients:
    # a retry that waited for the LevelDB applier (30 s a time) held them all.
    up = FakeUpstream(b"+FULLRESYNC abc 7\r\n" + b"\xee" * 100)
    up.start()
    srv = Server(str(tmp_path / "data"), "--replicaof", "127.0.0.1 %d" % up.port,
                 "--repl-timeout", "1", "--io-threads", "1")
    srv.start_any()
    try:
        c = srv.client(socket_timeout=60)
        deadline = time.monotonic() + 60  # a hang guard: a retry takes well under a second
        while up.psyncs < 6:
            assert time.monotonic() < deadline, \
                "only %d full syncs in 60 s:\n%s" % (up.psyncs, srv.log())
            info = c.info("replication")  # answered between the attempts
            assert info["role"] == "slave"
            time.sleep(0.05)
        c.close()
    finally:
        up.stop = True
        srv.stop()
    assert srv.proc.returncode == 0, srv.log()
