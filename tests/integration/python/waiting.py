"""Waiting for a condition in tests: a hang guard, never a measure."""
import time

import redis

HANG_GUARD_S = 600  # far above what any wait takes on a loaded machine


def until(pred, what, timeout=HANG_GUARD_S):
    """Polls pred() until it is true; a connection error or timeout counts as
    not yet (a server busy with a script may not answer a try)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if pred():
                return
        except (redis.exceptions.TimeoutError, redis.exceptions.ConnectionError):
            pass
        assert time.monotonic() < deadline, what
        time.sleep(0.02)
