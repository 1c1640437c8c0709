"""Issue 14, point 2 on a real host: two runs against one host at once.

A Debian test host (tests/testhost.py; loopback ports 23930-23939) where a real apt-get
install is held in its package's postinst (tests/molecule/test_apt_busy.py's helpers), so a
factiii run that needs the package manager waits there, deterministically, for as long as the
test wants, holding the host lock meanwhile. The collection built from this tree runs
`ansible-playbook playbooks/fix.yml -l staging` (git-missing), several at once:

1. two scans at once: both hold the (shared) host lock at the same time, both succeed;
2. a fix holds the host: a second fix with staging_lock_timeout 3 waits 3 s, then reports ONE
   Failed row staging-host-busy naming the first (its PID, since when) and changes nothing; so
   does a scan; a third fix with a long lock timeout waits for the first and then runs; the first run ends
   with its own rows, undisturbed;
3. a fix killed mid-run (SIGKILL) leaves no lock: the next fix runs at once.
"""
import json
import time
from concurrent.futures import ThreadPoolExecutor

from scenario import row, rows, run_fix
from support import molecule_helpers
from testhost import TestHosts

PORT = 23930  # this file's loopback ports: 23930-23939
LOCK_DIR = '/run/factiii'


APT_BUSY = molecule_helpers('test_apt_busy')
FAULTS = APT_BUSY.FAULTS


def wait_for(what, check, seconds=120):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, 'timed out waiting for %s' % what
        time.sleep(0.3)


def holders(host):
    """The host lock's holder records, as the module wrote them."""
    names = host.exec('ls %s 2>/dev/null || true' % LOCK_DIR).stdout.split()
    return [json.loads(host.exec('cat %s/%s' % (LOCK_DIR, name)).stdout)
            for name in names if name.startswith('holder.') and name.endswith('.json')]


def stage_modules(host):
    """How many stage modules run on the host: a fix is an async job whose module process runs
    AnsiballZ_stage.py (its async_wrapper parents name the same file, followed by more arguments)."""
    return int(host.exec('pgrep -fc "/AnsiballZ_stage\\.py$" || true').stdout.strip() or 0)


def release_apt(host, pid):
    host.exec('touch %s' % APT_BUSY.RELEASE)
    wait_for('apt-get to end', lambda: host.exec('test -e /proc/%s' % pid, check=False).returncode != 0)


def test_two_fixes_at_once_the_second_is_one_busy_row_a_third_waits_scans_share(
        test_host_image, ansible_env, tmp_path):
    with TestHosts('t14lk', 1, tmp_path, base_port=PORT) as hosts, ThreadPoolExecutor(3) as pool:
        host = hosts[0]

        def start(name, *extra, fixes=('git-missing',), **settings):
            return pool.submit(run_fix, ansible_env, hosts, tmp_path, name,
                               FAULTS.stage_vars(list(fixes), **settings), *extra)

        # 1. two scans, each held up by the busy package manager inside the host lock
        pid = APT_BUSY.start_slow_apt(host)
        scans = [start('scan%d' % i, '--check', package_lock_timeout=120, lock_timeout=3) for i in (1, 2)]
        both = wait_for('both scans to hold the host lock', lambda: len(holders(host)) == 2 and holders(host))
        assert sorted((rec['mode'], rec['stage'], rec['user']) for rec in both) == [('scan', 'staging', 'root')] * 2
        time.sleep(4)  # longer than their lock_timeout: a scan waiting for the other would be busy by now
        release_apt(host, pid)
        for scan in scans:
            proc, data, dummy = scan.result()
            assert proc.returncode == 0, proc.report
            assert list(rows(data, 'staging', host.name)) == ['staging-git-missing'], proc.report
            assert row(data, host, 'git-missing')['status'] == 'fixed', proc.report  # would install
        assert holders(host) == [] and not FAULTS.git_installed(host)

        # 2. a fix holds the host (waiting for apt, as above); a second fix comes
        host.exec('dpkg -P factiii-slow >/dev/null && rm -f %s' % APT_BUSY.RELEASE)
        pid = APT_BUSY.start_slow_apt(host)
        first = start('first', package_lock_timeout=300)
        record, = wait_for('the first fix to hold the host lock', lambda: holders(host))
        assert (record['mode'], record['stage']) == ('fix', 'staging'), record

        proc, data, seconds = run_fix(ansible_env, hosts, tmp_path, 'busy',
                                      FAULTS.stage_vars(['git-missing'], lock_timeout=3))
        busy = ('another factiii fix of staging holds this host: PID %d (user root) since %s (waited 3 s)'
                % (record['pid'], record['since']))
        assert proc.returncode != 0, proc.report
        assert list(rows(data, 'staging', host.name)) == ['staging-host-busy'], proc.report
        found = row(data, host, 'host-busy')
        assert (found['status'], found['msg']) == ('failed', busy), found
        assert FAULTS.printed(proc, 'Failed', 'host-busy', host) == busy, proc.report
        assert 'task-failed' not in proc.stdout and 'Traceback' not in proc.stdout + proc.stderr, proc.report
        assert 3 <= seconds < 60, seconds
        print('busy fix run: %.1fs' % seconds)
        # a scan during the fix waits the same way (it would report the fix half done)
        proc, data, seconds = run_fix(ansible_env, hosts, tmp_path, 'busy-scan',
                                      FAULTS.stage_vars(['git-missing'], lock_timeout=3), '--check')
        assert proc.returncode != 0 and 3 <= seconds < 60, proc.report
        assert list(rows(data, 'staging', host.name)) == ['staging-host-busy'], proc.report
        assert row(data, host, 'host-busy')['msg'] == busy, proc.report
        # nothing changed, and the first run goes on undisturbed
        assert not FAULTS.git_installed(host) and not first.done()
        assert holders(host) == [record]

        # a third fix that may wait long enough: it waits (alive on the host, not holding), then runs
        before = stage_modules(host)
        third = start('third', lock_timeout=300)
        wait_for('the third fix to wait on the host', lambda: stage_modules(host) == before + 1)
        time.sleep(2)
        assert holders(host) == [record] and not third.done()
        release_apt(host, pid)

        proc, data, seconds = first.result()
        print('first fix run: %.1fs' % seconds)
        assert proc.returncode == 0, proc.report
        assert list(rows(data, 'staging', host.name)) == ['staging-git-missing'], proc.report
        assert row(data, host, 'git-missing')['msg'] == 'done: install git (git)', proc.report
        proc, data, seconds = third.result()
        print('third fix run (waited for the first): %.1fs' % seconds)
        assert proc.returncode == 0, proc.report
        git = row(data, host, 'git-missing')
        assert (git['status'], list(rows(data, 'staging', host.name))) == ('ok', ['staging-git-missing']), git
        assert holders(host) == []

        # 3. a holder killed mid-run (SIGKILL: no cleanup) leaves no lock: the next fix runs at once
        host.exec('dpkg -P factiii-slow >/dev/null && rm -f %s' % APT_BUSY.RELEASE)
        pid = APT_BUSY.start_slow_apt(host)
        killed = start('killed', fixes=['docker-missing'], package_lock_timeout=300)
        record, = wait_for('the fix to be killed to hold the host lock', lambda: holders(host))
        host.exec('kill -KILL %d' % record['pid'])
        proc, data, dummy = killed.result()
        assert proc.returncode != 0, proc.report
        assert holders(host) == [record]  # its record is left behind, and ignored:
        proc, data, seconds = run_fix(ansible_env, hosts, tmp_path, 'after-kill',
                                      FAULTS.stage_vars(['git-missing'], lock_timeout=3))
        assert proc.returncode == 0 and seconds < 60, proc.report
        assert list(rows(data, 'staging', host.name)) == ['staging-git-missing'], proc.report
        assert holders(host) == []  # and removed by the next fix
        release_apt(host, pid)
