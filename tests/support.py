"""Helpers shared by the integration and molecule tests."""
import importlib.util
import os
import shutil
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tool(name):
    """The tool from the venv running pytest, else from PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    found = beside if os.access(beside, os.X_OK) else shutil.which(name)
    if not found:
        pytest.fail('%s not found: run scripts/setup and pytest from .venv' % name)
    return found


def run_reported(argv, env, timeout, cwd=ROOT, text=True):
    """subprocess.run of ``argv`` with stdin closed and the output captured; never raises on
    the exit code. Adds ``proc.seconds`` and ``proc.report`` (the command, its exit code and
    time, and the tails of its output) for assertion messages."""
    start = time.monotonic()
    proc = subprocess.run([str(a) for a in argv], cwd=str(cwd), env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=text, timeout=timeout, check=False)
    proc.seconds = time.monotonic() - start

    def tail(out):
        out = out[-20000:]
        return out if text else out.decode('utf-8', 'replace')
    proc.report = '%s\nrc=%s (%.0fs)\n--- stdout\n%s\n--- stderr\n%s' % (
        ' '.join(str(a) for a in argv), proc.returncode, proc.seconds, tail(proc.stdout), tail(proc.stderr))
    return proc


def molecule_helpers(name):
    """tests/molecule/<name>.py as a module, for the helpers of another test file (pytest's
    importlib mode puts no test directory on sys.path); a fresh module each call."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'molecule', name + '.py')
    spec = importlib.util.spec_from_file_location('factiii_%s_helpers' % name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
