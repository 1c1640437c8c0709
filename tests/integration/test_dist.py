"""The release files as a user installs them: scripts/build-dist, then a fresh venv with only the
wheel (tests/conftest.py's dist_venv), used from a directory with no ansible.cfg and the venv NOT on
PATH. The dev scan on this machine changes nothing."""
import json
import os
import re
import shutil
import subprocess
import tarfile
import zipfile

import pytest
import yaml

from support import ROOT, run_reported, tool

DEV_INVENTORY = '''all:
  children:
    dev:
      hosts:
        devbox:
          ansible_connection: local
          ansible_python_interpreter: "{{ ansible_playbook_python }}"
'''


def version():
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        return [line.split(':', 1)[1].strip() for line in handle if line.startswith('version:')][0]


def site_packages(venv):
    found = [os.path.join(venv, 'lib', d, 'site-packages') for d in os.listdir(os.path.join(venv, 'lib'))]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def user_env(tmp_path):
    """A shell with no configuration of ours: no ansible.cfg, nothing on PATH but the system's,
    an empty HOME (no ~/.ansible/collections), no collections path."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'FACTIII_', 'GITHUB_', 'GH_')))
    home = tmp_path / 'home'
    home.mkdir()
    env.update({'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'HOME': str(home), 'ANSIBLE_NOCOLOR': '1'})
    return env


@pytest.fixture
def app(tmp_path):
    """An empty app repository directory."""
    path = tmp_path / 'app'
    (path / 'factiii').mkdir(parents=True)
    (path / 'factiii' / 'hosts.yml').write_text(DEV_INVENTORY)
    return path


def test_the_files_are_named_by_the_version_and_the_wheel_carries_the_collection(dist_venv, tmp_path):
    venv, wheel, tarball = dist_venv
    v = version()
    assert os.path.basename(tarball) == 'factiii-infra-%s.tar.gz' % v
    assert os.path.basename(wheel) == 'factiii_cli-%s-py3-none-any.whl' % v
    with tarfile.open(tarball) as tar:
        in_tarball = sorted(m.name for m in tar.getmembers() if m.isfile())
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        bundled = whl.read('factiii_cli/_bundle/factiii-infra-%s.tar.gz' % v)
    prefix = 'ansible_collections/factiii/infra/'
    # ansible-galaxy install adds FILES.json/MANIFEST.json from the tarball as they are: same file list
    assert sorted(n[len(prefix):] for n in names if n.startswith(prefix)) == in_tarball
    with open(tarball, 'rb') as handle:
        assert bundled == handle.read()
    # installed: the collection at top level of site-packages, the tarball as package data
    installed = os.path.join(site_packages(venv), 'ansible_collections', 'factiii', 'infra')
    with open(os.path.join(installed, 'MANIFEST.json')) as handle:
        assert json.load(handle)['collection_info']['version'] == v
    assert os.access(os.path.join(installed, 'bin', 'factiii-summary'), os.X_OK)
    # what `factiii init` vendors, found by the installed CLI
    proc = run_reported([os.path.join(venv, 'bin', 'python'), '-c',
                         'from factiii_cli.collection import bundled_tarball; print(bundled_tarball())'],
                        dict(os.environ), 60, cwd=tmp_path)
    assert proc.stdout.strip() == os.path.join(site_packages(venv), 'factiii_cli', '_bundle',
                                               os.path.basename(tarball)), proc.report


# The top level of the collection tarball: what a user runs or reads, nothing test-only or dev tooling.
SHIPPED = ['CHANGELOG.md', 'CONTRIBUTING.md', 'FILES.json', 'LICENSE', 'MANIFEST.json', 'README.md', 'SECURITY.md',
           'app-template', 'bin', 'changelogs', 'docs', 'inventories', 'meta', 'playbooks', 'plugins', 'roles',
           'workflow-templates']


def test_the_collection_tarball_ships_no_test_only_file_nor_dev_tooling(built_collection):
    """galaxy.yml's build_ignore: no tests, test-only collection requirements (requirements.yml),
    dev settings, caches or changelog fragments; the license and galaxy.yml's links are in the manifest."""
    with tarfile.open(built_collection[0]) as tar:
        names = sorted(m.name for m in tar.getmembers() if m.isfile())
        manifest = json.load(tar.extractfile('MANIFEST.json'))
        shipped_license = tar.extractfile('LICENSE').read()
    assert sorted(set(n.split('/')[0] for n in names)) == SHIPPED, names
    assert [n for n in names if n.startswith('changelogs/')] == ['changelogs/changelog.yaml']
    assert [n for n in names if '__pycache__' in n or n.endswith(('.pyc', '.tar.gz'))] == []
    with open(os.path.join(ROOT, 'LICENSE'), 'rb') as handle:
        assert shipped_license == handle.read()
    info = manifest['collection_info']
    assert info['license'] == ['GPL-3.0-or-later']
    assert [info[k] for k in ('repository', 'documentation', 'homepage', 'issues')] == [
        'https://github.com/factiii/factiii.infra', 'https://github.com/factiii/factiii.infra/blob/main/README.md',
        'https://github.com/factiii/factiii.infra', 'https://github.com/factiii/factiii.infra/issues']


def test_versions_that_differ_stop_the_build(tmp_path):
    """galaxy.yml says one version, the CLI another: build-dist fails loudly, writes nothing."""
    tree = tmp_path / 'tree'
    shutil.copytree(ROOT, str(tree), ignore=shutil.ignore_patterns(
        '.venv', '.git', 'build', '.collections', '.pytest-collections', '__pycache__', '.pytest_cache', 'tests'))
    galaxy = tree / 'galaxy.yml'
    galaxy.write_text(galaxy.read_text().replace('version: %s' % version(), 'version: 9.9.9'))
    env = dict(os.environ)
    env['PATH'] = os.path.join(ROOT, '.venv', 'bin') + os.pathsep + env['PATH']

    proc = run_reported(['bash', str(tree / 'scripts' / 'build-dist'), str(tmp_path / 'out')], env, 300, cwd=tmp_path)

    assert proc.returncode != 0, proc.report
    assert 'versions differ: galaxy.yml 9.9.9, cli/pyproject.toml %s' % version() in proc.stderr, proc.report
    assert 'Traceback' not in proc.stderr, proc.report
    assert not list((tmp_path / 'out').glob('*')), proc.report


def test_the_installed_tools_work_with_no_config_and_the_venv_not_on_path(dist_venv, user_env, app):
    venv = dist_venv[0]
    v = version()
    installed = os.path.join(site_packages(venv), 'ansible_collections', 'factiii', 'infra')

    proc = run_reported([os.path.join(venv, 'bin', 'factiii'), '--version'], user_env, 120, cwd=app)
    assert proc.returncode == 0, proc.report
    assert proc.stdout.splitlines() == ['factiii %s' % v, 'factiii.infra %s, installed in %s' % (
        v, site_packages(venv))], proc.report

    # the CLI's report is the library of the collection inside the wheel, imported from there as it is installed
    proc = run_reported([os.path.join(venv, 'bin', 'python'), '-c', 'from factiii_cli import collection; '
                         'print(collection.find().results.__file__)'], user_env, 120, cwd=app)
    assert proc.returncode == 0, proc.report
    assert proc.stdout == os.path.join(installed, 'plugins', 'plugin_utils', 'results.py') + '\n', proc.report
    # and the job summary of that collection runs with any python3 (no ansible-core, no venv)
    (app / 'results.json').write_text('{"format": 1, "check_mode": true, "stages": {}}')
    proc = run_reported(['python3', '-I', '-S', os.path.join(installed, 'bin', 'factiii-summary'), 'results.json'],
                        user_env, 120, cwd=app)
    assert proc.returncode == 0, proc.report
    assert proc.stdout == '## RESULTS BY STAGE (scan)\n\nNo stage reported any result.\n', proc.report

    proc = run_reported([os.path.join(venv, 'bin', 'ansible-doc'), 'factiii.infra.stage'], user_env, 120, cwd=app)
    assert proc.returncode == 0, proc.report
    assert os.path.join(installed, 'plugins', 'modules', 'stage.py') in proc.stdout, proc.report

    proc = run_reported([os.path.join(venv, 'bin', 'ansible-playbook'), 'factiii.infra.scan', '--syntax-check'],
                        user_env, 120, cwd=app)
    assert proc.returncode == 0, proc.report
    assert 'playbook: %s' % os.path.join(installed, 'playbooks', 'scan.yml') in proc.stdout, proc.report


def _dev_scan(proc, out):
    """The dev scan of factiii/hosts.yml ran: the report printed, its JSON written (rc 1 only for a failed fix)."""
    assert 'exited 127' not in proc.stderr and 'Traceback' not in proc.stderr, proc.report
    assert os.path.isfile(str(out)), proc.report
    with open(str(out)) as handle:
        data = json.load(handle)
    assert proc.returncode == (1 if data['total']['failed'] else 0), proc.report
    assert proc.stdout.startswith('RESULTS BY STAGE\n\nDEV:\n'), proc.report
    assert data['check_mode'] is True
    return data


def test_scan_with_relative_paths_from_the_app_directory(dist_venv, user_env, app):
    """--inventory and --json relative to where the CLI was started (ansible-runner runs elsewhere)."""
    proc = run_reported([os.path.join(dist_venv[0], 'bin', 'factiii'), 'scan', '--dev', '--inventory',
                         'factiii/hosts.yml', '--json', 'out.json'], user_env, 600, cwd=app)

    data = _dev_scan(proc, app / 'out.json')
    assert list(data['stages']['dev']['hosts']) == ['devbox'], proc.report
    assert 'factiii.infra.scan (collection installed in %s); inventory %s (--inventory)' % (
        site_packages(dist_venv[0]), app / 'factiii' / 'hosts.yml') in proc.stderr, proc.report


def test_the_inventory_of_the_ansible_cfg_in_force_applies_through_runner(dist_venv, user_env, app):
    """An ansible.cfg with a relative `inventory =` (relative to the cfg, as Ansible reads it),
    in the directory the CLI starts in; ansible-runner runs ansible-playbook elsewhere."""
    (app / 'ansible.cfg').write_text('[defaults]\ninventory = factiii/hosts.yml\n')

    proc = run_reported([os.path.join(dist_venv[0], 'bin', 'factiii'), 'scan', '--dev', '--json', 'out.json'],
                        user_env, 600, cwd=app)

    data = _dev_scan(proc, app / 'out.json')
    assert list(data['stages']['dev']['hosts']) == ['devbox'], proc.report
    assert 'inventory %s (%s)' % (app / 'factiii' / 'hosts.yml', app / 'ansible.cfg') in proc.stderr, proc.report


def test_a_collection_installed_elsewhere_wins_and_version_says_so(dist_venv, user_env, app, tmp_path):
    """ANSIBLE_COLLECTIONS_PATH comes before the Python path, for ansible-playbook and for the CLI."""
    venv = dist_venv[0]
    other = tmp_path / 'collections'
    shutil.copytree(os.path.join(site_packages(venv), 'ansible_collections'), str(other / 'ansible_collections'))
    manifest = other / 'ansible_collections' / 'factiii' / 'infra' / 'MANIFEST.json'
    data = json.loads(manifest.read_text())
    data['collection_info']['version'] = '0.9.0'
    manifest.write_text(json.dumps(data))
    env = dict(user_env, ANSIBLE_COLLECTIONS_PATH=str(other))

    proc = run_reported([os.path.join(venv, 'bin', 'factiii'), '--version'], env, 120, cwd=app)
    assert proc.returncode == 0, proc.report
    assert proc.stdout.splitlines()[1].startswith('factiii.infra 0.9.0, installed in %s (not the CLI\'s version' % (
        other)), proc.report

    proc = run_reported([os.path.join(venv, 'bin', 'factiii'), 'scan', '--dev', '-i', 'factiii/hosts.yml', '--json',
                         'out.json'], env, 600, cwd=app)
    _dev_scan(proc, app / 'out.json')
    assert 'factiii.infra.scan (collection installed in %s)' % other in proc.stderr, proc.report


def test_release_workflow_is_pinned_and_least_privilege():
    """actionlint-clean; every action pinned by a full SHA with its tag as a comment; id-token: write
    on the trusted-publishing job only; both publishing jobs behind the environment `release`."""
    path = os.path.join(ROOT, '.github', 'workflows', 'release.yml')
    proc = run_reported([tool('actionlint'), path], dict(os.environ), 120)
    assert proc.returncode == 0, proc.report
    with open(path) as handle:
        text = handle.read()
    uses = re.findall(r'^\s*(?:- )?uses: (\S+)(.*)$', text, re.M)
    assert uses
    for ref, comment in uses:
        assert re.match(r'^[\w.-]+/[\w.-]+@[0-9a-f]{40}$', ref) and re.match(r'^\s+# v\d', comment), (ref, comment)
    workflow = yaml.safe_load(text)
    assert workflow['permissions'] == {'contents': 'read'}
    jobs = workflow['jobs']
    assert {name: job.get('permissions') for name, job in jobs.items()} == {
        'build': None, 'github-release': {'contents': 'write'}, 'galaxy': None, 'pypi': {'id-token': 'write'}}
    assert [name for name, job in jobs.items() if job.get('environment')] == ['galaxy', 'pypi']
    assert all(jobs[name]['environment'] == 'release' for name in ('galaxy', 'pypi'))
    assert any('pypa/gh-action-pypi-publish@' in (s.get('uses') or '') for s in jobs['pypi']['steps'])
    assert '${{ secrets.GALAXY_API_KEY }}' in text and '--api-key' not in text


@pytest.fixture(scope='module')
def host_image():
    proc = run_reported(['bash', os.path.join(ROOT, 'tests', 'hosts', 'build-image')], dict(os.environ), 1200)
    if proc.returncode != 0:
        pytest.fail('cannot build the test host image:\n' + proc.report)


def test_the_wheel_on_a_server_runs_a_stage_on_server(dist_venv, host_image, tmp_path):
    """On a Debian server with no checkout: the wheel and its dependencies (a wheelhouse made here: the
    server reaches no package index) into a venv that is not on PATH; `factiii scan --staging --on-server`
    as root reports and changes nothing; as a user without root or sudo it is one line before anything runs."""
    from testhost import TestHosts
    venv, wheel = dist_venv[0], dist_venv[1]
    house = tmp_path / 'wheels'
    proc = run_reported([os.path.join(venv, 'bin', 'python'), '-m', 'pip', 'download', '--quiet', '--dest', house,
                         wheel, 'pip'], dict(os.environ), 900)
    assert proc.returncode == 0, proc.report
    pip_wheel, = house.glob('pip-*.whl')
    with TestHosts('t13di', 1, tmp_path, base_port=23820) as hosts:
        host = hosts[0]
        subprocess.run(['docker', 'cp', str(house), '%s:/root/wheels' % host.name], check=True, capture_output=True)
        # Debian's python3 without python3-venv has no ensurepip: pip runs from its own wheel
        host.exec('python3 -m venv --without-pip /opt/factiii && /opt/factiii/bin/python /root/wheels/%s/pip install '
                  '--quiet --no-index --find-links /root/wheels factiii-cli' % pip_wheel.name)
        app = '/srv/app'
        on_server = ('cd /root && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 '
                     'APP_REPO_URL=https://git.example.invalid/acme/app.git APP_DIR=%s '
                     '/opt/factiii/bin/factiii scan --staging --on-server --json /root/out.json' % app)
        proc = host.exec(on_server, check=False)
        report = '%s\nrc=%s\n--- stdout\n%s\n--- stderr\n%s' % (on_server, proc.returncode, proc.stdout, proc.stderr)
        assert 'Traceback' not in proc.stderr, report
        data = json.loads(host.exec('cat /root/out.json').stdout)
        assert list(data['stages']) == ['staging'], report
        assert proc.returncode == (1 if data['total']['failed'] else 0), report
        assert 'Would fix: staging-repo-not-cloned: would clone https://git.example.invalid/acme/app.git into %s' % (
            app) in proc.stdout, report
        assert host.exec('test -e %s' % app, check=False).returncode != 0, 'the scan created the app directory'

        host.exec('useradd --create-home ops')
        proc = host.exec('cd /home/ops && su ops -c "/opt/factiii/bin/factiii scan --staging --on-server"', check=False)
        assert proc.returncode == 2, (proc.stdout, proc.stderr)
        assert proc.stderr.splitlines() == [
            'factiii: error: --on-server runs the staging stage as root (staging_become), but this user is not root '
            'and sudo -n does not work: run factiii as root, give this user passwordless sudo, or set '
            'staging_become: false'], proc.stderr
