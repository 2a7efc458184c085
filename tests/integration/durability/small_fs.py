"""A small tmpfs to fill up (needs root, as CI has): the `small_fs` fixture
(import it into a test module) and fill()."""
import os
import subprocess

import pytest


@pytest.fixture
def small_fs(tmp_path):
    mnt = str(tmp_path / "mnt")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", mnt],
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: " + r.stderr.decode())
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
