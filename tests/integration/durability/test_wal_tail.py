"""Torn and corrupt write-ahead logs: a WAL cut at every byte offset of its
last record restarts cleanly; a corrupt record in the middle stops start-up
with an error naming the file and offset unless wal-repair is set."""
import glob
import os
import shutil
import struct
import subprocess

import pytest

import process_check
from server import READY_TIMEOUT_S, Server, server_binary, free_port


def frames(path):
    """(offset, length) of each frame in a segment (16-byte header first)."""
    data = open(path, "rb").read()
    off, out = 16, []
    while off + 8 <= len(data):
        (length,) = struct.unpack_from("<I", data, off + 4)
        out.append((off, 8 + length))
        off += 8 + length
    return out


def make_log(tmp_path, n_keys=50):
    data = str(tmp_path / "orig")
    srv = Server(data).start()
    c = srv.client()
    for i in range(n_keys):
        c.set("k%d" % i, "v%d" % i)
    c.set("last", "the-last-value")
    srv.kill()  # crash: the log keeps everything
    segs = sorted(glob.glob(os.path.join(data, "wal", "*.wal")))
    assert segs
    return data, segs[-1]


def test_wal_cut_at_every_offset_of_last_record_restarts_cleanly(tmp_path):
    data, seg = make_log(tmp_path)
    last_off, last_len = frames(seg)[-1]
    size = os.path.getsize(seg)
    assert last_off + last_len == size
    for cut in range(last_off, size):
        trial = str(tmp_path / ("cut%d" % cut))
        shutil.copytree(data, trial)
        # Without LevelDB the whole log is replayed, so the torn record itself
        # is what recovery meets.
        shutil.rmtree(os.path.join(trial, "data"))
        os.remove(os.path.join(trial, "edgekv.lock"))
        tseg = os.path.join(trial, "wal", os.path.basename(seg))
        with open(tseg, "r+b") as f:
            f.truncate(cut)
        srv = Server(trial).start()
        try:
            c = srv.client()
            assert c.get("k0") == b"v0" and c.get("k49") == b"v49"
            assert c.get("last") is None, "a torn record must not be applied"
            assert c.dbsize() == 50
            c.set("after", "restart")  # and it takes new writes
        finally:
            srv.stop()
        if cut > last_off:
            assert "torn write" in srv.log()
        shutil.rmtree(trial)


def start_expecting_failure(data, *args):
    """Runs a server that must refuse to start: its exit status and output
    (which must hold no sanitizer report)."""
    port = free_port()
    p = subprocess.run([server_binary(), "--port", str(port), "--bind", "127.0.0.1",
                        "--dir", data] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=READY_TIMEOUT_S)
    out = p.stdout.decode(errors="replace")
    assert not process_check.log_problems(out), out
    return p.returncode, out


def test_corrupt_record_in_the_middle_stops_startup_unless_repair(tmp_path):
    data, seg = make_log(tmp_path)
    shutil.rmtree(os.path.join(data, "data"))  # force a full replay
    fr = frames(seg)
    mid_off, mid_len = fr[len(fr) // 2]
    with open(seg, "r+b") as f:
        f.seek(mid_off + 12)
        b = f.read(1)
        f.seek(mid_off + 12)
        f.write(bytes([b[0] ^ 0xFF]))
    rc, out = start_expecting_failure(data)
    assert rc != 0
    assert os.path.basename(seg) in out and ("offset %d" % mid_off) in out, out
    # Nothing was touched: the same failure again.
    rc2, out2 = start_expecting_failure(data)
    assert rc2 != 0 and ("offset %d" % mid_off) in out2
    srv = Server(data, "--wal-repair", "yes").start()
    try:
        c = srv.client()
        assert c.get("k0") == b"v0"
        assert c.get("last") is None  # lost with the repair
        assert "repaired" in srv.log()
    finally:
        srv.stop()


def test_wal_dump_prints_records(tmp_path):
    data, seg = make_log(tmp_path, n_keys=3)
    dump = os.path.join(os.path.dirname(server_binary()), "edgekv-wal-dump")
    out = subprocess.run([dump, os.path.join(data, "wal")], stdout=subprocess.PIPE,
                         timeout=30, check=True).stdout.decode()
    assert 'PUT db=0 flags=1 "k0" "v0" expire_ms=-1' in out
    assert '"last" "the-last-value"' in out
    assert "# 4 batches, last seq 4" in out


def test_a_file_named_like_a_segment_past_a_uint64_is_not_read(tmp_path):
    """Twenty digits that do not fit a sequence number are not a segment's
    name: the server starts (it used to throw) and replays the real log."""
    data, _ = make_log(tmp_path)
    with open(os.path.join(data, "wal", "99999999999999999999.wal"), "wb") as f:
        f.write(b"not a segment")
    srv = Server(data).start()
    try:
        assert srv.client().get("last") == b"the-last-value"
    finally:
        srv.stop()
