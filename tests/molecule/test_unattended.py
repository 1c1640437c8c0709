"""Issue 16, point 6, on real Debian hosts: a server that comes back unattended.

Two bookworm test hosts (tests/testhost.py, prefix t16g, loopback ports 24200-24201), the stage's
unattended fixes only:
- t16g-0 has a logind drop-in setting IdleAction=suspend: logind would suspend it when idle, so the
  scan says sleep-enabled would mask the sleep targets, the fix masks them (`systemctl is-enabled`
  says masked), a second fix changes nothing;
- t16g-1 is a plain server: nothing suspends it, and it is left alone.
The rows that do not apply to Debian are ok with their reason (firmware power-on, FileVault, SSH).
A deploy user without passwordless sudo is MANUAL on t16g-1, and its steps, run as they are,
make a sudoers.d file that `visudo -cf` accepts and after which the row is ok.
"""
import pytest

from scenario import host_state, row, run_fix
from testhost import TestHosts

PORT = 24200  # this file's loopback ports: 24200-24239
FIXES = ['sleep-enabled', 'autorestart-off', 'updates-restart', 'filevault-on', 'remote-login-off',
         'sudo-needs-password']
TARGETS = 'sleep.target suspend.target hibernate.target hybrid-sleep.target'
SETTINGS = {'staging_repo_url': 'file:///opt/git/app.git', 'staging_repo_dest': '/srv/app',
            'staging_fixes': FIXES, 'staging_deploy_user': 'deploy'}
NOT_APPLICABLE = {
    'autorestart-off': ('ok', 'not applicable: powering on after a power failure is a firmware setting here '
                              '(the BIOS/UEFI "Restore on AC power loss", or "AC Power Recovery": set it to on)'),
    'updates-restart': ('ok', 'unattended-upgrades is not installed: nothing reboots this host for updates'),
    'filevault-on': ('ok', "not applicable: FileVault is macOS's (an encrypted Debian root asks at boot as it "
                           "was set up)"),
    'remote-login-off': ('ok', 'sshd answered: this host runs it (factiii reached it over SSH)'),
}


def found(data, host):
    return dict((name, (row(data, host, name)['status'], row(data, host, name)['msg'])) for name in FIXES)


def targets(host):
    # `systemctl is-enabled` exits 1 once they are masked: read what it prints
    return host.exec('systemctl is-enabled %s' % TARGETS, check=False).stdout.split()


@pytest.fixture
def hosts(tmp_path):
    with TestHosts('t16g', 2, tmp_path, base_port=PORT) as made:
        idle, plain = made
        idle.exec('mkdir -p /etc/systemd/logind.conf.d && '
                  'printf "[Login]\\nIdleAction=suspend\\n" > /etc/systemd/logind.conf.d/t16g-idle.conf')
        for host in made:
            host.exec('useradd -m -s /bin/sh deploy')
        # the idle host's deploy user already may sudo without a password
        idle.exec('echo "deploy ALL=(ALL) NOPASSWD: ALL" > /etc/sudoers.d/deploy && chmod 0440 /etc/sudoers.d/deploy')
        yield made


def test_a_host_logind_can_suspend_gets_its_sleep_targets_masked_a_plain_one_is_left_alone(hosts, ansible_env,
                                                                                           tmp_path):
    idle, plain = hosts
    assert targets(idle) == targets(plain) == ['static'] * 4
    before = dict((host.name, host_state(host.name)) for host in hosts)

    proc, scan, _seconds = run_fix(ansible_env, hosts, tmp_path, 'scan', SETTINGS, playbook='playbooks/scan.yml')
    sleep_idle = ('fixed', 'would mask %s (this host can suspend itself: logind IdleAction=suspend)' % TARGETS)
    sleep_plain = ('ok', 'nothing suspends this host: no lid (/proc/acpi/button/lid), logind IdleAction=ignore')
    no_sudo = ('manual', 'deploy cannot sudo without a password (sudo: a password is required)')
    assert found(scan, idle) == dict(NOT_APPLICABLE, **{
        'sleep-enabled': sleep_idle, 'sudo-needs-password': ('ok', 'deploy may sudo without a password')}), proc.report
    assert found(scan, plain) == dict(NOT_APPLICABLE, **{
        'sleep-enabled': sleep_plain, 'sudo-needs-password': no_sudo}), proc.report
    for host in hosts:
        assert host_state(host.name) == before[host.name], 'the scan changed %s' % host.name
    assert targets(idle) == ['static'] * 4

    proc, fix, _seconds = run_fix(ansible_env, hosts, tmp_path, 'fix', SETTINGS)
    assert row(fix, idle, 'sleep-enabled')['status'] == 'fixed', proc.report
    assert found(fix, plain)['sleep-enabled'] == sleep_plain
    assert targets(idle) == ['masked'] * 4
    assert targets(plain) == ['static'] * 4  # left alone
    assert found(fix, plain)['sudo-needs-password'] == no_sudo
    steps = row(fix, plain, 'sudo-needs-password')['steps']

    proc, again, _seconds = run_fix(ansible_env, hosts, tmp_path, 'again', SETTINGS)
    assert found(again, idle)['sleep-enabled'] == (
        'ok', 'the sleep targets are masked (logind IdleAction=suspend can ask, nothing happens)'), proc.report
    assert dict((n, s) for n, (s, _m) in found(again, idle).items()) == dict.fromkeys(FIXES, 'ok')
    assert targets(idle) == ['masked'] * 4

    # the manual steps, run as they are, give a sudoers.d file visudo accepts, and the row is ok
    done = plain.exec('\n'.join(steps))
    assert plain.exec('visudo -c').returncode == 0
    assert plain.exec('stat -c "%a %U %G" /etc/sudoers.d/factiii-deploy').stdout.strip() == '440 root root', done
    proc, fixed, _seconds = run_fix(ansible_env, hosts, tmp_path, 'sudo', SETTINGS)
    assert found(fixed, plain)['sudo-needs-password'] == ('ok', 'deploy may sudo without a password'), proc.report
