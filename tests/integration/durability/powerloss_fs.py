"""A file system that can lose power (needs root and /dev/fuse, as CI has:
there a failed mount fails the test; elsewhere it is skipped).

kill -9 keeps the page cache: whatever a server wrote is still there after
the crash, fsynced or not. This FUSE pass-through over a backing directory
remembers what has not been made durable, and at a power cut drops it, as
LevelDB's FaultInjectionTestEnv and RocksDB's FaultInjectionTestFS do.

What is durable (the model):

  - File data. Bytes written to a file are durable once an fsync or
    fdatasync of that file (through any descriptor) returns. At a cut, a
    file goes back to what it held at its last fsync: writes since then over
    its synced bytes are undone, and it is cut back to its synced size
    (tail="truncate", the default), or keeps its size with zeros past the
    synced size (tail="zeros": a file system that made the new size durable
    but not the data, as ext4 with data=writeback may). A file the mount
    found already there counts as synced.
  - Directory entries. A file or directory created since the last fsync of
    its parent directory disappears at a cut (with everything in it), even
    if its data was fsynced. So does the target of a rename whose source was
    such a new entry, and the file that rename replaced comes back (LevelDB
    installs CURRENT so). As in LevelDB's and RocksDB's environments, unlink
    and rmdir, and the rename of a file whose own entry is durable, count as
    durable at once: they are never undone. (An undone unlink would only
    bring back a file the program had given up.) Renaming a directory is
    refused (EXDEV): edgekv and LevelDB never do.

What it does not model: a torn write inside a page (a write is all there or
all gone), unsynced writes reaching the disk out of order or in part (every
unsynced write is lost), an unlink or a rename undone by a cut, and the disk
losing or corrupting data that was synced.

A cut: freeze() stops the file system (every call fails with EIO, as a disk
without power), then the servers on the mount are killed (kill -9), then
everything not durable is dropped and the file system is mounted again,
durable as it is: power_cut() does the three. arm_freeze() freezes it at
the moment that matters instead: at a write to a chosen file not fsynced
yet, or at an unlink; hold_fsync() makes chosen fsyncs slow, to widen a
window.

The `power_loss_fs` fixture (import it into a test module) mounts one and
yields a PowerLossFs. Run as a program, this file is the file system:
powerloss_fs.py BACKING SHADOW MOUNTPOINT, taking one JSON command per line
on stdin and answering each with one JSON line on stdout.
"""
import errno
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import threading
import time

# Hang guard for a mount or an unmount.
MOUNT_TIMEOUT_S = 120


class PowerLossFs:
    """The test's side: mounts the file system (in its own process) and sends
    it commands."""

    def __init__(self, base):
        self.base = str(base)
        self.back = os.path.join(self.base, "back")
        self.shadow = os.path.join(self.base, "shadow")
        self.mnt = os.path.join(self.base, "mnt")
        self.log_path = os.path.join(self.base, "powerloss_fs.log")
        for d in (self.back, self.shadow, self.mnt):
            os.makedirs(d, exist_ok=True)
        self.proc = None
        self._lock = threading.Lock()  # one command at a time

    def path(self, *parts):
        """A path under the mount point."""
        return os.path.join(self.mnt, *parts)

    def mount(self):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), self.back, self.shadow, self.mnt],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        deadline = time.monotonic() + MOUNT_TIMEOUT_S
        while not self.mounted():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                subprocess.run(["umount", "-l", self.mnt], stderr=subprocess.DEVNULL)
                self.proc.kill()
                self._end_process()
                raise MountError("cannot mount the power-loss file system: " +
                                 open(self.log_path).read()[-1000:])
            time.sleep(0.02)

    def mounted(self):
        # (Not os.path.ismount: a frozen file system answers its stat with
        # EIO.)
        with open("/proc/self/mounts") as f:
            return any(line.split()[1] == self.mnt for line in f)

    def unmount(self):
        if self.proc is None:
            return
        if self.mounted():
            r = subprocess.run(["umount", self.mnt], stderr=subprocess.PIPE)
            if r.returncode != 0:  # still in use: detached, and its process ended
                subprocess.run(["umount", "-l", self.mnt])
                self.proc.kill()
        self._end_process()

    def _end_process(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(MOUNT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def command(self, op, **args):
        with self._lock:
            self.proc.stdin.write(json.dumps(dict(args, op=op)) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the power-loss file system is gone: " +
                               open(self.log_path).read()[-1000:])
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError("power-loss file system: " + reply["error"])
        return reply

    def sync_all(self):
        """Makes everything on the mount durable (what a test set up before
        the server starts, as an installed machine has its directories)."""
        self.command("sync_all")

    def freeze(self):
        """The power goes off now: every call fails with EIO from here on."""
        return self.command("freeze")

    def arm_freeze(self, pattern, min_unsynced_ms=0, on="write", while_held=False,
                   min_offset=0):
        """The power goes off right after the next write to a file whose path
        on the mount matches `pattern` (fnmatch), at `min_offset` or past it,
        and whose oldest write not fsynced yet is `min_unsynced_ms` old (0:
        that write itself). That write is kept in the file, unsynced: the cut
        drops it. With
        on="unlink", right after the next unlink of a matching file. With
        while_held, only while hold_fsync is holding an fsync. frozen_by then
        says what froze it, and how many fsyncs were being held."""
        self.command("arm", pattern=pattern, min_unsynced_ms=min_unsynced_ms, on=on,
                     while_held=while_held, min_offset=min_offset)

    def hold_fsync(self, pattern, seconds):
        """A slow disk: each fsync of a file matching `pattern` takes
        `seconds` (other calls go on meanwhile). Until the next mount."""
        self.command("hold_fsync", pattern=pattern, seconds=seconds)

    def status(self):
        """frozen, frozen_at (time.monotonic() of the freeze; the clock is the
        machine's), frozen_by (the write or unlink that froze it), fsyncs,
        fsyncdirs, new_entries (paths a cut would remove or revert), unsynced:
        {path: {"bytes" past the synced size, "unsynced_ms": age of the oldest
        unsynced write}}, and max_unsynced_ms: {path: the longest any write
        to it waited for its fsync} (files written since the mount)."""
        return self.command("status")

    def wait_frozen(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if st["frozen"]:
                return st
            if time.monotonic() > deadline:
                raise AssertionError("the file system did not freeze in %.0f s: %r" %
                                     (timeout, st))
            time.sleep(0.01)

    def power_cut(self, servers=(), tail="truncate"):
        """A power cut: freezes the file system (unless a freeze came
        already), kills each server (kill -9: their processes die with the
        machine), drops everything not durable and mounts the file system
        again. Returns what was dropped: {"frozen_at", "frozen_by",
        "files": {path: {"undone": bytes rewritten, "cut": bytes past the
        synced size}}, "entries": [paths removed or restored]}."""
        frozen = self.freeze()
        for srv in servers:
            srv.kill()
        dropped = self.command("drop", tail=tail)
        dropped["frozen_at"] = frozen["frozen_at"]
        dropped["frozen_by"] = frozen["frozen_by"]
        self.unmount()
        self.mount()
        return dropped


class MountError(Exception):
    pass


def power_loss_fs_at(base):
    """Mounts a PowerLossFs under `base`; the caller unmounts it."""
    from server import cannot_run  # (not when run as the file system)
    try:
        import fusepy  # noqa: F401 (Debian's python3-fusepy)
    except ImportError:
        cannot_run("python3-fusepy is not installed (tools/setup.sh --test installs it)")
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        cannot_run("no usable /dev/fuse here")
    fs = PowerLossFs(base)
    try:
        fs.mount()
    except MountError as e:
        cannot_run(str(e))
    return fs


if __name__ != "__main__":  # (not when run as the file system)
    import pytest

    @pytest.fixture
    def power_loss_fs(tmp_path):
        fs = power_loss_fs_at(tmp_path / "plfs")
        try:
            yield fs
        finally:
            # Servers still running on the mount (a test that failed) stop
            # before it goes, judged as any other (server.py's list of every
            # Server made).
            import server
            for srv in server._servers:
                if srv.data_dir.startswith(fs.mnt + "/"):
                    srv.stop()
            fs.unmount()


# --------------------------------------------------------------------------
# The file system (its own process).


class FileState:
    """What of one file (an inode) is durable. undo: (offset, bytes) to write
    back, newest last, for writes and truncations over the synced bytes.
    dirty_since: when the oldest write not fsynced yet came (None if none);
    max_unsynced_ms: the longest a write waited for its fsync (or has been
    waiting)."""

    __slots__ = ("synced_size", "undo", "dirty_since", "max_unsynced_ms", "path")

    def __init__(self, synced_size, path):
        self.synced_size = synced_size
        self.undo = []
        self.dirty_since = None
        self.max_unsynced_ms = 0.0
        self.path = path

    def unsynced_ms(self, now):
        return 0.0 if self.dirty_since is None else (now - self.dirty_since) * 1000


def serve(backing, shadow, mountpoint):
    from fusepy import FUSE, FuseOSError, Operations

    class PowerLoss(Operations):
        use_ns = True

        def __init__(self):
            self.mu = threading.Lock()  # (not "lock": a FUSE operation)
            self.files = {}  # inode -> FileState (files changed since the mount)
            # dir ("/a/b") -> {name: what the name goes back to at a cut: None
            # (nothing) or a file in `shadow` (what a rename replaced)}.
            self.new_entries = {}
            self.frozen = False
            self.frozen_at = None
            self.frozen_by = None
            # {"pattern", "on": "write" or "unlink", "min_unsynced_ms",
            #  "min_offset", "while_held": only while hold_fsync holds an fsync}
            self.trigger = None
            self.hold = None  # (pattern, seconds): fsyncs of those files take that long
            self.holding = 0  # fsyncs held now
            self.fsyncs = 0
            self.fsyncdirs = 0
            self.shadows = 0

        # --- helpers (with self.mu held) --------------------------------

        def _p(self, path):
            return os.path.join(backing, path.lstrip("/"))

        def _live(self):
            if self.frozen:
                raise FuseOSError(errno.EIO)

        @staticmethod
        def _split(path):
            d, name = os.path.split(path)
            return d or "/", name

        def _state(self, fd, path):
            st = os.fstat(fd)
            fs = self.files.get(st.st_ino)
            if fs is None:
                fs = self.files[st.st_ino] = FileState(st.st_size, path)
            elif path:
                fs.path = path
            return fs

        def _new_entry(self, path):
            d, name = self._split(path)
            self.new_entries.setdefault(d, {}).setdefault(name, None)

        def _forget_entry(self, path):
            """The entry's change is durable: what it replaced is gone."""
            d, name = self._split(path)
            prev = self.new_entries.get(d, {}).pop(name, None)
            if prev is not None:
                os.unlink(prev)

        def _shadow(self, bpath):
            self.shadows += 1
            to = os.path.join(shadow, str(self.shadows))
            os.rename(bpath, to)
            return to

        # --- metadata -----------------------------------------------------

        def getattr(self, path, fh=None):
            with self.mu:
                self._live()
                st = os.fstat(fh) if fh is not None else os.lstat(self._p(path))
            return {"st_mode": st.st_mode, "st_nlink": st.st_nlink, "st_size": st.st_size,
                    "st_uid": st.st_uid, "st_gid": st.st_gid, "st_atime": st.st_atime_ns,
                    "st_mtime": st.st_mtime_ns, "st_ctime": st.st_ctime_ns}

        def readdir(self, path, fh):
            with self.mu:
                self._live()
                return [".", ".."] + os.listdir(self._p(path))

        def statfs(self, path):
            with self.mu:
                self._live()
                st = os.statvfs(self._p(path))
            return {k: getattr(st, k) for k in (
                "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                "f_files", "f_flag", "f_frsize", "f_namemax")}

        def chmod(self, path, mode):
            with self.mu:
                self._live()
                os.chmod(self._p(path), mode)

        def chown(self, path, uid, gid):
            with self.mu:
                self._live()
                os.chown(self._p(path), uid, gid)

        def utimens(self, path, times=None):
            with self.mu:
                self._live()
                if times is None:
                    os.utime(self._p(path))
                else:
                    os.utime(self._p(path), ns=times)

        # --- directory entries --------------------------------------------

        def mkdir(self, path, mode):
            with self.mu:
                self._live()
                os.mkdir(self._p(path), mode)
                self._new_entry(path)

        def rmdir(self, path):
            with self.mu:
                self._live()
                os.rmdir(self._p(path))
                self._forget_entry(path)

        def unlink(self, path):
            with self.mu:
                self._live()
                os.unlink(self._p(path))
                self._forget_entry(path)
                if self._fires("unlink", path):
                    self._freeze({"path": path, "unlink": True})

        def rename(self, old, new):
            with self.mu:
                self._live()
                bold, bnew = self._p(old), self._p(new)
                if os.path.isdir(bold):
                    raise FuseOSError(errno.EXDEV)
                if old == new:
                    return
                sd, sname = self._split(old)
                dd, dname = self._split(new)
                sent = self.new_entries.get(sd, {})
                if sname in sent:
                    # A new file moves: its target is new too. The source's
                    # name goes back to what it replaced, if anything.
                    if sent[sname] is None:
                        del sent[sname]
                    dent = self.new_entries.setdefault(dd, {})
                    if dname not in dent:
                        dent[dname] = self._shadow(bnew) if os.path.lexists(bnew) else None
                else:
                    self._forget_entry(new)
                os.rename(bold, bnew)

        def fsyncdir(self, path, datasync, fh):
            with self.mu:
                self._live()
                self.fsyncdirs += 1
                for prev in self.new_entries.pop(path, {}).values():
                    if prev is not None:
                        os.unlink(prev)

        def opendir(self, path):
            with self.mu:
                self._live()
                if not os.path.isdir(self._p(path)):
                    raise FuseOSError(errno.ENOTDIR)
            return 0

        def releasedir(self, path, fh):
            return 0

        # --- files ----------------------------------------------------------

        def create(self, path, mode, fi=None):
            with self.mu:
                self._live()
                fd = os.open(self._p(path), os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)
                self._new_entry(path)
                st = os.fstat(fd)
                self.files[st.st_ino] = FileState(0, path)
                return fd

        def open(self, path, flags):
            with self.mu:
                self._live()
                # Always readable (writes over synced bytes read them first);
                # offsets come from the kernel.
                fd = os.open(self._p(path), os.O_RDWR)
                if flags & os.O_TRUNC:
                    self._truncate(fd, path, 0)
                return fd

        def read(self, path, size, offset, fh):
            with self.mu:
                self._live()
                return os.pread(fh, size, offset)

        def write(self, path, data, offset, fh):
            with self.mu:
                self._live()
                fs = self._state(fh, path)
                if offset < fs.synced_size:
                    old = os.pread(fh, min(len(data), fs.synced_size - offset), offset)
                    fs.undo.append((offset, old))
                n = os.pwrite(fh, data, offset)
                now = time.monotonic()
                if fs.dirty_since is None:
                    fs.dirty_since = now
                if (self._fires("write", path) and offset >= self.trigger["min_offset"] and
                        fs.unsynced_ms(now) >= self.trigger["min_unsynced_ms"]):
                    self._freeze({"path": path, "offset": offset, "bytes": n,
                                  "unsynced_ms": fs.unsynced_ms(now)})
                return n

        def _truncate(self, fd, path, length):
            fs = self._state(fd, path)
            if length == os.fstat(fd).st_size:
                return  # (the WAL gives back preallocated blocks so)
            if length < fs.synced_size:
                fs.undo.append((length, os.pread(fd, fs.synced_size - length, length)))
            os.ftruncate(fd, length)
            if fs.dirty_since is None:
                fs.dirty_since = time.monotonic()

        def truncate(self, path, length, fh=None):
            with self.mu:
                self._live()
                if fh is not None:
                    self._truncate(fh, path, length)
                    return
                fd = os.open(self._p(path), os.O_RDWR)
                try:
                    self._truncate(fd, path, length)
                finally:
                    os.close(fd)

        def fsync(self, path, datasync, fh):
            hold = self.hold
            if (hold is not None and path is not None and
                    fnmatch.fnmatch(path.lstrip("/"), hold[0])):
                with self.mu:
                    self.holding += 1
                time.sleep(hold[1])  # a slow disk: other calls go on meanwhile
                with self.mu:
                    self.holding -= 1
            with self.mu:
                self._live()
                self.fsyncs += 1
                fs = self._state(fh, path)
                fs.synced_size = os.fstat(fh).st_size
                fs.undo.clear()
                fs.max_unsynced_ms = max(fs.max_unsynced_ms, fs.unsynced_ms(time.monotonic()))
                fs.dirty_since = None

        def flush(self, path, fh):
            return 0

        def release(self, path, fh):
            os.close(fh)
            return 0

        # --- power ----------------------------------------------------------

        def _fires(self, on, path):
            t = self.trigger
            return (t is not None and t["on"] == on and path is not None and
                    fnmatch.fnmatch(path.lstrip("/"), t["pattern"]) and
                    (not t["while_held"] or self.holding > 0))

        def _freeze(self, by):
            if not self.frozen:
                self.frozen = True
                self.frozen_at = time.monotonic()
                self.frozen_by = dict(by, fsyncs_held=self.holding)
                self.trigger = None

        def drop(self, tail):
            """Everything not durable goes (the file system is frozen)."""
            entries = []
            # Entries first, the deepest directories first: what a new
            # directory holds goes with it.
            for d in sorted(self.new_entries, key=lambda p: p.count("/"), reverse=True):
                for name, prev in self.new_entries[d].items():
                    path = os.path.join(d, name)
                    bpath = self._p(path)
                    if os.path.isdir(bpath) and not os.path.islink(bpath):
                        shutil.rmtree(bpath)
                        entries.append("removed " + path)
                    elif os.path.lexists(bpath):
                        os.unlink(bpath)
                        entries.append("removed " + path)
                    if prev is not None:
                        if os.path.isdir(os.path.dirname(bpath)):
                            os.rename(prev, bpath)
                            entries.append("restored " + path)
                        else:
                            os.unlink(prev)
            self.new_entries.clear()
            files = {}
            for dirpath, _, names in os.walk(backing):
                for name in names:
                    bpath = os.path.join(dirpath, name)
                    st = os.lstat(bpath)
                    fs = self.files.get(st.st_ino)
                    if fs is None or (not fs.undo and st.st_size <= fs.synced_size):
                        continue
                    fd = os.open(bpath, os.O_RDWR)
                    try:
                        undone = 0
                        for offset, old in reversed(fs.undo):
                            os.pwrite(fd, old, offset)
                            undone += len(old)
                        size = os.fstat(fd).st_size
                        cut = max(0, size - fs.synced_size)
                        if tail == "zeros" and size > fs.synced_size:
                            os.pwrite(fd, bytes(cut), fs.synced_size)
                        else:
                            os.ftruncate(fd, fs.synced_size)
                    finally:
                        os.close(fd)
                    rel = "/" + os.path.relpath(bpath, backing)
                    files[rel] = {"undone": undone, "cut": cut}
            self.files.clear()
            return {"files": files, "entries": entries}

        def control(self, cmd):
            with self.mu:
                op = cmd["op"]
                if op == "sync_all":
                    self.files.clear()
                    for entries in self.new_entries.values():
                        for prev in entries.values():
                            if prev is not None:
                                os.unlink(prev)
                    self.new_entries.clear()
                    return {}
                if op == "freeze":
                    self._freeze({"command": True})
                    return {"frozen_at": self.frozen_at, "frozen_by": self.frozen_by}
                if op == "arm":
                    self.trigger = {"pattern": cmd["pattern"], "on": cmd.get("on", "write"),
                                    "min_unsynced_ms": cmd.get("min_unsynced_ms", 0),
                                    "min_offset": cmd.get("min_offset", 0),
                                    "while_held": cmd.get("while_held", False)}
                    return {}
                if op == "hold_fsync":
                    self.hold = (cmd["pattern"], cmd["seconds"])
                    return {}
                if op == "status":
                    unsynced, max_unsynced = {}, {}
                    now = time.monotonic()
                    for fs in self.files.values():
                        if fs.path is None:
                            continue
                        max_unsynced[fs.path] = max(fs.max_unsynced_ms, fs.unsynced_ms(now))
                        try:
                            size = os.lstat(self._p(fs.path)).st_size
                        except OSError:
                            continue
                        if size > fs.synced_size or fs.undo:
                            unsynced[fs.path] = {"bytes": max(0, size - fs.synced_size),
                                                 "unsynced_ms": fs.unsynced_ms(now)}
                    return {"frozen": self.frozen, "frozen_at": self.frozen_at,
                            "frozen_by": self.frozen_by, "fsyncs": self.fsyncs,
                            "fsyncdirs": self.fsyncdirs, "fsyncs_held": self.holding,
                            "unsynced": unsynced,
                            "max_unsynced_ms": max_unsynced,
                            "new_entries": sorted(os.path.join(d, n)
                                                  for d, e in self.new_entries.items()
                                                  for n in e)}
                if op == "drop":
                    if not self.frozen:
                        return {"error": "drop while the power is on"}
                    return self.drop(cmd.get("tail", "truncate"))
                return {"error": "unknown command %r" % op}

    ops = PowerLoss()

    def control_loop():
        for line in sys.stdin:
            try:
                reply = ops.control(json.loads(line))
            except Exception as e:  # noqa: BLE001 - reported to the test
                reply = {"error": "%s: %s" % (type(e).__name__, e)}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()

    threading.Thread(target=control_loop, daemon=True).start()
    # direct_io: every read and write reaches this process (no page cache of
    # the mount to go stale when a cut changes the files behind it); no
    # attribute or entry caching for the same reason. hard_remove: an unlink
    # is an unlink (no .fuse_hidden files).
    FUSE(ops, mountpoint, foreground=True, nothreads=False, direct_io=True,
         attr_timeout=0, entry_timeout=0, negative_timeout=0, hard_remove=True,
         big_writes=True, max_write=131072, fsname="powerloss")


if __name__ == "__main__":
    serve(*sys.argv[1:4])
