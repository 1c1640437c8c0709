"""Typos and missing required variables of a stage, in a real ansible-playbook run of factiii.infra.scan.

As an app repository runs it (empty directory, the built collection, no ansible.cfg), with and without
the results callback: a variable with a stage's prefix that the role does not know (from -e or from
the inventory) and a missing required one are one line naming the variable (and the closest known
name), and the stage's Failed row; the stage's module never runs; the other stages go on. Local
connection, except one real Debian host (tests/testhost.py) showing that a refused stage never logs in.
"""
import json
import os
import shutil
import tempfile

import pytest
import yaml

from support import run_reported, tool
from testhost import TestHosts

CALLBACK = 'factiii.infra.results_by_stage'
LOCAL = {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}'}
HINT = 'unknown variable staging_repo_verison: did you mean staging_repo_version?'
TYPO_URL = 'unknown variable staging_repo_ulr: did you mean staging_repo_url?'
MISSING = 'missing required variables staging_repo_dest, staging_repo_url'


@pytest.fixture(params=['no-config', 'callback'])
def scan(request, built_collection, tmp_path):
    """scan(inventory_groups, *args, playbook=..., **env) -> (proc, results JSON) from an empty directory."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_') and k != 'FACTIII_RESULTS_JSON')
    env.update({'ANSIBLE_COLLECTIONS_PATH': str(built_collection[1]), 'ANSIBLE_NOCOLOR': '1',
                'PATH': os.path.dirname(tool('ansible-playbook')) + os.pathsep + os.environ.get('PATH', ''),
                'FACTIII_RESULTS_JSON': str(tmp_path / 'scan.json')})
    if request.param == 'callback':
        env['ANSIBLE_CALLBACKS_ENABLED'] = CALLBACK
    project = tmp_path / 'app'
    project.mkdir()

    def run(groups, *args, playbook='factiii.infra.scan', **extra):
        (project / 'hosts.yml').write_text(yaml.safe_dump({'all': {'children': groups}}, sort_keys=False))
        proc = run_reported([tool('ansible-playbook'), '-i', 'hosts.yml', playbook] + list(args),
                            dict(env, **extra), 600, cwd=project)
        data = json.loads((tmp_path / 'scan.json').read_text()) if (tmp_path / 'scan.json').exists() else None
        return proc, data
    return run


def staging(tmp_path, **variables):
    return {'staging': {'hosts': {'localhost': dict(LOCAL)}, 'vars': dict(
        {'staging_fixes': ['repo-not-cloned'], 'staging_repo_url': str(tmp_path / 'nowhere.git'),
         'staging_repo_dest': str(tmp_path / 'clone')}, **variables)}}


def rows(data, stage, host='localhost'):
    return dict((r['fix_id'], r) for r in data['stages'][stage]['hosts'][host]['results'])


def assert_one_line(proc, text):
    """``text`` is said, each line saying it is short (no spec dump), and the stage's module never ran."""
    out = proc.stdout + proc.stderr
    said = [line for line in out.splitlines() if text in line]
    assert said, proc.report
    assert all(len(line) < 1000 for line in said), said
    assert 'argument_spec_data' not in out and 'Validation of arguments failed' not in out, proc.report
    assert 'TASK [factiii.infra.server : Scan and fix stage' not in out, 'the stage ran: ' + proc.report
    assert any(line.startswith('   Failed: staging-invalid-arguments: ' + text) for line in proc.stdout.splitlines()), \
        proc.report


def test_a_typo_in_extra_vars_is_one_line_with_the_closest_name(scan, tmp_path):
    proc, data = scan(staging(tmp_path), '-e', 'staging_repo_verison=main')
    assert proc.returncode == 2, proc.report
    assert_one_line(proc, HINT)
    assert list(rows(data, 'staging')) == ['staging-invalid-arguments']
    assert rows(data, 'staging')['staging-invalid-arguments']['msg'].startswith(HINT)
    assert not (tmp_path / 'clone').exists()


def test_a_typo_of_a_required_variable_in_the_inventory_is_one_line(scan, tmp_path):
    groups = staging(tmp_path)
    groups['staging']['vars']['staging_repo_ulr'] = groups['staging']['vars'].pop('staging_repo_url')
    proc, data = scan(groups)
    assert proc.returncode == 2, proc.report
    assert_one_line(proc, TYPO_URL)
    assert 'missing' not in rows(data, 'staging')['staging-invalid-arguments']['msg']


def test_missing_required_variables_are_one_line(scan, tmp_path):
    groups = {'staging': {'hosts': {'localhost': dict(LOCAL)}}}
    proc, data = scan(groups)
    assert proc.returncode == 2, proc.report
    assert_one_line(proc, MISSING)
    assert list(rows(data, 'staging')) == ['staging-invalid-arguments']


def test_a_value_the_role_refuses_is_one_line(scan, tmp_path):
    proc, data = scan(staging(tmp_path), '-e', '{"staging_fixes": ["git-missing", "no-such-fix"]}')
    assert proc.returncode == 2, proc.report
    assert_one_line(proc, 'role factiii.infra.staging: value of staging_fixes must be one or more of: git-missing, ')
    assert 'Got no match for: no-such-fix' in rows(data, 'staging')['staging-invalid-arguments']['msg']


def test_dev_refuses_a_clone_it_has_no_variables_for(scan, tmp_path):
    # the developer's clone is their own: the dev role has no repo variables, so the fix is not a choice
    proc, data = scan({'dev': {'hosts': {'localhost': dict(LOCAL)}}}, '-e', '{"dev_fixes": ["repo-not-cloned"]}')
    assert proc.returncode == 2, proc.report
    assert list(rows(data, 'dev')) == ['dev-invalid-arguments'], proc.report
    msg = rows(data, 'dev')['dev-invalid-arguments']['msg']
    assert 'value of dev_fixes must be one or more of' in msg and 'Got no match for: repo-not-cloned' in msg, msg


def test_known_variables_run_the_stage_and_other_stages_go_on(scan, tmp_path):
    # dev (known variables, one of dev_sync's) runs; staging's typo stops staging alone
    groups = dict({'dev': {'hosts': {'localhost': dict(LOCAL)}, 'vars': {
        'dev_fixes': ['git-missing'], 'dev_sync_root': '/opt/factiii'}}},
        **{'staging': {'hosts': {'staging-local': dict(LOCAL)}, 'vars': dict(
            staging(tmp_path)['staging']['vars'], staging_repo_verison='main')}})
    proc, data = scan(groups, '-e', 'dev_node_min_major=20')
    assert proc.returncode == 2, proc.report
    assert 'invalid-arguments' not in json.dumps(data['stages']['dev']), proc.report
    assert list(rows(data, 'dev')) == ['dev-git-missing'], proc.report
    assert list(rows(data, 'staging', 'staging-local')) == ['staging-invalid-arguments'], proc.report
    # and the same staging without the typo scans
    proc, data = scan(staging(tmp_path), '-e', 'staging_repo_version=main')
    assert 'invalid-arguments' not in json.dumps(data), proc.report
    assert 'staging-repo-not-cloned' in rows(data, 'staging'), proc.report


def test_deploy_refuses_a_typo_before_the_stage_runs(scan, tmp_path):
    groups = staging(tmp_path, staging_repo_verison='main')
    proc, dummy = scan(groups, '-l', 'staging', '-e', 'deploy_ref=main', '-e', 'deploy_start_command=true',
                       playbook='factiii.infra.deploy')
    assert proc.returncode == 2, proc.report
    out = proc.stdout + proc.stderr
    said = [line for line in out.splitlines() if HINT in line]
    assert said and all(len(line) < 1000 for line in said), proc.report
    assert 'Scan and fix stage' not in out and 'Fetch and check out' not in out, proc.report


def test_dev_sync_refuses_a_typo_before_anything_is_copied(scan, tmp_path, built_collection):
    groups = staging(tmp_path, staging_repo_verison='main')
    root = tmp_path / 'factiii'
    proc, dummy = scan(groups, '-l', 'staging', '-e', 'dev_sync_tarball=%s' % built_collection[0],
                       '-e', 'dev_sync_root=%s' % root, '-e', 'dev_sync_become=false', '-e', 'dev_sync_run=scan',
                       '-e', 'dev_sync_ansible_bin=%s' % os.path.dirname(tool('ansible-playbook')),
                       playbook='factiii.infra.dev_sync')
    assert proc.returncode == 2, proc.report
    said = [line for line in (proc.stdout + proc.stderr).splitlines() if HINT in line]
    assert said and all(len(line) < 1000 for line in said), proc.report
    assert 'ansible-core' not in proc.stdout and not root.exists(), proc.report


def test_deploy_refuses_a_typo_of_its_own_variables_before_the_stage_runs(scan, tmp_path):
    proc, dummy = scan(staging(tmp_path), '-l', 'staging', '-e', 'deploy_ref=main', '-e', 'deploy_start_command=true',
                       '-e', 'deploy_health_ulr=http://127.0.0.1:9/health', playbook='factiii.infra.deploy')
    assert proc.returncode == 2, proc.report
    hint = 'unknown variable deploy_health_ulr: did you mean deploy_health_url?'
    said = [line for line in (proc.stdout + proc.stderr).splitlines() if hint in line]
    assert said and all(len(line) < 1000 for line in said), proc.report
    assert 'Scan and fix stage' not in proc.stdout and 'Fetch and check out' not in proc.stdout, proc.report


@pytest.fixture(scope='module')
def server(test_host_image, tmp_path_factory):
    with TestHosts('t14ty', 1, tmp_path_factory.mktemp('hosts'), base_port=23910) as hosts:
        yield hosts


@pytest.fixture
def no_master():
    """A control path of its own: a master left by an earlier run would carry a run without a login."""
    path = tempfile.mkdtemp(prefix='t14ty', dir='/tmp')
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_refused_fix_never_logs_in_and_a_known_one_logs_in_once(scan, server, no_master, tmp_path):
    host = server[0]
    groups = {'staging': {'hosts': {host.name: server.ssh_vars(host)}, 'vars': {
        'staging_fixes': ['git-missing', 'repo-not-cloned'], 'staging_repo_url': '/srv/nowhere.git',
        'staging_repo_dest': '/srv/app'}}}
    logins = host.ssh_logins()
    proc, data = scan(groups, '-e', 'staging_repo_verison=main', playbook='factiii.infra.fix',
                      ANSIBLE_SSH_CONTROL_PATH_DIR=no_master)
    assert proc.returncode == 2, proc.report
    assert list(rows(data, 'staging', host.name)) == ['staging-invalid-arguments'], proc.report
    assert host.ssh_logins() == logins, 'the refused run logged in'
    assert host.exec('test -e /srv/app', check=False).returncode != 0, '/srv/app was created'
    # the same stage without the typo: one SSH authentication for the stage, as before
    proc, data = scan(groups, '-e', 'staging_repo_version=main', ANSIBLE_SSH_CONTROL_PATH_DIR=no_master)
    assert 'staging-git-missing' in rows(data, 'staging', host.name), proc.report
    assert host.ssh_logins() == logins + 1, proc.report
