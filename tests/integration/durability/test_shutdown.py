"""A server stops cleanly whatever it is doing when SIGTERM arrives: it
exits 0 with everything it acknowledged on disk."""
import signal
import time

from server import Server


def test_sigterm_during_a_background_save_exits_cleanly_with_the_data(tmp_path):
    srv = Server(str(tmp_path / "data"), "--enable-debug-command", "yes")
    srv.start()
    c = srv.client()
    pipe = c.pipeline(transaction=False)
    for i in range(20000):
        pipe.set("key:%d" % i, "v" * 100)
    pipe.execute()
    # With the LevelDB applier stopped, the checkpoint BGSAVE starts cannot
    # finish: it is certainly running when SIGTERM arrives.
    assert c.execute_command("DEBUG", "SET-DISK-APPLY", "0") == b"OK"
    assert c.bgsave()
    assert c.info("persistence")["rdb_bgsave_in_progress"] == 1
    c.close()
    srv.proc.send_signal(signal.SIGTERM)
    code = srv.proc.wait(120)  # a hang guard: a clean stop takes a second or two
    assert code == 0, "exit status %s:\n%s" % (code, srv.log())

    srv.start()
    c = srv.client()
    assert c.dbsize() == 20000
    assert c.get("key:19999") == b"v" * 100
    c.close()
    srv.stop()
    assert srv.proc.returncode == 0, srv.log()
