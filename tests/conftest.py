"""Make this checkout importable as ansible_collections.factiii.infra for pytest."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = os.path.join(ROOT, '.pytest-collections')
LINK = os.path.join(BASE, 'ansible_collections', 'factiii', 'infra')

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if BASE not in sys.path:
    sys.path.insert(0, BASE)

# Test helpers (fake.py, sim_debian.py) are imported by name from tests/unit.
UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'unit')
if UNIT not in sys.path:
    sys.path.insert(0, UNIT)
