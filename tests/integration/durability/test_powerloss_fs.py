"""The power-loss file system itself (powerloss_fs.py): a cut drops what was
not made durable, and only that."""
import errno
import os
import threading
import time

import pytest

from powerloss_fs import power_loss_fs  # noqa: F401 (a fixture)


def write(path, data, sync=False, offset=None):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        if offset is None:
            os.lseek(fd, 0, os.SEEK_END)
        else:
            os.lseek(fd, offset, os.SEEK_SET)
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def sync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_file_data_is_durable_only_once_fsynced(power_loss_fs):
    fs = power_loss_fs
    synced, unsynced, mixed = fs.path("synced"), fs.path("unsynced"), fs.path("mixed")
    write(synced, b"a" * 5000, sync=True)
    write(unsynced, b"b" * 3000)
    write(mixed, b"c" * 100, sync=True)
    write(mixed, b"d" * 50)  # appended, not synced
    write(mixed, b"EE", offset=10)  # over synced bytes, not synced
    sync_dir(fs.mnt)
    assert read(mixed) == b"c" * 10 + b"EE" + b"c" * 88 + b"d" * 50
    st = fs.status()
    assert st["unsynced"]["/unsynced"]["bytes"] == 3000
    assert st["unsynced"]["/mixed"]["bytes"] == 50

    dropped = fs.power_cut()
    assert dropped["files"] == {"/unsynced": {"undone": 0, "cut": 3000},
                                "/mixed": {"undone": 2, "cut": 50}}
    assert dropped["entries"] == []
    assert read(synced) == b"a" * 5000
    assert read(unsynced) == b""  # its entry is durable, its data is not
    assert read(mixed) == b"c" * 100


def test_a_cut_may_keep_the_size_and_lose_the_data(power_loss_fs):
    fs = power_loss_fs
    p = fs.path("f")
    write(p, b"x" * 10, sync=True)
    sync_dir(fs.mnt)
    write(p, b"y" * 20)
    fs.power_cut(tail="zeros")
    assert read(p) == b"x" * 10 + bytes(20)


def test_a_new_file_is_durable_only_once_its_directory_is_fsynced(power_loss_fs):
    fs = power_loss_fs
    os.mkdir(fs.path("d"))
    sync_dir(fs.mnt)
    write(fs.path("d", "kept"), b"data", sync=True)
    sync_dir(fs.path("d"))
    write(fs.path("d", "late"), b"data", sync=True)  # data synced, entry not
    # A new directory and what is in it, even synced, go together.
    os.mkdir(fs.path("newdir"))
    write(fs.path("newdir", "f"), b"data", sync=True)
    sync_dir(fs.path("newdir"))
    assert fs.status()["new_entries"] == ["/d/late", "/newdir"]

    dropped = fs.power_cut()
    assert sorted(dropped["entries"]) == ["removed /d/late", "removed /newdir"]
    assert sorted(os.listdir(fs.path("d"))) == ["kept"]
    assert read(fs.path("d", "kept")) == b"data"
    assert not os.path.exists(fs.path("newdir"))


def test_a_rename_of_a_new_file_is_undone_unless_the_directory_is_fsynced(power_loss_fs):
    fs = power_loss_fs
    # LevelDB's CURRENT: a new temporary file, synced, renamed over the old.
    for name in ("CURRENT", "OTHER", "durable"):
        write(fs.path(name), b"MANIFEST-1\n", sync=True)
    sync_dir(fs.mnt)
    for name in ("CURRENT", "OTHER"):
        write(fs.path(name + ".tmp"), b"MANIFEST-2\n", sync=True)
        os.rename(fs.path(name + ".tmp"), fs.path(name))
    sync_dir(fs.mnt)  # both renames are durable from here on
    write(fs.path("CURRENT.tmp"), b"MANIFEST-3\n", sync=True)
    os.rename(fs.path("CURRENT.tmp"), fs.path("CURRENT"))
    # A new file renamed twice: the first name comes back to what it was.
    write(fs.path("OTHER.tmp"), b"MANIFEST-3\n", sync=True)
    os.rename(fs.path("OTHER.tmp"), fs.path("OTHER"))
    os.rename(fs.path("OTHER"), fs.path("OTHER2"))
    # A durable file renamed: durable at once, as in LevelDB and RocksDB.
    os.rename(fs.path("durable"), fs.path("moved"))

    dropped = fs.power_cut()
    assert sorted(dropped["entries"]) == ["removed /CURRENT", "removed /OTHER2",
                                          "restored /CURRENT", "restored /OTHER"]
    assert read(fs.path("CURRENT")) == b"MANIFEST-2\n"
    assert read(fs.path("OTHER")) == b"MANIFEST-2\n"
    assert read(fs.path("moved")) == b"MANIFEST-1\n"
    assert sorted(os.listdir(fs.mnt)) == ["CURRENT", "OTHER", "moved"]


def test_unlink_is_durable_at_once(power_loss_fs):
    fs = power_loss_fs
    write(fs.path("old"), b"data", sync=True)
    sync_dir(fs.mnt)
    os.unlink(fs.path("old"))
    fs.power_cut()
    assert os.listdir(fs.mnt) == []


def test_a_frozen_file_system_fails_every_call(power_loss_fs):
    fs = power_loss_fs
    p = fs.path("f")
    write(p, b"x", sync=True)
    sync_dir(fs.mnt)
    fd = os.open(p, os.O_WRONLY)
    try:
        fs.freeze()
        with pytest.raises(OSError) as e:
            os.write(fd, b"y")
        assert e.value.errno == errno.EIO
        with pytest.raises(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
    fs.power_cut()
    assert read(p) == b"x"


def test_an_armed_freeze_fires_at_a_write_that_finds_its_file_unsynced_long_enough(
        power_loss_fs):
    fs = power_loss_fs
    os.mkdir(fs.path("wal"))
    sync_dir(fs.mnt)
    fd = os.open(fs.path("wal", "1.wal"), os.O_WRONLY | os.O_CREAT, 0o644)
    sync_dir(fs.path("wal"))
    try:
        os.write(fd, b"a" * 10)
        os.fsync(fd)
        synced_at = time.monotonic()
        fs.arm_freeze("wal/*.wal", min_unsynced_ms=300)
        write(fs.path("other"), b"not this file")
        n = 0
        with pytest.raises(OSError):
            while True:  # fails once frozen
                os.write(fd, b"b")
                n += 1
                time.sleep(0.01)
        st = fs.status()
        assert st["frozen"] and st["frozen_by"]["path"] == "/wal/1.wal"
        assert st["frozen_at"] - synced_at >= 0.3
        assert st["unsynced"]["/wal/1.wal"]["bytes"] == n
        assert st["frozen_by"]["unsynced_ms"] >= 300
    finally:
        os.close(fd)
    dropped = fs.power_cut()
    assert dropped["files"]["/wal/1.wal"] == {"undone": 0, "cut": n}
    assert read(fs.path("wal", "1.wal")) == b"a" * 10


def test_an_armed_freeze_may_fire_at_an_unlink(power_loss_fs):
    fs = power_loss_fs
    for name in ("a.wal", "b.wal", "c.log"):
        write(fs.path(name), b"x", sync=True)
    sync_dir(fs.mnt)
    fs.arm_freeze("*.wal", on="unlink")
    os.unlink(fs.path("c.log"))
    assert not fs.status()["frozen"]
    os.unlink(fs.path("a.wal"))
    with pytest.raises(OSError):
        os.unlink(fs.path("b.wal"))
    assert fs.status()["frozen_by"] == {"path": "/a.wal", "unlink": True, "fsyncs_held": 0}
    fs.power_cut()
    assert sorted(os.listdir(fs.mnt)) == ["b.wal"]  # the unlink before the cut stays


def test_it_measures_how_long_writes_wait_for_their_fsync(power_loss_fs):
    fs = power_loss_fs
    fd = os.open(fs.path("f"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"a")
        start = time.monotonic()
        while time.monotonic() - start < 0.2:
            os.write(fd, b"b")  # later writes do not restart the clock
            time.sleep(0.01)
        os.fsync(fd)
        waited = time.monotonic() - start
        os.write(fd, b"c")
        os.fsync(fd)  # a short wait does not lower the longest
    finally:
        os.close(fd)
    got = fs.status()["max_unsynced_ms"]["/f"]
    assert 200 <= got <= waited * 1000 + 50, (got, waited)


def test_fsyncs_may_be_slow_and_a_freeze_may_wait_for_one(power_loss_fs):
    fs = power_loss_fs
    write(fs.path("a.wal"), b"x", sync=True)
    write(fs.path("b.wal"), b"x", sync=True)
    sync_dir(fs.mnt)
    fs.arm_freeze("*.wal", on="unlink", while_held=True)
    fs.hold_fsync("MANIFEST", 0.5)
    os.unlink(fs.path("a.wal"))  # no fsync held yet
    assert not fs.status()["frozen"]
    write(fs.path("new.log"), b"y", sync=True)  # not held: another name
    fd = os.open(fs.path("MANIFEST"), os.O_WRONLY | os.O_CREAT, 0o644)
    failed = []

    def fsync():
        try:
            os.fsync(fd)
        except OSError as e:  # the power went off during it
            failed.append(e.errno)

    syncing = threading.Thread(target=fsync)
    start = time.monotonic()
    syncing.start()
    while fs.status()["fsyncs_held"] == 0:
        assert time.monotonic() - start < 0.5, "the fsync was not held"
    os.unlink(fs.path("b.wal"))
    syncing.join()
    os.close(fd)
    assert time.monotonic() - start >= 0.5 and failed == [errno.EIO]
    assert fs.status()["frozen_by"] == {"path": "/b.wal", "unlink": True, "fsyncs_held": 1}
    dropped = fs.power_cut()
    assert sorted(dropped["entries"]) == ["removed /MANIFEST", "removed /new.log"]
