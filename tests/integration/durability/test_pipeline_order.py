"""Replies stay in order and intact when a pipeline is paused by
backpressure (large replies) while more requests keep arriving."""
import socket
import time

from server import Server, Thread


def test_backpressured_pipeline_keeps_every_reply_in_order(tmp_path):
    srv = Server(str(tmp_path / "data")).start()
    try:
        c = srv.client()
        big = b"x" * 4096
        c.set("big", big)
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.settimeout(120)  # a hang guard
        n = 1000
        expected = b""
        for i in range(n):
            expected += b"$4096\r\n" + big + b"\r\n" + (":%d\r\n" % (i + 1)).encode()

        def send():
            # Many small writes, so requests arrive while replies are paused.
            for i in range(n):
                s.sendall(b"GET big\r\nINCR counter\r\n")
                if i % 100 == 0:
                    time.sleep(0.001)

        t = Thread(send, name="sender")
        t.start()
        got = b""
        time.sleep(0.5)  # let the server hit backpressure first
        while len(got) < len(expected):
            chunk = s.recv(1 << 20)
            assert chunk, "connection closed after %d bytes" % len(got)
            got += chunk
        t.join()
        assert got == expected
        s.close()
    finally:
        srv.stop()
