"""A replica whose upstream answers nonsense (a misconfigured replicaof, a
corrupting middlebox): whatever it says, the replica logs it, keeps serving
reads and keeps retrying; it never crashes and never applies garbage."""
import socket
import struct
import threading
import time

import pytest
import redis

from server import Server


class FakeUpstream(threading.Thread):
    """Answers +OK to every command until PSYNC, then sends `reply` and
    nothing more (an upstream does not answer REPLCONF ACK), keeping the
    connection open."""

    def __init__(self, reply):
        super().__init__(daemon=True)
        self.reply = reply
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.psyncs = 0
        self.received = []  # every command, as a list of its arguments
        self.stop = False

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        conn.settimeout(60)  # a hang guard (the replica drops the link first)
        f = conn.makefile("rb")
        synced = False
        try:
            while True:
                header = f.readline()
                if not header.startswith(b"*"):
                    return
                args = []
                for _ in range(int(header[1:])):
                    n = int(f.readline()[1:])
                    args.append(f.read(n + 2)[:-2])
                self.received.append(args)
                if args[0].upper() == b"PSYNC":
                    self.psyncs += 1
                    synced = True
                    if self.reply is None:  # bytes without a line end, endlessly
                        end = time.monotonic() + 20
                        while not self.stop and time.monotonic() < end:
                            conn.sendall(b"x" * 65536)
                    else:
                        conn.sendall(self.reply)
                elif not synced:
                    conn.sendall(b"+OK\r\n")
        except (OSError, ValueError):
            pass
        finally:
            conn.close()


def frame(payload):
    import zlib
    length = struct.pack("<I", len(payload))
    return struct.pack("<I", zlib.crc32(length + payload)) + length + payload


BAD_REPLIES = {
    "fullresync_without_number": b"+FULLRESYNC abc notanumber\r\n",
    "fullresync_out_of_range": b"+FULLRESYNC abc 99999999999999999999999\r\n",
    "fullresync_negative": b"+FULLRESYNC abc -5\r\n",
    "error": b"-ERR go away\r\n",
    "garbage_line": b"\x00\xff garbage\r\n",
    "continue_then_garbage": b"+CONTINUE\r\n" + b"\x07" * 64,
    "continue_then_bad_crc": b"+CONTINUE\r\n" + b"\x00\x00\x00\x00\x20\x00\x00\x00" + b"x" * 32,
    # A frame with a valid CRC whose batch does not decode.
    "continue_then_bad_batch": b"+CONTINUE\r\n" + frame(b"\x01" * 8 + b"\x00" * 8 +
                                                         b"\x05\x00\x00\x00" + b"\x09" * 7),
    "fullresync_then_garbage": b"+FULLRESYNC abc 7\r\n" + b"\xee" * 100,
    "redis_rdb": b"+FULLRESYNC 8de1787ba490483314a4d30f1c628bc5e2a80e7f 0\r\n$18\r\nREDIS0009\xfa\x09redis-ver",
    # Not a server at all: bytes that never end a line, as fast as it can.
    # The replica gives up on the line after 64 KB instead of buffering on.
    "endless_line": None,
}


@pytest.mark.parametrize("name", sorted(BAD_REPLIES))
def test_replica_survives_a_bad_upstream(tmp_path, name):
    up = FakeUpstream(BAD_REPLIES[name])
    up.start()
    # repl-timeout 2: a stream that stops making sense and stops (a frame
    # header promising more than ever comes) is dropped after 2 s.
    srv = Server(str(tmp_path / "data"), "--replicaof", "127.0.0.1 %d" % up.port,
                 "--repl-timeout", "2")
    srv.start_any()
    try:
        c = srv.client()
        deadline = time.monotonic() + 300  # a hang guard
        while up.psyncs < 2 and time.monotonic() < deadline:  # it retried: it is alive
            time.sleep(0.05)
        assert up.psyncs >= 2, "the replica did not retry:\n" + srv.log()
        assert srv.proc.poll() is None, srv.log()
        assert c.info("replication")["role"] == "slave"  # it answers (PING would say LOADING)
        # Nothing of the garbage was applied. (After a failed full sync the
        # replica answers LOADING until a sync succeeds: it was replacing its
        # data.)
        try:
            assert c.dbsize() == 0
        except redis.BusyLoadingError:
            assert name.startswith("fullresync") or name == "redis_rdb"
        # A header's claimed length is not allocated before its bytes come.
        assert srv.rss_peak_kb() < 200 * 1024, "peak RSS %d kB" % srv.rss_peak_kb()
    finally:
        up.stop = True
        srv.stop()
