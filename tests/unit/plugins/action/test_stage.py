# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The factiii.infra.stage action plugin with mocked task, connection and loader."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import posixpath
import subprocess
import sys
from unittest.mock import MagicMock, patch

import pytest
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure, AnsibleError

from ansible_collections.factiii.infra.plugins.action.stage import ActionModule
from ansible_collections.factiii.infra.plugins.module_utils.batch import fix_names
from ansible_collections.factiii.infra.plugins.plugin_utils import github_secrets

TOKEN = 'github_pat_TEST0123456789abcdefSECRET'
MODULE_RESULT = {
    'stage': 'staging', 'check_mode': False, 'results': [], 'changed': False, 'failed': False,
    'counts': {'ok': 0, 'fixed': 0, 'manual': 0, 'failed': 0}, 'msg': 'staging: fixed 0, manual 0, failed 0',
}
TMPDIR = '/root/.ansible/tmp/ansible-tmp-1'
REPO = {'repo_url': 'git@example.invalid:o/app.git', 'repo_dest': '/srv/app'}


def make_action(args, check_mode=False, connection=None):
    task = MagicMock()
    task.args = dict(args)
    task.async_val = 0
    task.check_mode = check_mode
    task.action = 'factiii.infra.stage'
    if connection is None:
        connection = MagicMock()
        connection.has_option.return_value = False  # a connection without host keys, as local is
    connection._shell.tmpdir = None
    connection._shell.join_path = posixpath.join
    action = ActionModule(task, connection, MagicMock(), loader=MagicMock(), templar=MagicMock(),
                          shared_loader_obj=None)
    action._load_name = 'factiii.infra.stage'
    action._execute_module = MagicMock(return_value=dict(MODULE_RESULT))
    action._remove_tmp_path = MagicMock()
    # A fix's job gets its progress file in this directory (see test_progress.py for the job itself;
    # here _execute_module answers at once, without a job id, as a start that did not start).
    action._make_tmp_path = MagicMock(return_value=TMPDIR)
    action._low_level_execute_command = MagicMock(side_effect=AssertionError('no raw commands'))
    return action


@pytest.fixture
def no_github_env(monkeypatch):
    for var in ('GITHUB_TOKEN', 'GH_TOKEN', 'GITHUB_REPOSITORY'):
        monkeypatch.delenv(var, raising=False)


def assert_one_line_failure(result):
    assert result['failed'] is True
    assert result['msg'] and '\n' not in result['msg']
    assert 'Traceback' not in result['msg']


def test_class_attributes():
    assert ActionModule.TRANSFERS_FILES is False
    assert ActionModule._supports_check_mode is True
    assert ActionModule._supports_async is False


def test_staging_runs_the_module_exactly_once():
    action = make_action({'stage': 'staging', 'node_min_major': 22, 'repo_key_file': '/k', **REPO})
    result = action.run(task_vars={'inventory_hostname': 'h'})

    action._execute_module.assert_called_once()
    kwargs = action._execute_module.call_args.kwargs
    assert kwargs['module_name'] == 'factiii.infra.stage'
    assert kwargs['task_vars'] == {'inventory_hostname': 'h'}
    module_args = kwargs['module_args']
    assert module_args['stage'] == 'staging'
    assert module_args['node_min_major'] == 22
    assert module_args['repo_key_file'] == '/k'
    assert module_args['docker_start_timeout'] == 60  # defaults are filled in
    # None would still count as "given" to the module's own mutually_exclusive.
    assert 'repo_key' not in module_args
    assert None not in module_args.values()
    for key, value in MODULE_RESULT.items():
        assert result[key] == value
    action._remove_tmp_path.assert_called_once()


@pytest.mark.parametrize('stage', ['dev', 'prod'])
def test_other_host_stages_run_the_module(stage):
    action = make_action({'stage': stage, 'fixes': ['git-missing']})
    action.run(task_vars={})
    action._execute_module.assert_called_once()
    assert action._execute_module.call_args.kwargs['module_args']['fixes'] == ['git-missing']


def test_module_failure_is_returned_as_is():
    action = make_action({'stage': 'prod', **REPO})
    action._execute_module.return_value = {'failed': True, 'msg': 'prod: fixed 0, manual 0, failed 1'}
    result = action.run(task_vars={})
    assert result['failed'] is True
    assert result['msg'] == 'prod: fixed 0, manual 0, failed 1'


def test_unknown_stage_fails_in_one_line():
    action = make_action({'stage': 'qa'})
    result = action.run(task_vars={})
    assert_one_line_failure(result)
    assert 'stage' in result['msg'] and 'qa' in result['msg']
    action._execute_module.assert_not_called()


def test_missing_stage_fails():
    action = make_action({})
    result = action.run(task_vars={})
    assert_one_line_failure(result)
    assert 'stage' in result['msg']
    action._execute_module.assert_not_called()


def test_unknown_fix_fails_in_one_line():
    action = make_action({'stage': 'staging', 'fixes': ['git-missing', 'x']})
    result = action.run(task_vars={})
    assert_one_line_failure(result)
    assert result['msg'] == "unknown fix 'x' for stage staging (known: %s)" % ', '.join(fix_names())
    assert result['msg'].startswith("unknown fix 'x' for stage staging (known: git-missing, ")
    action._execute_module.assert_not_called()


def test_unknown_option_fails():
    action = make_action({'stage': 'staging', 'bogus': 1})
    result = action.run(task_vars={})
    assert_one_line_failure(result)
    assert 'bogus' in result['msg']
    action._execute_module.assert_not_called()


def test_repo_key_and_repo_key_file_are_mutually_exclusive():
    key = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----'
    action = make_action({'stage': 'staging', 'repo_key': key, 'repo_key_file': '/k'})
    result = action.run(task_vars={})
    assert_one_line_failure(result)
    assert 'mutually exclusive' in result['msg']
    assert 'repo_key|repo_key_file' in result['msg']
    assert 'AAAA' not in result['msg']
    action._execute_module.assert_not_called()


def test_secrets_without_token_is_manual_and_never_runs_a_module(no_github_env):
    action = make_action({'stage': 'secrets', 'github_repo': 'o/r'})
    result = action.run(task_vars={})

    action._execute_module.assert_not_called()
    assert result['stage'] == 'secrets'
    assert result['failed'] is False
    assert result['changed'] is False
    assert [r['fix_id'] for r in result['results']] == [
        'secrets-staging-ssh-missing', 'secrets-prod-ssh-missing']
    assert [r['status'] for r in result['results']] == ['manual', 'manual']
    assert 'export GITHUB_TOKEN=$(gh auth token)' in result['results'][0]['steps']
    assert result['counts']['manual'] == 2


def test_secrets_without_repo_is_manual(no_github_env, monkeypatch):
    monkeypatch.setenv('GITHUB_TOKEN', TOKEN)
    action = make_action({'stage': 'secrets'})
    result = action.run(task_vars={})
    action._execute_module.assert_not_called()
    assert [r['status'] for r in result['results']] == ['manual', 'manual']
    assert 'set secrets_github_repo or GITHUB_REPOSITORY' in result['results'][0]['msg']
    assert TOKEN not in json.dumps(result)


class FakeResponse:
    def __init__(self, payload, link=None):
        self._body = io.BytesIO(json.dumps(payload).encode('utf-8'))
        self.headers = {'Link': link} if link else {}

    def read(self):
        return self._body.read()

    def close(self):
        pass


@pytest.mark.parametrize('check_mode', [False, True])
def test_secrets_reads_github_from_the_controller(no_github_env, monkeypatch, check_mode):
    monkeypatch.setenv('GH_TOKEN', TOKEN)
    monkeypatch.setenv('GITHUB_REPOSITORY', 'owner/name')
    calls = []
    # the repository has no key; environment staging has its key, prod has none
    answers = {'/actions/': [], '/environments/staging/': ['STAGING_SSH'], '/environments/prod/': []}

    def fake_open_url(url, **kwargs):
        calls.append((url, kwargs))
        names, = [v for k, v in answers.items() if k in url]
        return FakeResponse({'total_count': len(names), 'secrets': [
            {'name': n, 'created_at': '2024-01-01T00:00:00Z', 'updated_at': '2024-01-02T00:00:00Z'} for n in names]})

    action = make_action({'stage': 'secrets', 'github_api_url': 'https://ghe.example/api/v3/'},
                         check_mode=check_mode)
    with patch.object(github_secrets, 'open_url', fake_open_url):
        result = action.run(task_vars={})

    action._execute_module.assert_not_called()
    base = 'https://ghe.example/api/v3/repos/owner/name'
    assert [url for url, _kw in calls] == [base + '/actions/secrets?per_page=100',
                                           base + '/environments/staging/secrets?per_page=100',
                                           base + '/environments/prod/secrets?per_page=100']
    for _url, kwargs in calls:
        assert kwargs['headers']['Authorization'] == 'Bearer %s' % TOKEN
        assert kwargs['timeout'] == 10

    rows = dict((r['fix_id'], r) for r in result['results'])
    assert rows['secrets-staging-ssh-missing']['status'] == 'ok'
    prod = rows['secrets-prod-ssh-missing']
    assert prod['status'] == 'manual'
    assert prod['steps'][0] == 'gh secret set PROD_SSH --env prod --repo owner/name < path/to/private_key'
    assert result['check_mode'] is check_mode
    assert result['changed'] is False
    assert result['failed'] is False
    assert TOKEN not in json.dumps(result)


def test_a_key_that_is_a_repository_secret_fails_the_stage(no_github_env, monkeypatch):
    """Issue 12, finding 3: the secrets stage turns red on PROD_SSH as a repository secret."""
    monkeypatch.setenv('GITHUB_TOKEN', TOKEN)

    def fake_open_url(url, **kwargs):
        names = ['PROD_SSH'] if '/actions/secrets' in url else []
        return FakeResponse({'total_count': len(names), 'secrets': [{'name': n} for n in names]})

    action = make_action({'stage': 'secrets', 'github_repo': 'o/r', 'secrets': ['PROD_SSH']})
    with patch.object(github_secrets, 'open_url', fake_open_url):
        result = action.run(task_vars={})
    assert result['failed'] is True
    assert result['counts']['failed'] == 1
    assert 'repository secret of o/r' in result['results'][0]['msg']


def test_secrets_api_failure_fails_the_stage(no_github_env, monkeypatch):
    monkeypatch.setenv('GITHUB_TOKEN', TOKEN)

    def boom(url, **kwargs):
        raise OSError('connection refused while using %s' % TOKEN)

    action = make_action({'stage': 'secrets', 'github_repo': 'o/r', 'secrets': ['STAGING_SSH']})
    with patch.object(github_secrets, 'open_url', boom):
        result = action.run(task_vars={})
    assert_one_line_failure(result)
    assert 'cannot reach the GitHub API' in result['msg']
    assert TOKEN not in json.dumps(result)
    action._execute_module.assert_not_called()


# -- issue 8: bad input and become, in one line ------------------------------------------

def test_a_wrong_become_password_is_the_stages_failed_row():
    action = make_action({'stage': 'staging', 'fixes': ['git-missing']})
    action._connection.get_option.side_effect = lambda name: {'remote_user': 'deployer'}[name]
    action._execute_module.side_effect = AnsibleError('Incorrect sudo password')
    result = action.run(task_vars={})
    assert result['failed'] is True and result['stage'] == 'staging'
    row, = result['results']
    assert row['fix_id'] == 'staging-become-failed' and row['status'] == 'failed'
    assert row['msg'].startswith('become failed: sudo rejected the become password of deployer '
                                 '(Incorrect sudo password): ')
    assert '"deployer ALL=(ALL) NOPASSWD: ALL" in /etc/sudoers.d/factiii' in row['msg']
    assert result['counts']['failed'] == 1
    assert '\n' not in result['msg']


def test_a_missing_become_password_says_how_to_give_one():
    action = make_action({'stage': 'prod', 'fixes': ['git-missing']})
    action._connection.get_option.side_effect = lambda name: {'remote_user': 'ops'}[name]
    action._execute_module.side_effect = AnsibleError('Missing sudo password')
    row, = action.run(task_vars={})['results']
    assert row['fix_id'] == 'prod-become-failed'
    assert row['msg'].startswith('become failed: sudo asks ops for a password and none was given '
                                 '(Missing sudo password): set ansible_become_password')


def test_an_unreachable_host_stays_unreachable():
    action = make_action({'stage': 'staging', 'fixes': ['git-missing']})
    action._execute_module.side_effect = AnsibleConnectionFailure('Failed to connect to the host via ssh: boom')
    with pytest.raises(AnsibleConnectionFailure):
        action.run(task_vars={})
    action._remove_tmp_path.assert_called_once()


def test_other_errors_are_not_turned_into_become_rows():
    action = make_action({'stage': 'staging', 'fixes': ['git-missing']})
    action._execute_module.side_effect = AnsibleError('The module factiii.infra.stage was not found')
    with pytest.raises(AnsibleError, match='was not found'):
        action.run(task_vars={})


@pytest.mark.parametrize('args, empty', [
    ({'repo_url': '', 'repo_dest': '/srv/app'}, 'repo_url, and it is empty (in the roles: staging_repo_url)'),
    ({'repo_url': '  ', 'repo_dest': '/srv/app'}, 'repo_url, and it is empty (in the roles: staging_repo_url)'),
    ({'repo_url': 'git@x:o/a.git', 'repo_dest': ''}, 'repo_dest, and it is empty (in the roles: staging_repo_dest)'),
    ({}, 'repo_url and repo_dest, and they are empty (in the roles: staging_repo_url, staging_repo_dest)'),
    ({'fixes': ['git-missing', 'repo-not-cloned'], 'repo_url': ''}, 'repo_url and repo_dest, and they are empty'),
])
def test_an_empty_repo_url_or_dest_stops_the_stage_before_anything_runs(args, empty):
    action = make_action(dict({'stage': 'staging'}, **args))
    result = action.run(task_vars={})
    assert_one_line_failure(result)
    assert result['msg'].startswith('staging-repo-not-cloned needs ' + empty), result['msg']
    assert result['msg'].endswith('; nothing was run')
    action._execute_module.assert_not_called()


@pytest.mark.parametrize('args', [
    {'stage': 'staging', 'fixes': ['git-missing'], 'repo_url': ''},
    {'stage': 'dev'},  # the dev stage does not clone
    {'stage': 'prod', 'fixes': []},
])
def test_the_repo_check_only_applies_when_the_stage_clones(args):
    action = make_action(args)
    action.run(task_vars={})
    action._execute_module.assert_called_once()


def test_a_multi_line_key_quoted_in_an_error_is_masked_line_by_line():
    key = ('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n'
           'QyNTUxOQAAACDsecretsecretsecret\n-----END OPENSSH PRIVATE KEY-----\n')
    action = make_action({'stage': 'staging', 'repo_key': key, 'repo_key_file': '/k'})
    # what a validator quoting the value back would produce, once folded into one line
    with patch.object(ActionModule, 'validate_argument_spec',
                      side_effect=AnsibleActionFail('bad repo_key %r:\n%s' % (key, key))):
        result = action.run(task_vars={})
    assert_one_line_failure(result)
    for line in key.splitlines()[1:3]:
        assert line not in result['msg']
    assert 'secretsecret' not in result['msg']
    assert '********' in result['msg']


@pytest.mark.parametrize('args', ['stage=staging', ['stage', 'staging'], None])
def test_arguments_that_are_not_a_mapping_fail_in_one_line(args):
    action = make_action({})
    action._task.args = args
    result = action.run(task_vars={})
    assert_one_line_failure(result)
    action._execute_module.assert_not_called()


def test_server_stages_do_not_load_the_github_client():
    # every host's forked worker loads this plugin: the HTTP client (about 5 MB
    # a worker, bench/README.md) belongs to the secrets stage alone
    probe = ('import sys; import ansible_collections.factiii.infra.plugins.action.stage; '
             'print(sorted(m for m in ("ansible_collections.factiii.infra.plugins.plugin_utils.github_secrets", '
             '"ansible.module_utils.urls", "http.client") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True, check=True,
                         env={'PYTHONPATH': ':'.join(sys.path)}).stdout
    assert out.strip() == '[]'


@pytest.mark.parametrize('value', ['file:/srv/app/evil.tgz', '^10', '--prefix=/tmp', 'next', '10.2'])
def test_a_pnpm_version_that_is_not_exact_stops_the_stage_before_anything_runs(value):
    action = make_action({'stage': 'staging', 'fixes': ['pnpm-missing'], 'pnpm_version': value})
    result = action.run(task_vars={})
    assert_one_line_failure(result)
    assert result['msg'] == ("staging-pnpm-missing: pnpm_version '%s' is not an exact version (such as 10.2.1), "
                             "a major (such as 10) or latest; nothing was run" % value)
    action._execute_module.assert_not_called()


@pytest.mark.parametrize('args', [
    {'stage': 'dev', 'pnpm_version': '9.15.0'},
    {'stage': 'staging', 'fixes': ['pnpm-missing'], 'pnpm_version': 'latest'},
    {'stage': 'staging', 'fixes': ['git-missing'], 'pnpm_version': '^10'},  # pnpm-missing does not run
])
def test_a_usable_or_unused_pnpm_version_runs_the_stage(args):
    action = make_action(args)
    action.run(task_vars={})
    action._execute_module.assert_called_once()


def ssh_connection(var_options=None):
    """Ansible's own ssh connection plugin, its options resolved as the task executor does."""
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader
    connection = connection_loader.get('ssh', PlayContext(), io.StringIO())
    connection.set_options(var_options=var_options or {})
    return connection


@pytest.mark.parametrize('env, var_options, origin', [
    # what ansible-runner (ansible-navigator, AWX) sets unless told otherwise
    ({'ANSIBLE_HOST_KEY_CHECKING': 'False'}, {}, 'env: ANSIBLE_HOST_KEY_CHECKING'),
    ({}, {'ansible_host_key_checking': False}, 'var: ansible_host_key_checking'),
    ({}, {'ansible_ssh_host_key_checking': 'no'}, 'var: ansible_ssh_host_key_checking'),
    ({}, {'ansible_ssh_common_args': '-F none -o StrictHostKeyChecking=no'}, 'var: ansible_ssh_common_args'),
    ({}, {'ansible_ssh_extra_args': '-o "StrictHostKeyChecking off"'}, 'var: ansible_ssh_extra_args'),
])
def test_a_server_stage_without_host_key_checking_is_refused(monkeypatch, env, var_options, origin):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    action = make_action(dict(REPO, stage='staging'), connection=ssh_connection(var_options))
    result = action.run(task_vars={'inventory_hostname': 'staging-1'})
    assert_one_line_failure(result)
    assert result['msg'].startswith('host key checking is off for staging-1 (')
    assert origin in result['msg']
    assert 'set ansible_host_key_checking: true for it in the inventory' in result['msg']
    assert result['msg'].endswith('; nothing was run')
    action._execute_module.assert_not_called()


@pytest.mark.parametrize('var_options', [{'ansible_host_key_checking': False},
                                         {'ansible_ssh_common_args': '-o StrictHostKeyChecking=no'}])
def test_a_var_is_refused_where_the_origin_is_read_again_without_vars(var_options):
    # ansible-core 2.16.19 and 2.19.0 (seen): get_option_and_origin re-reads the configuration without the
    # host's variables, so it answers ansible.cfg's value while the connection uses the variable
    from ansible import constants as C
    connection = ssh_connection(var_options)
    connection.get_option_and_origin = lambda name, hostvars=None: C.config.get_config_value_and_origin(
        name, plugin_type='connection', plugin_name='ssh', variables=hostvars)
    action = make_action(dict(REPO, stage='staging'), connection=connection)
    result = action.run(task_vars={'inventory_hostname': 'staging-1'})
    assert_one_line_failure(result)
    assert 'var: %s' % next(iter(var_options)) in result['msg']
    action._execute_module.assert_not_called()


@pytest.mark.parametrize('env, var_options', [
    ({}, {}),
    ({}, {'ansible_ssh_common_args': '-F none -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/k'}),
    # the inventory's setting wins over the environment, as the README tells users of ansible-runner
    ({'ANSIBLE_HOST_KEY_CHECKING': 'False'}, {'ansible_host_key_checking': True}),
])
def test_a_server_stage_with_host_key_checking_runs(monkeypatch, env, var_options):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    action = make_action(dict(REPO, stage='staging'), connection=ssh_connection(var_options))
    result = action.run(task_vars={'inventory_hostname': 'staging-1'})
    assert not result.get('failed'), result
    action._execute_module.assert_called_once()


def test_a_local_connection_has_no_host_key_to_check(monkeypatch):
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader
    monkeypatch.setenv('ANSIBLE_HOST_KEY_CHECKING', 'False')
    connection = connection_loader.get('local', PlayContext(), io.StringIO())
    connection.set_options(var_options={})
    action = make_action({'stage': 'dev'}, connection=connection)
    result = action.run(task_vars={'inventory_hostname': 'localhost'})
    assert not result.get('failed'), result
    action._execute_module.assert_called_once()


@pytest.mark.parametrize('var_options, refused', [({'ansible_host_key_checking': False}, True), ({}, False)])
def test_the_host_keys_action_says_what_the_stage_says_without_connecting(var_options, refused):
    from ansible_collections.factiii.infra.plugins.action.host_keys import ActionModule as HostKeys
    connection = ssh_connection(var_options)
    connection.exec_command = MagicMock(side_effect=AssertionError('connected to the host'))
    task = MagicMock()
    task.args, task.async_val, task.check_mode = {}, 0, False
    check = HostKeys(task, connection, MagicMock(), loader=MagicMock(), templar=MagicMock(), shared_loader_obj=None)
    result = check.run(task_vars={'inventory_hostname': 'staging-1'})
    stage = make_action(dict(REPO, stage='staging'), connection=ssh_connection(var_options))
    stage_result = stage.run(task_vars={'inventory_hostname': 'staging-1'})
    assert bool(result.get('failed')) is refused
    if refused:
        assert result['msg'] == stage_result['msg']
        assert result['msg'].startswith('host key checking is off for staging-1 (host_key_checking is false, from var: ')
    else:
        assert result['msg'] == 'host key checking is on for staging-1'


def test_user_checks_reach_the_module_validated_with_their_defaults():
    action = make_action({'stage': 'staging', 'fixes': [], 'checks': [
        {'name': 'app-enabled', 'check': ['systemctl', 'is-enabled', 'app.service']}]})
    action.run(task_vars={'inventory_hostname': 'h'})
    sent = action._execute_module.call_args.kwargs['module_args']['checks']
    assert sent == [{'name': 'app-enabled', 'check': ['systemctl', 'is-enabled', 'app.service'], 'fix': None,
                     'shell': False, 'packages': [], 'requires': [], 'after': [], 'manual': [], 'timeout': 30}]


@pytest.mark.parametrize('checks, says', [
    ('systemctl is-enabled app', 'checks'),
    ([{'check': ['true']}], 'name'),
    ([{'name': 'a', 'check': ['true'], 'timout': 5}], 'timout'),
])
def test_badly_typed_user_checks_are_one_line_and_run_nothing(checks, says):
    action = make_action({'stage': 'staging', 'checks': checks})
    result = action.run(task_vars={'inventory_hostname': 'h'})
    assert_one_line_failure(result)
    assert says in result['msg']
    action._execute_module.assert_not_called()


def test_user_checks_on_the_secrets_stage_are_ignored_with_a_warning(no_github_env):
    action = make_action({'stage': 'secrets', 'github_repo': 'o/r', 'checks': [{'name': 'a', 'check': ['true']}]})
    with patch('ansible_collections.factiii.infra.plugins.action.stage.display') as display:
        action.run(task_vars={})
    action._execute_module.assert_not_called()
    assert any('checks are ignored for stage secrets' in str(c) for c in display.warning.call_args_list)
