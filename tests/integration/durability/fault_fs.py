"""A file system whose fsync can be made to fail (needs root and /dev/fuse,
as CI has: there a failed mount fails the test; elsewhere it is skipped):
a FUSE pass-through over a directory, in its own process. The
`fault_fs` fixture (import it into a test module) mounts one and yields it;
fail_fsync(True) makes every fsync and fdatasync under the mount fail with
EIO until fail_fsync(False). Reads and writes are unaffected.

Run as a program, it is the file system: fault_fs.py BACKING MOUNTPOINT FLAG
(fsyncs fail while the file FLAG exists)."""
import errno
import os
import subprocess
import sys
import time

import pytest


class FaultFs:
    def __init__(self, mnt, flag):
        self.mnt = mnt
        self.flag = flag

    def fail_fsync(self, fail):
        if fail:
            open(self.flag, "w").close()
        elif os.path.exists(self.flag):
            os.remove(self.flag)


@pytest.fixture
def fault_fs(tmp_path):
    from server import cannot_run  # (not when run as the file system)
    try:
        import fusepy  # noqa: F401 (Debian's python3-fusepy)
    except ImportError:
        cannot_run("python3-fusepy is not installed (tools/setup.sh --test installs it)")
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        cannot_run("no usable /dev/fuse here")
    back, mnt, flag = tmp_path / "back", tmp_path / "mnt", str(tmp_path / "fail-fsync")
    back.mkdir()
    mnt.mkdir()
    log = open(tmp_path / "fault_fs.log", "w")
    proc = subprocess.Popen([sys.executable, __file__, str(back), str(mnt), flag],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120  # a hang guard
    while not os.path.ismount(mnt):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            log.close()
            cannot_run("cannot mount a FUSE file system here: " +
                       (tmp_path / "fault_fs.log").read_text()[-500:])
        time.sleep(0.05)
    try:
        yield FaultFs(str(mnt), flag)
    finally:
        subprocess.run(["umount", "-l", str(mnt)])
        proc.kill()
        proc.wait()
        log.close()


def main(backing, mountpoint, flag):
    from fusepy import FUSE, FuseOSError, Operations

    class PassThrough(Operations):
        def _p(self, path):
            return os.path.join(backing, path.lstrip("/"))

        def getattr(self, path, fh=None):
            st = os.lstat(self._p(path))
            return {k: getattr(st, k) for k in (
                "st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink",
                "st_size", "st_uid")}

        def readdir(self, path, fh):
            return [".", ".."] + os.listdir(self._p(path))

        def statfs(self, path):
            st = os.statvfs(self._p(path))
            return {k: getattr(st, k) for k in (
                "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                "f_files", "f_flag", "f_frsize", "f_namemax")}

        def mkdir(self, path, mode):
            os.mkdir(self._p(path), mode)

        def rmdir(self, path):
            os.rmdir(self._p(path))

        def unlink(self, path):
            os.unlink(self._p(path))

        def rename(self, old, new):
            os.rename(self._p(old), self._p(new))

        def chmod(self, path, mode):
            os.chmod(self._p(path), mode)

        def utimens(self, path, times=None):
            os.utime(self._p(path), times)

        def truncate(self, path, length, fh=None):
            os.truncate(self._p(path), length)

        def open(self, path, flags):
            return os.open(self._p(path), flags)

        def create(self, path, mode, fi=None):
            return os.open(self._p(path), os.O_RDWR | os.O_CREAT, mode)

        def read(self, path, size, offset, fh):
            return os.pread(fh, size, offset)

        def write(self, path, data, offset, fh):
            return os.pwrite(fh, data, offset)

        def flush(self, path, fh):
            return 0

        def release(self, path, fh):
            os.close(fh)

        def fsync(self, path, datasync, fh):
            if os.path.exists(flag):
                raise FuseOSError(errno.EIO)
            os.fsync(fh)
            return 0

        def fsyncdir(self, path, datasync, fh):
            if os.path.exists(flag):
                raise FuseOSError(errno.EIO)
            return 0

    FUSE(PassThrough(), mountpoint, foreground=True, nothreads=False)


if __name__ == "__main__":
    main(*sys.argv[1:4])
