"""playbooks/dev_sync.yml against a real SSH test host, run the way factiii-dev-sync.yml runs it:
through bin/factiii-ssh-run, with the key and host key from STAGING_SSH / STAGING_KNOWN_HOSTS.

The built tarball is installed on the host with the host's own ansible-core, verified by sha256
(the tarball on both sides, every installed file against its FILES.json) before the stage runs
there; a tampered install stops the play before any stage runs; a second version, then a
rollback, switch /opt/factiii/current back and forth; old versions are pruned, never the ones
current and previous lead to, however the root is spelled; the stage's variables reach the server
as data (a template in a value never runs there). The tests run in file order and share the host.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from support import ROOT, run_reported, tool
from testhost import TestHosts

SERVER_BIN = '/opt/factiii-ansible/bin'
HOST = 'factiii-t12sync-0'  # TestHosts('t12sync', ...) below
BASE = '/opt/factiii'
FIXES = ('git-missing', 'node-missing', 'docker-missing', 'repo-not-cloned', 'pnpm-missing', 'docker-not-running',
         'docker-autostart', 'sleep-enabled', 'autorestart-off', 'updates-restart', 'filevault-on', 'remote-login-off',
         'sudo-needs-password')
STAGE_IDS = ['staging-%s' % name for name in FIXES]


def ansible_core_pin():
    with open(os.path.join(ROOT, 'requirements.txt')) as handle:
        pins = [line.strip() for line in handle if line.startswith('ansible-core==')]
    assert len(pins) == 1, 'requirements.txt pins ansible-core once'
    return pins[0]


def galaxy_version(path=ROOT):
    with open(os.path.join(path, 'galaxy.yml')) as handle:
        return yaml.safe_load(handle)['version']


def sha256sum(path):
    """sha256 as the sha256sum command prints it (the tool a person would check with)."""
    out = subprocess.run(['sha256sum', str(path)], capture_output=True, text=True, check=True).stdout
    digest = out.split()[0]
    with open(path, 'rb') as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == digest
    return digest


class Sync:
    """One staging host and the dev-sync run against it."""

    def __init__(self, hosts, workdir, env):
        self.hosts = hosts
        self.host = hosts[0]
        self.workdir = workdir
        self.env = env
        self.inventory = workdir / 'staging.yml'
        # Only the address: the key and the host key come from factiii-ssh-run, as in the workflow.
        self.inventory.write_text(yaml.safe_dump({'all': {'children': {'staging': {
            'hosts': {self.host.name: {'ansible_host': '127.0.0.1', 'ansible_port': self.host.port,
                                       'ansible_user': 'root'}},
            'vars': {'staging_repo_url': '/srv/origin.git', 'staging_repo_dest': '/srv/app'}}}}}))
        self.runs = 0

    def run(self, *extra, inventory=None, env=None):
        self.runs += 1
        tmp = self.workdir / ('tmp%d' % self.runs)
        tmp.mkdir()
        env = dict(self.env, TMPDIR=str(tmp), **(env or {}))
        with open(self.hosts.key) as handle:
            env['STAGING_SSH'] = handle.read()
        with open(self.hosts.known_hosts) as handle:
            env['STAGING_KNOWN_HOSTS'] = handle.read()
        argv = [os.path.join(ROOT, 'bin', 'factiii-ssh-run'), 'staging', '--', tool('ansible-playbook'),
                '-i', str(inventory or self.inventory), 'playbooks/dev_sync.yml', '-l', 'staging',
                '-e', 'dev_sync_ansible_bin=%s' % SERVER_BIN] + list(extra)
        proc = run_reported(argv, env, 900)
        # factiii-ssh-run removed the key whatever happened
        assert os.listdir(str(tmp)) == [], proc.report
        return proc

    def sh(self, command):
        return self.host.exec(command).stdout.strip()

    def link(self, name, base=BASE):
        return self.sh('readlink %s/%s' % (base, name))

    def resolves(self, name, base=BASE):
        """Where base/name leads, '' when it leads nowhere (a dangling link)."""
        return self.host.exec('readlink -e %s/%s' % (base, name), check=False).stdout.strip()

    def versions(self, base=BASE):
        return sorted(self.sh('ls %s/collections' % base).split())


@pytest.fixture(scope='module')
def sync(test_host_image, tmp_path_factory, ansible_env):
    workdir = tmp_path_factory.mktemp('dev-sync')
    with TestHosts('t12sync', 1, workdir, base_port=23640) as hosts:
        yield Sync(hosts, workdir, ansible_env)


@pytest.fixture(scope='module')
def server_ansible(sync):
    """ansible-core on the host, in a venv, at the version the controller pins."""
    sync.host.exec('export DEBIAN_FRONTEND=noninteractive; apt-get update -qq '
                   '&& apt-get install -y -qq python3-venv >/dev/null')
    sync.host.exec('python3 -m venv /opt/factiii-ansible && PIP_CERT=/etc/ssl/certs/ca-certificates.crt '
                   '%s/pip install -q --disable-pip-version-check %s' % (SERVER_BIN, ansible_core_pin()))
    return SERVER_BIN


def test_a_server_without_ansible_core_is_refused_before_anything_is_installed(sync, built_collection):
    proc = sync.run('-e', 'dev_sync_tarball=%s' % built_collection[0])
    assert proc.returncode != 0, proc.report
    assert 'ansible-core is not installed on %s' % HOST in proc.stdout + proc.stderr, proc.report
    assert sync.host.exec('test -e %s' % BASE, check=False).returncode != 0, 'nothing is installed'


def test_the_built_tarball_is_installed_verified_and_the_stage_runs_there(sync, server_ansible, built_collection, tmp_path):
    tarball = built_collection[0]
    digest = sha256sum(tarball)
    version_dir = '%s/collections/%s-%s' % (BASE, galaxy_version(), digest[:12])
    logins = sync.host.ssh_logins()

    proc = sync.run('-e', 'dev_sync_tarball=%s' % tarball, '-e', 'dev_sync_run=scan',
                    '-e', 'dev_sync_results_dir=%s' % tmp_path)
    assert proc.returncode == 0, proc.report

    # the play printed the proof, with the sha256 of the tarball built here
    assert 'verified factiii.infra %s sha256 %s' % (galaxy_version(), digest) in proc.stdout, proc.report
    assert '"dev-sync: %s/current -> %s' % (BASE, version_dir) in proc.stdout, proc.report
    # the server has exactly that tarball, recorded, installed in its versioned directory, current
    assert sync.sh('sha256sum %s/%s' % (version_dir, os.path.basename(tarball))).split()[0] == digest
    assert json.loads(sync.sh('cat %s/dev-sync.json' % version_dir))['sha256'] == digest
    assert sync.link('current') == version_dir
    assert sync.host.exec('test -e %s/previous' % BASE, check=False).returncode != 0
    installed = json.loads(sync.sh('cat %s/current/ansible_collections/factiii/infra/MANIFEST.json' % BASE))
    assert installed['collection_info']['version'] == galaxy_version()

    # the stage ran on the server (check mode), its results came back to the controller
    assert 'RESULTS BY STAGE' in proc.stdout, proc.report
    with open(tmp_path / ('dev-sync-%s.json' % HOST)) as handle:
        data = json.load(handle)
    assert data['check_mode'] is True
    rows = data['stages']['staging']['hosts'][HOST]['results']
    assert [r['fix_id'] for r in rows] and sorted(r['fix_id'] for r in rows) == sorted(STAGE_IDS), data
    # the stage's variables were handed over in a file that is gone
    assert sync.host.exec('test -e %s/run/staging-vars.json' % BASE, check=False).returncode != 0
    # one SSH connection for the whole dev-sync (ControlPersist, set up by factiii-ssh-run)
    assert sync.host.ssh_logins() - logins == 1


def test_a_tampered_install_stops_the_play_before_any_stage_runs(sync, server_ansible, built_collection, tmp_path):
    tarball = built_collection[0]
    digest = sha256sum(tarball)
    version_dir = '%s/collections/%s-%s' % (BASE, galaxy_version(), digest[:12])
    installed = version_dir + '/ansible_collections/factiii/infra'
    sync.host.exec("echo '- name: injected' >> %s/roles/staging/tasks/main.yml; "
                   "echo 'x = 1' > %s/plugins/modules/extra.py; rm -f %s/run/staging-results.json"
                   % (installed, installed, BASE))

    proc = sync.run('-e', 'dev_sync_tarball=%s' % tarball, '-e', 'dev_sync_run=scan',
                    '-e', 'dev_sync_results_dir=%s' % tmp_path)
    assert proc.returncode != 0, proc.report
    out = proc.stdout + proc.stderr
    assert 'is not the built collection (sha256 %s)' % digest in out, proc.report
    assert 'sha256 differs: roles/staging/tasks/main.yml' in out, proc.report
    assert 'unexpected: plugins/modules/extra.py' in out, proc.report
    # nothing ran after the failed proof
    assert 'Run the stage there' not in proc.stdout, proc.report
    assert 'RESULTS BY STAGE' not in proc.stdout, proc.report
    assert sync.host.exec('test -e %s/run/staging-results.json' % BASE, check=False).returncode != 0
    assert not os.listdir(str(tmp_path))

    # the remedy the message names: remove the version, dev-sync again
    sync.host.exec('rm -rf %s' % version_dir)
    proc = sync.run('-e', 'dev_sync_tarball=%s' % tarball, '-e', 'dev_sync_run=none')
    assert proc.returncode == 0, proc.report
    assert 'verified factiii.infra %s sha256 %s' % (galaxy_version(), digest) in proc.stdout, proc.report


def build_variant(tmp_path, version, fixes=None, base=BASE):
    """The collection rebuilt from a copy of this tree with another version (and staging_fixes)."""
    src = tmp_path / ('src-%s' % version)
    shutil.copytree(ROOT, str(src), ignore=shutil.ignore_patterns(
        '.git', '.venv', '.collections', '.pytest-collections', '.pytest_cache', '.hypothesis', '.cache',
        '.ansible', 'build', 'tests', 'bench', 'extensions', '__pycache__', '*.tar.gz'))
    galaxy = src / 'galaxy.yml'
    galaxy.write_text(re.sub(r'(?m)^version: .*$', 'version: %s' % version, galaxy.read_text()))
    if fixes:
        defaults = src / 'roles' / 'staging' / 'defaults' / 'main.yml'
        data = yaml.safe_load(defaults.read_text())
        data['staging_fixes'] = fixes
        defaults.write_text('---\n' + yaml.safe_dump(data))
    out = tmp_path / ('dist-%s' % version)
    subprocess.run([tool('ansible-galaxy'), 'collection', 'build', '--output-path', str(out), str(src)],
                   check=True, capture_output=True, text=True)
    tarball = out / ('factiii-infra-%s.tar.gz' % version)
    assert tarball.exists()
    return str(tarball), '%s/collections/%s-%s' % (base, version, sha256sum(tarball)[:12])


def stage_ids(results_dir):
    with open(os.path.join(str(results_dir), 'dev-sync-%s.json' % HOST)) as handle:
        data = json.load(handle)
    return sorted(r['fix_id'] for r in data['stages']['staging']['hosts'][HOST]['results'])


def test_a_second_version_then_a_rollback_switch_current_back(sync, server_ansible, built_collection, tmp_path):
    first = '%s/collections/%s-%s' % (BASE, galaxy_version(), sha256sum(built_collection[0])[:12])
    assert sync.link('current') == first
    # version 2 differs in what its staging stage runs: its results show which code ran on the server
    tarball, second = build_variant(tmp_path, '1.0.1', fixes=['git-missing'])

    results = tmp_path / 'v2'
    results.mkdir()
    proc = sync.run('-e', 'dev_sync_tarball=%s' % tarball, '-e', 'dev_sync_run=scan',
                    '-e', 'dev_sync_results_dir=%s' % results)
    assert proc.returncode == 0, proc.report
    assert (sync.link('current'), sync.link('previous')) == (second, first)
    assert stage_ids(results) == ['staging-git-missing']

    # the one command of a rollback (here with a scan after it, to see the code that runs)
    results = tmp_path / 'rollback'
    results.mkdir()
    proc = sync.run('-e', 'dev_sync_rollback=true', '-e', 'dev_sync_run=scan', '-e', 'dev_sync_results_dir=%s' % results)
    assert proc.returncode == 0, proc.report
    assert (sync.link('current'), sync.link('previous')) == (first, second)
    assert 'verified factiii.infra %s sha256 %s' % (galaxy_version(), sha256sum(built_collection[0])) in proc.stdout
    assert stage_ids(results) == sorted(STAGE_IDS)


def test_old_versions_are_pruned_but_never_current_or_previous(sync, server_ansible, built_collection, tmp_path):
    first = '%s/collections/%s-%s' % (BASE, galaxy_version(), sha256sum(built_collection[0])[:12])
    assert len(sync.versions()) == 2
    tarball, third = build_variant(tmp_path, '1.0.2')
    proc = sync.run('-e', 'dev_sync_tarball=%s' % tarball, '-e', 'dev_sync_run=none', '-e', 'dev_sync_keep=2')
    assert proc.returncode == 0, proc.report
    assert (sync.link('current'), sync.link('previous')) == (third, first)
    # 1.0.1 was the newest of the others, but keep=2 leaves room for current and previous only
    assert ['%s/collections/%s' % (BASE, v) for v in sync.versions()] == sorted([first, third])


# --- issue 12, finding 4: keep-N compared paths as strings --------------------------------
# find returns normalized paths while current/previous held dev_sync_root as spelled: with a
# trailing slash the prune took current and previous for old versions and removed them.


def sync_twice(sync, root, tmp_path, *extra):
    """Versions 1.0.3 then 1.0.4 synced under ``root`` spelled with a trailing slash."""
    dirs = []
    for version in ('1.0.3', '1.0.4'):
        tarball, version_dir = build_variant(tmp_path, version, base=root)
        proc = sync.run('-e', 'dev_sync_root=%s/' % root, '-e', 'dev_sync_tarball=%s' % tarball,
                        '-e', 'dev_sync_run=none', *extra)
        assert proc.returncode == 0, proc.report
        dirs.append(version_dir)
    return dirs


def test_a_root_with_a_trailing_slash_keeps_the_previous_version_to_roll_back_to(sync, server_ansible, tmp_path):
    root = '/srv/devsync-slash'
    first, second = sync_twice(sync, root, tmp_path)
    # current and previous lead to their versions: nothing they name was pruned
    assert (sync.resolves('current', root), sync.resolves('previous', root)) == (second, first)
    assert ['%s/collections/%s' % (root, v) for v in sync.versions(root)] == [first, second]

    proc = sync.run('-e', 'dev_sync_root=%s/' % root, '-e', 'dev_sync_rollback=true')
    assert proc.returncode == 0, proc.report
    assert (sync.resolves('current', root), sync.resolves('previous', root)) == (first, second)


def test_keep_2_with_a_trailing_slash_keeps_the_version_just_verified(sync, server_ansible, tmp_path):
    root = '/srv/devsync-keep2'
    first, second = sync_twice(sync, root, tmp_path, '-e', 'dev_sync_keep=2')
    # current leads to the version just verified, its files are there, previous is the one before
    assert sync.resolves('current', root) == second
    assert sync.host.exec('test -f %s/current/ansible_collections/factiii/infra/MANIFEST.json' % root,
                          check=False).returncode == 0
    assert sync.resolves('previous', root) == first
    assert ['%s/collections/%s' % (root, v) for v in sync.versions(root)] == [first, second]


def test_a_rollback_under_a_symlinked_root_with_keep_2_keeps_both_versions(sync, server_ansible, tmp_path):
    # current then names the real path, find the root's: the same directories spelled two ways
    sync.sh('mkdir -p /srv/devsync-real && ln -sfn devsync-real /srv/devsync-link')
    root = '/srv/devsync-link'
    first, second = sync_twice(sync, root, tmp_path, '-e', 'dev_sync_keep=2')
    proc = sync.run('-e', 'dev_sync_root=%s' % root, '-e', 'dev_sync_rollback=true', '-e', 'dev_sync_keep=2')
    assert proc.returncode == 0, proc.report
    real = [path.replace(root, '/srv/devsync-real') for path in (first, second)]
    assert [sync.resolves('current', root), sync.resolves('previous', root)] == real
    assert len(sync.versions(root)) == 2


@pytest.mark.parametrize('root', ['opt/factiii', '/opt/../etc', '/opt/./factiii', '/'])
def test_a_root_that_is_not_an_absolute_normalized_path_is_refused(sync, built_collection, root):
    proc = sync.run('-e', 'dev_sync_root=%s' % root, '-e', 'dev_sync_tarball=%s' % built_collection[0])
    assert proc.returncode != 0, proc.report
    assert 'dev_sync_root=%s is not an absolute path' % root in proc.stdout, proc.report


# --- issue 12, finding 5: the stage's variables were templated a second time on the server ----
# The server-side ansible-playbook read them as trusted extra vars (-e @file): a template in a
# value (here from the environment, as the workflows pass APP_REPO_URL) ran there as root.

PAYLOADS = {
    'url': "{{ lookup('pipe', 'touch /tmp/t12sync-pwned-url') }}",
    'version': "{% set x = lookup('pipe', 'touch /tmp/t12sync-pwned-version') %}main",
    'hosts': "{{ query('pipe', 'touch /tmp/t12sync-pwned-hosts') }}",
}


def test_the_stage_variables_reach_the_server_as_data_never_templated_there(sync, server_ansible, built_collection,
                                                                            tmp_path):
    inventory = tmp_path / 'staging.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'staging': {
        'hosts': {HOST: {'ansible_host': '127.0.0.1', 'ansible_port': sync.host.port, 'ansible_user': 'root'}},
        # as inventories/example reads it: a variable the workflow sets from a repository variable
        'vars': {'staging_repo_url': "{{ lookup('ansible.builtin.env', 'APP_REPO_URL') }}",
                 'staging_repo_dest': '/srv/app-data',
                 'staging_repo_version': "{{ lookup('ansible.builtin.env', 'APP_REPO_VERSION') }}",
                 'staging_repo_known_hosts': ["{{ lookup('ansible.builtin.env', 'APP_KNOWN_HOSTS') }}"],
                 'staging_fixes': ['repo-not-cloned']}}}}}))
    proc = sync.run('-e', 'dev_sync_root=/srv/devsync-data',
                    '-e', 'dev_sync_tarball=%s' % built_collection[0], '-e', 'dev_sync_run=scan',
                    '-e', 'dev_sync_results_dir=%s' % tmp_path, inventory=inventory,
                    env={'APP_REPO_URL': PAYLOADS['url'], 'APP_REPO_VERSION': PAYLOADS['version'],
                         'APP_KNOWN_HOSTS': PAYLOADS['hosts']})
    assert 'RESULTS BY STAGE' in proc.stdout, proc.report
    # nothing ran, on the server or here
    for name in ('url', 'version', 'hosts'):
        assert sync.host.exec('test -e /tmp/t12sync-pwned-%s' % name, check=False).returncode != 0, proc.report
        assert not os.path.exists('/tmp/t12sync-pwned-%s' % name), proc.report
    # the value arrived as it was given: the fix refuses it as a ref, quoting it whole
    data = json.loads((tmp_path / ('dev-sync-%s.json' % HOST)).read_text())
    rows = data['stages']['staging']['hosts'][HOST]['results']
    row, = [r for r in rows if r['fix_id'] == 'staging-repo-not-cloned']
    assert row['msg'].startswith('repo_version %r is not a branch' % PAYLOADS['version']), row
