"""Fixtures for the integration tests: ansible-playbook run from the repository root."""

import pytest

from support import run_reported, tool as _tool


@pytest.fixture(scope='session')
def playbook(ansible_env):
    """Run ansible-playbook from the repository root: playbook('playbooks/scan.yml', '-l', 'dev')."""
    def run(*args, results=None, timeout=1800):
        env = dict(ansible_env)
        if results is not None:
            env['FACTIII_RESULTS_JSON'] = str(results)
        return run_reported([_tool('ansible-playbook')] + list(args), env, timeout)
    return run
