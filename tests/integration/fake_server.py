#!/usr/bin/env python3
"""A stand-in for edgekv-server that the harness self-tests start in its
place, to show that each harness notices a server that stops badly.

It takes the server's command line (--port N, the rest is ignored) plus
--fake-mode MODE (or $FAKE_EDGEKV_MODE), answers every request like a Redis
server that holds no data (PING, EXISTS, INFO with loading:0; +OK for the
rest), and at SIGTERM:

  clean        exits 0
  ignore-term  ignores it (only SIGKILL stops it)
  exit1        exits 1
  asan         prints an AddressSanitizer report to stderr, then exits 0
  ubsan        prints an UndefinedBehaviorSanitizer report, then exits 0
  leak         prints a LeakSanitizer report, then exits 0
  die          (does not wait for SIGTERM) exits 3 by itself, 0.5 s after
               its first connection

The reports exit 0 on purpose: the harness must find them in the log even
when the exit status says nothing.
"""
import os
import signal
import socket
import sys
import threading
import time

REPORTS = {
    "asan": "==%d==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010\n"
            "SUMMARY: AddressSanitizer: heap-use-after-free fake.cc:1 in Fake\n",
    "ubsan": "src/fake.cc:12:5: runtime error: signed integer overflow: "
             "2147483647 + 1 cannot be represented in type 'int'\n",
    "leak": "==%d==ERROR: LeakSanitizer: detected memory leaks\n"
            "SUMMARY: AddressSanitizer: 64 byte(s) leaked in 1 allocation(s).\n",
}


def read_request(f):
    """One request as a list of byte strings (multibulk or inline); None at
    the end of the stream."""
    line = f.readline()
    if not line:
        return None
    if not line.startswith(b"*"):
        return line.split()
    args = []
    for _ in range(int(line[1:])):
        n = int(f.readline()[1:])
        args.append(f.read(n + 2)[:-2])
    return args


def reply(args):
    name = args[0].upper() if args else b""
    if name == b"PING":
        return b"+PONG\r\n"
    if name == b"EXISTS":
        return b":0\r\n"
    if name == b"INFO":
        body = b"# Persistence\r\nloading:0\r\n"
        return b"$%d\r\n%s\r\n" % (len(body), body)
    return b"+OK\r\n"


def start_thread(target, *args):
    threading.Thread(target=target, args=args, daemon=True).start()


def serve(conn, first_connection):
    first_connection.set()
    try:
        f = conn.makefile("rb")
        while True:
            args = read_request(f)
            if args is None:
                return
            if args:
                conn.sendall(reply(args))
    except (OSError, ValueError):
        pass
    finally:
        conn.close()


def accept_loop(listener, first_connection):
    while True:
        conn, _ = listener.accept()
        start_thread(serve, conn, first_connection)


def main(argv):
    port = int(argv[argv.index("--port") + 1])
    mode = argv[argv.index("--fake-mode") + 1] if "--fake-mode" in argv else \
        os.environ.get("FAKE_EDGEKV_MODE", "clean")

    # SIGTERM is taken synchronously: blocked in every thread (each inherits
    # the main thread's mask, set before any starts) and collected by the
    # main thread's sigwait(), whichever thread the kernel picked for it. A
    # Python handler would run only when the main thread next ran Python
    # code, and a thread blocked in a system call may never.
    if mode == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    print("fake edgekv-server (mode %s) on port %d" % (mode, port), flush=True)
    first_connection = threading.Event()
    if mode == "die":
        def die():
            first_connection.wait()
            time.sleep(0.5)
            os._exit(3)
        start_thread(die)
    start_thread(accept_loop, listener, first_connection)
    if mode == "ignore-term":
        threading.Event().wait()
    signal.sigwait({signal.SIGTERM})
    if mode in REPORTS:
        sys.stderr.write(REPORTS[mode].replace("%d", str(os.getpid())))
        sys.stderr.flush()
    os._exit(1 if mode == "exit1" else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
