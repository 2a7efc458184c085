"""The harness itself: replication tests judge their servers as the
durability tests do (conftest.py takes the fixtures of ../durability/
server.py). ../fake_server.py stands in for edgekv-server."""
import os

import pytest

from process_check import run_own_pytest
from server import Server

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fake_server.py")
BROKEN_MODE = os.environ.get("EDGEKV_HARNESS_BROKEN_MODE")


@pytest.mark.skipif(not BROKEN_MODE, reason="run by the test below only")
def test_with_a_broken_server(tmp_path):
    srv = Server(str(tmp_path / "data"), "--fake-mode", BROKEN_MODE, binary=FAKE).start()
    assert srv.client().ping()


def test_a_server_that_exits_badly_fails_its_test():
    rc, out = run_own_pytest(os.path.abspath(__file__), "test_with_a_broken_server", "exit1")
    assert rc == 1, out
    assert "1 passed, 1 error" in out, out
    assert "stopped with exit status 1 after SIGTERM" in out, out
