"""A small tmpfs to fill up (needs root, as CI has: there a failed mount
fails the test; elsewhere it is skipped): the `small_fs` fixture (import it
into a test module) and fill()."""
import os
import subprocess

import pytest

from server import cannot_run


@pytest.fixture
def small_fs(tmp_path):
    mnt = str(tmp_path / "mnt")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", mnt],
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        cannot_run("cannot mount a tmpfs here: " + r.stderr.decode().strip())
    yield mnt
    subprocess.run(["umount", "-l", mnt])


def fill(path):
    """Fills the file system with one file; returns its path."""
    filler = os.path.join(path, "filler")
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 20, 4096):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                pass
    return filler
