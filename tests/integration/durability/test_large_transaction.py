"""A transaction whose effects do not fit in one log record (over 1 GiB)
goes on in the next record (Journal::SplitIfFull, docs/wal_format.md). With
the real server: the records are written, a kill -9 right after the reply
loses nothing, and the restart replays them into the same values.

Heavy (about 5 GB of memory and 2.5 GB of disk for a minute), as the size
it tests is."""
import os

import pytest

from server import Server

SIZE = 400 << 20  # three of them make 1.2 GB: over a record's 1 GiB


def value(i):
    digit = b"%d" % i
    return digit * (SIZE // len(digit))


@pytest.mark.skipif(bool(os.environ.get("EDGEKV_SANITIZED")),
                    reason="needs several times its 5 GB in a sanitizer build")
def test_a_transaction_over_a_record_is_split_written_and_replayed(tmp_path):
    data = str(tmp_path / "data")
    srv = Server(data, "--appendfsync", "everysec").start()
    try:
        c = srv.client(socket_timeout=300)
        before = c.info("persistence")["wal_last_seq"]
        p = c.pipeline(transaction=True)
        for i in range(3):
            p.set("big:%d" % i, value(i))
        p.set("after", "done")
        assert p.execute() == [True] * 4
        # One transaction, more than one record.
        assert c.info("persistence")["wal_last_seq"] - before >= 2
        srv.kill()  # kill -9 right after the reply: LevelDB has little or none of it

        srv2 = Server(data).start(timeout=300)
        try:
            c2 = srv2.client(socket_timeout=300)
            assert c2.info("persistence")["recovery_replayed_batches"] >= 2
            for i in range(3):
                got = c2.get("big:%d" % i)
                assert got is not None and len(got) == SIZE, i
                assert got == value(i), i
                del got
            assert c2.get("after") == b"done"
        finally:
            srv2.stop()
    finally:
        srv.kill()
