# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stage's variables checked by name: typos with the closest known name, missing required ones,
one line each; the project's own inventories and the allow-list pass."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from unittest.mock import MagicMock

import pytest
import yaml

from ansible_collections.factiii.infra.plugins.action import check_vars as action
from ansible_collections.factiii.infra.plugins.plugin_utils import stage_vars

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
STAGES = ['dev', 'secrets', 'staging', 'prod', 'deploy']
REQUIRED = {'staging': ['staging_repo_url', 'staging_repo_dest'], 'prod': ['prod_repo_url', 'prod_repo_dest'],
            'deploy': ['deploy_ref', 'deploy_start_command']}


def spec(stage):
    with open(os.path.join(ROOT, 'roles', stage, 'meta', 'argument_specs.yml')) as handle:
        return yaml.safe_load(handle)['argument_specs']['main']['options']


def test_a_typo_names_the_closest_known_variable():
    why = stage_vars.problem('staging', REQUIRED['staging'] + ['staging_repo_verison'])
    assert why == ('unknown variable staging_repo_verison: did you mean staging_repo_version? (ansible-doc -t role '
                   'factiii.infra.staging lists its variables); nothing was run')


def test_a_typo_of_a_required_variable_is_that_one_line_not_also_missing():
    why = stage_vars.problem('staging', ['staging_repo_dest', 'staging_repo_ulr'])
    assert why.startswith('unknown variable staging_repo_ulr: did you mean staging_repo_url? (ansible-doc')
    assert 'missing' not in why
    assert '\n' not in why


def test_missing_required_variables_are_one_line():
    why = stage_vars.problem('prod', ['prod_fixes', 'ansible_host'])
    assert why == ('missing required variables prod_repo_dest, prod_repo_url (ansible-doc -t role '
                   'factiii.infra.prod lists its variables); nothing was run')
    assert stage_vars.problem('prod', ['prod_repo_url'] + ['x']).startswith(
        'missing required variable prod_repo_dest (')


def test_a_name_like_nothing_known_has_no_hint_and_every_typo_is_named():
    why = stage_vars.problem('dev', ['dev_zzzz', 'dev_node_min_majr'])
    assert why.startswith('unknown variable dev_node_min_majr: did you mean dev_node_min_major?; '
                          'unknown variable dev_zzzz (ansible-doc')


@pytest.mark.parametrize('stage', STAGES)
def test_every_option_of_the_stage_role_is_known(stage):
    options = spec(stage)
    assert stage_vars.role_options(stage) == options
    assert stage_vars.problem(stage, list(options)) is None
    assert sorted(n for n, o in options.items() if o.get('required')) == sorted(REQUIRED.get(stage, []))


@pytest.mark.parametrize('stage', STAGES)
def test_other_names_pass(stage):
    # other roles' and Ansible's names, the roles' internals (double underscore), other stages' names
    others = ['server_repo_verison', 'ansible_host', 'factiii_app_repo_url', stage + '__result',
              'developer', 'production', 'staging', 'prod'] + [s + '_x' for s in STAGES if s != stage]
    assert stage_vars.problem(stage, REQUIRED.get(stage, []) + others) is None


def test_the_allow_list_is_explicit_and_documented_by_dev_sync():
    with open(os.path.join(ROOT, 'playbooks', 'dev_sync.yml')) as handle:
        text = handle.read()
    for name in stage_vars.ALLOWED['dev']:
        assert '#   %s ' % name in text, name
    assert stage_vars.problem('dev', sorted(stage_vars.ALLOWED['dev'])) is None
    # a typo of an allowed name is still one
    assert stage_vars.problem('dev', ['dev_sync_tarbal']).startswith(
        'unknown variable dev_sync_tarbal: did you mean dev_sync_tarball?')
    assert set(stage_vars.ALLOWED) <= set(stage_vars.PREFIXES)


def inventories():
    yield from ('app-template/factiii', 'inventories/example', 'inventories/local', 'inventories/on-server')


@pytest.mark.parametrize('inventory', list(inventories()))
def test_the_projects_own_inventories_pass(inventory):
    base = os.path.join(ROOT, inventory)
    with open(os.path.join(base, 'hosts.yml')) as handle:
        groups = yaml.safe_load(handle)['all']['children']

    def group_vars(group):
        path = os.path.join(base, 'group_vars', group + '.yml')
        if not os.path.exists(path):
            return {}
        with open(path) as handle:
            return yaml.safe_load(handle) or {}

    checked = 0
    for stage, group in groups.items():
        for host_vars in (group.get('hosts') or {}).values():
            names = list(group_vars('all')) + list(group_vars(stage)) + list(group.get('vars') or {}) + list(host_vars)
            assert stage_vars.problem(stage, names) is None, (inventory, stage)
            checked += 1
    assert checked or inventory == 'inventories/local'


def run_action(args, task_vars, check_mode=True):
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    plugin = action.ActionModule(task, MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    # values without templates: templating gives them back (a MagicMock would be validated instead)
    plugin._templar.template.side_effect = lambda value: value
    return plugin.run(task_vars=task_vars)


def test_the_action_fails_with_the_stages_failed_row():
    res = run_action({'stage': 'staging'}, {'staging_repo_url': 'u', 'staging_repo_dest': '/d',
                                            'staging_repo_verison': 'main', 'inventory_hostname': 's1'})
    assert res['failed'] is True and res['stage'] == 'staging' and res['check_mode'] is True
    assert res['msg'].startswith('unknown variable staging_repo_verison: did you mean staging_repo_version?')
    assert [(r['fix_id'], r['status'], r['msg']) for r in res['results']] == [
        ('staging-invalid-arguments', 'failed', res['msg'])]
    assert res['counts']['failed'] == 1


def test_the_action_passes_known_variables_and_refuses_bad_options():
    res = run_action({'stage': 'dev'}, {'dev_fixes': ['git-missing'], 'dev_sync_root': '/opt/x'})
    assert not res.get('failed') and res['changed'] is False
    for args in ({}, {'stage': 'server'}, {'stage': 'dev', 'other': 1}):
        res = run_action(args, {})
        assert res['failed'] is True
        assert res['msg'] == 'factiii.infra.check_vars takes stage: one of deploy, dev, prod, secrets, staging'


def test_values_the_role_refuses_are_one_line_as_the_role_says_them():
    why = stage_vars.value_problem('staging', {'staging_repo_url': 'u', 'staging_repo_dest': '/d',
                                               'staging_fixes': ['git-missing', 'no-such-fix'],
                                               'staging_node_min_major': 'twenty'})
    assert why.startswith('role factiii.infra.staging: ')
    assert 'value of staging_fixes must be one or more of: git-missing, ' in why
    assert 'Got no match for: no-such-fix' in why and "argument 'staging_node_min_major' is of type str" in why
    assert why.endswith('; nothing was run') and '\n' not in why
    assert stage_vars.value_problem('staging', {'staging_repo_url': 'u', 'staging_repo_dest': '/d'}) is None


def test_the_action_checks_templated_values_and_masks_a_key(monkeypatch):
    key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----'
    task_vars = {'staging_repo_url': '{{ url }}', 'staging_repo_dest': '/d', 'staging_repo_key': key,
                 'staging_node_min_major': 'x'}
    task = MagicMock()
    task.args = {'stage': 'staging'}
    templar = MagicMock()
    templar.template.side_effect = lambda value: dict(value, staging_repo_url='rendered')
    plugin = action.ActionModule(task, MagicMock(), MagicMock(), MagicMock(), templar, MagicMock())
    res = plugin.run(task_vars=task_vars)
    assert res['failed'] is True
    assert res['msg'].startswith("role factiii.infra.staging: argument 'staging_node_min_major' is of type str")
    assert res['results'][0]['fix_id'] == 'staging-invalid-arguments'
    # the values checked are the templated ones
    seen = []
    monkeypatch.setattr(stage_vars, 'value_problem', lambda stage, values: seen.append(values) or (
        'role factiii.infra.staging: bad key %s; nothing was run' % values['staging_repo_key']))
    res = plugin.run(task_vars=task_vars)
    assert seen[0]['staging_repo_url'] == 'rendered'
    # a value the validator quotes back is masked when it is a secret (no_log in the spec)
    assert 'b3BlbnNzaC1rZXktdjEAAAAA' not in str(res) and 'PRIVATE KEY' not in str(res), res
    assert res['msg'] == 'role factiii.infra.staging: bad key ********; nothing was run'


def test_a_value_that_cannot_be_templated_fails_the_task_with_its_first_line():
    # the roles run without Ansible's own argument check: this task says what to set, for the first
    # option (in the spec's order) that cannot be templated, as that check did
    from ansible.errors import AnsibleError

    def template(value):
        if value == '{{ undef() }}' or isinstance(value, dict):
            raise AnsibleError('Set APP_REPO_URL to the app repository\nOrigin: group_vars/all.yml')
        return value
    task = MagicMock()
    task.args = {'stage': 'prod'}
    templar = MagicMock()
    templar.template.side_effect = template
    plugin = action.ActionModule(task, MagicMock(), MagicMock(), MagicMock(), templar, MagicMock())
    res = plugin.run(task_vars={'prod_repo_url': '{{ undef() }}', 'prod_repo_dest': '/d'})
    assert res == {'failed': True, 'changed': False, 'msg': 'Set APP_REPO_URL to the app repository'}, res


def test_a_deploy_typo_names_the_deploy_variable():
    assert stage_vars.problem('deploy', ['deploy_ref', 'deploy_start_command', 'deploy_health_ulr']).startswith(
        'unknown variable deploy_health_ulr: did you mean deploy_health_url? (ansible-doc -t role '
        'factiii.infra.deploy lists its variables)')


def test_a_typo_inside_a_check_names_the_check_and_the_key_meant():
    checks = [{'name': 'ok-one', 'check': ['true']},
              {'name': 'typo-key', 'chek': ['true']},
              'not a mapping']
    assert stage_vars.value_problem('staging', {'staging_checks': checks}) == (
        'role factiii.infra.staging: staging_checks[1] (typo-key): unknown key chek: did you mean check?; '
        'staging_checks[2] is not a mapping (after: ..., check: ..., fix: ...); nothing was run')
    assert stage_vars.value_problem('dev', {'dev_checks': [{'name': 'x', 'zzz': 1}]}) == (
        'role factiii.infra.dev: dev_checks[0] (x): unknown key zzz (known: after, check, fix, manual, name, '
        'packages, requires, shell, timeout); nothing was run')
    assert stage_vars.value_problem('dev', {'dev_checks': [{'name': 'fine', 'check': ['true']}]}) is None
