"""Helpers shared by the integration and molecule tests."""
import os
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tool(name):
    """The tool from the venv running pytest, else from PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    found = beside if os.access(beside, os.X_OK) else shutil.which(name)
    if not found:
        pytest.fail('%s not found: run scripts/setup and pytest from .venv' % name)
    return found
