"""Fixtures for the integration tests: the collection as built from this tree, and ansible-playbook."""
import glob
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tool(name):
    """The tool from the venv running pytest, else from PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    found = beside if os.access(beside, os.X_OK) else shutil.which(name)
    if not found:
        pytest.fail('%s not found: run scripts/setup and pytest from .venv' % name)
    return found


@pytest.fixture(scope='session')
def ansible_env(tmp_path_factory):
    """Environment for ansible-playbook with this tree built and installed as factiii.infra.

    Built here rather than taken from ./.collections so that the tests always run the
    current code, and the build (galaxy.yml, build_ignore) is tested on the way.
    """
    base = tmp_path_factory.mktemp('collection')
    galaxy = _tool('ansible-galaxy')
    subprocess.run([galaxy, 'collection', 'build', '--force', '--output-path', str(base), ROOT],
                   check=True, capture_output=True, text=True)
    tarball, = glob.glob(str(base / 'factiii-infra-*.tar.gz'))
    paths = base / 'collections'
    subprocess.run([galaxy, 'collection', 'install', '--force', '--no-deps', '-p', str(paths), tarball],
                   check=True, capture_output=True, text=True)
    env = dict(os.environ)
    env.pop('FACTIII_RESULTS_JSON', None)
    env.update({
        'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'),
        'ANSIBLE_COLLECTIONS_PATH': str(paths),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'PATH': os.path.dirname(_tool('ansible-playbook')) + os.pathsep + env.get('PATH', ''),
    })
    return env


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
