"""Issue 14, point 1 on a real host: a running apt is not an interrupted dpkg.

A Debian test host (tests/testhost.py; loopback ports 23900-23909) where a real
`apt-get -y install` of a local package is still running: the package's postinst waits
for a file, so apt-get holds dpkg's frontend lock, its dpkg child the database lock, and
dpkg's journal (/var/lib/dpkg/updates) has entries - what `apt-get upgrade` or
unattended-upgrades look like from outside while they configure a package. The collection
built from this tree runs `ansible-playbook playbooks/fix.yml -l staging` (git-missing):

1. scan (--check) and fix with package_lock_timeout 3: Failed "package manager busy (lock
   held by PID <apt-get's pid>) ... is held by apt-get -q -y install /root/factiii-slow.deb"
   after waiting; not "dpkg was interrupted", no `dpkg --configure -a` step, nothing run;
2. fix with package_lock_timeout 90 while the postinst is let go a few seconds into the run:
   the fix waits for apt-get to finish, then installs git: Fixed.

The interrupted dpkg with no holder (Manual, and the opted-in repair) stays in
test_faults_host.py, whose helpers this file uses.
"""
import subprocess
import time

from scenario import row, run_fix
from support import molecule_helpers
from testhost import TestHosts

PORT = 23900  # this file's loopback ports: 23900-23909
RELEASE = '/run/factiii-release'
DEB = '/root/factiii-slow.deb'
APT = 'apt-get -q -y install %s' % DEB


FAULTS = molecule_helpers('test_faults_host')

# A package whose configure waits until RELEASE exists: the apt-get installing it stays live,
# holding the locks, with dpkg's journal on disk.
SLOW = r'''set -eu
work=$(mktemp -d)
mkdir -p "$work/pkg/DEBIAN"
cat > "$work/pkg/DEBIAN/control" <<CONTROL
Package: factiii-slow
Version: 1.0
Architecture: all
Maintainer: factiii tests <tests@example.invalid>
Description: a package whose configure takes as long as the test wants
CONTROL
cat > "$work/pkg/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
for _ in $(seq 3000); do [ -e /run/factiii-release ] && exit 0; sleep 0.2; done
exit 1
POSTINST
chmod 0755 "$work/pkg/DEBIAN/postinst"
dpkg-deb --build "$work/pkg" /root/factiii-slow.deb >/dev/null
cd /root && DEBIAN_FRONTEND=noninteractive setsid apt-get -q -y install /root/factiii-slow.deb \
    >/root/apt.log 2>&1 </dev/null &
echo $! > /root/apt.pid
'''


def start_slow_apt(host):
    """The apt-get above, started and seen in the package's configure; its PID."""
    proc = subprocess.run(['docker', 'exec', '-i', host.name, 'sh', '-c', 'cat > /root/slow.sh && sh /root/slow.sh'],
                          input=SLOW, text=True, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    pid = host.exec('cat /root/apt.pid').stdout.strip()
    deadline = time.monotonic() + 60
    status = "dpkg-query -W -f='${Status}' factiii-slow 2>/dev/null"
    while 'half-configured' not in host.exec(status, check=False).stdout:
        assert time.monotonic() < deadline, host.exec('cat /root/apt.log', check=False).stdout
        time.sleep(0.2)
    return pid


def command_line(host, pid):
    return host.exec('tr "\\0" " " < /proc/%s/cmdline' % pid).stdout.strip()


def test_a_live_apt_is_waited_for_and_named_never_reported_interrupted(test_host_image, ansible_env, tmp_path):
    with TestHosts('t14ap', 1, tmp_path, base_port=PORT) as hosts:
        host = hosts[0]
        pid = start_slow_apt(host)
        # the premise, as on the server: a live apt-get, dpkg's journal on disk, and the
        # command the old report advised fails on the lock
        assert command_line(host, pid) == APT
        journal = host.exec('ls /var/lib/dpkg/updates').stdout.split()
        assert [name for name in journal if name.isdigit()], journal
        by_hand = host.exec('LANG=C dpkg --configure -a 2>&1', check=False)
        assert by_hand.returncode != 0 and 'lock was locked by' in by_hand.stdout, by_hand.stdout

        busy = ('package manager busy (lock held by PID %s) after waiting 3s: /var/lib/dpkg/lock-frontend '
                'is held by %s' % (pid, APT))
        settings = FAULTS.stage_vars(['git-missing'], package_lock_timeout=3)
        for name, extra in (('scan', ['--check']), ('held', [])):
            proc, data, seconds = run_fix(ansible_env, hosts, tmp_path, name, settings, *extra)
            assert proc.returncode != 0, proc.report
            git = row(data, host, 'git-missing')
            assert (git['status'], git['msg']) == ('failed', busy), git
            assert not git.get('steps'), git
            assert FAULTS.printed(proc, 'Failed', 'git-missing', host) == busy, proc.report
            assert 'dpkg --configure -a' not in proc.stdout, proc.report
            assert seconds >= 3, seconds
            # nothing was touched: apt-get still at work, git not installed
            assert command_line(host, pid) == APT
            assert not FAULTS.git_installed(host)

        # apt-get finishes a few seconds into the next fix run: the fix waits, then installs
        host.exec('setsid sh -c "sleep 8; touch %s" >/dev/null 2>&1 </dev/null &' % RELEASE)
        proc, data, seconds = run_fix(ansible_env, hosts, tmp_path, 'released',
                                      FAULTS.stage_vars(['git-missing'], package_lock_timeout=90))
        assert proc.returncode == 0, proc.report
        git = row(data, host, 'git-missing')
        assert (git['status'], git['msg']) == ('fixed', 'done: install git (git)'), git
        assert FAULTS.git_installed(host)
        assert host.exec("dpkg-query -W -f='${Status}' factiii-slow").stdout == 'install ok installed'
        assert host.exec('test -e /proc/%s' % pid, check=False).returncode != 0  # apt-get ended by itself
    print('released run: %.1fs' % seconds)
