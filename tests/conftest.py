"""Make this checkout importable as ansible_collections.factiii.infra for pytest, and
build + install it for the tests that run Ansible for real."""
import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = os.path.join(ROOT, '.pytest-collections')
LINK = os.path.join(BASE, 'ansible_collections', 'factiii', 'infra')

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if BASE not in sys.path:
    sys.path.insert(0, BASE)

# Test helpers are imported by name: support.py from tests/, fake.py and sim_*.py from tests/unit.
for _helpers in ('', 'unit'):
    _path = os.path.join(os.path.dirname(os.path.abspath(__file__)), _helpers).rstrip(os.sep)
    if _path not in sys.path:
        sys.path.insert(0, _path)

from support import tool  # noqa: E402  (found through the sys.path entries above)


@pytest.fixture(scope='session')
def built_collection(tmp_path_factory):
    """(tarball, collections path): this tree built and installed as factiii.infra.

    Built here rather than taken from ./.collections so that the tests always run the
    current code, and the build (galaxy.yml, build_ignore) is tested on the way.
    """
    base = tmp_path_factory.mktemp('collection')
    galaxy = tool('ansible-galaxy')
    subprocess.run([galaxy, 'collection', 'build', '--force', '--output-path', str(base), ROOT],
                   check=True, capture_output=True, text=True)
    tarball, = glob.glob(str(base / 'factiii-infra-*.tar.gz'))
    paths = base / 'collections'
    subprocess.run([galaxy, 'collection', 'install', '--force', '--no-deps', '-p', str(paths), tarball],
                   check=True, capture_output=True, text=True)
    return tarball, paths


@pytest.fixture(scope='session')
def summary_script(built_collection):
    """bin/factiii-summary of the built collection, installed: as the workflows run it."""
    return os.path.join(str(built_collection[1]), 'ansible_collections', 'factiii', 'infra', 'bin', 'factiii-summary')


@pytest.fixture(scope='session')
def ansible_env(built_collection):
    """Environment for ansible-playbook and molecule with the built collection installed."""
    paths = built_collection[1]
    env = dict(os.environ)
    env.pop('FACTIII_RESULTS_JSON', None)
    env.update({
        'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'),
        'ANSIBLE_COLLECTIONS_PATH': str(paths),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'PATH': os.path.dirname(tool('ansible-playbook')) + os.pathsep + env.get('PATH', ''),
    })
    return env


@pytest.fixture(scope='session')
def dist_venv(tmp_path_factory):
    """(venv, wheel, tarball): scripts/build-dist of this tree, and a fresh venv with only that wheel
    installed (its dependencies from the package index), as a user installs the release.

    The venv is made from the interpreter running pytest (its base Python, not this venv)."""
    base = tmp_path_factory.mktemp('dist')
    out, venv = base / 'dist', base / 'venv'
    env = dict(os.environ)
    env.pop('ANSIBLE_CONFIG', None)

    def run(*argv):
        proc = subprocess.run([str(a) for a in argv], env=env, capture_output=True, text=True, check=False,
                              timeout=900)
        if proc.returncode != 0:
            pytest.fail('%s failed (rc %s):\n%s%s' % (
                ' '.join(map(str, argv)), proc.returncode, proc.stdout, proc.stderr))
    run('bash', os.path.join(ROOT, 'scripts', 'build-dist'), out)
    wheel, = glob.glob(str(out / 'factiii_cli-*-py3-none-any.whl'))
    tarball, = glob.glob(str(out / 'factiii-infra-*.tar.gz'))
    run(sys.executable, '-m', 'venv', venv)
    run(venv / 'bin' / 'python', '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', wheel)
    return str(venv), wheel, tarball


@pytest.fixture(scope='session')
def test_host_image():
    """The test host image (tests/hosts/build-image: reused while its inputs are unchanged)."""
    proc = subprocess.run(['bash', os.path.join(ROOT, 'tests', 'hosts', 'build-image')], capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL, timeout=1200)
    if proc.returncode != 0:
        pytest.fail('cannot build the test host image:\n%s%s' % (proc.stdout, proc.stderr))
    return 'factiii-test-host:bookworm'
