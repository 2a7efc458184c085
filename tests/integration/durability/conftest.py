# Every test: a hang guard, and every server it made stopped and judged.
from server import servers_are_checked, watchdog  # noqa: F401 (fixtures)
