# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""factiii.infra.deploy_outcome: the deploy role's registered results as rows of its stage."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest.mock import MagicMock

import pytest

from ansible_collections.factiii.infra.plugins.action.deploy_outcome import ActionModule
from ansible_collections.factiii.infra.plugins.plugin_utils import results as rbs

PREV, NEW = '9be1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9', '4f2a9c01b7de00112233445566778899aabbccdd'
URL = 'http://127.0.0.1:8080/health'
CHECKOUT = {'changed': True, 'previous': PREV, 'commit': NEW, 'msg': 'checked out v1.3 4f2a9c01b7de in /srv/app'}
STARTED = {'changed': True, 'rc': 0, 'stdout': '', 'stderr': ''}
SKIPPED = {'changed': False, 'skipped': True, 'skip_reason': 'Conditional result was False'}
HEALTHY = {'status': 200, 'msg': 'OK (unknown bytes)', 'attempts': 1}
NOT_FOUND = {'status': 404, 'attempts': 3, 'msg': 'Status code was 404 and not [200]: HTTP Error 404: File not found'}
RESTORED = {'changed': True, 'previous': NEW, 'commit': PREV, 'msg': 'checked out 9be1c2d3e4f5 in /srv/app'}


def run(args, check_mode=False):
    task = MagicMock()
    task.args = dict(args)
    task.check_mode = check_mode
    action = ActionModule(task, MagicMock(), MagicMock(), loader=MagicMock(), templar=MagicMock(),
                          shared_loader_obj=None)
    action._execute_module = MagicMock(side_effect=AssertionError('runs on the controller only'))
    action._low_level_execute_command = MagicMock(side_effect=AssertionError('runs on the controller only'))
    return action.run(task_vars={})


def rows(result):
    return [(r['fix_id'], r['status'], r['msg']) for r in result['results']]


def deploy(**steps):
    args = {'stage': 'staging', 'ref': 'v1.3', 'health_url': URL, 'checkout': CHECKOUT, 'start': STARTED,
            'health': HEALTHY, 'restore': SKIPPED, 'restart': SKIPPED, 'rehealth': SKIPPED}
    args.update(steps)
    return run(dict((k, v) for k, v in args.items() if v is not None))


def batch(*fixes, **extra):
    """A stage's result with rows (fix name, status)."""
    result = {'stage': 'staging', 'failed': any(s == 'failed' for dummy, s in fixes), 'msg': 'staging: ...',
              'results': [{'fix_id': 'staging-%s' % n, 'status': s, 'msg': '', 'steps': []} for n, s in fixes]}
    result.update(extra)
    return result


def gate(stage_result, start='docker compose up -d --build', check_mode=False):
    return run({'stage': 'staging', 'ref': 'v1.3', 'batch': stage_result, 'start_command': start}, check_mode)


def test_a_good_deploy_is_three_fixed_rows():
    result = deploy()
    assert rows(result) == [
        ('staging-deploy-checkout', 'fixed', 'checked out v1.3 4f2a9c01b7de in /srv/app'),
        ('staging-deploy-start', 'fixed', 'started v1.3 4f2a9c01b7de'),
        ('staging-deploy-health', 'fixed', 'healthy: %s answered 200' % URL),
    ]
    assert not result['failed'] and result['stage'] == 'staging' and result['counts']['fixed'] == 3


def test_no_health_url_no_health_row_and_an_unchanged_checkout_is_ok():
    result = deploy(health_url=None, health=SKIPPED, checkout=dict(CHECKOUT, changed=False, previous=NEW,
                                                                   msg='already at v1.3 4f2a9c01b7de in /srv/app'))
    assert rows(result) == [('staging-deploy-checkout', 'ok', 'already at v1.3 4f2a9c01b7de in /srv/app'),
                            ('staging-deploy-start', 'fixed', 'started v1.3 4f2a9c01b7de')]


def test_a_failed_start_is_failed_and_the_rollback_is_a_row():
    result = deploy(start={'rc': 3, 'stderr': 'building\nno health page\n', 'msg': 'non-zero return code'},
                    health=SKIPPED, restore=RESTORED, restart=STARTED, rehealth=HEALTHY)
    assert rows(result)[1:] == [
        ('staging-deploy-start', 'failed', 'start command failed (rc 3): no health page'),
        ('staging-deploy-rollback', 'fixed', 'restored 9be1c2d3e4f5 and restarted it, healthy'),
    ]
    assert result['failed']
    assert result['msg'] == ('deploy of v1.3 (4f2a9c01b7de) failed: staging-deploy-start: start command failed (rc 3): '
                             'no health page; restored 9be1c2d3e4f5 and restarted it, healthy')


def test_an_unhealthy_app_is_a_failed_health_row():
    result = deploy(health=NOT_FOUND, restore=RESTORED, restart=STARTED, rehealth=HEALTHY)
    assert rows(result)[2] == ('staging-deploy-health', 'failed', 'not healthy after 3 checks: %s: Status code was 404 '
                               'and not [200]: HTTP Error 404: File not found' % URL)
    assert rows(result)[3][1] == 'fixed'


@pytest.mark.parametrize('restore, restart, rehealth, expected', [
    ({'msg': '/srv/app has files git does not track where 9be1c2d3e4f5 tracks files (public/health): ...'},
     SKIPPED, SKIPPED, 'could NOT restore 9be1c2d3e4f5: /srv/app has files git does not track'),
    (RESTORED, {'rc': 1, 'stderr': 'boom'}, SKIPPED, 'restored 9be1c2d3e4f5 but its start command failed too (rc 1): boom'),
    (RESTORED, STARTED, NOT_FOUND, 'restored 9be1c2d3e4f5 and restarted it, but its health check fails too: '
                                   'Status code was 404'),
], ids=['restore-refused', 'restart-failed', 'still-unhealthy'])
def test_a_failed_rollback_is_a_failed_row(restore, restart, rehealth, expected):
    result = deploy(health=NOT_FOUND, restore=restore, restart=restart, rehealth=rehealth)
    fix_id, status, msg = rows(result)[-1]
    assert (fix_id, status) == ('staging-deploy-rollback', 'failed') and msg.startswith(expected), msg
    assert result['failed'] and result['counts']['failed'] == 2


def test_a_refused_checkout_is_one_failed_row_and_nothing_else():
    refused = {'failed': False, 'msg': 'refusing to deploy v1.3: /srv/app has local changes (M a.txt); commit, '
                                       'stash or remove them, then deploy again'}
    result = deploy(checkout=refused, start=SKIPPED, health=SKIPPED)
    assert rows(result) == [('staging-deploy-checkout', 'failed', refused['msg'])]
    assert result['msg'] == 'deploy of v1.3 failed: staging-deploy-checkout: ' + refused['msg']


def test_check_mode_rows_say_what_would_be_done():
    result = run({'stage': 'prod', 'ref': 'main', 'health_url': URL, 'start': SKIPPED, 'health': SKIPPED,
                  'checkout': dict(CHECKOUT, msg='would check out main 4f2a9c01b7de in /srv/app')}, check_mode=True)
    assert rows(result) == [('prod-deploy-checkout', 'fixed', 'would check out main 4f2a9c01b7de in /srv/app'),
                            ('prod-deploy-start', 'fixed', 'would start main 4f2a9c01b7de'),
                            ('prod-deploy-health', 'fixed', 'would check %s' % URL)]
    assert result['check_mode'] and not result['failed']


def test_the_gate_lets_a_stage_that_left_the_app_its_needs():
    assert rows(gate(batch(('git-missing', 'fixed'), ('node-missing', 'ok'), ('docker-autostart', 'manual')))) == []
    # docker needs only when the start command runs docker
    assert rows(gate(batch(('docker-missing', 'manual')), start='pnpm start')) == []
    assert rows(gate(batch(('docker-missing', 'manual')), start='./mydocker.sh && node dockerfile.js')) == []
    assert not gate(batch(('docker-missing', 'manual')), start='pnpm start')['failed']


@pytest.mark.parametrize('fixes, start, why', [
    ([('node-missing', 'manual'), ('pnpm-missing', 'manual')], 'pnpm start',
     'staging-node-missing is manual, staging-pnpm-missing is manual'),
    ([('repo-not-cloned', 'manual')], 'true', 'staging-repo-not-cloned is manual'),
    ([('docker-missing', 'manual')], 'docker compose up -d', 'staging-docker-missing is manual'),
    ([('docker-not-running', 'manual')], 'cd app && docker-compose up -d', 'staging-docker-not-running is manual'),
    ([('docker-missing', 'manual')], '/usr/bin/docker run -d app', 'staging-docker-missing is manual'),
    # a failed fix stops the deploy, needed or not (a broken server)
    ([('docker-autostart', 'failed')], 'pnpm start', 'staging-docker-autostart failed'),
])
def test_the_gate_stops_the_deploy_naming_what_the_app_lacks(fixes, start, why):
    result = gate(batch(*fixes), start=start)
    assert rows(result) == [('staging-deploy-start', 'failed', 'not started: %s; nothing was checked out' % why)]
    assert result['failed'] and result['msg'] == 'deploy of v1.3 failed: staging-deploy-start: ' + rows(result)[0][2]


def test_the_gate_when_the_batch_failed_without_rows_and_in_check_mode():
    result = gate({'failed': True, 'stage': 'staging', 'msg': 'Task failed: Validation of arguments failed:\nmissing x'})
    assert rows(result)[0][2] == ('not started: the fixes of staging failed: Validation of arguments failed:; '
                                  'nothing was checked out')
    result = gate(batch(('node-missing', 'manual')), check_mode=True)
    assert rows(result)[0][2].startswith('would not start: staging-node-missing is manual')


def test_its_rows_are_the_stages_rows_in_the_report_and_no_task_failed_row():
    result = deploy(start={'rc': 3, 'stderr': 'x'}, health=SKIPPED, restore=RESTORED, restart=STARTED, rehealth=HEALTHY)
    report = rbs.new_report()
    # as the callback sees the failed task of the deploy role
    rbs.add_outcome(report, 's1', result, 'deploy', failed=True, ours=True, role='deploy')
    assert list(report['stages']) == ['staging']
    assert [r['fix_id'] for r in report['stages']['staging']['hosts']['s1']['results']] == [
        'staging-deploy-checkout', 'staging-deploy-start', 'staging-deploy-rollback']
    assert report['total']['failed'] == 1
    assert 'Failed: staging-deploy-start: start command failed (rc 3): x' in rbs.format_report(report)


@pytest.mark.parametrize('args', [{'stage': 'dev', 'ref': 'main'}, {'ref': 'main'}, {'stage': 'staging', 'ref': 'x', 'bogus': 1}])
def test_bad_options_are_one_line(args):
    result = run(args)
    assert result['failed'] and '\n' not in result['msg'] and result['msg'].startswith('factiii.infra.deploy_outcome: ')


def test_the_gate_when_the_host_was_not_reached():
    result = gate({'unreachable': True, 'changed': False, 'stage': 'staging',
                   'msg': 'Task failed: Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 9: '
                          'Connection refused'})
    fix_id, status, msg = rows(result)[0]
    assert (fix_id, status) == ('staging-deploy-start', 'failed')
    assert msg.startswith('not started: the host was not reached (') and 'Connection refused' in msg, msg


def test_a_start_that_could_not_run_says_why_not_an_exit_code():
    result = deploy(start={'failed': False, 'msg': 'Task failed: Missing sudo password'}, health=SKIPPED,
                    restore=RESTORED, restart={'msg': 'Missing sudo password'}, rehealth=SKIPPED)
    assert rows(result)[1][2].startswith('start command failed: become failed: sudo asks the connecting user for a '
                                         'password and none was given'), rows(result)
    assert 'rc None' not in result['msg'] and rows(result)[2][2].startswith(
        'restored 9be1c2d3e4f5 but its start command failed too: become failed: '), rows(result)
