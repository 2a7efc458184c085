"""A replica whose disk is full: it keeps serving reads, stops taking the
stream once its unwritten log reaches its bound (TCP then holds the
coordinator's records back, and the coordinator keeps taking writes), and
catches up by itself once space is freed. Uses a small tmpfs as the replica's
`dir` (needs root, as CI has); its log stays outside."""
import os
import subprocess
import time

from cluster import diff, dump, offset, start_replica, wait_caught_up
from server import Server
from small_fs import fill, small_fs  # noqa: F401 (a fixture)


def test_replica_with_full_disk_pauses_the_stream_and_catches_up(tmp_path, small_fs):
    coord = Server(str(tmp_path / "coord")).start()
    replica = None
    try:
        replica = start_replica(os.path.join(small_fs, "replica"), coord.port,
                                log_path=str(tmp_path / "replica.log"))
        c = coord.client()
        c.set("before", "1")
        wait_caught_up(c, [replica.client()])
        filler = fill(small_fs)

        # 120 MB of writes: far more than the replica's bound on unwritten
        # log (64 MB). The coordinator takes them all.
        value = "x" * 4000
        for batch in range(30):
            pipe = c.pipeline(transaction=False)
            for i in range(1000):
                pipe.set("k:%d:%d" % (batch, i), value)
            pipe.execute()
        assert c.dbsize() == 30_001

        # The replica stops short of the coordinator (its link paused) and
        # still answers: its offset stays put (for 2 s on end) below the
        # coordinator's.
        deadline = time.monotonic() + 600  # a hang guard
        stalled, since = offset(replica.client()), time.monotonic()
        while time.monotonic() - since < 2:
            assert time.monotonic() < deadline, "the replica's offset never settled"
            time.sleep(0.2)
            now = offset(replica.client())
            if now != stalled:
                stalled, since = now, time.monotonic()
        assert stalled < offset(c), "a replica that cannot write its log took everything"
        assert replica.client().get("before") == b"1"
        assert replica.proc.poll() is None
        link = coord.client().info("replication")["slave0"]
        assert link["unsent_records"] > 0, link

        # Space again (and enough for the whole log): the replica writes its
        # log and catches up.
        os.remove(filler)
        subprocess.run(["mount", "-o", "remount,size=512m", small_fs], check=True)
        wait_caught_up(c, [replica.client()])
        problems = diff(dump(coord.client(), dbs=(0,)), dump(replica.client(), dbs=(0,)))
        assert not problems, "\n".join(problems)
    finally:
        if replica is not None:
            replica.stop()
        coord.stop()
