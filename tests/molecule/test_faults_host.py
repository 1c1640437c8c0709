"""Faults on real hosts (issue 8, faults 1-4): each ends in the right row with a one-line reason,
the other fixes carry on, nothing the user had is lost.

Each test starts its own test hosts (tests/testhost.py: systemd, sshd, pinned host keys,
loopback ports 23400-23449), puts the fault there for real, and runs the collection built
from this tree: `ansible-playbook playbooks/fix.yml -l staging` with the repository's
ansible.cfg, a results JSON per run. Each host's stage is kept to the fixes the case needs.

1. the dpkg frontend lock held by another process (a python3 holding a real fcntl lock):
   Failed "package manager busy (lock held by PID <its pid>) ..." after package_lock_timeout;
   released, the next run installs;
2. dpkg killed in a package's configure step (so apt says "dpkg was interrupted"): Manual with
   `sudo dpkg --configure -a`, nothing touched; with staging_repair_dpkg, repaired, then installed;
3. the package source refuses connections and the lists are gone: the package fix is Failed with
   apt's reason; git (present), the clone, docker start and autostart still run;
4. repo_dest's file system full (a 1 MiB tmpfs) or read-only (a read-only bind mount): the clone
   is Failed with ENOSPC / EROFS and leaves nothing; an existing clone with local changes there is
   Manual listing them and is left exactly as it was; a clean one is OK.
"""
import os
import re
import subprocess
import time

import pytest

from scenario import row, run_fix
from testhost import TestHosts

PORT = 23400  # this file's loopback ports: 23400-23449
ORIGIN = '/opt/git/app.git'  # a repository on the host itself: the clone needs no network
REPO_URL = 'file://' + ORIGIN
DEAD_SOURCE = 'http://127.0.0.1:23448/debian'  # nothing listens there, inside the host

# Holds a lock the way apt and dpkg take theirs (fcntl F_SETLK on the whole file) until killed.
HOLDER = r'''
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o640)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
with open(sys.argv[2], 'w') as out:
    out.write('%d\n' % os.getpid())
while True:
    time.sleep(60)
'''

# A package whose first configure hangs; dpkg is killed there, as by a power cut or a kill -9
# during an upgrade. dpkg's journal (/var/lib/dpkg/updates) is then left behind: the state apt
# calls "dpkg was interrupted". The second configure (the repair) passes.
INTERRUPT = r'''set -eu
work=$(mktemp -d)
mkdir -p "$work/pkg/DEBIAN"
cat > "$work/pkg/DEBIAN/control" <<EOF
Package: factiii-interrupted
Version: 1.0
Architecture: all
Maintainer: factiii tests <tests@example.invalid>
Description: a package whose first configure is killed midway
EOF
cat > "$work/pkg/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ ! -e /var/lib/factiii-interrupted.once ]; then
    touch /var/lib/factiii-interrupted.once
    echo $$ > /run/factiii-postinst.pid
    exec sleep 600
fi
EOF
chmod 0755 "$work/pkg/DEBIAN/postinst"
dpkg-deb --build "$work/pkg" /root/factiii-interrupted.deb >/dev/null
setsid dpkg -i /root/factiii-interrupted.deb >/root/dpkg.log 2>&1 < /dev/null &
dpkg_pid=$!
for _ in $(seq 100); do [ -s /run/factiii-postinst.pid ] && break; sleep 0.1; done
[ -s /run/factiii-postinst.pid ] || { echo "the postinst never ran" >&2; exit 1; }
kill -KILL "$dpkg_pid" "$(cat /run/factiii-postinst.pid)"
'''


def printed(proc, label, fix, host):
    """The message of a row in the RESULTS BY STAGE report (the host is named when a stage has several)."""
    match = re.search(r'^   %s: staging-%s(?: \[%s\])?: (.*)$' % (label, re.escape(fix), re.escape(host.name)),
                      proc.stdout, re.M)
    assert match, proc.report
    return match.group(1)


def stage_vars(fixes, **more):
    base = {'staging_repo_url': REPO_URL, 'staging_repo_dest': '/srv/app', 'staging_fixes': fixes}
    base.update(('staging_' + key, value) for key, value in more.items())
    return base


def make_origin(host, tmp_path):
    """A bare repository with one commit, made on the controller and copied into the host."""
    work = tmp_path / 'origin-work'
    env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@example.com',
               GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@example.com')
    if not (tmp_path / 'app.git').exists():
        subprocess.run(['git', 'init', '-q', '-b', 'main', str(work)], check=True, env=env)
        (work / 'app.txt').write_text('one\n')
        (work / 'README.md').write_text('app\n')
        subprocess.run(['git', '-C', str(work), 'add', '.'], check=True, env=env)
        subprocess.run(['git', '-C', str(work), 'commit', '-q', '-m', 'one'], check=True, env=env)
        subprocess.run(['git', 'clone', '-q', '--bare', str(work), str(tmp_path / 'app.git')], check=True, env=env)
    host.exec('mkdir -p %s' % os.path.dirname(ORIGIN))
    subprocess.run(['docker', 'cp', str(tmp_path / 'app.git'), '%s:%s' % (host.name, ORIGIN)], check=True)


def git_installed(host):
    return host.exec('command -v git', check=False).returncode == 0


def test_apt_lock_held_is_failed_with_the_holders_pid_then_fixed_once_released(test_host_image, ansible_env,
                                                                               tmp_path):
    with TestHosts('fault-lock', 1, tmp_path, base_port=PORT) as hosts:
        host = hosts[0]
        subprocess.run(['docker', 'exec', '-i', host.name, 'sh', '-c', 'cat > /root/holder.py'],
                       input=HOLDER, text=True, check=True)
        host.exec('setsid python3 /root/holder.py /var/lib/dpkg/lock-frontend /root/holder.pid '
                  '>/root/holder.log 2>&1 </dev/null &')
        deadline = time.monotonic() + 10
        while not host.exec('cat /root/holder.pid', check=False).stdout.strip():
            assert time.monotonic() < deadline, host.exec('cat /root/holder.log', check=False).stdout
            time.sleep(0.1)
        pid = host.exec('cat /root/holder.pid').stdout.strip()
        assert host.exec('cat /proc/%s/comm' % pid).stdout.strip() == 'python3'
        # the premise: apt itself sees that process holding the lock
        probe = host.exec('LANG=C apt-get -o DPkg::Lock::Timeout=0 -q -y install git 2>&1', check=False)
        assert 'It is held by process %s (python3)' % pid in probe.stdout, probe.stdout

        settings = stage_vars(['git-missing'], package_lock_timeout=5)
        proc, data, seconds = run_fix(ansible_env, hosts, tmp_path, 'held', settings)
        assert proc.returncode != 0, proc.report
        git = row(data, host, 'git-missing')
        assert git['status'] == 'failed', git
        assert git['msg'] == ('package manager busy (lock held by PID %s) after waiting 5s: /var/lib/dpkg/lock-frontend '
                              'is held by python3 /root/holder.py /var/lib/dpkg/lock-frontend /root/holder.pid' % pid), git
        assert printed(proc, 'Failed', 'git-missing', host) == git['msg'], proc.report
        assert seconds >= 5, seconds  # it waited (bounded: package_lock_timeout)
        assert not git_installed(host)

        host.exec('kill %s' % pid)
        proc, data, seconds2 = run_fix(ansible_env, hosts, tmp_path, 'released', settings)
        assert proc.returncode == 0, proc.report
        git = row(data, host, 'git-missing')
        assert git['status'] == 'fixed', git
        assert git_installed(host)
    print('runs: held %.1fs, released %.1fs' % (seconds, seconds2))


def test_interrupted_dpkg_is_manual_then_repaired_when_opted_in(test_host_image, ansible_env, tmp_path):
    with TestHosts('fault-dpkg', 1, tmp_path, base_port=PORT + 10) as hosts:
        host = hosts[0]
        proc = subprocess.run(['docker', 'exec', '-i', host.name, 'sh', '-c', 'cat > /root/interrupt.sh && '
                               'sh /root/interrupt.sh'], input=INTERRUPT, text=True, capture_output=True, check=False)
        assert proc.returncode == 0, proc.stderr
        journal = host.exec('ls /var/lib/dpkg/updates').stdout.split()
        assert [name for name in journal if name.isdigit()], journal
        # the premise: apt refuses to install, as on a real server after an interrupted upgrade
        probe = host.exec('LANG=C apt-get -q -y install git 2>&1', check=False)
        assert probe.returncode != 0
        assert "E: dpkg was interrupted, you must manually run 'dpkg --configure -a'" in probe.stdout, probe.stdout

        # a scan says what the fix will say (not "would install")
        proc, data, _seconds = run_fix(ansible_env, hosts, tmp_path, 'scan', stage_vars(['git-missing']), '--check')
        assert proc.returncode == 0, proc.report
        scanned = row(data, host, 'git-missing')
        assert (scanned['status'], scanned['msg']) == ('manual', 'dpkg was interrupted: the package database needs repair')
        assert host.exec("dpkg-query -W -f='${Status}' factiii-interrupted").stdout == 'install ok half-configured'

        proc, data, seconds = run_fix(ansible_env, hosts, tmp_path, 'manual', stage_vars(['git-missing']))
        assert proc.returncode == 0, proc.report  # manual alone does not fail the run
        git = row(data, host, 'git-missing')
        assert git['status'] == 'manual', git
        assert git['msg'] == 'dpkg was interrupted: the package database needs repair'
        assert git['steps'][0] == 'sudo dpkg --configure -a'
        assert printed(proc, 'Manual', 'git-missing', host) == git['msg'], proc.report
        assert '      - sudo dpkg --configure -a\n' in proc.stdout, proc.report
        # nothing was touched: same journal, the package still half-configured, no git
        assert host.exec('ls /var/lib/dpkg/updates').stdout.split() == journal
        assert host.exec("dpkg-query -W -f='${Status}' factiii-interrupted").stdout == 'install ok half-configured'
        assert not git_installed(host)

        proc, data, seconds2 = run_fix(ansible_env, hosts, tmp_path, 'repair',
                                       stage_vars(['git-missing'], repair_dpkg=True))
        assert proc.returncode == 0, proc.report
        git = row(data, host, 'git-missing')
        assert git['status'] == 'fixed', git
        assert [n for n in host.exec('ls /var/lib/dpkg/updates').stdout.split() if n.isdigit()] == []
        assert host.exec("dpkg-query -W -f='${Status}' factiii-interrupted").stdout == 'install ok installed'
        assert host.exec('LANG=C dpkg --audit').stdout.strip() == ''
        assert git_installed(host)
    print('runs: manual %.1fs, repair %.1fs' % (seconds, seconds2))


def test_unreachable_package_source_fails_only_the_package_fix(test_host_image, ansible_env, tmp_path):
    with TestHosts('fault-source', 1, tmp_path, base_port=PORT + 20) as hosts:
        host = hosts[0]
        # git and docker are there (installed while the source worked); docker stopped, off at boot
        host.exec('export DEBIAN_FRONTEND=noninteractive; apt-get -q update >/dev/null && '
                  'apt-get -q -y install --no-install-recommends git docker.io >/dev/null')
        host.exec('systemctl disable --now docker.socket docker.service 2>/dev/null; systemctl is-active docker',
                  check=False)
        assert host.exec('systemctl is-active docker', check=False).stdout.strip() != 'active'
        make_origin(host, tmp_path)
        # the source breaks: a mirror that refuses connections, and no lists left
        host.exec('echo "deb %s bookworm main" > /etc/apt/sources.list; rm -f /etc/apt/sources.list.d/*; '
                  'rm -rf /var/lib/apt/lists/*' % DEAD_SOURCE)
        by_hand = host.exec('LANG=C apt-get -q update 2>&1 >/dev/null; rm -rf /var/lib/apt/lists/*', check=False)
        fetch = [line for line in by_hand.stdout.splitlines() if line.startswith('W: Failed to fetch')]
        assert fetch and 'Connection refused' in fetch[0], by_hand.stdout

        settings = stage_vars(['git-missing', 'node-missing', 'docker-missing', 'repo-not-cloned',
                               'docker-not-running', 'docker-autostart'])
        proc, data, seconds = run_fix(ansible_env, hosts, tmp_path, 'source', settings)
        assert proc.returncode != 0, proc.report
        got = dict((name, row(data, host, name)) for name in settings['staging_fixes'])
        assert dict((k, r['status']) for k, r in got.items()) == {
            'git-missing': 'ok', 'node-missing': 'failed', 'docker-missing': 'ok',
            'repo-not-cloned': 'fixed', 'docker-not-running': 'fixed', 'docker-autostart': 'fixed'}, got
        assert got['node-missing']['msg'] == (
            'apt-get install nodejs npm failed: E: Unable to locate package nodejs; apt-get update: %s' % fetch[0])
        # and the rest really happened
        assert host.exec('git -C /srv/app config --get remote.origin.url').stdout.strip() == REPO_URL
        assert host.exec('systemctl is-active docker').stdout.strip() == 'active'
        assert host.exec('systemctl is-enabled docker').stdout.strip() == 'enabled'
        assert host.exec('command -v node', check=False).returncode != 0
    print('run: %.1fs' % seconds)


def test_full_or_read_only_repo_dest_fails_and_a_dirty_clone_there_is_kept(test_host_image, ansible_env, tmp_path):
    with TestHosts('fault-disk', 2, tmp_path, base_port=PORT + 30) as hosts:
        full, readonly = hosts[0], hosts[1]
        for host in (full, readonly):
            make_origin(host, tmp_path)
            host.exec('mkdir -p /srv')
        # /srv: a 1 MiB tmpfs filled to the last block; a read-only bind mount of itself
        fill = 'dd if=/dev/zero of=/srv/filler bs=4k 2>/dev/null; true'
        full.exec('mount -t tmpfs -o size=1m factiii-full /srv && ' + fill)
        assert full.exec("df --output=avail /srv | tail -n1").stdout.strip() == '0'
        readonly.exec('mount --bind /srv /srv && mount -o remount,ro,bind /srv')
        assert readonly.exec('touch /srv/probe', check=False).returncode != 0

        settings = stage_vars(['git-missing', 'repo-not-cloned'])
        proc, data, seconds = run_fix(ansible_env, hosts, tmp_path, 'fresh', settings)
        assert proc.returncode != 0, proc.report
        for host in (full, readonly):
            assert row(data, host, 'git-missing')['status'] == 'fixed'  # / is fine: git is installed
        clone = row(data, full, 'repo-not-cloned')
        assert clone['status'] == 'failed', clone
        assert re.match(r"git clone failed: fatal: .*: No space left on device$", clone['msg']), clone
        clone = row(data, readonly, 'repo-not-cloned')
        assert clone['status'] == 'failed', clone
        assert clone['msg'] == 'cannot clone into /srv/app: cannot create a directory in /srv: ' \
                               'Read-only file system (EROFS) (running as root)', clone
        # nothing left behind
        assert full.exec('ls -A /srv').stdout.split() == ['filler']
        assert readonly.exec('ls -A /srv').stdout.split() == []

        # an existing clone with a local change (and an untracked file), on the same full / read-only /srv
        edit = ('git clone -q %s /srv/app && echo "edited on the server" >> /srv/app/app.txt && '
                'echo draft > /srv/app/notes.txt' % REPO_URL)
        full.exec('rm /srv/filler && %s && %s' % (edit, fill))
        readonly.exec('umount /srv && %s && mount --bind /srv /srv && mount -o remount,ro,bind /srv' % edit)
        snapshot = ('cd /srv/app && git rev-parse HEAD && git --no-optional-locks status --porcelain && '
                    'cat app.txt notes.txt && ls -A . .git && stat -c %Y .git/index')
        before = dict((host.name, host.exec(snapshot).stdout) for host in (full, readonly))
        proc, data, seconds2 = run_fix(ansible_env, hosts, tmp_path, 'dirty', settings)
        assert proc.returncode == 0, proc.report  # manual alone does not fail the run
        for host in (full, readonly):
            clone = row(data, host, 'repo-not-cloned')
            assert clone['status'] == 'manual', clone
            assert clone['msg'] == ('/srv/app has local changes to 1 file (M app.txt); '
                                    'factiii leaves the clone as it is'), clone
            assert printed(proc, 'Manual', 'repo-not-cloned', host) == clone['msg'], proc.report
            assert host.exec(snapshot).stdout == before[host.name], 'the clone on %s changed' % host.name
            assert 'edited on the server' in before[host.name]

        # the change undone (the untracked file stays): a clean clone is OK
        full.exec('rm /srv/filler && git -C /srv/app checkout -- app.txt && ' + fill)
        readonly.exec('umount /srv && git -C /srv/app checkout -- app.txt && '
                      'mount --bind /srv /srv && mount -o remount,ro,bind /srv')
        proc, data, seconds3 = run_fix(ansible_env, hosts, tmp_path, 'clean', settings)
        assert proc.returncode == 0, proc.report
        for host in (full, readonly):
            clone = row(data, host, 'repo-not-cloned')
            assert clone['status'] == 'ok', clone
            assert clone['msg'].startswith('/srv/app is cloned from %s (HEAD ' % REPO_URL), clone
            assert host.exec('cat /srv/app/notes.txt').stdout == 'draft\n'
    print('runs: fresh %.1fs, dirty %.1fs, clean %.1fs' % (seconds, seconds2, seconds3))


@pytest.fixture(autouse=True)
def _no_leftover_hosts():
    """This file's hosts are gone after each test, whatever happened (TestHosts removes them)."""
    yield
    names = subprocess.run(['docker', 'ps', '-a', '--filter', 'name=factiii-fault-', '--format', '{{.Names}}'],
                           capture_output=True, text=True, check=False).stdout.split()
    assert not [n for n in names if n.startswith(('factiii-fault-lock', 'factiii-fault-dpkg', 'factiii-fault-source',
                                                  'factiii-fault-disk'))], names
