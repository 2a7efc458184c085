import os
import sys

# Shares the process helpers of the durability tests.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "durability"))
