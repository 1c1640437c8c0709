"""Issue 14, point 3 on a real host: Ctrl-C (SIGINT) or SIGTERM to ansible-playbook mid-fix.

A Debian test host (tests/testhost.py; loopback ports 23950-23959) where a live apt-get holds
dpkg's locks (its package's postinst waits: tests/molecule/test_apt_busy.py's helper), so the
staging fix's stage module waits for the lock on the host (package_lock_timeout 300): the fix is
running there when ansible-playbook gets the signal. Expected: RESULTS BY STAGE is still printed
and the JSON written, with the one Failed row staging-interrupted saying what may be half done and
what to run next; ansible-playbook's exit status stays non-zero (99 after SIGINT, killed by SIGTERM).
Also: a scan says nothing was changed; with two hosts, the one whose fix finished keeps its rows;
the CLI (`factiii fix --dev`, dev on the test host) prints the report and exits 130 after SIGTERM.
"""
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from support import ROOT, molecule_helpers, tool
from testhost import TestHosts

PORT = 23950  # this file's loopback ports: 23950-23959


APT_BUSY = molecule_helpers('test_apt_busy')
FAULTS = APT_BUSY.FAULTS
STAGE_TASK = 'TASK [factiii.infra.server : Scan and fix stage staging]'


class Output:
    """The lines of a stream, read as they come (a thread), each with the time it arrived."""

    def __init__(self, stream):
        self.lines = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            self.lines.append((time.monotonic(), line.rstrip('\n')))

    def wait_for(self, text, timeout):
        deadline = time.monotonic() + timeout
        while not any(text in line for dummy, line in self.lines):
            assert time.monotonic() < deadline, 'no %r within %ds:\n%s' % (text, timeout, self.text())
            time.sleep(0.2)

    def text(self):
        self._thread.join(timeout=30)
        return '\n'.join(line for dummy, line in self.lines)


def interrupted_fix(ansible_env, hosts, tmp_path, name, number, scan=False, after=None):
    """fix.yml -l staging (scan.yml with ``scan``), ``number`` sent to ansible-playbook while the stage
    module waits on the host (once ``after`` was printed, when given): (exit status, stdout, stderr, results
    JSON or None, seconds to exit)."""
    inventory = hosts.inventory({'staging': hosts.names},
                                {'staging': FAULTS.stage_vars(['git-missing'], package_lock_timeout=300)},
                                name='%s.yml' % name)
    results = tmp_path / ('%s.json' % name)
    env = dict(ansible_env, FACTIII_RESULTS_JSON=str(results),
               ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp_path / ('cp-%s' % name)))
    playbook = 'playbooks/scan.yml' if scan else 'playbooks/fix.yml'
    proc = subprocess.Popen([tool('ansible-playbook'), '-i', inventory, playbook, '-l', 'staging'], cwd=ROOT,
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    out, err = Output(proc.stdout), Output(proc.stderr)
    try:
        out.wait_for(STAGE_TASK, 120)
        if after:
            out.wait_for(after, 300)
        time.sleep(5)  # the module is on the host, waiting for apt-get's lock (up to 300 s)
        assert proc.poll() is None, out.text() + err.text()
        proc.send_signal(number)
        start = time.monotonic()
        proc.wait(timeout=120)
        seconds = time.monotonic() - start
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    data = json.loads(results.read_text()) if results.exists() else None
    return proc.returncode, out.text(), err.text(), data, seconds


@pytest.mark.parametrize('number', [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_fix_still_reports_the_running_host_as_interrupted(test_host_image, ansible_env,
                                                                          tmp_path, number):
    with TestHosts('t14in', 1, tmp_path, base_port=PORT + (0 if number == signal.SIGINT else 1)) as hosts:
        host = hosts[0]
        pid = APT_BUSY.start_slow_apt(host)
        rc, out, err, data, seconds = interrupted_fix(ansible_env, hosts, tmp_path, 'fix', number)
        report = 'rc=%s\n--- stdout\n%s\n--- stderr\n%s' % (rc, out, err)
        name = signal.Signals(number).name
        why = ('interrupted by %s during the fix of staging: a fix may be half done or still running on this host (a package '
               'install already started there goes on to its end, and a new run waits for it); run the fix of '
               'staging again' % name)
        # ansible-playbook's own status: 99 (User interrupted execution) or killed by SIGTERM
        assert rc == (99 if number == signal.SIGINT else -signal.SIGTERM), report
        assert 'RESULTS BY STAGE' in out, report
        assert out[out.index('RESULTS BY STAGE'):].splitlines()[:6] == [
            'RESULTS BY STAGE', '', 'STAGING:', '   Fixed: 0, Manual: 0, Failed: 1',
            '   Failed: staging-interrupted: ' + why, ''], report
        assert out.count('RESULTS BY STAGE') == 1, report
        assert 'Traceback' not in out + err, report
        assert data is not None, report
        assert data['check_mode'] is False
        assert data['stages']['staging']['hosts'][host.name]['results'] == [
            {'fix_id': 'staging-interrupted', 'status': 'failed', 'msg': why, 'steps': []}]
        assert data['total'] == {'fixed': 0, 'manual': 0, 'failed': 1, 'ok': 0}
        assert seconds < 30, seconds
        print('%s: ansible-playbook ended %.1fs after the signal' % (name, seconds))
        # nothing of the host's own was touched: its apt-get still at work, git not installed
        assert APT_BUSY.command_line(host, pid) == APT_BUSY.APT
        assert not FAULTS.git_installed(host)


def test_a_host_whose_stage_finished_keeps_its_rows_beside_the_interrupted_one(test_host_image, ansible_env,
                                                                               tmp_path):
    """Two staging hosts: on the first the fix installs git and reports; the second waits on its live apt-get
    when Ctrl-C comes. The first keeps its Fixed row, the second is the interrupted one."""
    with TestHosts('t14in', 2, tmp_path, base_port=PORT + 4) as hosts:
        done, busy = hosts[0], hosts[1]
        APT_BUSY.start_slow_apt(busy)
        rc, out, err, data, dummy = interrupted_fix(ansible_env, hosts, tmp_path, 'two', signal.SIGINT,
                                                    after='changed: [%s]' % done.name)
        report = 'rc=%s\n--- stdout\n%s\n--- stderr\n%s' % (rc, out, err)
        assert rc == 99, report
        assert FAULTS.git_installed(done) and not FAULTS.git_installed(busy)
        rows = dict((h, [(r['fix_id'], r['status']) for r in entry['results']])
                    for h, entry in data['stages']['staging']['hosts'].items())
        assert rows == {done.name: [('staging-git-missing', 'fixed')],
                        busy.name: [('staging-interrupted', 'failed')]}, report
        assert FAULTS.printed(out_proc(out), 'Fixed', 'git-missing', done) == 'done: install git (git)'
        assert FAULTS.printed(out_proc(out), 'Failed', 'interrupted', busy).startswith(
            'interrupted by SIGINT during the fix of staging: a fix may be half done or still running on this host'), report
        assert 'TOTAL: Fixed: 1, Manual: 0, Failed: 1' in out, report


def out_proc(stdout):
    """An object with ``stdout`` (and ``report``), as test_faults_host.printed reads one."""
    return type('Proc', (), {'stdout': stdout, 'report': stdout})()


def test_an_interrupted_scan_says_nothing_was_changed(test_host_image, ansible_env, tmp_path):
    with TestHosts('t14in', 1, tmp_path, base_port=PORT + 2) as hosts:
        host = hosts[0]
        APT_BUSY.start_slow_apt(host)
        rc, out, err, data, dummy = interrupted_fix(ansible_env, hosts, tmp_path, 'scan', signal.SIGINT, scan=True)
        report = 'rc=%s\n--- stdout\n%s\n--- stderr\n%s' % (rc, out, err)
        why = 'interrupted by SIGINT during the scan of staging: nothing was changed; run the scan again'
        assert rc == 99, report
        assert '   Would fix: 0, Manual: 0, Failed: 1\n   Failed: staging-interrupted: %s\n' % why in out, report
        assert data['check_mode'] is True, report
        assert data['stages']['staging']['hosts'][host.name]['results'][0]['msg'] == why


def test_the_cli_prints_the_report_of_an_interrupted_fix_and_exits_130(test_host_image, ansible_env, tmp_path):
    """`factiii fix --dev` with the dev group on a real host (the CLI runs dev through ansible-runner here):
    SIGTERM to the CLI while the fix waits on the host goes on to ansible-playbook; the CLI prints its report
    and writes --json, then exits 130."""
    with TestHosts('t14in', 1, tmp_path, base_port=PORT + 3) as hosts:
        host = hosts[0]
        pid = APT_BUSY.start_slow_apt(host)
        inventory = hosts.inventory({'dev': hosts.names}, {'dev': {
            'dev_fixes': ['git-missing'], 'dev_package_lock_timeout': 300}})
        env = dict(ansible_env, ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp_path / 'cp-cli'))
        for name in ('ANSIBLE_CONFIG', 'FACTIII_RESULTS_JSON', 'GITHUB_TOKEN', 'GH_TOKEN', 'GITHUB_REPOSITORY'):
            env.pop(name, None)
        merged = tmp_path / 'all.json'
        proc = subprocess.Popen([tool('factiii'), 'fix', '--dev', '-i', inventory, '--json', str(merged)],
                                cwd=str(tmp_path), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        out, err = Output(proc.stdout), Output(proc.stderr)
        try:
            err.wait_for('[dev] %s: fixing...' % host.name, 180)
            time.sleep(5)  # the stage module waits on the host for apt-get's lock
            assert proc.poll() is None, out.text() + err.text()
            proc.send_signal(signal.SIGTERM)
            start = time.monotonic()
            proc.wait(timeout=120)
            print('the CLI ended %.1fs after SIGTERM' % (time.monotonic() - start))
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        out, err = out.text(), err.text()
        report = 'rc=%s\n--- stdout\n%s\n--- stderr\n%s' % (proc.returncode, out, err)
        why = ('interrupted by SIGTERM during the fix of dev: a fix may be half done or still running on this host (a package '
               'install already started there goes on to its end, and a new run waits for it); run the fix of '
               'dev again')
        assert proc.returncode == 130, report
        assert out.splitlines() == ['RESULTS BY STAGE', '', 'DEV:', '   Fixed: 0, Manual: 0, Failed: 1',
                                    '   Failed: dev-interrupted: ' + why, '',
                                    'TOTAL: Fixed: 0, Manual: 0, Failed: 1'], report
        assert err.splitlines()[-1].startswith('factiii: interrupted'), report
        data = json.loads(merged.read_text())
        assert data['stages']['dev']['hosts'][host.name]['results'] == [
            {'fix_id': 'dev-interrupted', 'status': 'failed', 'msg': why, 'steps': []}]
        assert APT_BUSY.command_line(host, pid) == APT_BUSY.APT
