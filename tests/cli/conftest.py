"""Fixtures for the factiii CLI tests: the fake GitHub API, and the CLI run as a user runs it."""
import os
import signal
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from fake_github import FakeGitHub  # noqa: E402  (found through the sys.path entry above)
from support import run_reported, tool  # noqa: E402

GITHUB_ENV = ('GITHUB_TOKEN', 'GH_TOKEN', 'GITHUB_REPOSITORY', 'FACTIII_GITHUB_API_URL', 'GITHUB_API_URL',
              'FACTIII_GITHUB_CA_BUNDLE', 'FACTIII_RESULTS_JSON',
              'ANSIBLE_CONFIG', 'ANSIBLE_INVENTORY')


@pytest.fixture(autouse=True)
def terminal_signals():
    """Ctrl-C, kill and a closed terminal as a terminal delivers them, whatever started pytest: a job run in
    the background (``cmd &`` in a script, nohup) inherits SIGINT, SIGQUIT and SIGHUP ignored, and so would
    every process a test starts, so a signal the CLI passes on would never reach them."""
    saved = dict((number, signal.getsignal(number)) for number in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    yield
    for number, handler in saved.items():
        signal.signal(number, handler if handler is not None else signal.SIG_DFL)


@pytest.fixture
def fake():
    server = FakeGitHub()
    yield server
    server.stop()
    # GitHub's API version on every request the CLI (or the secrets stage) sent
    assert server.unversioned() == [], server.unversioned()


@pytest.fixture(scope='session')
def cb():
    """The report library whose report the CLI prints (this checkout's)."""
    from ansible_collections.factiii.infra.plugins.plugin_utils import results
    return results


@pytest.fixture
def cli_env(ansible_env, fake, tmp_path):
    """The environment of a developer's shell: the built collection installed, a token, the fake API."""
    env = dict(ansible_env)
    for name in GITHUB_ENV:
        env.pop(name, None)
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    env.update({
        'FACTIII_GITHUB_API_URL': fake.url,
        'GITHUB_TOKEN': fake.token,
        # tests put their own `gh` here; a real one later on PATH is never reached for a token
        'PATH': str(bin_dir) + os.pathsep + env['PATH'],
    })
    (bin_dir / 'gh').write_text('#!/bin/sh\necho "You are not logged into any GitHub hosts." >&2\nexit 1\n')
    (bin_dir / 'gh').chmod(0o755)
    return env


@pytest.fixture
def factiii(tmp_path):
    """Run the installed `factiii` command in an empty directory (no git clone, no ansible.cfg)."""
    work = tmp_path / 'work'
    work.mkdir()

    def run(*args, env, cwd=None, timeout=300):
        return run_reported([tool('factiii')] + list(args), env, timeout, cwd=cwd or work)
    return run
