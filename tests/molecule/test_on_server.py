"""Scenario `on_server`: the staging stage run ON the server itself (the original tool's --on-server).

The host gets its own ansible-core and the collection tarball built from this
tree; converge runs `ansible-playbook -c local ... factiii.infra.fix -l staging`
inside it and brings its results JSON and stdout back. The scan (inner --check)
lists every would-fix and changes nothing; fix makes the host right; a second
fix fixes nothing (molecule's idempotence step); testinfra verifies the host.
"""
import hashlib
import json
import re
import tarfile

from scenario import docker_exec, host_state, results, rows, scenario_fixture, ssh_logins

on_server = scenario_fixture('on_server')

HOST = 'factiii-onserver'
INSTALLED = '/opt/factiii/collections/ansible_collections/factiii/infra'
ALL = ['git-missing', 'node-missing', 'docker-missing', 'repo-not-cloned', 'pnpm-missing',
       'docker-not-running', 'docker-autostart']
# issue 16 point 6: ok on an ordinary Debian server (nothing suspends it, firmware power-on, no
# unattended-upgrades, no FileVault, reached over SSH, connected as root)
UNATTENDED = ['sleep-enabled', 'autorestart-off', 'updates-restart', 'filevault-on', 'remote-login-off',
              'sudo-needs-password']
ALL += UNATTENDED
IDS = ['staging-%s' % name for name in ALL]


def inner_stdout(path):
    with open('%s.stdout' % path, encoding='utf-8') as handle:
        return handle.read()


def outer_changed(proc):
    """changed= of the host in the converge's PLAY RECAP."""
    found = re.search(r'^%s\s*:.*\bchanged=(\d+)' % HOST, proc.stdout, re.M)
    assert found, proc.report
    return int(found.group(1))


def test_the_host_has_exactly_the_built_collection(on_server, built_collection):
    with tarfile.open(built_collection[0]) as tar:
        built = dict((m.name.removeprefix('./'), hashlib.sha256(tar.extractfile(m).read()).hexdigest())
                     for m in tar.getmembers() if m.isfile())
        files = json.load(tar.extractfile('FILES.json'))
    stage_py = [f for f in files['files'] if f['name'] == 'plugins/modules/stage.py']
    assert stage_py and stage_py[0]['chksum_sha256'] == built['plugins/modules/stage.py']
    proc = docker_exec(HOST, "cd %s && find . -type f ! -name '*.pyc' -print0 | xargs -0 sha256sum" % INSTALLED)
    assert proc.returncode == 0, proc.stderr
    installed = dict((name[2:], digest) for digest, name in (line.split(None, 1) for line in proc.stdout.splitlines()))
    assert installed['plugins/modules/stage.py'] == stage_py[0]['chksum_sha256']
    assert installed == built


def test_scan_lists_every_would_fix_and_changes_nothing(on_server, tmp_path):
    before = host_state(HOST)
    report = tmp_path / 'scan.json'
    proc = on_server.run('converge', '--', '-e', 'on_server_scan=true', results=report)
    data = results(report)
    assert data['check_mode'] is True
    staging = rows(data, 'staging', 'localhost')
    assert list(staging) == IDS
    assert {k: r['status'] for k, r in staging.items()} == dict(
        (k, 'ok' if k.split('-', 1)[1] in UNATTENDED else 'fixed') for k in staging), staging
    assert list(data['stages']) == ['staging']
    out = inner_stdout(report)
    assert 'RESULTS BY STAGE' in out
    assert 'STAGING:\n   Would fix: 7, Manual: 0, Failed: 0' in out
    assert 'TOTAL: Would fix: 7, Manual: 0, Failed: 0' in out
    assert outer_changed(proc) == 1  # would fix: reported as changed, like Ansible's check mode
    assert host_state(HOST) == before, 'the scan changed the host'


def test_fix_makes_the_host_right(on_server, tmp_path):
    report = tmp_path / 'fix.json'
    proc = on_server.run('converge', results=report)
    data = results(report)
    assert data['check_mode'] is False
    assert data['total']['failed'] == 0 and data['total']['manual'] == 0, data
    staging = rows(data, 'staging', 'localhost')
    assert {k: r['status'] for k, r in staging.items()} == {
        'staging-git-missing': 'fixed', 'staging-node-missing': 'fixed', 'staging-docker-missing': 'fixed',
        'staging-repo-not-cloned': 'fixed', 'staging-pnpm-missing': 'fixed',
        # docker.io's postinst starts and enables docker.service
        'staging-docker-not-running': 'ok', 'staging-docker-autostart': 'ok',
        **dict(('staging-' + name, 'ok') for name in UNATTENDED)}
    out = inner_stdout(report)
    assert 'RESULTS BY STAGE' in out
    assert 'TOTAL: Fixed: 5, Manual: 0, Failed: 0' in out
    assert outer_changed(proc) == 1


def test_second_fix_changes_nothing(on_server, tmp_path):
    report = tmp_path / 'again.json'
    on_server.run('idempotence', results=report)
    data = results(report)
    assert data['check_mode'] is False
    assert data['total'] == dict(data['total'], fixed=0, manual=0, failed=0), data
    assert {r['status'] for r in rows(data, 'staging', 'localhost').values()} == {'ok'}
    assert 'TOTAL: Fixed: 0, Manual: 0, Failed: 0' in inner_stdout(report)


def test_testinfra_verifies_the_host(on_server):
    on_server.run('verify')


def test_the_clone_is_at_v1_and_no_ssh_was_involved(on_server):
    v1 = on_server.ephemeral('app_v1_commit').strip()
    assert docker_exec(HOST, 'git -C /srv/app rev-parse HEAD').stdout.strip() == v1
    # the stage ran on the host with a local connection; the controller used docker exec
    assert ssh_logins(HOST) == 0
