"""Fixtures of the molecule scenarios: the test host image, built once per run."""
import os
import subprocess

import pytest

from support import ROOT

IMAGE_SCRIPT = os.path.join(ROOT, 'tests', 'hosts', 'build-image')


@pytest.fixture(scope='session')
def test_host_image():
    proc = subprocess.run(['bash', IMAGE_SCRIPT], capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL, timeout=1200)
    if proc.returncode != 0:
        pytest.fail('cannot build the test host image:\n%s%s' % (proc.stdout, proc.stderr))
    return 'factiii-test-host:bookworm'
