# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fix through the stage action: the module as an async job, polled on a fake clock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from unittest.mock import patch

import pytest
from ansible.errors import AnsibleConnectionFailure

from ansible_collections.factiii.infra.plugins.action import stage as stage_action
from ansible_collections.factiii.infra.plugins.module_utils.progress import OPTION as PROGRESS_FILE
from ansible_collections.factiii.infra.tests.unit.plugins.action.test_stage import (
    MODULE_RESULT, REPO, TMPDIR, make_action,
)

JOB = 'j123.456'
RESULTS_FILE = '/root/.ansible_async/' + JOB
POLL_COST = 0.8  # seconds one poll (async_status and the read of the file) takes on the fake clock


class FakeHost:
    """The host side of a fix's job: steps at given times (seconds after the start), the
    job's end, and the calls the action made."""

    def __init__(self, steps, ends, fail_polls=(), final=None):
        self.now = 0.0
        self.final = final  # what the finished job's file holds, when not the module's result
        self.steps = steps
        self.ends = ends
        self.fail_polls = fail_polls  # (from, to): polls in this window lose the connection
        self.calls = []
        self.printed = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds

    def execute_module(self, module_name=None, module_args=None, task_vars=None, wrap_async=False, **_kw):
        self.calls.append((module_name, dict(module_args), wrap_async))
        if module_name == 'factiii.infra.stage':
            assert wrap_async
            return {'started': True, 'finished': False, 'ansible_job_id': JOB, 'results_file': RESULTS_FILE,
                    'changed': True}
        assert module_name == 'ansible.legacy.async_status' and module_args['jid'] == JOB
        assert module_args['_async_dir'] == '/root/.ansible_async'
        if module_args['mode'] == 'cleanup':
            return {'ansible_job_id': JOB, 'erased': RESULTS_FILE}
        self.now += POLL_COST / 2
        if self.fail_polls and self.fail_polls[0] <= self.now < self.fail_polls[1]:
            raise AnsibleConnectionFailure('Failed to connect to the host via ssh: Connection refused')
        if self.now >= self.ends and self.final is not None:
            return dict(self.final, finished=True, ansible_job_id=JOB)
        if self.now >= self.ends:
            return dict(MODULE_RESULT, finished=True, ansible_job_id=JOB, stderr='', stderr_lines=[])
        return {'started': True, 'finished': False, 'ansible_job_id': JOB, 'results_file': RESULTS_FILE}

    def low_level(self, cmd, sudoable=True, **_kw):
        self.calls.append(('raw', cmd, sudoable))
        self.now += POLL_COST / 2
        done = [(at, msg) for at, msg in self.steps if at <= self.now]
        if not done:
            return {'rc': 1, 'stdout': '', 'stderr': 'No such file'}
        return {'rc': 0, 'stdout': json.dumps({'seq': len(done), 'msg': done[-1][1]}), 'stderr': ''}

    def display(self, msg, *args, **kwargs):
        self.printed.append((self.now, msg))


def fix_action(fake, args=None):
    action = make_action(args or dict({'stage': 'staging', 'repo_key': 'KEY-line-0123456789'}, **REPO))
    action._execute_module.side_effect = fake.execute_module
    action._low_level_execute_command.side_effect = fake.low_level
    action._clock = fake.clock
    action._sleep = fake.sleep
    action._connection._shell.remove = lambda path, recurse=False: 'rm -f %s%s' % ('-r ' if recurse else '', path)
    return action


def run(fake, args=None):
    action = fix_action(fake, args)
    with patch.object(stage_action.display, 'display', side_effect=fake.display):
        result = action.run(task_vars={'inventory_hostname': 'staging1'})
    return action, result


def gaps(fake):
    times = [0.0] + [at for at, _msg in fake.printed] + [fake.now]
    return [b - a for a, b in zip(times, times[1:])]


def test_a_long_fix_prints_each_step_and_a_line_at_least_every_10_s():
    fake = FakeHost([(0.5, 'checking staging-git-missing'),
                     (1.0, 'installing git nodejs npm docker.io (one apt transaction)'),
                     (95.0, 'staging-git-missing: install git (git)'), (95.5, 'staging-git-missing: verifying')],
                    ends=97.0)
    action, result = run(fake)

    # the module's own result, without the job's keys
    assert dict((k, v) for k, v in result.items() if k in MODULE_RESULT) == MODULE_RESULT, result
    assert not set(result) & {'ansible_job_id', 'finished', 'started', 'results_file', 'stderr'}, result
    # the stage module started once, as an async job, with its progress file in the job's tmpdir
    started = [c for c in fake.calls if c[0] == 'factiii.infra.stage']
    assert len(started) == 1 and started[0][2] is True
    assert started[0][1][PROGRESS_FILE] == TMPDIR + '/progress'
    assert action._task.async_val == 0  # the task executor never sees an async task
    # polled every POLL_EVERY, the file read as the become user, the job cleaned up at the end
    assert ('raw', "cat %s/progress" % TMPDIR, True) in fake.calls
    assert fake.calls[-2][0] == 'ansible.legacy.async_status' and fake.calls[-2][1]['mode'] == 'cleanup'
    # and the job's directory (the module and its arguments) removed at once, not 5 s later
    assert fake.calls[-1] == ('raw', 'rm -f -r ' + TMPDIR, False)

    lines = [msg for _at, msg in fake.printed]
    assert lines[0] == 'staging1: installing git nodejs npm docker.io (one apt transaction)'
    still = [msg for msg in lines if msg.startswith('staging1: still installing git nodejs npm docker.io')]
    assert len(still) >= 9, lines
    assert 'staging1: staging-git-missing: install git (git)' in lines
    assert max(gaps(fake)) <= 10.0, fake.printed


# async_wrapper's result when the module it ran printed nothing (ansible-core 2.19 async_wrapper
# _run_module: _filter_non_json_lines raises on the empty output, the traceback becomes msg)
KILLED = {'failed': 1, 'cmd': ['/root/.ansible/tmp/x/AnsiballZ_stage.py'], 'data': '', 'stderr': '',
          'msg': 'Traceback (most recent call last):\n  File "async_wrapper.py", line 94, in '
                 '_filter_non_json_lines\nValueError: No start of json char found\n'}


@pytest.mark.parametrize('stderr, why', [
    ('', 'killed, or it crashed'),
    ('Traceback (most recent call last):\n  File "x"\nMemoryError: KEY-line-0123456789\n', 'MemoryError: ********'),
])
def test_a_job_killed_on_the_host_is_one_line_with_its_last_step(stderr, why):
    fake = FakeHost([(0.5, 'installing git (one apt transaction)')], ends=5.0, final=dict(KILLED, stderr=stderr))
    dummy, result = run(fake)
    assert result == {'failed': True, 'changed': False, 'msg': (
        'the stage module on the host ended without a result (%s) during: installing git (one apt '
        'transaction); a fix may be half done: run the fix again' % why)}


def test_a_short_fix_prints_only_its_steps():
    fake = FakeHost([(0.1, 'checking staging-git-missing')], ends=1.5)
    dummy, result = run(fake)
    assert result['msg'] == MODULE_RESULT['msg']
    assert fake.printed == []  # done before the first poll: the task's own line follows at once


def test_a_secret_in_a_step_is_masked_on_the_controller_too():
    fake = FakeHost([(0.5, 'cloning with KEY-line-0123456789')], ends=6.0)
    run(fake)
    assert [msg for _at, msg in fake.printed] == ['staging1: cloning with ********']


def test_a_scan_is_one_synchronous_module_run_without_progress():
    fake = FakeHost([], ends=0)
    action = fix_action(fake)
    action._task.check_mode = True
    action._execute_module.side_effect = None
    action._execute_module.return_value = dict(MODULE_RESULT, check_mode=True)
    result = action.run(task_vars={'inventory_hostname': 'staging1'})
    action._execute_module.assert_called_once()
    kwargs = action._execute_module.call_args.kwargs
    assert not kwargs.get('wrap_async') and PROGRESS_FILE not in kwargs['module_args']
    action._low_level_execute_command.assert_not_called()
    assert result['check_mode'] is True


def test_a_short_connection_blip_is_ridden_out():
    fake = FakeHost([(0.5, 'installing git (one apt transaction)')], ends=40.0, fail_polls=(10.0, 20.0))
    dummy, result = run(fake)
    assert result['failed'] is False and result['msg'] == MODULE_RESULT['msg']
    assert max(gaps(fake)) <= 10.0, fake.printed  # the still lines go on while the host does not answer


def test_a_host_lost_mid_fix_is_unreachable_with_a_one_line_reason():
    fake = FakeHost([(0.5, 'installing git (one apt transaction)')], ends=500.0, fail_polls=(10.0, 1000.0))
    action = fix_action(fake)
    action._play_context.remote_addr = '192.0.2.7'
    with patch.object(stage_action.display, 'display', side_effect=fake.display):
        with pytest.raises(AnsibleConnectionFailure) as raised:
            action.run(task_vars={'inventory_hostname': 'staging1'})
    msg = str(raised.value)
    assert msg.startswith('connection to 192.0.2.7 lost while the task ran (Failed to connect to the host via ssh: '
                          'Connection refused): '), msg
    assert '\n' not in msg
    assert fake.now < 10.0 + stage_action.POLL_RETRY + 2 * stage_action.POLL_EVERY + POLL_COST


def test_a_start_without_a_job_is_the_result():
    fake = FakeHost([], ends=0)
    action = fix_action(fake)
    action._execute_module.side_effect = None
    action._execute_module.return_value = {'failed': True, 'msg': 'could not create directory: /root/.ansible_async'}
    result = action.run(task_vars={})
    assert result['failed'] is True and result['msg'] == 'could not create directory: /root/.ansible_async'
    action._execute_module.assert_called_once()


def test_the_progress_file_is_not_an_option_of_the_task():
    action = make_action(dict({'stage': 'staging', PROGRESS_FILE: '/etc/passwd'}, **REPO))
    result = action.run(task_vars={})
    assert result['failed'] is True and PROGRESS_FILE in result['msg'] and '\n' not in result['msg']
    action._execute_module.assert_not_called()


@pytest.mark.parametrize('ssh_args, is_async', [
    ('-C -o ControlMaster=auto -o ControlPersist=60s', True),  # Ansible's default, factiii's ansible.cfg
    ('-o ServerAliveInterval=30', False),
    ('-o ControlMaster=no -o ControlPersist=60s', False),
])
def test_without_controlpersist_a_fix_stays_one_round_trip_to_keep_one_login(ssh_args, is_async):
    fake = FakeHost([(0.5, 'installing git (one apt transaction)')], ends=12.0)
    action = fix_action(fake)
    action._connection.transport = 'ssh'
    options = {'ssh_args': ssh_args, 'ssh_common_args': '-F none', 'ssh_extra_args': ''}
    action._connection.get_option.side_effect = options.get
    if not is_async:
        action._execute_module.side_effect = None
        action._execute_module.return_value = dict(MODULE_RESULT)
    with patch.object(stage_action.display, 'warning') as warning:
        result = action.run(task_vars={'inventory_hostname': 'staging1'})
    assert result['msg'] == MODULE_RESULT['msg']
    if is_async:
        warning.assert_not_called()
        assert [c[2] for c in fake.calls if c[0] == 'factiii.infra.stage'] == [True]
    else:
        action._execute_module.assert_called_once()
        assert not action._execute_module.call_args.kwargs.get('wrap_async')
        assert 'ControlPersist' in warning.call_args.args[0]
