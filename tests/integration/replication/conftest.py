import os
import sys

# Shares the process helpers of the durability tests, and with them the
# fixtures that guard every test against a hang and judge every server it
# made when it ends.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "durability"))
from server import servers_are_checked, watchdog  # noqa: E402,F401 (fixtures)
