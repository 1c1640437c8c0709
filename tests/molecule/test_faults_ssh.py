"""Issue 8, faults 5 and 6: hosts that fail on the way in, in ONE run of a seven-host staging stage.

Seven throwaway hosts (tests/testhost.py, ports 23450-23456), one `ansible-playbook playbooks/fix.yml
-l staging` with `staging_fixes: [git-missing]` and FACTIII_RESULTS_JSON:

  0 healthy            git gets installed: Fixed
  1 killed mid-run     apt's lock is held on it (package_lock_timeout 60 s), and the container is
                       killed (docker kill) while its stage module waits for the lock (it reads
                       /proc/locks: apt-get does not run while the lock is held)
  2 unreachable        removed before the run: nothing listens on its port
  3 wrong SSH key      its root authorized_keys holds another key
  4 host key changed   its host keys are regenerated after they were pinned: ssh must refuse it
  5 no sudo            ansible_user is an unprivileged user, staging_become: false: Manual, with
                       what to grant (the module's own sudo -n check)
  6 wrong become pw    a user whose sudo needs a password, become with a wrong
                       ansible_become_password: Failed, saying the password was wrong and what to grant

Each bad host is its own row of STAGING with a one-line reason, in the text and in the JSON; the
healthy host finishes; the exit code is non-zero; no traceback anywhere.
"""
import json
import re
import subprocess
import threading
import time

import pytest
import yaml

from support import run_reported, tool
from testhost import TestHosts

HEALTHY, KILLED, GONE, WRONG_KEY, HOST_KEY, NO_SUDO, BAD_PASSWORD = range(7)
ITEM = re.compile(r'^   (Fixed|Manual|Failed): (\S+) \[(\S+)\]: (.*)$')
LOCK_HOLDER = ('python3 -c "import fcntl, time; f = open(\'/var/lib/dpkg/lock-frontend\', \'w\'); '
               'fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(900)"')


def report_block(stdout):
    match = re.search(r'^RESULTS BY STAGE\n.*?^TOTAL: [^\n]*$', stdout, re.M | re.S)
    assert match, 'no RESULTS BY STAGE in the output:\n%s' % stdout[-5000:]
    return match.group(0)


def items(block):
    """{host: [(label, fix_id, msg)]} of the listed rows, plus the step lines under them."""
    found = {}
    for line in block.splitlines():
        match = ITEM.match(line)
        if match:
            label, fix_id, host, msg = match.groups()
            found.setdefault(host, []).append((label, fix_id, msg))
    return found


class Killer(threading.Thread):
    """Kills ``host``'s container once its stage module is waiting for apt's lock."""

    def __init__(self, host):
        super().__init__(daemon=True)
        self.host = host
        self.seen = None   # the stage module's command line seen running on the host
        self.killed = False
        self.stop = threading.Event()

    def run(self):
        deadline = time.monotonic() + 240
        while not self.stop.is_set() and time.monotonic() < deadline:
            # the stage module of a fix's async job: python3 .../AnsiballZ_stage.py (async_wrapper
            # runs it; its own command lines go on with the job id)
            proc = self.host.exec('pgrep -af "[/]AnsiballZ_stage[.]py$" || true', check=False)
            lines = [line for line in proc.stdout.splitlines() if 'pgrep' not in line]
            if lines:
                time.sleep(1)  # it is waiting for the lock (60 s), not done in a second
                still = self.host.exec('pgrep -af "[/]AnsiballZ_stage[.]py$" || true', check=False).stdout
                if lines[0] in still:
                    self.seen = lines[0]
                    subprocess.run(['docker', 'kill', self.host.name], capture_output=True, check=True)
                    self.killed = True
                return
            time.sleep(0.2)


def prepare(hosts, tmp):
    """Break hosts 1-6 as the module docstring says; returns {host index: extra host vars}."""
    extra = {}
    # 1: killed mid-run; the lock makes its batch wait (up to 60 s) long enough to be killed in it
    hosts[KILLED].exec('systemd-run --unit hold-dpkg-lock --collect %s' % LOCK_HOLDER)
    deadline = time.monotonic() + 30
    while 'lockf' not in hosts[KILLED].exec('pgrep -af "[f]cntl.lockf" || true', check=False).stdout:
        assert time.monotonic() < deadline, 'the lock holder did not start'
        time.sleep(0.2)
    extra[KILLED] = {'staging_package_lock_timeout': 60}
    # 2: unreachable from the start
    subprocess.run(['docker', 'rm', '-f', hosts[GONE].name], capture_output=True, check=True)
    # 3: authorized_keys holds another key
    other = str(tmp / 'other_key')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'not-the-inventory-key', '-f', other],
                   check=True, capture_output=True)
    with open(other + '.pub') as handle:
        subprocess.run(['docker', 'exec', '-i', hosts[WRONG_KEY].name, 'sh', '-c',
                        'cat > /root/.ssh/authorized_keys'], stdin=handle, check=True, capture_output=True)
    # 4: new host keys after they were pinned
    hosts[HOST_KEY].exec('rm -f /etc/ssh/ssh_host_*; ssh-keygen -A >/dev/null; systemctl restart ssh')
    # 5 and 6: users of their own, with the inventory's key
    with open(hosts.key + '.pub') as handle:
        pub = handle.read()
    for index, user, sudoers in ((NO_SUDO, 'deploy', None),
                                 (BAD_PASSWORD, 'deployer', 'deployer ALL=(ALL) ALL')):
        script = ('useradd -m -s /bin/bash {u} && echo {u}:right-password-7f3a | chpasswd && '
                  'install -d -m 0700 -o {u} -g {u} /home/{u}/.ssh && cat > /home/{u}/.ssh/authorized_keys && '
                  'chown {u}: /home/{u}/.ssh/authorized_keys && chmod 0600 /home/{u}/.ssh/authorized_keys').format(u=user)
        if sudoers:
            script += ' && echo "%s" > /etc/sudoers.d/%s && chmod 0440 /etc/sudoers.d/%s' % (sudoers, user, user)
        subprocess.run(['docker', 'exec', '-i', hosts[index].name, 'sh', '-c', script], input=pub, text=True,
                       check=True, capture_output=True)
    extra[NO_SUDO] = {'ansible_user': 'deploy', 'staging_become': False}
    extra[BAD_PASSWORD] = {'ansible_user': 'deployer', 'ansible_become_password': 'wrong-password-7f3a'}
    return extra


@pytest.fixture(scope='module')
def faults(test_host_image, ansible_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('faults')
    with TestHosts('badin', 7, tmp, base_port=23450) as hosts:
        for host in hosts.hosts:
            assert host.exec('command -v git', check=False).returncode != 0, 'the image must not have git'
        extra = prepare(hosts, tmp)
        inventory = {'all': {'children': {'staging': {
            'hosts': dict((h.name, dict(hosts.ssh_vars(h), **extra.get(i, {}))) for i, h in enumerate(hosts.hosts)),
            'vars': {'staging_repo_url': 'file:///srv/unused.git', 'staging_repo_dest': '/srv/app',
                     'staging_fixes': ['git-missing']},
        }}}}
        path = tmp / 'inventory.yml'
        path.write_text(yaml.safe_dump(inventory))
        results = tmp / 'results.json'
        env = dict(ansible_env, FACTIII_RESULTS_JSON=str(results), ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp / 'cp'))
        killer = Killer(hosts[KILLED])
        killer.start()
        argv = [tool('ansible-playbook'), '-i', str(path), 'playbooks/fix.yml', '-l', 'staging']
        try:
            proc = run_reported(argv, env, 600)
        finally:
            killer.stop.set()
            killer.join(10)
        data = json.loads(results.read_text()) if results.exists() else None
        yield hosts, proc, data, killer


def rows_of(faults, index):
    hosts, proc, data, dummy = faults
    name = hosts[index].name
    text = items(report_block(proc.stdout)).get(name, [])
    assert data is not None, proc.report
    entry = data['stages']['staging']['hosts'].get(name)
    assert entry is not None, proc.report
    listed = [(r['status'], r['fix_id'], r['msg']) for r in entry['results'] if r['status'] != 'ok']
    # the JSON and the text say the same, row for row
    assert [(label.lower(), fix_id, msg) for label, fix_id, msg in text] == listed, (text, listed)
    return entry['results']


def one_failed_row(faults, index, fix_id):
    rows = rows_of(faults, index)
    assert [(r['status'], r['fix_id']) for r in rows] == [('failed', fix_id)], faults[1].report
    msg = rows[0]['msg']
    assert msg and '\n' not in msg and '\r' not in msg and '@@@' not in msg, msg
    return msg


def test_the_run_fails_without_a_traceback_and_counts_every_host(faults):
    hosts, proc, data, killer = faults
    assert proc.returncode != 0, proc.report
    for stream in (proc.stdout, proc.stderr):
        assert 'Traceback (most recent call last)' not in stream, proc.report
    staging = data['stages']['staging']
    assert sorted(staging['hosts']) == sorted(hosts.names)
    assert (staging['fixed'], staging['manual'], staging['failed']) == (1, 1, 5), proc.report
    assert 'STAGING:\n   Fixed: 1, Manual: 1, Failed: 5\n' in report_block(proc.stdout)
    assert data['total'] == {'fixed': 1, 'manual': 1, 'failed': 5, 'ok': 0}


def test_the_healthy_host_finishes_and_is_fixed(faults):
    hosts = faults[0]
    rows = rows_of(faults, HEALTHY)
    assert [(r['status'], r['fix_id']) for r in rows] == [('fixed', 'staging-git-missing')]
    assert hosts[HEALTHY].exec('git --version').stdout.startswith('git version')


def test_a_host_killed_mid_run_is_a_failed_row(faults):
    hosts, proc, data, killer = faults
    # the premise: the container was killed while its stage module waited for apt's lock
    assert killer.killed and killer.seen and 'AnsiballZ_stage.py' in killer.seen, (killer.seen, proc.report)
    state = subprocess.run(['docker', 'inspect', '-f', '{{.State.Running}}', hosts[KILLED].name],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert state == 'false'
    msg = one_failed_row(faults, KILLED, 'staging-host-unreachable')
    # the row is the kill, not apt's lock timeout (that would be a failed staging-git-missing row)
    assert msg.startswith('connection to 127.0.0.1 lost while the task ran'), msg


def test_a_host_unreachable_from_the_start_is_a_failed_row(faults):
    msg = one_failed_row(faults, GONE, 'staging-host-unreachable')
    assert msg == ('Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port %d: Connection refused'
                   % faults[0][GONE].port), msg


def test_a_wrong_ssh_key_is_a_failed_row(faults):
    hosts = faults[0]
    msg = one_failed_row(faults, WRONG_KEY, 'staging-host-unreachable')
    assert msg.startswith('ssh login refused: root@127.0.0.1: Permission denied (publickey'), msg
    assert msg.endswith('the SSH key used is not in the authorized_keys of root there'), msg
    assert hosts[WRONG_KEY].ssh_logins() == 0


def test_a_changed_host_key_is_refused_and_a_failed_row(faults):
    hosts, proc = faults[0], faults[1]
    msg = one_failed_row(faults, HOST_KEY, 'staging-host-unreachable')
    assert msg.startswith('host key changed, ssh refused to connect (REMOTE HOST IDENTIFICATION HAS CHANGED; '
                          'Host key verification failed): [127.0.0.1]:%d no longer shows the key pinned for it '
                          '(pinned at %s line ' % (hosts[HOST_KEY].port, hosts.known_hosts)), msg
    # refused before logging in: sshd accepted nothing, and the pinned key was not replaced
    assert hosts[HOST_KEY].ssh_logins() == 0
    assert 'Host key verification failed' in proc.stdout


def test_no_sudo_is_manual_with_what_to_grant(faults):
    hosts = faults[0]
    rows = rows_of(faults, NO_SUDO)
    assert [(r['status'], r['fix_id']) for r in rows] == [('manual', 'staging-git-missing')], faults[1].report
    assert 'neither root nor allowed passwordless sudo' in rows[0]['msg']
    assert any('NOPASSWD' in step and '/etc/sudoers.d/' in step for step in rows[0]['steps']), rows[0]
    assert any('become' in step for step in rows[0]['steps']), rows[0]
    text = report_block(faults[1].stdout)
    for step in rows[0]['steps']:
        assert '\n      - %s\n' % step in text
    assert hosts[NO_SUDO].exec('command -v git', check=False).returncode != 0


def test_a_wrong_become_password_is_a_failed_row_with_what_to_grant(faults):
    hosts = faults[0]
    msg = one_failed_row(faults, BAD_PASSWORD, 'staging-become-failed')
    assert msg.startswith('become failed: sudo rejected the become password of deployer (Incorrect sudo password): '), msg
    assert '"deployer ALL=(ALL) NOPASSWD: ALL" in /etc/sudoers.d/factiii' in msg, msg
    assert 'wrong-password-7f3a' not in faults[1].stdout + faults[1].stderr
    assert hosts[BAD_PASSWORD].exec('command -v git', check=False).returncode != 0
