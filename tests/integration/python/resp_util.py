"""RESP helpers for tests that talk to servers byte for byte."""
import socket


def read_reply(buf, pos, depth=0):
    """Returns the position after one well-formed RESP2/RESP3 reply at pos,
    None if buf ends first; raises AssertionError if it is malformed."""
    eol = buf.find(b"\r\n", pos)
    if eol < 0:
        return None
    t, line, pos = buf[pos:pos + 1], buf[pos + 1:eol], eol + 2
    assert depth < 64
    if t in (b"+", b"-", b",", b"("):
        assert b"\r" not in line and b"\n" not in line, line
        return pos
    if t == b"_":
        assert line == b""
        return pos
    if t == b"#":
        assert line in (b"t", b"f")
        return pos
    n = int(line)  # ValueError on garbage fails the test as well
    if t == b":":
        return pos
    if t in (b"$", b"=", b"!"):
        if n == -1 and t == b"$":
            return pos
        assert n >= 0
        if len(buf) < pos + n + 2:
            return None
        assert buf[pos + n:pos + n + 2] == b"\r\n"
        return pos + n + 2
    assert t in (b"*", b"~", b">", b"%", b"|"), buf[pos - 10:pos + 10]
    items = 2 * n if t in (b"%", b"|") else n
    for _ in range(max(items, 0)):
        pos = read_reply(buf, pos, depth + 1)
        if pos is None:
            return None
    if t == b"|":  # an attribute precedes the reply it describes
        return read_reply(buf, pos, depth + 1)
    return pos


def encode(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class RawClient:
    """One connection; cmd() returns a reply's exact bytes."""

    def __init__(self, port, timeout=60):  # a hang guard
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def cmd(self, args):
        self.send(args)
        return self.read()

    def send(self, args):
        self.sock.sendall(encode(args))

    def read(self):
        """The next reply's exact bytes."""
        while True:
            end = read_reply(self.buf, 0) if self.buf else None
            if end is not None:
                reply, self.buf = self.buf[:end], self.buf[end:]
                return reply
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed"
            self.buf += chunk

    def close(self):
        self.sock.close()
