"""redis-cli (the real one, as a subprocess) against edgekv."""
import shutil
import subprocess

import pytest

REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"

pytestmark = pytest.mark.skipif(not shutil.which("redis-cli"), reason="redis-cli not installed")


def cli(server, *args, input=None, check=True):
    proc = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(server.port), *args],
                          input=input, capture_output=True, timeout=300)  # a hang guard
    if check:
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc


def out(proc):
    return proc.stdout.decode(errors="replace")


def test_basic_commands(server):
    assert out(cli(server, "PING")) == "PONG\n"
    assert out(cli(server, "SET", "greeting", "hello world")) == "OK\n"
    assert out(cli(server, "GET", "greeting")) == "hello world\n"
    assert out(cli(server, "INCR", "n")) == "1\n"
    assert out(cli(server, "MGET", "greeting", "n", "missing")) == "hello world\n1\n\n"
    assert out(cli(server, "EXISTS", "greeting")) == "1\n"
    assert out(cli(server, "DBSIZE")) == "2\n"
    assert out(cli(server, "-n", "2", "SET", "indb2", "x")) == "OK\n"
    assert out(cli(server, "-n", "2", "DBSIZE")) == "1\n"
    assert out(cli(server, "--no-raw", "GET", "n")) == '"1"\n'
    assert out(cli(server, "--no-raw", "INCR", "n")) == "(integer) 2\n"
    # Errors are printed, the command still exits normally.
    p = cli(server, "INCR", "greeting", check=False)
    assert "ERR value is not an integer or out of range" in out(p) + p.stderr.decode()
    p = cli(server, "NOSUCHCMD", check=False)
    assert "ERR unknown command 'NOSUCHCMD'" in out(p) + p.stderr.decode()


def test_info_and_resp3(server):
    info = out(cli(server, "INFO", "server"))
    assert "redis_version:" in info
    assert f"tcp_port:{server.port}" in info
    # -3 makes redis-cli negotiate RESP3 with HELLO 3.
    hello = out(cli(server, "-3", "--no-raw", "CONFIG", "GET", "maxclients"))
    assert '1# "maxclients" => "10000"' in hello


def test_pipe_mass_insertion(server):
    lines = []
    for i in range(10000):
        k, v = f"mass:{i}".encode(), f"value-{i}".encode()
        lines.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    p = cli(server, "--pipe", input=b"".join(lines))
    text = out(p) + p.stderr.decode()
    assert "errors: 0, replies: 10000" in text, text
    assert out(cli(server, "DBSIZE")) == "10000\n"
    assert out(cli(server, "GET", "mass:9999")) == "value-9999\n"


def test_pipe_reports_errors(server):
    cli(server, "SET", "s", "abc")
    p = cli(server, "--pipe", input=b"INCR s\r\nSET ok 1\r\n", check=False)
    text = out(p) + p.stderr.decode()
    assert "errors: 1, replies: 2" in text, text


def test_commands_from_stdin(server):
    script = b"SET a 1\nINCR a\nINCRBY a 40\nGET a\nDEL a\nEXISTS a\n"
    assert out(cli(server, input=script)) == "OK\n2\n42\n42\n1\n0\n"


def test_stdin_as_last_argument(server):
    value = b"line one\nline two\x00binary"
    assert out(cli(server, "-x", "SET", "blob", input=value)) == "OK\n"
    assert out(cli(server, "STRLEN", "blob")) == f"{len(value)}\n"


def test_scan_option(server):
    script = "".join(f"SET user:{i} x\n" for i in range(300)) + "SET other y\n"
    cli(server, input=script.encode())
    keys = out(cli(server, "--scan", "--pattern", "user:*")).split()
    assert len(keys) == 300
    assert sorted(keys) == sorted(f"user:{i}" for i in range(300))


def test_requirepass_with_dash_a(make_server):
    srv = make_server("--requirepass", "cli-secret")
    p = cli(srv, "GET", "k", check=False)
    assert "NOAUTH Authentication required." in out(p) + p.stderr.decode()
    assert out(cli(srv, "-a", "cli-secret", "--no-auth-warning", "SET", "k", "v")) == "OK\n"
    assert out(cli(srv, "-a", "cli-secret", "--no-auth-warning", "GET", "k")) == "v\n"
    assert out(cli(srv, "--user", "default", "--pass", "cli-secret", "--no-auth-warning",
                   "PING")) == "PONG\n"
    p = cli(srv, "-a", "wrong", "--no-auth-warning", "PING", check=False)
    text = out(p) + p.stderr.decode()
    assert "WRONGPASS invalid username-password pair or user is disabled." in text, text
