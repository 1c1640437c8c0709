# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The factiii.infra.report action plugin: the callback's report, built from the outcomes the stage plays kept."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from unittest.mock import MagicMock

import pytest
from ansible import constants as C

from ansible_collections.factiii.infra.plugins.action import report as action
from ansible_collections.factiii.infra.plugins.callback.results_by_stage import CallbackModule
from ansible_collections.factiii.infra.plugins.plugin_utils import results as rbs

ROLES = '/x/collections/ansible_collections/factiii/infra/roles/'


def fix(fix_id, status, msg=''):
    return {'fix_id': fix_id, 'status': status, 'msg': msg, 'steps': [], 'details': {}}


def stage_result(stage, fixes, check_mode=False):
    counts = dict((s, sum(1 for f in fixes if f['status'] == s)) for s in ('ok', 'fixed', 'manual', 'failed'))
    return {'stage': stage, 'check_mode': check_mode, 'results': fixes, 'counts': counts,
            'failed': bool(counts['failed']), 'msg': '%s: ...' % stage}


INVALID = {'failed': True, 'msg': 'Validation of arguments failed:\nmissing required arguments: staging_repo_url',
           'argument_errors': ['missing required arguments: staging_repo_url'],
           'validate_args_context': {'type': 'role', 'name': 'staging', 'argument_spec_name': 'main',
                                     'path': ROLES + 'staging'}}
UNREACHABLE = {'unreachable': True, 'changed': False,
               'msg': 'Task failed: Failed to connect to the host via ssh: ssh: connect to host 10.0.0.9 port 22: '
                      'Connection refused'}
# {host: {stage: outcome}} as tasks/stage.yml keeps them
OUTCOMES = {
    'dev1': {'dev': {'result': stage_result('dev', [fix('dev-git-missing', 'fixed', 'installed git'),
                                                    fix('dev-node-missing', 'ok')])}},
    's1': {'staging': {'result': stage_result('staging', [fix('staging-repo-not-cloned', 'failed', 'clone failed')]),
                       'failed': True, 'action': 'factiii.infra.stage'}},
    's2': {'staging': {'result': INVALID, 'failed': True, 'action': 'ansible.builtin.validate_argument_spec'}},
    's3': {'staging': {'result': UNREACHABLE}},
    'p1': {'prod': {'result': {'failed': True, 'msg': 'host key checking is off'},
                    'failed': True, 'action': 'factiii.infra.stage'}},
    # the role's first task fails on the host's own connection variables (an unset PROD_HOST)
    'p2': {'prod': {'result': {'failed': True, 'msg': "Task failed: Error processing keyword 'remote_addr': "
                                                      "Set PROD_HOST to the prod server address"},
                    'failed': True, 'action': 'ansible.builtin.validate_argument_spec', 'role': 'factiii.infra.prod'}},
}


class Role:
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


def callback_text(monkeypatch):
    """What the callback prints for the same task results, fed as Ansible would."""
    callback = CallbackModule()
    callback._plugin_options = {'results_json': None}
    shown = []
    monkeypatch.setattr(callback._display, 'display', lambda msg, *a, **kw: shown.append(msg))
    for host, outcomes in OUTCOMES.items():
        for stage, outcome in outcomes.items():
            task = MagicMock(spec=['action', 'resolved_action', 'args', 'get_vars', '_role'])
            task.action = task.resolved_action = outcome.get('action', 'factiii.infra.stage')
            task.args = {'stage': stage}
            task.get_vars.return_value = {}
            task._role = Role('factiii.infra.staging') if outcome['result'] is INVALID else None
            if 'role' in outcome:
                task._role = Role(outcome['role'])
            result = MagicMock(spec=['result', 'host', 'task'])
            result.result, result.task = outcome['result'], task
            result.host = MagicMock(spec=['get_name', 'vars', 'get_groups'])
            result.host.get_name.return_value, result.host.vars = host, {'factiii_stage': stage}
            result.host.get_groups.return_value = []
            if outcome['result'].get('unreachable'):
                callback.v2_runner_on_unreachable(result)
            elif outcome.get('failed'):
                callback.v2_runner_on_failed(result)
            else:
                callback.v2_runner_on_ok(result)
    callback.v2_playbook_on_stats(None)
    return '\n'.join(shown)


def test_the_report_is_the_callbacks_report(monkeypatch):
    text = rbs.format_report(action.build_report(OUTCOMES))
    assert text == callback_text(monkeypatch)
    lines = text.splitlines()
    assert '   Failed: staging-invalid-arguments [s2]: role factiii.infra.staging: missing required arguments: ' \
        'staging_repo_url' in lines
    assert '   Failed: staging-host-unreachable [s3]: Failed to connect to the host via ssh: ssh: connect to host ' \
        '10.0.0.9 port 22: Connection refused' in lines
    assert '   Failed: prod-task-failed [p1]: host key checking is off' in lines
    assert "   Failed: prod-task-failed [p2]: Error processing keyword 'remote_addr': Set PROD_HOST to the prod " \
        "server address" in lines
    assert lines[-1] == 'TOTAL: Fixed: 1, Manual: 0, Failed: 5'


@pytest.mark.parametrize('path', ['/elsewhere/roles/staging', '/x/ansible_collections/other/infra/roles/staging'])
def test_a_role_of_another_collection_is_not_ours(path):
    res = dict(INVALID, validate_args_context=dict(INVALID['validate_args_context'], path=path))
    report = action.build_report({'s2': {'staging': {'result': res, 'failed': True, 'action': 'x'}}})
    # not that role's refused variables, but still the stage's failure (every outcome is of a stage's tasks)
    rows = report['stages']['staging']['hosts']['s2']['results']
    assert [r['fix_id'] for r in rows] == ['staging-task-failed'], rows


def make(monkeypatch, outcomes, enabled, check_mode=False):
    monkeypatch.setattr(C, 'CALLBACKS_ENABLED', [rbs.CALLBACK_NAME] if enabled else [])
    task = MagicMock()
    task.args, task.async_val, task.check_mode = {}, 0, False
    # any use of the connection fails the test: the report never connects to a host
    connection = MagicMock(spec=[])
    play_context = MagicMock()
    play_context.check_mode = check_mode
    plugin = action.ActionModule(task, connection, play_context, loader=MagicMock(), templar=MagicMock(),
                                 shared_loader_obj=None)
    shown, warned = [], []
    monkeypatch.setattr(action.display, 'display', lambda msg, *a, **kw: shown.append(msg))
    monkeypatch.setattr(action.display, 'warning', lambda msg, *a, **kw: warned.append(msg))
    task_vars = {'ansible_play_hosts_all': list(outcomes) + ['no-outcome'],
                 'hostvars': dict((h, {action.OUTCOMES: o}) for h, o in outcomes.items())}
    task_vars['hostvars']['no-outcome'] = {}
    return plugin.run(task_vars=task_vars), shown, warned


def test_without_the_callback_it_prints_writes_and_fails(monkeypatch, tmp_path):
    monkeypatch.setenv('FACTIII_RESULTS_JSON', str(tmp_path / 'r.json'))
    result, shown, warned = make(monkeypatch, OUTCOMES, enabled=False)
    report = action.build_report(OUTCOMES)
    assert shown == [rbs.format_report(report)]
    assert json.loads((tmp_path / 'r.json').read_text()) == json.loads(json.dumps(rbs.ordered(report)))
    assert result['failed'] is True and warned == []
    assert result['msg'] == '5 failed fixes or unreachable hosts: see RESULTS BY STAGE'


def test_with_the_callback_it_only_fails(monkeypatch, tmp_path):
    monkeypatch.setenv('FACTIII_RESULTS_JSON', str(tmp_path / 'r.json'))
    result, shown, warned = make(monkeypatch, OUTCOMES, enabled=True)
    assert shown == [] and not (tmp_path / 'r.json').exists()
    assert result['failed'] is True


def test_nothing_failed_nothing_fails(monkeypatch):
    monkeypatch.delenv('FACTIII_RESULTS_JSON', raising=False)
    result, shown, warned = make(monkeypatch, {'dev1': OUTCOMES['dev1']}, enabled=False)
    assert not result.get('failed') and result['total']['fixed'] == 1
    assert shown[0].startswith('RESULTS BY STAGE\n\nDEV:\n')


def test_a_scan_without_the_callback_says_would_fix(monkeypatch, tmp_path):
    """The scan's play is in check mode: its counts say Would fix, even when no stage reported a fix
    (the play's check mode says it is a scan); the JSON keeps "fixed" with check_mode true."""
    monkeypatch.setenv('FACTIII_RESULTS_JSON', str(tmp_path / 'r.json'))
    scanned = {'result': stage_result('dev', [fix('dev-git-missing', 'fixed', 'would install git')], check_mode=True),
               'failed': False, 'action': 'factiii.infra.stage'}
    gone = {'s3': OUTCOMES['s3']}
    for outcomes, total in (({'dev1': {'dev': scanned}}, 'TOTAL: Would fix: 1, Manual: 0, Failed: 0'),
                            (gone, 'TOTAL: Would fix: 0, Manual: 0, Failed: 1')):
        result, shown, warned = make(monkeypatch, outcomes, enabled=False, check_mode=True)
        assert shown[0].endswith('\n' + total), shown
        assert 'Fixed' not in shown[0], shown
        data = json.loads((tmp_path / 'r.json').read_text())
        assert data['check_mode'] is True and result['check_mode'] is True
        assert 'fixed' in data['total'] and 'would_fix' not in json.dumps(data)


def test_a_json_that_cannot_be_written_is_a_warning(monkeypatch, tmp_path):
    monkeypatch.setenv('FACTIII_RESULTS_JSON', str(tmp_path / 'gone' / 'r.json'))
    result, shown, warned = make(monkeypatch, {'dev1': OUTCOMES['dev1']}, enabled=False)
    assert len(shown) == 1 and warned == ['results_json: cannot write %s: directory %s does not exist' % (
        tmp_path / 'gone' / 'r.json', tmp_path / 'gone')]


def test_one_failure_is_singular():
    outcomes = {'s1': OUTCOMES['s1']}
    assert action.failure_message(action.build_report(outcomes), outcomes) == \
        '1 failed fix or unreachable host: see RESULTS BY STAGE'


def test_a_stage_that_failed_before_any_fix_is_a_failed_row(monkeypatch):
    # a variable that cannot be templated (an unset PROD_HOST, say) fails the role's first task
    undefined = {'failed': True, 'msg': "Task failed: Finalization of task args for 'x' failed: Error while resolving "
                                        "value for 'prod_repo_url': Set APP_REPO_URL to the app repository\nOrigin: x"}
    outcomes = {'p1': {'prod': {'result': undefined, 'failed': True, 'action': 'ansible.builtin.validate_argument_spec'}},
                'p2': {'prod': {'result': undefined, 'failed': True, 'action': 'ansible.builtin.validate_argument_spec'}},
                'dev1': OUTCOMES['dev1']}
    monkeypatch.delenv('FACTIII_RESULTS_JSON', raising=False)
    result, shown, warned = make(monkeypatch, outcomes, enabled=False)
    report = action.build_report(outcomes)
    for host in ('p1', 'p2'):
        row, = report['stages']['prod']['hosts'][host]['results']
        assert row == {'fix_id': 'prod-task-failed', 'status': 'failed', 'steps': [],
                       'msg': "Finalization of task args for 'x' failed: Error while resolving value for "
                              "'prod_repo_url': Set APP_REPO_URL to the app repository"}, row
    assert 'Failed: prod-task-failed [p1]: ' in shown[0], shown
    assert result['failed'] is True
    assert result['msg'] == '2 failed fixes or unreachable hosts: see RESULTS BY STAGE'


def test_options_are_refused(monkeypatch):
    task = MagicMock()
    task.args = {'stage': 'dev'}
    plugin = action.ActionModule(task, MagicMock(spec=[]), MagicMock(), loader=MagicMock(), templar=MagicMock(),
                                 shared_loader_obj=None)
    assert plugin.run(task_vars={}) == {'failed': True, 'changed': False,
                                        'msg': 'factiii.infra.report takes no options, got: stage'}
