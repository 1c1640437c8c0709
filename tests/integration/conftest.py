"""Fixtures for the integration tests: ansible-playbook run from the repository root."""
import subprocess

import pytest

from support import ROOT, tool as _tool


@pytest.fixture(scope='session')
def playbook(ansible_env):
    """Run ansible-playbook from the repository root: playbook('playbooks/scan.yml', '-l', 'dev')."""
    def run(*args, results=None, timeout=1800):
        env = dict(ansible_env)
        if results is not None:
            env['FACTIII_RESULTS_JSON'] = str(results)
        proc = subprocess.run([_tool('ansible-playbook')] + list(args), cwd=ROOT, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, check=False)
        # for assertion messages
        proc.report = 'ansible-playbook %s\nrc=%s\n--- stdout\n%s\n--- stderr\n%s' % (
            ' '.join(args), proc.returncode, proc.stdout, proc.stderr)
        return proc
    return run
