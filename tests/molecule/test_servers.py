"""Scenario `servers`: a bare staging host and a partial prod host, over SSH.

scan changes nothing and lists every would-fix; fix makes each host right; a
second fix changes nothing (molecule's idempotence step); testinfra verifies the
hosts; each stage run logs in once per host.
"""
import pytest

from scenario import docker_exec, host_state, results, rows, scenario_fixture, ssh_logins

servers = scenario_fixture('servers')

STAGING, PROD = 'factiii-staging', 'factiii-prod'
ALL = ['git-missing', 'node-missing', 'docker-missing', 'repo-not-cloned', 'pnpm-missing',
       'docker-not-running', 'docker-autostart']
# issue 16 point 6: ok on an ordinary Debian server (nothing suspends it, firmware power-on, no
# unattended-upgrades, no FileVault, reached over SSH, connected as root)
UNATTENDED = ['sleep-enabled', 'autorestart-off', 'updates-restart', 'filevault-on', 'remote-login-off',
              'sudo-needs-password']
ALL += UNATTENDED


def ids(stage):
    return ['%s-%s' % (stage, name) for name in ALL]


def test_scan_lists_every_would_fix_and_changes_nothing(servers, tmp_path):
    before = {host: host_state(host) for host in (STAGING, PROD)}
    logins = {host: ssh_logins(host) for host in (STAGING, PROD)}
    # the scan: the same converge playbook with --check (molecule's own `check` command
    # would destroy and re-create the hosts and converge them for real first)
    proc = servers.run('converge', '--', '--check', results=tmp_path / 'scan.json')
    data = results(tmp_path / 'scan.json')
    assert data['check_mode'] is True
    staging = rows(data, 'staging', STAGING)
    assert list(staging) == ids('staging')
    assert {k: r['status'] for k, r in staging.items()} == dict(
        (k, 'ok' if k.split('-', 1)[1] in UNATTENDED else 'fixed') for k in staging), staging
    prod = rows(data, 'prod', PROD)
    assert list(prod) == ids('prod')
    assert prod['prod-git-missing']['status'] == 'ok'
    assert prod['prod-docker-missing']['status'] == 'ok'
    assert prod['prod-docker-not-running']['status'] == 'fixed'
    assert prod['prod-docker-autostart']['status'] == 'fixed'
    assert 'RESULTS BY STAGE' in proc.stdout
    assert 'STAGING:\n   Would fix: 7, Manual: 0, Failed: 0' in proc.stdout
    assert 'PROD:\n   Would fix: 5, Manual: 0, Failed: 0' in proc.stdout
    assert 'TOTAL: Would fix: 12, Manual: 0, Failed: 0' in proc.stdout
    for host in (STAGING, PROD):
        assert host_state(host) == before[host], 'the scan changed %s' % host
        assert ssh_logins(host) - logins[host] == 1, 'one SSH login per host per stage'


def test_fix_makes_each_host_right_with_one_login(servers, tmp_path):
    logins = {host: ssh_logins(host) for host in (STAGING, PROD)}
    proc = servers.run('converge', results=tmp_path / 'fix.json')
    data = results(tmp_path / 'fix.json')
    assert data['check_mode'] is False
    assert data['total']['failed'] == 0 and data['total']['manual'] == 0, data
    staging = rows(data, 'staging', STAGING)
    assert {k: r['status'] for k, r in staging.items()} == {
        'staging-git-missing': 'fixed', 'staging-node-missing': 'fixed', 'staging-docker-missing': 'fixed',
        'staging-repo-not-cloned': 'fixed', 'staging-pnpm-missing': 'fixed',
        # docker.io's postinst starts and enables docker.service
        'staging-docker-not-running': 'ok', 'staging-docker-autostart': 'ok',
        **dict(('staging-' + name, 'ok') for name in UNATTENDED)}
    prod = rows(data, 'prod', PROD)
    # only the missing fixes ran: git and docker were there, docker stopped and disabled
    assert prod['prod-git-missing']['status'] == 'ok'
    assert prod['prod-docker-missing']['status'] == 'ok'
    assert prod['prod-docker-not-running']['status'] == 'fixed'
    assert prod['prod-docker-autostart']['status'] == 'fixed'
    assert 'TOTAL: Fixed: 10, Manual: 0, Failed: 0' in proc.stdout  # staging 5, prod 5
    for host in (STAGING, PROD):
        assert ssh_logins(host) - logins[host] == 1, 'one SSH login per host per stage'


def test_second_fix_changes_nothing(servers, tmp_path):
    servers.run('idempotence', results=tmp_path / 'again.json')
    data = results(tmp_path / 'again.json')
    assert data['total'] == dict(data['total'], fixed=0, manual=0, failed=0), data


def test_testinfra_verifies_the_hosts(servers):
    servers.run('verify')


def test_the_clone_is_at_the_configured_version(servers):
    v1 = servers.ephemeral('app_v1_commit').strip()
    for host in (STAGING, PROD):
        head = docker_exec(host, 'git -C /srv/app rev-parse HEAD').stdout.strip()
        assert head == v1


@pytest.mark.parametrize('host', [STAGING, PROD])
def test_no_deploy_key_is_left_on_the_host(servers, host):
    proc = docker_exec(host, 'ls -d /tmp/factiii-ssh-* /root/.ansible/tmp/factiii-ssh-* 2>/dev/null; '
                             'grep -rl "OPENSSH PRIVATE KEY" /tmp /srv /root 2>/dev/null | grep -v "^/root/.ssh/" || true')
    assert proc.stdout.strip() == ''
