"""The dev stage on this machine, for real: scan -> fix -> fix again -> scan.

This changes the machine (it may install git, pnpm, docker and start dockerd),
so it runs only where that is wanted: FACTIII_INTEGRATION=1 (scripts/test sets
it) or CI=true.
"""
import json
import os
import subprocess

import pytest

pytestmark = pytest.mark.skipif(
    not (os.environ.get('FACTIII_INTEGRATION') == '1' or os.environ.get('CI') == 'true'),
    reason='changes this machine (installs git, pnpm, docker; starts dockerd): '
           'set FACTIII_INTEGRATION=1 to run it (scripts/test and CI do)')

DEV_FIXES = {
    'dev-git-missing',
    'dev-node-missing',
    'dev-pnpm-missing',
    'dev-docker-missing',
    'dev-docker-not-running',
}


def dockerd_running():
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open('/proc/%s/comm' % pid) as comm:
                    if comm.read().strip() == 'dockerd':
                        return True
            except OSError:
                pass
    return False


def machine_state():
    """What a scan must not change: installed packages, pnpm on PATH, dockerd running."""
    packages = subprocess.run(['dpkg-query', '-W'], capture_output=True, text=True, check=True).stdout
    pnpm = subprocess.run(['sh', '-c', 'command -v pnpm'], capture_output=True, text=True, check=False).stdout
    return {'packages': packages.splitlines(), 'pnpm': pnpm.strip(), 'dockerd': dockerd_running()}


def dev_results(proc, path, check_mode):
    """The dev stage of the results JSON, after the common checks of a run."""
    assert proc.returncode == 0, proc.report
    assert 'Traceback' not in proc.stdout + proc.stderr, proc.report
    assert 'RESULTS BY STAGE' in proc.stdout, proc.report
    assert 'DEV:' in proc.stdout, proc.report
    with open(path) as f:
        data = json.load(f)
    assert data['check_mode'] is check_mode
    assert list(data['stages']) == ['dev'], '-l dev must run the dev stage only: %s' % data
    stage = data['stages']['dev']
    assert list(stage['hosts']) == ['localhost']
    results = stage['hosts']['localhost']['results']
    assert {r['fix_id'] for r in results} == DEV_FIXES, results
    return stage, results


def test_scan_reports_and_changes_nothing(playbook, tmp_path):
    before = machine_state()
    proc = playbook('playbooks/scan.yml', '-l', 'dev', results=tmp_path / 'scan.json')
    stage, results = dev_results(proc, tmp_path / 'scan.json', check_mode=True)
    assert stage['failed'] == 0, results
    assert machine_state() == before, 'the scan changed the machine'


def test_fix_converges(playbook, tmp_path):
    proc = playbook('playbooks/fix.yml', '-l', 'dev', results=tmp_path / 'fix.json')
    stage, results = dev_results(proc, tmp_path / 'fix.json', check_mode=False)
    assert stage['failed'] == 0, results
    # everything is fixable here (root, Node 20, apt), so nothing is left to a human
    assert stage['manual'] == 0, results

    state = machine_state()
    assert state['pnpm'], 'pnpm is not on PATH after the fix'
    assert state['dockerd'], 'dockerd is not running after the fix'

    proc = playbook('playbooks/fix.yml', '-l', 'dev', results=tmp_path / 'again.json')
    stage, results = dev_results(proc, tmp_path / 'again.json', check_mode=False)
    assert (stage['fixed'], stage['manual'], stage['failed']) == (0, 0, 0), results
    assert all(r['status'] == 'ok' for r in results), results

    proc = playbook('playbooks/scan.yml', '-l', 'dev', results=tmp_path / 'rescan.json')
    stage, results = dev_results(proc, tmp_path / 'rescan.json', check_mode=True)
    assert (stage['fixed'], stage['manual'], stage['failed']) == (0, 0, 0), results


def test_fix_playbook_with_check_flag_is_a_scan(playbook, tmp_path):
    """`fix.yml --check` must change nothing: the plays' check_mode keyword must not
    override Ansible's --check flag (an explicit `check_mode: false` would)."""
    before = machine_state()
    proc = playbook('playbooks/fix.yml', '--check', '-l', 'dev', results=tmp_path / 'check.json')
    dev_results(proc, tmp_path / 'check.json', check_mode=True)
    assert machine_state() == before
