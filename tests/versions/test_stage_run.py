"""One real stage run with the ansible-core running pytest: scripts/test-versions runs this file
with the lowest and the highest ansible-core that meta/runtime.yml claims (FACTIII_VERSIONS=1).

A staging scan, fix and scan again of one fix (git-missing) on a real Debian test host over
SSH: the action plugin, the module and its async job, the callback's report and the results
file, as a user's run goes through them. One SSH authentication per stage run, none when the
inventory turns host key checking off (refused).
"""
import json
import os

import pytest
import yaml

from support import run_reported, tool
from testhost import TestHosts

pytestmark = pytest.mark.skipif(os.environ.get('FACTIII_VERSIONS') != '1',
                                reason='run by scripts/test-versions with each claimed ansible-core')

PORT = 24260  # this file's loopback ports: 24260-24269
FIX_ID = 'staging-git-missing'


def run_stage(ansible_env, hosts, tmp_path, playbook, logins=1, **host_vars):
    name = os.path.basename(playbook).split('.')[0]
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'staging': {
        'hosts': {hosts[0].name: dict(hosts.ssh_vars(hosts[0]), **host_vars)},
        'vars': {'staging_fixes': ['git-missing'], 'staging_repo_url': 'file:///opt/git/app.git',
                 'staging_repo_dest': '/srv/app'}}}}}))
    results = tmp_path / ('%s.json' % name)
    results.unlink(missing_ok=True)
    # a control path of its own: a master the last run left open would hide this run's login
    control = tmp_path / ('cp-%d' % len(list(tmp_path.glob('cp-*'))))
    env = dict(ansible_env, FACTIII_RESULTS_JSON=str(results), ANSIBLE_SSH_CONTROL_PATH_DIR=str(control))
    before = hosts[0].ssh_logins()
    proc = run_reported([tool('ansible-playbook'), '-i', str(inventory), playbook, '-l', 'staging'], env, 600)
    for stream in (proc.stdout, proc.stderr):
        assert 'Traceback (most recent call last)' not in stream, proc.report
    assert '\nRESULTS BY STAGE\n' in proc.stdout, proc.report
    assert hosts[0].ssh_logins() - before == logins, proc.report
    if not logins:
        return proc, None
    assert proc.returncode == 0, proc.report
    data = json.loads(results.read_text())
    row, = [r for r in data['stages']['staging']['hosts'][hosts[0].name]['results'] if r['fix_id'] == FIX_ID]
    return proc, row


def test_a_staging_scan_and_fix_on_a_real_host(test_host_image, ansible_env, tmp_path):
    with TestHosts('cv18', 1, tmp_path, base_port=PORT) as hosts:
        host = hosts[0]
        host.exec('! command -v git')
        proc, row = run_stage(ansible_env, hosts, tmp_path, 'playbooks/scan.yml')
        assert (row['status'], row['msg']) == ('fixed', 'would install git (git)'), proc.report
        assert '   Would fix: %s: would install git (git)\n' % FIX_ID in proc.stdout, proc.report
        host.exec('! command -v git')  # a scan changes nothing

        proc, row = run_stage(ansible_env, hosts, tmp_path, 'playbooks/fix.yml')
        assert row['status'] == 'fixed', proc.report
        host.exec('git --version')

        proc, row = run_stage(ansible_env, hosts, tmp_path, 'playbooks/scan.yml')
        assert row['status'] == 'ok', proc.report

        # host key checking turned off in the inventory is refused before any login (ansible-core
        # 2.19.0 answered the option's origin without the host's variables: it was not)
        proc, row = run_stage(ansible_env, hosts, tmp_path, 'playbooks/scan.yml', logins=0,
                              ansible_host_key_checking=False)
        assert proc.returncode != 0, proc.report
        assert 'host key checking is off for %s (host_key_checking is false, from var: ansible_host_key_checking' % (
            host.name) in proc.stdout, proc.report
