"""Every fix on the Debian backend, through the stage runner, on a simulated host."""
import os

import pytest

from ansible_collections.factiii.infra.plugins.module_utils.platforms import debian as debian_mod
from ansible_collections.factiii.infra.plugins.module_utils.platforms.debian import Debian
from ansible_collections.factiii.infra.plugins.module_utils.registry import FIXES
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner
from ansible_collections.factiii.infra.plugins.module_utils.batch import default_fixes, run_fixes

import sim_debian
from sim_debian import FRONTEND, LISTS, SimDebian

PARAMS = {'node_min_major': 20, 'pnpm_version': '10', 'package_lock_timeout': 30,
          'docker_start_timeout': 5, 'repo_known_hosts': []}
DEV = default_fixes('dev')
SERVER = [n for n in default_fixes('staging') if n != 'repo-not-cloned']
CONVERGED = ('git', 'nodejs', 'npm', 'docker.io')
# issue 16 point 6: on an ordinary Debian server (and the test hosts) these are ok as they are
UNATTENDED = ('sleep-enabled', 'autorestart-off', 'updates-restart', 'filevault-on', 'remote-login-off',
              'sudo-needs-password')


@pytest.fixture
def systemd(monkeypatch):
    monkeypatch.setattr(Debian, '_systemd', lambda self: True)


@pytest.fixture(autouse=True)
def fresh_lists(monkeypatch):
    monkeypatch.setattr(Debian, '_lists_age', lambda self: 10)


def run(host, names, check_mode=False, monkeypatch=None, **params):
    debian_mod.os.geteuid = lambda: host.euid
    platform = Debian(Runner(host), check_mode=check_mode, options=dict(PARAMS, **params))
    platform.clock, platform.sleep = host.clock, host.sleep  # simulated time: apt's waits and ours
    platform.lock_holders = host.lock_holders
    host.attach(platform)  # the host's /proc/locks
    fixes = [FIXES[n](platform, dict(PARAMS, **params)) for n in names]
    return dict((r['fix_id'][len('staging-'):], r) for r in run_fixes(fixes, 'staging', check_mode))


@pytest.fixture(autouse=True)
def restore_geteuid():
    real = debian_mod.os.geteuid
    yield
    debian_mod.os.geteuid = real


def statuses(rows):
    return dict((k, v['status']) for k, v in rows.items())


def test_converged_host_is_all_ok_and_runs_only_checks(systemd):
    host = SimDebian(CONVERGED, pnpm='10.2.1', docker_running=True, docker_enabled=True)
    rows = run(host, SERVER)
    assert statuses(rows) == dict.fromkeys(rows, 'ok')
    assert rows['node-missing']['msg'] == 'node v20.19.2 and npm are installed'
    assert not host.installs()
    assert not [c for c in host.calls if c[0] in ('systemctl', 'service') and c[1] != 'is-enabled']


def test_scan_of_bare_host_reports_every_fix_as_would_fix_and_changes_nothing(systemd):
    host = SimDebian(check_mode=True)
    rows = run(host, SERVER, check_mode=True)
    assert statuses(rows) == dict((n, 'ok' if n in UNATTENDED else 'fixed') for n in rows)
    assert rows['git-missing']['msg'] == 'would install git (git)'
    assert rows['node-missing']['msg'] == 'would install node (nodejs npm 20.19.2-1nodesource1)'
    assert rows['pnpm-missing']['msg'] == 'would install pnpm@10 with npm'
    assert rows['docker-not-running']['msg'] == 'would start docker (docker is not installed)'
    assert rows['docker-autostart']['msg'].startswith('would enable docker.service at boot')
    assert host.packages == set() and not host.docker_running and host.pnpm is None
    assert not [c for c in host.calls if c[0] in ('apt-get', 'npm', 'systemctl') and c[1] != 'is-enabled']


def test_fix_of_bare_host_installs_all_packages_in_one_transaction_then_is_idempotent(systemd):
    host = SimDebian()
    rows = run(host, SERVER)
    assert statuses(rows) == {
        'git-missing': 'fixed', 'node-missing': 'fixed', 'pnpm-missing': 'fixed',
        'docker-missing': 'fixed',
        # docker.io's postinst starts and enables it: nothing left for these two
        'docker-not-running': 'ok', 'docker-autostart': 'ok', **dict.fromkeys(UNATTENDED, 'ok')}
    assert host.installs() == [['apt-get', '-o', 'DPkg::Lock::Timeout=30', '-q', '-y', 'install',
                                'git', 'nodejs', 'npm', 'docker.io']]
    assert ['/usr/bin/npm', 'install', '-g', '--ignore-scripts', '--no-fund', '--no-audit', 'pnpm@10'] in host.calls
    assert rows['git-missing']['msg'] == 'done: install git (git)'
    host.calls = []
    again = run(host, SERVER)
    assert statuses(again) == dict.fromkeys(again, 'ok')
    assert not host.installs()


def test_stopped_and_disabled_docker_is_started_and_enabled(systemd):
    host = SimDebian(CONVERGED, pnpm='10.2.1', docker_running=False, docker_enabled=False)
    rows = run(host, SERVER)
    assert rows['docker-not-running']['status'] == 'fixed'
    assert rows['docker-autostart']['status'] == 'fixed'
    assert ['systemctl', 'start', 'docker'] in host.calls
    assert ['systemctl', 'enable', 'docker'] in host.calls
    assert host.docker_running and host.docker_enabled


TRIXIE = CONVERGED + ('docker-cli',)
DOCKER_26_DOWN = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?'


def test_docker_26_stopped_is_not_running_though_docker_info_exits_0(systemd):
    # Debian 13's docker.io 26.1.5: docker info exits 0 with an empty version when dockerd is down
    scan_host = SimDebian(TRIXIE, docker_cli='26.1', docker_running=False, docker_enabled=True)
    scan = run(scan_host, ['docker-missing', 'docker-not-running'], check_mode=True)
    assert scan['docker-not-running'] == dict(scan['docker-not-running'], status='fixed',
                                              msg='would start docker (%s)' % DOCKER_26_DOWN)
    assert not scan_host.docker_running

    host = SimDebian(TRIXIE, docker_cli='26.1', docker_running=False, docker_enabled=True)
    rows = run(host, ['docker-missing', 'docker-not-running'])
    assert rows['docker-not-running']['status'] == 'fixed'
    assert ['systemctl', 'start', 'docker'] in host.calls and host.docker_running
    host.calls = []
    again = run(host, ['docker-missing', 'docker-not-running'])
    assert again['docker-not-running'] == dict(again['docker-not-running'], status='ok',
                                               msg='docker is running (server 26.1.5+dfsg1)')
    assert not [c for c in host.calls if c[0] == 'systemctl']


def test_docker_26_as_a_user_outside_the_docker_group_asks_again_with_sudo(systemd):
    # the user's own docker info exits 0 with "permission denied" and no version: not an answer
    host = SimDebian(TRIXIE, docker_cli='26.1', docker_running=False, docker_enabled=True, euid=1000,
                     sudo=True)
    rows = run(host, ['docker-missing', 'docker-not-running'], check_mode=True)
    assert rows['docker-not-running'] == dict(rows['docker-not-running'], status='fixed',
                                              msg='would start docker (%s)' % DOCKER_26_DOWN)
    assert ['sudo', '-n', '/usr/bin/docker', 'info', '--format', '{{.ServerVersion}}'] in host.calls
    host.docker_running = True
    rows = run(host, ['docker-missing', 'docker-not-running'], check_mode=True)
    assert rows['docker-not-running']['msg'] == 'docker is running (server 26.1.5+dfsg1)'


def test_docker_io_without_its_cli_on_debian_13_gets_docker_cli(systemd):
    # trixie's docker.io only recommends docker-cli, which has the `docker` command
    host = SimDebian(CONVERGED, docker_cli='26.1', docker_running=True, docker_enabled=True)
    scan = run(host, ['docker-missing'], check_mode=True)
    assert scan['docker-missing']['msg'] == 'would install docker (docker.io docker-cli)'
    rows = run(host, ['docker-missing', 'docker-not-running'])
    assert rows['docker-missing']['status'] == 'fixed', rows
    assert host.installs() == [['apt-get', '-o', 'DPkg::Lock::Timeout=30', '-q', '-y', 'install',
                                'docker.io', 'docker-cli']]
    assert rows['docker-not-running']['msg'] == 'docker is running (server 26.1.5+dfsg1)'


def test_without_systemd_docker_is_started_with_the_service_command(monkeypatch):
    monkeypatch.setattr(Debian, '_systemd', lambda self: False)
    host = SimDebian(CONVERGED, docker_running=False)
    rows = run(host, ['docker-missing', 'docker-not-running'])
    assert rows['docker-not-running']['status'] == 'fixed'
    assert ['service', 'docker', 'start'] in host.calls


def test_docker_that_never_answers_fails_with_the_reason(systemd):
    host = SimDebian(CONVERGED, start_error='Job for docker.service failed because the control '
                                            'process exited with error code.\n')
    rows = run(host, ['docker-missing', 'docker-not-running'])
    assert rows['docker-not-running']['status'] == 'failed'
    assert rows['docker-not-running']['msg'] == (
        'systemctl start docker failed: Job for docker.service failed because the control process '
        'exited with error code.')


def test_node_older_than_asked_is_manual_never_silently_old(systemd):
    host = SimDebian(['git'], candidate_node='18.19.0+dfsg-6~deb12u2')
    rows = run(host, ['node-missing', 'pnpm-missing'])
    assert rows['node-missing']['status'] == 'manual'
    assert rows['node-missing']['msg'] == 'node 20 is required; the package manager offers 18.19.0+dfsg-6~deb12u2'
    assert rows['node-missing']['steps'][-1] == 'node --version  # must print v20 or later'
    # pnpm needs node: not attempted, manual with the same steps
    assert rows['pnpm-missing']['status'] == 'manual'
    assert rows['pnpm-missing']['msg'] == 'not attempted: needs staging-node-missing, which is manual'
    assert not host.installs()


def test_node_min_major_is_a_parameter(systemd):
    host = SimDebian(['git'], candidate_node='18.19.0+dfsg-6~deb12u2')
    rows = run(host, ['node-missing'], node_min_major=18)
    assert rows['node-missing']['status'] == 'fixed'
    assert host.node == '18.19.0'


def test_apt_lock_held_fails_with_the_pid_and_dependents_are_not_attempted(systemd):
    host = SimDebian(lock={'path': FRONTEND, 'pid': 4242, 'name': 'apt-get', 'until': 1000})
    rows = run(host, ['git-missing', 'docker-missing', 'docker-not-running'])
    busy = ('package manager busy (lock held by PID 4242) after waiting 30s: '
            '/var/lib/dpkg/lock-frontend is held by apt-get')
    assert rows['git-missing'] == dict(rows['git-missing'], status='failed', msg=busy)
    assert rows['docker-missing'] == dict(rows['docker-missing'], status='failed', msg=busy)
    assert rows['docker-not-running']['msg'] == 'not attempted: needs staging-docker-missing, which is failed'
    # waited the whole package_lock_timeout reading /proc/locks; apt never ran
    assert host.lock_waits() == [] and host.now == 30
    assert host.packages == set()


def test_second_run_after_the_lock_is_released_fixes_it(systemd):
    host = SimDebian(lock={'path': FRONTEND, 'pid': 4242, 'name': 'apt-get', 'until': 1000})
    assert run(host, ['git-missing'])['git-missing']['status'] == 'failed'
    host.lock = None
    rows = run(host, ['git-missing'])
    assert rows['git-missing'] == dict(rows['git-missing'], status='fixed', msg='done: install git (git)')
    assert 'git' in host.packages


def test_lock_released_within_the_timeout_is_no_failure(systemd):
    host = SimDebian(lock={'path': FRONTEND, 'pid': 4242, 'name': 'apt-get', 'until': 12})
    rows = run(host, ['git-missing'])
    assert rows['git-missing']['status'] == 'fixed'
    # apt runs once the lock is free, given what is left of the 30 s
    assert host.now == 12 and host.lock_waits() == [18]


def test_lock_taken_again_after_the_wait_is_waited_for_by_apt_in_the_same_budget(systemd, monkeypatch):
    # /proc/locks shows it free, then another apt takes it before ours: apt's own wait, 30 s in all
    host = SimDebian(lock={'path': FRONTEND, 'pid': 4242, 'name': 'apt-get', 'until': 1000})
    monkeypatch.setattr(host, 'lock_holders', lambda: [])
    rows = run(host, ['git-missing'])
    assert rows['git-missing']['msg'] == ('package manager busy (lock held by PID 4242) after waiting 30s: '
                                          '/var/lib/dpkg/lock-frontend is held by apt-get')
    assert host.lock_waits() == [30] and host.now == 30


def test_package_lock_timeout_is_the_bound(systemd):
    host = SimDebian(lock={'path': FRONTEND, 'pid': 77, 'name': 'unattended-upgr', 'until': 1000})
    rows = run(host, ['git-missing'], package_lock_timeout=5)
    assert rows['git-missing']['msg'] == ('package manager busy (lock held by PID 77) after waiting 5s: '
                                          '/var/lib/dpkg/lock-frontend is held by unattended-upgr')
    assert host.now == 5


def test_lists_lock_apt_does_not_wait_for_is_retried_within_the_timeout(systemd, monkeypatch):
    monkeypatch.setattr(Debian, '_lists_age', lambda self: None)
    host = SimDebian(lock={'path': LISTS, 'pid': 555, 'name': 'apt-get', 'until': 3.5})
    rows = run(host, ['node-missing'])  # its scan asks apt-cache, after `apt-get update`
    assert rows['node-missing']['status'] == 'fixed'
    updates = [c for c in host.calls if c[0] == 'apt-get' and 'update' in c]
    assert len(updates) == 5  # at 0, 1, 2, 3 s: held; at 4 s: free
    # each try is given only what is left of the 30 s
    assert host.lock_waits()[:5] == [30, 29, 28, 27, 26]


def test_lists_lock_held_too_long_fails_every_package_fix_after_one_wait(systemd, monkeypatch):
    monkeypatch.setattr(Debian, '_lists_age', lambda self: None)
    host = SimDebian(lock={'path': LISTS, 'pid': 555, 'name': 'apt-get', 'until': 1000})
    rows = run(host, ['git-missing', 'node-missing'])
    busy = 'package manager busy (lock held by PID 555) after waiting 30s: /var/lib/apt/lists/lock is held by apt-get'
    assert rows['git-missing'] == dict(rows['git-missing'], status='failed', msg=busy)
    assert rows['node-missing'] == dict(rows['node-missing'], status='failed', msg=busy)
    assert host.now == 30  # node's scan waited; the install did not wait again
    assert not host.installs()


@pytest.mark.parametrize('text, expected', [
    # apt-get install with DPkg::Lock::Timeout, as apt 2.6 prints it (stderr, then stdout)
    ('E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n'
     'Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 72 (python3)...\n'
     'Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 73 (apt-get)...\n',
     ('73', 'apt-get', '/var/lib/dpkg/lock-frontend')),
    ('E: Could not get lock /var/lib/apt/lists/lock. It is held by process 217 (python3)\n'
     'E: Unable to lock directory /var/lib/apt/lists/\n', ('217', 'python3', '/var/lib/apt/lists/lock')),
    ('E: Could not get lock /var/cache/apt/archives/lock. It is held by process 9\n', ('9', None, '/var/cache/apt/archives/lock')),
    ('E: Could not get lock /var/lib/dpkg/lock-frontend\n', (None, None, '/var/lib/dpkg/lock-frontend')),
    ('E: Unable to lock the administration directory (/var/lib/dpkg/), is another process using it?\n'
     'Waiting for cache lock: Could not get lock /var/lib/dpkg/lock. It is held by process 322 (python3)...\n',
     ('322', 'python3', '/var/lib/dpkg/lock')),
    ('dpkg: error: dpkg database lock was locked by another process with pid 511\n'
     'Note: removing the lock file is always wrong, can damage the locked area\n', ('511', None, '/var/lib/dpkg/lock')),
    # the lock was freed while apt waited, then something else failed: not busy
    ('E: Unable to locate package gti\n'
     'Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 72 (python3)...\n', None),
    ("E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem.\n", None),
])
def test_lock_holder_reads_apts_and_dpkgs_own_lines(text, expected):
    assert debian_mod.lock_holder(text) == expected


@pytest.fixture
def journal(tmp_path, monkeypatch):
    """dpkg's journal as a killed `dpkg -i` left it (the entry seen on a test host)."""
    updates = tmp_path / 'updates'
    updates.mkdir()
    (updates / '0004').write_text('Package: factiii-interrupted\nStatus: install ok half-configured\n')
    (updates / 'tmp.i').write_text('')
    monkeypatch.setattr(debian_mod, 'DPKG_UPDATES', str(updates))
    return updates


def test_interrupted_dpkg_found_before_apt_runs_is_manual_with_the_command(systemd, journal):
    host = SimDebian(['docker.io'], updates_dir=str(journal), docker_running=False)
    rows = run(host, ['git-missing', 'repo-not-cloned', 'docker-missing', 'docker-not-running'],
               repo_url='file:///srv/git/app.git', repo_dest='/nonexistent/app')
    assert rows['git-missing']['status'] == 'manual'
    assert rows['git-missing']['msg'] == 'dpkg was interrupted: the package database needs repair'
    assert rows['git-missing']['steps'][0] == 'sudo dpkg --configure -a'
    assert rows['repo-not-cloned']['msg'] == 'not attempted: needs staging-git-missing, which is manual'
    # nothing ran on the package database; docker, installed already, was started
    assert not [c for c in host.calls if c[0] in ('dpkg', 'apt-get')]
    assert rows['docker-not-running']['status'] == 'fixed'
    assert os.listdir(str(journal)) != ['tmp.i']


def test_scan_reports_the_interrupted_dpkg_as_the_fix_would(systemd, journal):
    # the scan and the fix agree: manual with the command, not "would install"
    host = SimDebian(['docker.io'], updates_dir=str(journal), docker_running=False)
    names = ['git-missing', 'repo-not-cloned', 'docker-missing', 'docker-not-running']
    params = dict(repo_url='file:///srv/git/app.git', repo_dest='/nonexistent/app')
    scan = run(host, names, check_mode=True, **params)
    fix = run(SimDebian(['docker.io'], updates_dir=str(journal), docker_running=False), names, **params)
    assert statuses(scan) == statuses(fix) == {
        'git-missing': 'manual', 'repo-not-cloned': 'manual', 'docker-missing': 'ok', 'docker-not-running': 'fixed'}
    assert scan['git-missing']['steps'] == fix['git-missing']['steps']
    assert scan['docker-not-running']['msg'] == 'would start docker (docker info could not reach the engine)'
    assert not host.installs() and not host.docker_running


def test_scan_with_repair_opted_in_says_would_install(systemd, journal):
    host = SimDebian(updates_dir=str(journal), check_mode=True)
    rows = run(host, ['git-missing'], check_mode=True, repair_dpkg=True)
    assert rows['git-missing']['status'] == 'fixed'
    assert not [c for c in host.calls if c[0] in ('dpkg', 'apt-get')]
    assert os.listdir(str(journal)) != []


def test_interrupted_dpkg_is_repaired_first_when_opted_in(systemd, journal):
    host = SimDebian(updates_dir=str(journal))
    rows = run(host, ['git-missing'], repair_dpkg=True)
    assert rows['git-missing']['status'] == 'fixed'
    ran = [c for c in host.calls if c[0] in ('dpkg', 'apt-get')]
    assert ran == [['dpkg', '--force-confdef', '--force-confold', '--configure', '-a'],
                   ['apt-get', '-o', 'DPkg::Lock::Timeout=30', '-q', '-y', 'install', 'git']]
    assert os.listdir(str(journal)) == []


def test_opt_in_without_an_interrupted_dpkg_runs_no_repair(systemd, journal):
    for entry in os.listdir(str(journal)):
        os.remove(os.path.join(str(journal), entry))
    host = SimDebian(updates_dir=str(journal))
    assert run(host, ['git-missing'], repair_dpkg=True)['git-missing']['status'] == 'fixed'
    assert not [c for c in host.calls if c[0] == 'dpkg']


def test_a_repair_that_fails_is_failed_with_dpkgs_reason(systemd, journal):
    host = SimDebian(updates_dir=str(journal), configure_error=(
        'Setting up factiii-interrupted (1.0) ...\n'
        'dpkg: error processing package factiii-interrupted (--configure):\n'
        ' installed factiii-interrupted package post-installation script subprocess returned error exit status 1\n'
        'Errors were encountered while processing:\n factiii-interrupted\n'))
    rows = run(host, ['git-missing'], repair_dpkg=True)
    assert rows['git-missing'] == dict(rows['git-missing'], status='failed', msg=(
        'dpkg --configure -a failed: dpkg: error processing package factiii-interrupted (--configure): '
        'installed factiii-interrupted package post-installation script subprocess returned error exit status 1'))
    assert not host.installs()


def test_a_repair_blocked_by_a_lock_waits_then_names_the_holder(systemd, journal):
    host = SimDebian(updates_dir=str(journal), lock={'path': FRONTEND, 'pid': 506, 'name': 'apt-get', 'until': 1000})
    rows = run(host, ['git-missing'], repair_dpkg=True, package_lock_timeout=4)
    assert rows['git-missing']['msg'] == ('package manager busy (lock held by PID 506) after waiting 4s: '
                                          '/var/lib/dpkg/lock-frontend is held by apt-get')
    assert host.now == 4
    assert not [c for c in host.calls if c[0] in ('dpkg', 'apt-get')]  # no repair run while it is held


def test_unreachable_package_source_fails_the_package_fixes_and_the_rest_go_on(systemd, monkeypatch):
    monkeypatch.setattr(Debian, '_lists_age', lambda self: None)
    host = SimDebian(['git', 'docker.io'], candidate_node=None, source_down=True,
                     docker_running=False, docker_enabled=False)
    rows = run(host, SERVER, node_min_major=18)
    assert statuses(rows) == {
        'git-missing': 'ok', 'node-missing': 'failed', 'docker-missing': 'ok',
        'pnpm-missing': 'failed', 'docker-not-running': 'fixed', 'docker-autostart': 'fixed',
        **dict.fromkeys(UNATTENDED, 'ok')}
    assert rows['node-missing']['msg'] == (
        'apt-get install nodejs npm failed: E: Unable to locate package nodejs; apt-get update: '
        'W: Failed to fetch http://127.0.0.1:23448/debian/dists/bookworm/InRelease  Could not connect to '
        '127.0.0.1:23448 (127.0.0.1). - connect (111: Connection refused)')
    assert rows['pnpm-missing']['msg'] == 'not attempted: needs staging-node-missing, which is failed'
    assert host.docker_running and host.docker_enabled


def test_interrupted_dpkg_is_manual_with_the_exact_command(systemd):
    host = SimDebian(apt_error="E: dpkg was interrupted, you must manually run 'dpkg --configure -a' "
                               "to correct the problem.\n")
    rows = run(host, ['git-missing'])
    assert rows['git-missing']['status'] == 'manual'
    assert rows['git-missing']['steps'][0] == 'sudo dpkg --configure -a'


def test_unprivileged_user_without_sudo_gets_manual_steps(systemd):
    host = SimDebian(euid=1000, sudo=False)
    rows = run(host, ['git-missing', 'docker-missing'], check_mode=True)
    assert statuses(rows) == {'git-missing': 'manual', 'docker-missing': 'manual'}
    assert rows['git-missing']['msg'] == 'git is missing and this user is neither root nor allowed passwordless sudo'
    assert 'become: true' in rows['git-missing']['steps'][0]


def test_unprivileged_user_with_passwordless_sudo_installs_through_sudo(systemd):
    host = SimDebian(euid=1000, sudo=True)
    rows = run(host, ['git-missing'])
    assert rows['git-missing']['status'] == 'fixed'
    assert ['sudo', '-n', 'apt-get', '-o', 'DPkg::Lock::Timeout=30', '-q', '-y', 'install', 'git'] in host.calls


def test_stale_lists_are_refreshed_once_before_installing(systemd, monkeypatch):
    monkeypatch.setattr(Debian, '_lists_age', lambda self: None)
    host = SimDebian()
    run(host, ['git-missing', 'node-missing'])
    updates = [c for c in host.calls if c[0] == 'apt-get' and 'update' in c]
    assert len(updates) == 1
    assert host.calls.index(updates[0]) < host.calls.index(host.installs()[0])


def test_scan_never_refreshes_lists(systemd, monkeypatch):
    monkeypatch.setattr(Debian, '_lists_age', lambda self: None)
    host = SimDebian(check_mode=True)
    run(host, ['git-missing', 'node-missing'], check_mode=True)
    assert not [c for c in host.calls if c[0] == 'apt-get']


def test_pnpm_version_from_package_json_wins(systemd, tmp_path):
    (tmp_path / 'package.json').write_text('{"packageManager": "pnpm@9.12.0+sha512.abcdef"}')
    host = SimDebian(CONVERGED, pnpm='10.2.1')
    rows = run(host, ['pnpm-missing'], app_dir=str(tmp_path))
    assert rows['pnpm-missing']['status'] == 'fixed'
    assert ['/usr/bin/npm', 'install', '-g', '--ignore-scripts', '--no-fund', '--no-audit', 'pnpm@9.12.0'] in host.calls
    assert host.pnpm == '9.12.0'


def test_an_unexpected_error_in_one_fix_is_its_failed_row_and_the_rest_go_on(systemd, monkeypatch):
    from ansible_collections.factiii.infra.plugins.module_utils.fixes.docker_not_running import DockerNotRunning

    def boom(self):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(DockerNotRunning, 'apply', boom)
    host = SimDebian(CONVERGED, pnpm='10.2.1', docker_running=False, docker_enabled=False)
    rows = run(host, SERVER)
    assert rows['docker-not-running']['status'] == 'failed'
    assert rows['docker-not-running']['msg'] == 'unexpected error in boom: OSError: [Errno 28] No space left on device'
    assert rows['docker-autostart']['status'] == 'fixed'


# -- a live apt is not an interrupted dpkg (issue 14, point 1) ----------------------------------
# A running apt-get (or unattended-upgrades) writes dpkg's journal as it goes: the journal says
# "interrupted" only once no process holds the package locks.
LIVE_APT = {'path': FRONTEND, 'pid': 1235, 'name': 'apt-get', 'command': '/usr/bin/apt-get -y upgrade'}


def test_a_live_apt_writing_dpkgs_journal_is_waited_for_then_the_install_runs(systemd, journal):
    host = SimDebian(updates_dir=str(journal), lock=dict(LIVE_APT, until=12, finishes=True))
    rows = run(host, ['git-missing'])
    assert rows['git-missing'] == dict(rows['git-missing'], status='fixed', msg='done: install git (git)')
    assert host.now == 12
    assert not [c for c in host.calls if c[0] == 'dpkg']  # nothing to repair: apt finished its work


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_live_apt_holding_the_lock_past_the_timeout_is_failed_naming_it_not_interrupted(
        systemd, journal, check_mode):
    host = SimDebian(updates_dir=str(journal), lock=dict(LIVE_APT, until=1000), check_mode=check_mode)
    rows = run(host, ['git-missing', 'repo-not-cloned'], check_mode=check_mode, package_lock_timeout=5,
               repo_url='file:///srv/git/app.git', repo_dest='/nonexistent/app')
    busy = ('package manager busy (lock held by PID 1235) after waiting 5s: '
            '/var/lib/dpkg/lock-frontend is held by /usr/bin/apt-get -y upgrade')
    assert rows['git-missing'] == dict(rows['git-missing'], status='failed', msg=busy)  # scan and fix alike
    assert 'steps' not in rows['git-missing'] or not rows['git-missing']['steps']
    assert rows['repo-not-cloned']['msg'] == 'not attempted: needs staging-git-missing, which is failed'
    assert host.now == 5
    assert not [c for c in host.calls if c[0] in ('dpkg', 'apt-get')]


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_holder_killed_midway_leaves_an_interrupted_dpkg_which_is_manual(systemd, journal, check_mode):
    host = SimDebian(updates_dir=str(journal), lock=dict(LIVE_APT, until=3), check_mode=check_mode)
    rows = run(host, ['git-missing'], check_mode=check_mode)
    assert rows['git-missing']['status'] == 'manual'
    assert rows['git-missing']['msg'] == 'dpkg was interrupted: the package database needs repair'
    assert rows['git-missing']['steps'][0] == 'sudo dpkg --configure -a'
    assert host.now == 3  # it waited for the holder, then read the journal
    assert not [c for c in host.calls if c[0] in ('dpkg', 'apt-get')]


def test_a_repair_waits_for_the_holder_then_repairs_and_installs(systemd, journal):
    host = SimDebian(updates_dir=str(journal), lock=dict(LIVE_APT, until=7))
    rows = run(host, ['git-missing'], repair_dpkg=True)
    assert rows['git-missing']['status'] == 'fixed'
    ran = [c for c in host.calls if c[0] in ('dpkg', 'apt-get')]
    assert ran == [['dpkg', '--force-confdef', '--force-confold', '--configure', '-a'],
                   ['apt-get', '-o', 'DPkg::Lock::Timeout=23', '-q', '-y', 'install', 'git']]
    assert host.now == 7


@pytest.mark.parametrize('text, expected', [
    # dpkg after 1.21 names the holder's program
    ('dpkg: error: dpkg frontend lock was locked by /usr/bin/apt-get process with pid 1235\n'
     'Note: removing the lock file is always wrong, can damage the locked area\n',
     ('1235', '/usr/bin/apt-get', '/var/lib/dpkg/lock-frontend')),
    ('dpkg: error: dpkg frontend lock was locked by another process with pid 16\n',
     ('16', None, '/var/lib/dpkg/lock-frontend')),
])
def test_lock_holder_reads_both_dpkg_wordings(text, expected):
    assert debian_mod.lock_holder(text) == expected


def test_an_apt_that_starts_while_the_journal_is_read_is_waited_for_not_taken_for_an_interrupted_dpkg(
        systemd, journal):
    host = SimDebian(updates_dir=str(journal), lock=dict(LIVE_APT, until=6, finishes=True))
    seen, real = [], host.lock_holders

    def proc_locks():  # free at the first look, then the apt that wrote the journal is seen
        seen.append(host.now)
        return [] if len(seen) == 1 else real()
    host.lock_holders = proc_locks
    rows = run(host, ['git-missing'])
    assert rows['git-missing'] == dict(rows['git-missing'], status='fixed', msg='done: install git (git)')
    assert host.now == 6 and not [c for c in host.calls if c[0] == 'dpkg']
    assert real() == []


# -- issue 16 point 6: a server that comes back unattended ------------------------------------

def test_an_ordinary_server_is_left_alone_with_the_reasons(systemd):
    host = SimDebian(CONVERGED, pnpm='10.2.1', docker_running=True, docker_enabled=True)
    rows = run(host, list(UNATTENDED))
    assert dict((n, (r['status'], r['msg'])) for n, r in rows.items()) == {
        'sleep-enabled': ('ok', 'nothing suspends this host: no lid (/proc/acpi/button/lid), logind IdleAction=ignore'),
        'autorestart-off': ('ok', 'not applicable: powering on after a power failure is a firmware setting here '
                                  '(the BIOS/UEFI "Restore on AC power loss", or "AC Power Recovery": set it to on)'),
        'updates-restart': ('ok', 'unattended-upgrades is not installed: nothing reboots this host for updates'),
        'filevault-on': ('ok', "not applicable: FileVault is macOS's (an encrypted Debian root asks at boot as it "
                               "was set up)"),
        'remote-login-off': ('ok', 'sshd answered: this host runs it (factiii reached it over SSH)'),
        'sudo-needs-password': ('ok', 'runs as root with no deploy user to check (set deploy_user: <user> on the task)'),
    }
    assert not [c for c in host.calls if c[0] == 'systemctl']  # nothing to suspend it: not even asked


IDLE_SUSPEND = {'/etc/systemd/logind.conf': sim_debian.LOGIND_CONF,
                '/etc/systemd/logind.conf.d/t16g.conf': '[Login]\nIdleAction=suspend\n'}


@pytest.mark.parametrize('logind, lid, cause', [
    (IDLE_SUSPEND, False, 'logind IdleAction=suspend'),
    (None, True, 'a lid, with logind HandleLidSwitch=suspend'),  # the default action of a lid
])
def test_a_host_that_can_suspend_itself_gets_its_sleep_targets_masked(systemd, logind, lid, cause):
    scan_host = SimDebian(CONVERGED, logind=logind, lid=lid)
    scan = run(scan_host, ['sleep-enabled'], check_mode=True)['sleep-enabled']
    assert (scan['status'], scan['msg']) == (
        'fixed', 'would mask sleep.target suspend.target hibernate.target hybrid-sleep.target '
                 '(this host can suspend itself: %s)' % cause)
    assert not scan_host.masked
    host = SimDebian(CONVERGED, logind=logind, lid=lid)
    row = run(host, ['sleep-enabled'])['sleep-enabled']
    assert row['status'] == 'fixed', row
    assert host.masked == set(sim_debian.SLEEP_TARGETS)
    host.calls = []
    again = run(host, ['sleep-enabled'])['sleep-enabled']
    assert (again['status'], again['msg']) == ('ok', 'the sleep targets are masked (%s can ask, nothing happens)' % cause)
    assert not [c for c in host.calls if c[:2] == ['systemctl', 'mask']]


def test_a_lid_set_to_ignore_and_a_later_drop_in_that_undoes_idle_suspend_are_ok(systemd):
    logind = dict(IDLE_SUSPEND, **{'/etc/systemd/logind.conf.d/zz-server.conf':
                                   '[Login]\nIdleAction=ignore\nHandleLidSwitch=ignore\n'})
    row = run(SimDebian(CONVERGED, logind=logind, lid=True), ['sleep-enabled'])['sleep-enabled']
    assert row['status'] == 'ok' and 'IdleAction=ignore' in row['msg'], row


def test_sleep_targets_as_a_user_without_sudo_is_manual(systemd):
    host = SimDebian(CONVERGED, logind=IDLE_SUSPEND, euid=1000, sudo=False)
    row = run(host, ['sleep-enabled'])['sleep-enabled']
    assert row['status'] == 'manual' and row['msg'].startswith(
        'this host can suspend itself: logind IdleAction=suspend and masking the sleep targets needs root'), row
    assert not host.masked


def test_unattended_upgrades_that_reboot_are_the_admins_choice_manual(systemd):
    host = SimDebian(CONVERGED + ('unattended-upgrades',), auto_reboot='true')
    row = run(host, ['updates-restart'])['updates-restart']
    assert row['status'] == 'manual'
    assert row['msg'] == ('unattended-upgrades reboots this host by itself after some updates '
                          '(Unattended-Upgrade::Automatic-Reboot "true")')
    quiet = run(SimDebian(CONVERGED + ('unattended-upgrades',)), ['updates-restart'])['updates-restart']
    assert (quiet['status'], quiet['msg']) == (
        'ok', 'unattended-upgrades does not reboot this host (Automatic-Reboot false)')


def test_a_deploy_user_without_passwordless_sudo_is_manual_with_a_checked_sudoers_file(systemd, monkeypatch):
    monkeypatch.setenv('SUDO_USER', 'deploy')
    host = SimDebian(CONVERGED)
    row = run(host, ['sudo-needs-password'])['sudo-needs-password']
    assert ['/usr/bin/sudo', '-n', '-u', 'deploy', '/usr/bin/sudo', '-n', 'true'] in host.calls
    assert row['status'] == 'manual'
    assert row['msg'] == 'deploy cannot sudo without a password (sudo: a password is required)'
    assert row['steps'] == [
        "rule=$(mktemp) && printf '%s\\n' 'deploy ALL=(ALL) NOPASSWD: ALL' > \"$rule\"  # as root",
        'visudo -cf "$rule"  # checks it: must say "parsed OK"',
        'install -m 0440 -o root -g root "$rule" /etc/sudoers.d/factiii-deploy && rm -f "$rule"']
    host.sudoers.add('deploy')
    assert run(host, ['sudo-needs-password'])['sudo-needs-password']['msg'] == 'deploy may sudo without a password'
    # deploy_user wins over SUDO_USER; a name that is not one is bad input, run nothing
    bad = run(host, ['sudo-needs-password'], deploy_user='x;rm -rf /')['sudo-needs-password']
    assert bad['status'] == 'failed' and 'is not a user name' in bad['msg']


@pytest.mark.parametrize('docker_cli, expected', [
    # Debian 12: docker-compose is Compose v1 (1.29.2), there is no docker-buildx: Docker's steps
    ('20.10', 'manual'),
    # Debian 13: docker-compose 2.26.1 and docker-buildx 0.13.1 are docker CLI plugins
    ('26.1', 'fixed'),
])
def test_docker_plugins_come_from_apt_only_where_apt_has_them_as_plugins(systemd, docker_cli, expected):
    packages = TRIXIE if docker_cli == '26.1' else CONVERGED
    host = SimDebian(packages, docker_cli=docker_cli, docker_running=True, docker_enabled=True)
    rows = run(host, ['docker-missing', 'docker-plugins-missing'])
    row = rows['docker-plugins-missing']
    assert row['status'] == expected, row
    if expected == 'manual':
        assert row['msg'] == 'docker compose and docker buildx are missing'
        assert 'docs.docker.com/engine/install/debian/' in row['steps'][0]
        assert not host.installs()
    else:
        assert row['msg'] == 'done: install docker-compose docker-buildx'
        assert host.installs()[0][-2:] == ['docker-compose', 'docker-buildx']
        again = run(host, ['docker-missing', 'docker-plugins-missing'])['docker-plugins-missing']
        assert (again['status'], again['msg']) == ('ok', 'docker compose and docker buildx are installed')
