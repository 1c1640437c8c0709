"""Every fix on the Debian backend, through the stage runner, on a simulated host."""
import pytest

from ansible_collections.factiii.infra.plugins.module_utils.platforms import debian as debian_mod
from ansible_collections.factiii.infra.plugins.module_utils.platforms.debian import Debian
from ansible_collections.factiii.infra.plugins.module_utils.registry import FIXES
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner
from ansible_collections.factiii.infra.plugins.module_utils.stage import DEFAULT_FIXES, run_fixes

from sim_debian import SimDebian

PARAMS = {'node_min_major': 20, 'pnpm_version': '10', 'package_lock_timeout': 30,
          'docker_start_timeout': 5, 'repo_known_hosts': []}
DEV = DEFAULT_FIXES['dev']
SERVER = [n for n in DEFAULT_FIXES['staging'] if n != 'repo-not-cloned']
CONVERGED = ('git', 'nodejs', 'npm', 'docker.io')


@pytest.fixture
def systemd(monkeypatch):
    monkeypatch.setattr(Debian, '_systemd', lambda self: True)


@pytest.fixture(autouse=True)
def fresh_lists(monkeypatch):
    monkeypatch.setattr(Debian, '_lists_age', lambda self: 10)


def run(host, names, check_mode=False, monkeypatch=None, **params):
    debian_mod.os.geteuid = lambda: host.euid
    platform = Debian(Runner(host), check_mode=check_mode, options=dict(PARAMS, **params))
    platform.sleep = lambda seconds: None
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
    assert statuses(rows) == dict.fromkeys(rows, 'fixed')
    assert rows['git-missing']['msg'] == 'would install git (git)'
    assert rows['node-missing']['msg'] == 'would install node (nodejs npm 20.19.2-1nodesource1)'
    assert rows['pnpm-missing']['msg'] == 'would install pnpm@10 with npm'
    assert rows['docker-not-running']['msg'] == 'would start docker'
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
        'docker-not-running': 'ok', 'docker-autostart': 'ok'}
    assert host.installs() == [['apt-get', '-o', 'DPkg::Lock::Timeout=30', '-q', '-y', 'install',
                                'git', 'nodejs', 'npm', 'docker.io']]
    assert ['/usr/bin/npm', 'install', '-g', '--no-fund', '--no-audit', 'pnpm@10'] in host.calls
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
    host = SimDebian(apt_error='E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by '
                               'process 4242 (apt-get)\n')
    rows = run(host, ['git-missing', 'docker-missing', 'docker-not-running'])
    assert rows['git-missing']['status'] == 'failed'
    assert rows['git-missing']['msg'] == 'package manager busy (lock held by PID 4242) after waiting 30s'
    assert rows['docker-not-running']['msg'] == 'not attempted: needs staging-docker-missing, which is failed'


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
    assert ['/usr/bin/npm', 'install', '-g', '--no-fund', '--no-audit', 'pnpm@9.12.0'] in host.calls
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
