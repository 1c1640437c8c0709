"""The guarantees of factiii.infra.scan / fix with NO ansible.cfg at all, on a real Debian host.

As an app repository runs them: from an empty directory, the collection installed from its built
tarball, no ANSIBLE_* setting but the collections path. Without the callback enabled, the playbooks
still print RESULTS BY STAGE and write the JSON, exit non-zero on a failed fix, a broken inventory or
an empty stage named by -l, and refuse a server whose host key would not be checked. With the
callback enabled (as the checkout's ansible.cfg, the CLI and the workflows do), the report is
printed once and the exit codes are Ansible's, as before.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile

import pytest
import yaml

from support import run_reported, tool
from testhost import TestHosts

PREFIX, BASE_PORT = 't13nc', 23800
GONE_PORT = 23819  # nothing listens there (checked below)
REPO_URL, REPO_DEST = 'root@factiii-nowhere:/srv/git/app.git', '/srv/app'
CALLBACK = 'factiii.infra.results_by_stage'
# the report task runs on the controller, delegated from the play's first host
FAILED_RUN = re.compile(r'^fatal: \[(\S+?)(?: -> localhost)?\]: FAILED! => .*"msg": "(\d+) failed fix(?:es)? or unreachable hosts?: '
                        r'see RESULTS BY STAGE"', re.M)


@pytest.fixture(scope='module')
def host(test_host_image, tmp_path_factory):
    with TestHosts(PREFIX, 1, tmp_path_factory.mktemp('hosts'), base_port=BASE_PORT) as hosts:
        yield hosts


@pytest.fixture
def project(tmp_path):
    """An app repository's directory: empty, no ansible.cfg."""
    path = tmp_path / 'app'
    path.mkdir()
    return path


@pytest.fixture
def no_master():
    """ANSIBLE_SSH_CONTROL_PATH_DIR for a run that must open its own connection: a master left by an
    earlier run (ControlPersist, Ansible's default) would carry it without a new login or key check."""
    path = tempfile.mkdtemp(prefix='t13cp', dir='/tmp')  # short: a socket path has at most 107 bytes
    yield {'ANSIBLE_SSH_CONTROL_PATH_DIR': path}
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope='module')
def env(built_collection):
    """No ANSIBLE_* setting from outside but the built collection's path: no config, no callback."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_') and k != 'FACTIII_RESULTS_JSON')
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': str(built_collection[1]),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'PATH': os.path.dirname(tool('ansible-playbook')) + os.pathsep + os.environ.get('PATH', ''),
    })
    return env


def play(env, cwd, *args, results=None, **extra):
    env = dict(env, **extra)
    if results is not None:
        env['FACTIII_RESULTS_JSON'] = str(results)
    return run_reported([tool('ansible-playbook')] + list(args), env, 900, cwd=cwd)


def write_inventory(path, hosts, stages, fixes, **host_vars):
    """stages: {stage: [test host or (name, port) of a host that is not there]}; written in that order."""
    groups = {}
    for stage, members in stages.items():
        entries = {}
        for member in members:
            if isinstance(member, tuple):
                name, port = member
                entries[name] = dict(hosts.ssh_vars(hosts[0]), ansible_port=port)
            else:
                entries[member.name] = hosts.ssh_vars(member)
            entries[list(entries)[-1]].update(host_vars)
        groups[stage] = {'hosts': entries, 'vars': {
            '%s_repo_url' % stage: REPO_URL, '%s_repo_dest' % stage: REPO_DEST, '%s_fixes' % stage: fixes}}
    path.write_text(yaml.safe_dump({'all': {'children': groups}}, sort_keys=False))
    return str(path)


def report_count(proc):
    return len(re.findall(r'^RESULTS BY STAGE$', proc.stdout, re.M))


def error_lines(proc):
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith('[ERROR]')]


def rows(data, stage, host):
    return dict((r['fix_id'], r) for r in data['stages'][stage]['hosts'][host]['results'])


def assert_untouched(host):
    assert host.exec('command -v git', check=False).returncode != 0, 'git was installed'
    assert host.exec('test -e %s' % REPO_DEST, check=False).returncode != 0, '%s was created' % REPO_DEST


def test_premise_no_config_file_and_nothing_on_the_gone_port(env, project):
    proc = run_reported([tool('ansible-playbook'), '--version'], env, 60, cwd=project)
    assert re.search(r'^\s*config file = None$', proc.stdout, re.M), proc.report
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        assert sock.connect_ex(('127.0.0.1', GONE_PORT)) != 0, 'something listens on 127.0.0.1:%d' % GONE_PORT


def test_scan_prints_the_report_writes_the_json_and_changes_nothing(host, env, project):
    server = host[0]
    inventory = write_inventory(project / 'hosts.yml', host, {'staging': [server], 'prod': []},
                                ['git-missing', 'repo-not-cloned'])
    proc = play(env, project, '-i', inventory, 'factiii.infra.scan', results=project / 'scan.json')
    assert proc.returncode == 0, proc.report
    assert report_count(proc) == 1, proc.report
    assert '   Would fix: staging-git-missing: ' in proc.stdout, proc.report
    data = json.loads((project / 'scan.json').read_text())
    assert data['check_mode'] is True
    assert list(data['stages']) == ['staging']
    assert rows(data, 'staging', server.name)['staging-git-missing']['status'] == 'fixed'
    assert data['total']['failed'] == 0, data
    # printed by factiii.infra.report (no callback): a scan's counts say what a fix would do
    assert 'TOTAL: Would fix: %(fixed)d, Manual: %(manual)d, Failed: 0' % data['total'] in proc.stdout, proc.report
    assert_untouched(server)


def test_a_failed_fix_on_the_only_host_still_reports_and_exits_non_zero(host, env, project):
    server = host[0]
    inventory = write_inventory(project / 'hosts.yml', host, {'staging': [server]}, ['repo-not-cloned'])
    proc = play(env, project, '-i', inventory, 'factiii.infra.fix', results=project / 'fix.json')
    assert proc.returncode == 2, proc.report
    assert 'Traceback' not in proc.stdout + proc.stderr
    assert report_count(proc) == 1, proc.report
    assert re.search(r'^   Failed: staging-repo-not-cloned: ', proc.stdout, re.M), proc.report
    data = json.loads((project / 'fix.json').read_text())
    assert rows(data, 'staging', server.name)['staging-repo-not-cloned']['status'] == 'failed'
    # the report task's own failure is the run's exit code, not a row
    assert FAILED_RUN.findall(proc.stdout) == [(server.name, str(data['total']['failed']))], proc.report
    assert '-task-failed' not in proc.stdout


def test_with_the_callback_the_report_is_printed_once_and_the_exit_code_is_the_same(host, env, project):
    server = host[0]
    inventory = write_inventory(project / 'hosts.yml', host, {'staging': [server]}, ['repo-not-cloned'])
    proc = play(env, project, '-i', inventory, 'factiii.infra.fix', results=project / 'fix.json',
                ANSIBLE_CALLBACKS_ENABLED=CALLBACK)
    assert proc.returncode == 2, proc.report
    assert report_count(proc) == 1, proc.report
    data = json.loads((project / 'fix.json').read_text())
    assert list(rows(data, 'staging', server.name)) == ['staging-repo-not-cloned'], data


@pytest.mark.parametrize('callback', [False, True], ids=['no-callback', 'callback'])
def test_an_unreachable_first_host_is_a_row_and_the_report_never_connects(host, env, project, callback):
    # the report runs on the first host of its play: here the one nothing listens for
    server, gone = host[0], 'factiii-%s-gone' % PREFIX
    inventory = write_inventory(project / 'hosts.yml', host, {'staging': [(gone, GONE_PORT), server]},
                                ['repo-not-cloned'])
    extra = {'ANSIBLE_CALLBACKS_ENABLED': CALLBACK} if callback else {}
    proc = play(env, project, '-i', inventory, 'factiii.infra.scan', results=project / 'scan.json', **extra)
    assert report_count(proc) == 1, proc.report
    data = json.loads((project / 'scan.json').read_text())
    assert list(rows(data, 'staging', gone)) == ['staging-host-unreachable']
    assert re.search(r'^   Failed: staging-host-unreachable \[%s\]: .*port %d: Connection refused$' % (gone, GONE_PORT),
                     proc.stdout, re.M), proc.report
    assert rows(data, 'staging', server.name)['staging-repo-not-cloned']['status'] != 'failed'
    if callback:
        # Ansible's own accounting, as before: the host dropped, exit code 4
        assert proc.returncode == 4, proc.report
    else:
        assert proc.returncode == 2, proc.report
        assert FAILED_RUN.findall(proc.stdout) == [(gone, '1')], proc.report
    assert 'fatal: [%s]: UNREACHABLE!' % gone in proc.stdout  # the stage task's, once
    assert proc.stdout.count('UNREACHABLE!') == 1, proc.report


def test_a_broken_inventory_is_one_error(env, project):
    broken = project / 'hosts.yml'
    broken.write_text('all:\n  children: [staging\n')
    for playbook in ('factiii.infra.scan', 'factiii.infra.fix'):
        proc = play(env, project, '-i', str(broken), playbook)
        assert proc.returncode != 0, proc.report
        errors = error_lines(proc)
        assert len(errors) == 1, proc.report
        assert 'inventory %s does not parse: ' % broken in errors[0], proc.report
        assert 'PLAY [' not in proc.stdout and 'Traceback' not in proc.stdout + proc.stderr


def test_no_inventory_is_one_error(env, project):
    proc = play(env, project, 'factiii.infra.scan')
    assert proc.returncode != 0, proc.report
    assert [e for e in error_lines(proc) if 'no inventory: pass -i' in e] == error_lines(proc) != [], proc.report


@pytest.mark.parametrize('limit, says', [
    ('prod', 'leaves us with no hosts to target'),  # Ansible's own, before any play
    ('staging,prod', '-l staging,prod: the prod group has no host in the inventory'),
])
def test_a_stage_of_the_limit_without_a_host_is_one_error(host, env, project, limit, says):
    server = host[0]
    inventory = write_inventory(project / 'hosts.yml', host, {'staging': [server], 'prod': []}, ['git-missing'])
    proc = play(env, project, '-i', inventory, 'factiii.infra.fix', '-l', limit)
    assert proc.returncode != 0, proc.report
    errors = error_lines(proc)
    assert len(errors) == 1 and says in errors[0], proc.report
    assert 'TASK [' not in proc.stdout, 'a stage ran:\n' + proc.report
    assert_untouched(server)


@pytest.mark.parametrize('where', ['inventory', 'environment'])
def test_a_server_without_host_key_checking_is_refused(host, env, project, where, no_master):
    server = host[0]
    logins = server.ssh_logins()
    if where == 'inventory':
        inventory = write_inventory(project / 'hosts.yml', host, {'staging': [server]}, ['git-missing'],
                                    ansible_host_key_checking=False)
        extra = {}
    else:
        # what ansible-runner (ansible-navigator, AWX) sets unless told otherwise
        inventory = write_inventory(project / 'hosts.yml', host, {'staging': [server]}, ['git-missing'])
        extra = {'ANSIBLE_HOST_KEY_CHECKING': 'False'}
    proc = play(env, project, '-i', inventory, 'factiii.infra.fix', results=project / 'fix.json', **extra, **no_master)
    assert proc.returncode == 2, proc.report
    data = json.loads((project / 'fix.json').read_text())
    row = rows(data, 'staging', server.name)['staging-task-failed']
    origin = 'var: ansible_host_key_checking' if where == 'inventory' else 'env: ANSIBLE_HOST_KEY_CHECKING'
    assert row['msg'] == (
        'host key checking is off for %s (host_key_checking is false, from %s): refused; set '
        'ansible_host_key_checking: true for it in the inventory, pin its key in a known_hosts file, and do '
        'not turn checking off (ANSIBLE_HOST_KEY_CHECKING=False, host_key_checking = False, '
        'StrictHostKeyChecking=no); nothing was run' % (server.name, origin)), row
    assert_untouched(server)
    assert server.ssh_logins() == logins, 'the refused run logged in'


def test_the_inventory_setting_keeps_checking_on_under_the_runners_environment(host, env, project, no_master):
    server = host[0]
    inventory = write_inventory(project / 'hosts.yml', host, {'staging': [server]}, ['repo-not-cloned'],
                                ansible_host_key_checking=True)
    proc = play(env, project, '-i', inventory, 'factiii.infra.scan', results=project / 'scan.json',
                ANSIBLE_HOST_KEY_CHECKING='False')
    assert proc.returncode == 0, proc.report
    data = json.loads((project / 'scan.json').read_text())
    assert list(rows(data, 'staging', server.name)) == ['staging-repo-not-cloned']
    # and a key that is not the pinned one is refused, not accepted
    known = host.known_hosts
    saved = open(known).read()
    try:
        with open(known, 'w') as handle:
            handle.write(subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(project / 'k')],
                                        capture_output=True, text=True, check=True).stdout)
            handle.write('[127.0.0.1]:%d %s' % (server.port, (project / 'k.pub').read_text()))
        proc = play(env, project, '-i', inventory, 'factiii.infra.scan', ANSIBLE_HOST_KEY_CHECKING='False', **no_master)
        assert proc.returncode != 0, proc.report
        assert 'host key changed' in proc.stdout or 'Host key verification failed' in proc.stdout, proc.report
    finally:
        with open(known, 'w') as handle:
            handle.write(saved)


def test_variables_the_role_refuses_are_a_row_and_a_failure(env, project):
    # the only host of the stage fails before its stage runs: the report still comes, the run fails
    inventory = project / 'hosts.yml'
    inventory.write_text('staging:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
                         '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n')
    proc = play(env, project, '-i', str(inventory), 'factiii.infra.scan', '-l', 'staging', results=project / 's.json')
    assert proc.returncode == 2, proc.report
    assert report_count(proc) == 1, proc.report
    # one line, from factiii.infra.check_vars before the role's own argument check (test_stage_vars.py)
    assert '   Failed: staging-invalid-arguments: missing required variables staging_repo_dest, staging_repo_url ' \
        '(ansible-doc -t role factiii.infra.staging lists its variables); nothing was run' \
        in proc.stdout.splitlines(), proc.report
    assert 'Scan and fix stage' not in proc.stdout, 'the stage ran without its required variables'


@pytest.mark.parametrize('playbook', ['factiii.infra.dev_sync', 'factiii.infra.deploy'])
def test_dev_sync_and_deploy_refuse_a_server_without_host_key_checking(host, env, project, built_collection,
                                                                       no_master, playbook):
    server = host[0]
    logins = server.ssh_logins()
    inventory = write_inventory(project / 'hosts.yml', host, {'staging': [server]}, ['git-missing'])
    proc = play(env, project, '-i', inventory, playbook, '-l', 'staging', '-e', 'dev_sync_tarball=%s' % built_collection[0],
                '-e', 'deploy_ref=main', '-e', 'deploy_start_command=true', ANSIBLE_HOST_KEY_CHECKING='False', **no_master)
    assert proc.returncode == 2, proc.report
    assert re.search(r'^fatal: \[%s\]: FAILED! => .*host key checking is off for %s \(host_key_checking is false, '
                     r'from env: ANSIBLE_HOST_KEY_CHECKING\): refused; .*; nothing was run"' % (server.name, server.name),
                     proc.stdout, re.M), proc.report
    assert_untouched(server)
    assert server.exec('test -e /opt/factiii', check=False).returncode != 0, 'dev-sync wrote /opt/factiii'
    assert server.ssh_logins() == logins, 'the refused run logged in'


@pytest.mark.parametrize('playbook', ['factiii.infra.dev_sync', 'factiii.infra.deploy'])
def test_dev_sync_and_deploy_refuse_a_source_that_does_not_parse(host, env, project, playbook):
    # without ansible.cfg, Ansible warns about the broken source and goes on with the other one
    inventory = write_inventory(project / 'hosts.yml', host, {'staging': [host[0]]}, ['git-missing'])
    broken = project / 'more.yml'
    broken.write_text('all:\n  children: [staging\n')
    proc = play(env, project, '-i', inventory, '-i', str(broken), playbook, '-l', 'staging')
    assert proc.returncode != 0, proc.report
    errors = error_lines(proc)
    assert len(errors) == 1 and 'inventory %s does not parse: ' % broken in errors[0], proc.report
    assert 'TASK [' not in proc.stdout, proc.report


@pytest.mark.parametrize('host_vars, says', [
    # a stage variable that cannot be templated (as inventories/on-server without APP_REPO_URL)
    ({}, 'Set APP_REPO_URL'),
    # the host's own connection variables (factiii init's hosts.yml with STAGING_HOST unset): the
    # rescue and the report run on the controller, or they would fail on them again
    ({'ansible_host': "{{ undef(hint='Set STAGING_HOST to the staging server address') }}"},
     "Error processing keyword 'remote_addr': Set STAGING_HOST to the staging server address"),
])
def test_a_stage_that_fails_before_any_fix_is_a_failed_row(env, project, host_vars, says):
    inventory = project / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'staging': {
        'hosts': {'localhost': dict({'ansible_connection': 'local',
                                     'ansible_python_interpreter': '{{ ansible_playbook_python }}'}, **host_vars)},
        'vars': {'staging_repo_dest': '/nonexistent/app',
                 'staging_repo_url': "{{ undef(hint='Set APP_REPO_URL') }}" if not host_vars else 'file:///x'}}}))
    for extra in ({}, {'ANSIBLE_CALLBACKS_ENABLED': CALLBACK}):
        results = project / 'r.json'
        proc = play(env, project, '-i', str(inventory), 'factiii.infra.scan', '-l', 'staging', results=results, **extra)
        assert proc.returncode == 2, proc.report
        assert report_count(proc) == 1, proc.report
        row = rows(json.loads(results.read_text()), 'staging', 'localhost')['staging-task-failed']
        assert row['status'] == 'failed' and says in row['msg'], proc.report
        data = json.loads(results.read_text())
        assert data['check_mode'] is True and data['total']['failed'] == 1, data
