# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the results_by_stage callback, fed with stub task results."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.factiii.infra.plugins.callback import results_by_stage as callback_module
from ansible_collections.factiii.infra.plugins.plugin_utils import results as rbs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
COLLECTIONS = os.path.join(ROOT, '.pytest-collections')
BIN = os.path.dirname(sys.executable)

SEED = textwrap.dedent('''\
    RESULTS BY STAGE

    DEV:
       Fixed: 2, Manual: 0, Failed: 0

    STAGING:
       Fixed: 0, Manual: 1, Failed: 0

    TOTAL: Fixed: 2, Manual: 1, Failed: 0''')


class Group:
    def __init__(self, name, vars=None, depth=1, priority=1):
        self.name, self.vars, self.depth, self.priority = name, dict(vars or {}), depth, priority

    def get_name(self):
        return self.name

    def get_vars(self):
        return dict(self.vars)


class Host:
    def __init__(self, name, vars=None, groups=()):
        self.name, self.vars, self.groups = name, dict(vars or {}), list(groups)

    def get_name(self):
        return self.name

    def get_groups(self):
        return list(self.groups)


class Task:
    def __init__(self, action='factiii.infra.stage', args=None, vars=None):
        self.action = self.resolved_action = action
        self.args = dict(args or {})
        self.vars = dict(vars or {})

    def get_vars(self):
        return dict(self.vars)


class Result:
    """Shaped like ansible-core 2.19's CallbackTaskResult."""

    def __init__(self, host, result, task=None):
        self.host = host if isinstance(host, Host) else Host(host)
        self.task = task or Task()
        self.result = result


class OldResult:
    """Shaped like the TaskResult of ansible-core before 2.19."""

    def __init__(self, host, result, task=None):
        self._host, self._task, self._result = Host(host), task or Task(), result


def fix(fix_id, status, msg='', steps=()):
    return {'fix_id': fix_id, 'status': status, 'msg': msg, 'steps': list(steps), 'details': {'secretish': 'x'}}


def stage_result(stage, fixes, check_mode=False):
    counts = dict((s, sum(1 for f in fixes if f['status'] == s)) for s in ('ok', 'fixed', 'manual', 'failed'))
    return {'stage': stage, 'check_mode': check_mode, 'results': fixes, 'counts': counts,
            'changed': bool(counts['fixed']), 'failed': bool(counts['failed']), 'msg': '%s: ...' % stage}


@pytest.fixture
def cb(monkeypatch):
    callback = callback_module.CallbackModule()
    callback._plugin_options = {'results_json': None}
    callback.shown, callback.warnings = [], []
    monkeypatch.setattr(callback._display, 'display', lambda msg, *a, **kw: callback.shown.append(msg))
    monkeypatch.setattr(callback._display, 'warning', lambda msg, *a, **kw: callback.warnings.append(msg))
    return callback


def run(callback, *events):
    """Feed (method, Result) pairs, end the run, return everything displayed."""
    for method, result in events:
        getattr(callback, method)(result)
    callback.v2_playbook_on_stats(None)
    return '\n'.join(callback.shown)


def test_seed_text_from_counts_only_results(cb):
    dev = {'stage': 'dev', 'check_mode': False, 'results': [], 'counts': {'ok': 3, 'fixed': 2, 'manual': 0, 'failed': 0}}
    staging = {'stage': 'staging', 'check_mode': False, 'results': [],
               'counts': {'ok': 6, 'fixed': 0, 'manual': 1, 'failed': 0}}
    # staging first: the report orders stages by pipeline, not by arrival
    assert run(cb, ('v2_runner_on_ok', Result('stage1', staging)), ('v2_runner_on_ok', Result('localhost', dev))) == SEED


def test_seed_example_with_listed_fixes(cb):
    dev = stage_result('dev', [fix('dev-git-missing', 'fixed', 'done: install git'),
                               fix('dev-node-missing', 'fixed', 'done: install node'),
                               fix('dev-docker-missing', 'ok', 'docker is installed')])
    staging = stage_result('staging', [fix('staging-git-missing', 'ok', 'git is installed'),
                                       fix('staging-docker-autostart', 'manual',
                                           'Docker Desktop starts at login, not at boot',
                                           ['Enable automatic login', 'Add Docker to login items'])])
    text = run(cb, ('v2_runner_on_ok', Result('localhost', dev)), ('v2_runner_on_ok', Result('stage1', staging)))
    assert text == textwrap.dedent('''\
        RESULTS BY STAGE

        DEV:
           Fixed: 2, Manual: 0, Failed: 0
           Fixed: dev-git-missing: done: install git
           Fixed: dev-node-missing: done: install node

        STAGING:
           Fixed: 0, Manual: 1, Failed: 0
           Manual: staging-docker-autostart: Docker Desktop starts at login, not at boot
              - Enable automatic login
              - Add Docker to login items

        TOTAL: Fixed: 2, Manual: 1, Failed: 0''')


def test_several_hosts_failed_task_and_detail_order(cb):
    web1 = stage_result('prod', [fix('prod-repo-not-cloned', 'failed', 'git clone failed:\nPermission denied'),
                                 fix('prod-git-missing', 'fixed', 'done: install git')])
    web1['failed'] = True
    web2 = stage_result('prod', [fix('prod-docker-autostart', 'manual', 'enable it', ['run systemctl enable docker'])])
    text = run(cb, ('v2_runner_on_failed', Result('web1', web1)), ('v2_runner_on_ok', Result('web2', web2)))
    assert text == textwrap.dedent('''\
        RESULTS BY STAGE

        PROD:
           Fixed: 1, Manual: 1, Failed: 1
              web1: Fixed: 1, Manual: 0, Failed: 1
              web2: Fixed: 0, Manual: 1, Failed: 0
           Fixed: prod-git-missing [web1]: done: install git
           Manual: prod-docker-autostart [web2]: enable it
              - run systemctl enable docker
           Failed: prod-repo-not-cloned [web1]: git clone failed:
              Permission denied

        TOTAL: Fixed: 1, Manual: 1, Failed: 1''')


def test_check_mode_says_would_fix(cb):
    dev = stage_result('dev', [fix('dev-git-missing', 'fixed', 'would install git')], check_mode=True)
    text = run(cb, ('v2_runner_on_ok', Result('localhost', dev)))
    assert '   Would fix: dev-git-missing: would install git' in text.splitlines()
    assert 'Fixed: dev-git-missing' not in text


def test_check_mode_counts_say_would_fix_and_json_keeps_fixed(cb, tmp_path):
    """A scan fixed nothing: its stage, host and TOTAL lines say Would fix; its JSON keeps "fixed"."""
    web1 = stage_result('prod', [fix('prod-git-missing', 'fixed', 'would install git'),
                                 fix('prod-node-missing', 'fixed', 'would install node')], check_mode=True)
    web2 = stage_result('prod', [fix('prod-docker-autostart', 'manual', 'enable it', ['systemctl enable docker']),
                                 fix('prod-repo-not-cloned', 'failed', 'no remote')], check_mode=True)
    text = run(cb, ('v2_runner_on_ok', Result('web1', web1)), ('v2_runner_on_failed', Result('web2', web2)))
    assert text == textwrap.dedent('''\
        RESULTS BY STAGE

        PROD:
           Would fix: 2, Manual: 1, Failed: 1
              web1: Would fix: 2, Manual: 0, Failed: 0
              web2: Would fix: 0, Manual: 1, Failed: 1
           Would fix: prod-git-missing [web1]: would install git
           Would fix: prod-node-missing [web1]: would install node
           Manual: prod-docker-autostart [web2]: enable it
              - systemctl enable docker
           Failed: prod-repo-not-cloned [web2]: no remote

        TOTAL: Would fix: 2, Manual: 1, Failed: 1''')
    path = str(tmp_path / 'results.json')
    assert rbs.write_json(cb.report, path) is None
    with open(path) as handle:
        data = json.load(handle)
    assert data['check_mode'] is True
    assert data['total'] == {'fixed': 2, 'manual': 1, 'failed': 1, 'ok': 0}
    assert data['stages']['prod']['hosts']['web1']['fixed'] == 2


def test_scan_with_no_fix_reported_still_says_would_fix(cb):
    """A scan whose only rows are failures (the report task says it is a scan) counts as a scan."""
    report_task = Task('factiii.infra.report')
    crash = {'failed': True, 'msg': 'MODULE FAILURE'}
    text = run(cb, ('v2_runner_on_failed', Result('web1', crash, Task(args={'stage': 'prod'}))),
               ('v2_runner_on_failed', Result('localhost', {'failed': True, 'check_mode': True, 'msg': 'x'},
                                              report_task)))
    assert text.endswith('TOTAL: Would fix: 0, Manual: 0, Failed: 1'), text
    assert '   Would fix: 0, Manual: 0, Failed: 1' in text.splitlines()


def test_single_fix_modules_and_old_result_objects(cb):
    one = dict(fix('dev-git-missing', 'fixed', 'done: install git'), stage='dev', check_mode=False, changed=True)
    two = dict(fix('dev-pnpm-missing', 'failed', 'npm not found'), stage='dev', check_mode=False, failed=True)
    text = run(cb, ('v2_runner_on_ok', OldResult('localhost', one)), ('v2_runner_on_failed', Result('localhost', two)))
    assert text.splitlines()[2:6] == [
        'DEV:',
        '   Fixed: 1, Manual: 0, Failed: 1',
        '   Fixed: dev-git-missing: done: install git',
        '   Failed: dev-pnpm-missing: npm not found',
    ]


def test_unrelated_tasks_are_ignored_and_print_nothing(cb):
    events = [
        ('v2_runner_on_ok', Result('h', {'changed': False, 'msg': 'Hello world!'}, Task('ansible.builtin.debug'))),
        ('v2_runner_on_ok', Result('h', {'results': [{'item': 1, 'ansible_loop_var': 'item', 'rc': 0}]},
                                   Task('ansible.builtin.command'))),
        ('v2_runner_on_ok', Result('h', {'results': ['a', 'b'], 'stage': 'dev'}, Task('ansible.builtin.package'))),
        ('v2_runner_on_failed', Result('h', {'failed': True, 'msg': 'boom'}, Task('ansible.builtin.command'))),
    ]
    assert run(cb, *events) == ''
    assert cb.report['stages'] == {}


def test_factiii_task_failing_without_results_is_a_failure(cb):
    crash = {'failed': True, 'msg': 'MODULE FAILURE\nSee stdout/stderr for the exact error'}
    text = run(cb, ('v2_runner_on_failed', Result('web1', crash, Task(args={'stage': 'prod'}))))
    assert '   Failed: prod-task-failed: MODULE FAILURE' in text.splitlines()
    assert text.endswith('TOTAL: Fixed: 0, Manual: 0, Failed: 1')


def test_looped_stage_task_counts_every_item(cb):
    items = [dict(stage_result(s, [fix('%s-git-missing' % s, 'fixed', 'done')]), item=s, ansible_loop_var='item')
             for s in ('dev', 'staging')]
    text = run(cb, ('v2_runner_on_ok', Result('localhost', {'results': items, 'changed': True})))
    assert text.endswith('TOTAL: Fixed: 2, Manual: 0, Failed: 0')


@pytest.mark.parametrize('task, host, stage', [
    (Task(args={'stage': 'staging'}), Host('s1'), 'staging'),
    (Task(args={'stage': '{{ stage }}'}, vars={'factiii_stage': 'prod'}), Host('s1'), 'prod'),
    (Task('ansible.builtin.gather_facts'), Host('s1', {'factiii_stage': 'prod'}), 'prod'),
    (Task('ansible.builtin.gather_facts'),
     Host('s1', groups=[Group('all', {'factiii_stage': 'dev'}, depth=0), Group('prod', {'factiii_stage': 'prod'})]),
     'prod'),
    (Task(args={'stage': '{{ stage }}'}), Host('s1', {'factiii_stage': '{{ x }}'}), 'unknown'),
])
def test_unreachable_host_is_one_failed_row_in_its_stage(cb, task, host, stage):
    res = {'unreachable': True, 'changed': False,
           'msg': 'Task failed: Failed to connect to the host via ssh: ssh: connect to host 10.0.0.9 port 22: '
                  'Connection refused\nmore'}
    result = Result(host, res, task)
    text = run(cb, ('v2_runner_on_unreachable', result), ('v2_runner_on_unreachable', result))
    assert text.splitlines()[2:5] == [
        '%s:' % stage.upper(),
        '   Fixed: 0, Manual: 0, Failed: 1',
        '   Failed: %s-host-unreachable: Failed to connect to the host via ssh: '
        'ssh: connect to host 10.0.0.9 port 22: Connection refused' % stage,
    ]


def test_unreachable_stage_can_come_from_play_vars(cb):
    play = type('Play', (), {'get_vars': lambda self: {'factiii_stage': 'secrets'}})()
    cb.v2_playbook_on_play_start(play)
    text = run(cb, ('v2_runner_on_unreachable', Result('h', {'unreachable': True, 'msg': 'down'}, Task('x.y.z'))))
    assert 'SECRETS:' in text and 'Failed: secrets-host-unreachable: down' in text


def test_stage_order_known_first_then_alphabetical():
    assert rbs.stage_order(['zeta', 'prod', 'alpha', 'dev', 'staging', 'secrets']) == \
        ['dev', 'secrets', 'staging', 'prod', 'alpha', 'zeta']


def test_json_written_with_counts_and_fix_ids(cb, tmp_path):
    path = tmp_path / 'out.json'
    cb._plugin_options['results_json'] = str(path)
    dev = stage_result('dev', [fix('dev-git-missing', 'fixed', 'done'), fix('dev-node-missing', 'ok', 'fine')],
                       check_mode=True)
    prod = stage_result('prod', [fix('prod-repo-not-cloned', 'failed', 'no')])
    text = run(cb, ('v2_runner_on_ok', Result('localhost', dev)), ('v2_runner_on_failed', Result('web1', prod)),
               ('v2_runner_on_ok', Result('web2', stage_result('prod', [fix('prod-git-missing', 'manual', 'm', ['s'])]))),
               ('v2_runner_on_ok', Result('localhost', dict(fix('dev-pnpm-missing', 'ok', 'fine'), stage='dev', changed=False,
                                                            invocation={'module_args': {'password': 'hunter2'}}))))
    # a check-mode result makes the report a scan's: Would fix in the text, "fixed" in the JSON
    assert 'TOTAL: Would fix: 1, Manual: 1, Failed: 1' in text and cb.warnings == []
    data = json.loads(path.read_text())
    assert data['check_mode'] is True
    assert list(data['stages']) == ['dev', 'prod']
    assert data['total'] == {'fixed': 1, 'manual': 1, 'failed': 1, 'ok': 2}
    assert dict((k, v) for k, v in data['stages']['prod'].items() if k != 'hosts') == \
        {'fixed': 0, 'manual': 1, 'failed': 1, 'ok': 0}
    web1 = data['stages']['prod']['hosts']['web1']
    assert web1['failed'] == 1 and [r['fix_id'] for r in web1['results']] == ['prod-repo-not-cloned']
    assert [r['fix_id'] for r in data['stages']['dev']['hosts']['localhost']['results']] == \
        ['dev-git-missing', 'dev-node-missing', 'dev-pnpm-missing']
    assert 'secretish' not in path.read_text() and 'details' not in path.read_text()
    assert 'invocation' not in path.read_text() and 'hunter2' not in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ['out.json']  # no temp file left behind


def test_json_into_missing_directory_warns_once_and_still_prints(cb, tmp_path):
    missing = tmp_path / 'nope'
    cb._plugin_options['results_json'] = str(missing / 'out.json')
    text = run(cb, ('v2_runner_on_ok', Result('localhost', stage_result('dev', [fix('dev-git-missing', 'fixed', 'd')]))))
    assert text.startswith('RESULTS BY STAGE')
    assert cb.warnings == ['results_json: cannot write %s: directory %s does not exist'
                           % (missing / 'out.json', missing)]


@pytest.mark.skipif(hasattr(os, 'geteuid') and os.geteuid() == 0, reason='root can write anywhere')
def test_json_into_readonly_directory_warns(cb, tmp_path):
    ro = tmp_path / 'ro'
    ro.mkdir()
    ro.chmod(0o500)
    try:
        cb._plugin_options['results_json'] = str(ro / 'out.json')
        run(cb, ('v2_runner_on_ok', Result('h', stage_result('dev', []))))
    finally:
        ro.chmod(0o700)
    assert len(cb.warnings) == 1 and 'is not writable' in cb.warnings[0]


def test_json_onto_a_directory_warns_instead_of_raising(tmp_path):
    target = tmp_path / 'adir'
    target.mkdir()
    problem = rbs.write_json(rbs.new_report(), str(target))
    assert problem.startswith('results_json: cannot write %s: ' % target)
    assert [p.name for p in tmp_path.iterdir()] == ['adir']


STATUS = st.sampled_from(['ok', 'fixed', 'manual', 'failed'])
ROWS = st.lists(st.tuples(st.sampled_from(['dev', 'secrets', 'staging', 'prod', 'qa']),
                          st.sampled_from(['h1', 'h2', 'h3']), STATUS), max_size=40)


@settings(max_examples=100, deadline=None)
@given(rows=ROWS)
def test_totals_are_sums_of_stage_counts(rows):
    callback = callback_module.CallbackModule()
    for n, (stage, host, status) in enumerate(rows):
        single = dict(fix('%s-fix-%d' % (stage, n), status, 'm'), stage=stage)
        callback.v2_runner_on_ok(Result(host, single if n % 2 else stage_result(stage, [single])))
    report = callback.report
    for stage, data in report['stages'].items():
        for status in ('ok', 'fixed', 'manual', 'failed'):
            assert data[status] == sum(1 for s, h, x in rows if s == stage and x == status)
            assert data[status] == sum(e[status] for e in data['hosts'].values())
    for status in ('ok', 'fixed', 'manual', 'failed'):
        assert report['total'][status] == sum(d[status] for d in report['stages'].values())
    text = rbs.format_report(report)
    if not rows:
        assert text == ''
        return
    # the printed TOTAL is the sum of the printed stage lines
    stage_lines = re.findall(r'^[A-Z]+:\n   Fixed: (\d+), Manual: (\d+), Failed: (\d+)$', text, re.M)
    total = re.search(r'^TOTAL: Fixed: (\d+), Manual: (\d+), Failed: (\d+)$', text, re.M).groups()
    assert len(stage_lines) == len(report['stages'])
    assert [sum(int(line[i]) for line in stage_lines) for i in range(3)] == [int(t) for t in total]


def _env(tmp_path, **extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CALLBACKS_ENABLED='factiii.infra.results_by_stage',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'), ANSIBLE_NOCOLOR='1', ANSIBLE_HOST_KEY_CHECKING='0',
               ANSIBLE_LIBRARY=str(tmp_path / 'library'), ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    env.pop('ANSIBLE_CONFIG', None)
    env.update(extra)
    return env


def test_ansible_doc_renders(tmp_path):
    out = subprocess.run([os.path.join(BIN, 'ansible-doc'), '-t', 'callback', 'factiii.infra.results_by_stage'],
                         env=_env(tmp_path), capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert 'results_json' in out.stdout and 'FACTIII_RESULTS_JSON' in out.stdout


def test_real_playbook_run(tmp_path):
    """End to end through ansible-playbook: real CallbackTaskResult, option from env, unreachable host."""
    (tmp_path / 'library').mkdir()
    # A stand-in for the stage module: returns its 'ret' argument as the task result.
    (tmp_path / 'library' / 'echo_result.py').write_text(textwrap.dedent('''\
        import json, sys
        from ansible.module_utils.basic import AnsibleModule
        m = AnsibleModule(argument_spec={'ret': {'type': 'dict'}, 'stage': {'type': 'str'}})
        m.exit_json(**m.params['ret'])
        '''))
    (tmp_path / 'inventory').write_text(
        'localhost ansible_connection=local factiii_stage=staging\n'
        'gone ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh factiii_stage=prod\n')
    ret = stage_result('staging', [fix('staging-docker-autostart', 'manual', 'at login', ['enable autologin'])])
    (tmp_path / 'play.yml').write_text(json.dumps([{
        'hosts': 'all', 'gather_facts': False,
        'tasks': [{'echo_result': {'ret': ret, 'stage': '{{ factiii_stage }}'}}],
    }]))
    out = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'inventory', 'play.yml'], cwd=str(tmp_path),
                         env=_env(tmp_path, FACTIII_RESULTS_JSON=str(tmp_path / 'r.json')),
                         capture_output=True, text=True, timeout=300, check=False)
    assert 'RESULTS BY STAGE' in out.stdout, out.stdout + out.stderr
    report = out.stdout[out.stdout.index('RESULTS BY STAGE'):]
    assert 'PROD:\n   Fixed: 0, Manual: 0, Failed: 1\n   Failed: prod-host-unreachable: ' in report
    assert 'STAGING:\n   Fixed: 0, Manual: 1, Failed: 0\n   Manual: staging-docker-autostart: at login\n' \
        '      - enable autologin\n' in report
    assert 'TOTAL: Fixed: 0, Manual: 1, Failed: 1' in report
    data = json.loads((tmp_path / 'r.json').read_text())
    assert data['total'] == {'fixed': 0, 'manual': 1, 'failed': 1, 'ok': 0}


# -- issue 8: one-line reasons, bad input rows, a results file checked before the run ------

class Role:
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


def validate_task(role):
    task = Task('ansible.builtin.validate_argument_spec')
    task._role = Role(role) if role else None
    return task


@pytest.fixture
def errors(cb, monkeypatch):
    cb.errors = []
    monkeypatch.setattr(cb._display, 'error', lambda msg, *a, **kw: cb.errors.append(msg))
    return cb.errors


@pytest.mark.parametrize('where', ['missing-dir', 'a-directory', 'a-file-as-dir'])
def test_a_results_file_that_cannot_be_written_stops_the_run_at_its_start(cb, errors, tmp_path, where):
    (tmp_path / 'file').write_text('x')
    path = {'missing-dir': tmp_path / 'nope' / 'r.json', 'a-directory': tmp_path,
            'a-file-as-dir': tmp_path / 'file' / 'r.json'}[where]
    cb._plugin_options['results_json'] = str(path)
    with pytest.raises(SystemExit) as exc:
        cb.v2_playbook_on_start(None)
    assert exc.value.code == 5
    error, = errors
    assert error.startswith('results_json: cannot write %s: ' % path) and '\n' not in error
    assert error.endswith('; nothing was run (set FACTIII_RESULTS_JSON to a file in an existing, writable directory)')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['file']


@pytest.mark.parametrize('value', [None, 'ok'])
def test_a_writable_or_no_results_file_lets_the_run_start(cb, errors, tmp_path, value):
    cb._plugin_options['results_json'] = str(tmp_path / 'r.json') if value else None
    cb.v2_playbook_on_start(None)
    assert errors == [] and list(tmp_path.iterdir()) == []  # the check leaves nothing behind


def test_a_changed_host_key_is_one_line_in_the_report(cb):
    msg = ('Task failed: Failed to connect to the host via ssh: @@@@@@@@@@@@@@@@@@@@@\r\n'
           '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n@@@@@@@@@@@@@@@@@@@@@\r\n'
           'Offending ED25519 key in /k/known_hosts:2\r\n'
           'Host key for [127.0.0.1]:2200 has changed and you have requested strict checking.\r\n'
           'Host key verification failed.')
    text = run(cb, ('v2_runner_on_unreachable', Result('s1', {'unreachable': True, 'msg': msg},
                                                       Task(args={'stage': 'staging'}))))
    line, = [line for line in text.splitlines() if line.startswith('   Failed: ')]
    assert line.startswith('   Failed: staging-host-unreachable: host key changed, ssh refused to connect '
                           '(REMOTE HOST IDENTIFICATION HAS CHANGED; Host key verification failed): '
                           '[127.0.0.1]:2200 no longer shows the key pinned for it (pinned at /k/known_hosts line 2)')
    assert '@@' not in text


def test_a_single_fix_module_with_a_wrong_become_password(cb):
    res = {'failed': True, 'msg': 'Task failed: Incorrect sudo password'}
    task = Task('factiii.infra.git_missing', args={'stage': 'prod'})
    text = run(cb, ('v2_runner_on_failed', Result('web1', res, task)))
    assert '   Failed: prod-task-failed: become failed: sudo rejected the become password of the connecting user' \
        ' (Incorrect sudo password): ' in text


def test_a_role_of_this_collection_refusing_its_variables_is_a_failed_row(cb):
    res = {'failed': True, 'msg': 'Validation of arguments failed:\nvalue of staging_fixes must be ...',
           'argument_errors': ['value of staging_fixes must be one or more of: git-missing. Got no match for: x',
                               "argument 'staging_node_min_major' is of type str\nand more"]}
    text = run(cb, ('v2_runner_on_failed', Result('s1', res, validate_task('factiii.infra.staging'))))
    assert text.splitlines()[2:5] == [
        'STAGING:',
        '   Fixed: 0, Manual: 0, Failed: 1',
        "   Failed: staging-invalid-arguments: role factiii.infra.staging: value of staging_fixes must be one or more "
        "of: git-missing. Got no match for: x; argument 'staging_node_min_major' is of type str",
    ]


def test_the_server_role_takes_its_stage_from_the_host(cb):
    res = {'failed': True, 'argument_errors': ['missing required arguments: server_repo_url']}
    text = run(cb, ('v2_runner_on_failed', Result(Host('p1', {'factiii_stage': 'prod'}), res,
                                                  validate_task('factiii.infra.server'))))
    assert '   Failed: prod-invalid-arguments: role factiii.infra.server: missing required arguments: server_repo_url' \
        in text.splitlines()


@pytest.mark.parametrize('role', ['someone.else.staging', None])
def test_other_roles_refusing_their_variables_are_not_ours(cb, role):
    res = {'failed': True, 'argument_errors': ['missing required arguments: x']}
    assert run(cb, ('v2_runner_on_failed', Result('s1', res, validate_task(role)))) == ''


def test_real_playbook_stops_before_any_play_when_the_results_file_cannot_be_written(tmp_path):
    (tmp_path / 'inventory').write_text('localhost ansible_connection=local\n')
    marker = tmp_path / 'ran'
    (tmp_path / 'play.yml').write_text(json.dumps([{
        'hosts': 'all', 'gather_facts': False,
        'tasks': [{'ansible.builtin.file': {'path': str(marker), 'state': 'touch'}}],
    }]))
    bad = tmp_path / 'no-such-dir' / 'r.json'
    out = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'inventory', 'play.yml'], cwd=str(tmp_path),
                         env=_env(tmp_path, FACTIII_RESULTS_JSON=str(bad)),
                         capture_output=True, text=True, timeout=300, check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 5, text
    assert 'results_json: cannot write %s: directory %s does not exist; nothing was run' % (bad, bad.parent) in text
    assert 'Traceback' not in text and 'PLAY [' not in text
    assert not marker.exists()
    # the control case: the same run with a path that can be written runs the play
    good = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'inventory', 'play.yml'], cwd=str(tmp_path),
                          env=_env(tmp_path, FACTIII_RESULTS_JSON=str(tmp_path / 'r.json')),
                          capture_output=True, text=True, timeout=300, check=False)
    assert good.returncode == 0, good.stdout + good.stderr
    assert marker.exists()


def test_the_server_role_takes_its_stage_from_server_stage(cb):
    task = validate_task('factiii.infra.server')
    task.vars = {'server_stage': 'staging'}
    res = {'failed': True, 'argument_errors': ['missing required arguments: server_repo_url']}
    text = run(cb, ('v2_runner_on_failed', Result('s1', res, task)))
    assert '   Failed: staging-invalid-arguments: role factiii.infra.server: missing required arguments: ' \
        'server_repo_url' in text.splitlines()


# --- text from hosts and results files: shown, never obeyed by the terminal -----------------

# OSC 52 (write the clipboard), clear the screen, the one-byte C1 CSI, a carriage return that writes
# over the line, a bidirectional override, a newline in a one-line value, a lone surrogate
OSC52 = '\x1b]52;c;ZWNobyBwd25lZA==\x07'
TRAPS = [OSC52, '\x1b[2J\x1b[H', '\x9b31m', 'ok\rFixed: 0', '\u202egnp.exe', 'x\ny', '\ud800', '\x1bP+q\x1b\\']
# what a terminal obeys: C0 but tab and newline, DEL, C1, line/paragraph separators, bidi, surrogates
OBEYED = re.compile('[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]')


def assert_shown_not_obeyed(text):
    assert not OBEYED.search(text), repr(text)
    text.encode('utf-8')  # a lone surrogate would raise here, as it would on a terminal
    for placeholder in ('\\u001b]52;c;ZWNobyBwd25lZA==\\u0007', '\\u001b[2J\\u001b[H', '\\u009b31m',
                        'ok\\u000dFixed: 0', '\\u202egnp.exe', '\\ud800', '\\u001bP+q\\u001b\\'):
        assert placeholder in text, (placeholder, text)


def test_printable_shows_every_control_and_keeps_text():
    assert rbs.printable('Docker läuft nicht: 日本\tok\nnext') == 'Docker läuft nicht: 日本\tok\nnext'
    assert rbs.printable('a\nb', newlines=False) == 'a\\u000ab'
    assert rbs.printable(OSC52) == '\\u001b]52;c;ZWNobyBwd25lZA==\\u0007'
    assert rbs.printable(None) == 'None'
    for code in list(range(0x20)) + list(range(0x7f, 0xa0)):
        shown = rbs.printable(chr(code), newlines=False)
        assert shown == ('\t' if code == 9 else '\\u%04x' % code)


def test_host_data_in_the_callbacks_text_is_shown_not_obeyed(cb, tmp_path):
    """A server's file names reach messages (a directory name, a package's output): the text is clean,
    the JSON keeps the data (escaped by JSON itself)."""
    path = tmp_path / 'out.json'
    cb._plugin_options['results_json'] = str(path)
    host = 'web\x1b[2J\x1b[H1'
    fixes = [fix('staging-x-%d' % n, status, 'msg %s end' % trap, ['step %s' % trap])
             for n, trap in enumerate(TRAPS) for status in ('manual', 'failed')]
    fixes.append(fix('staging-\x9b2J\nTOTAL: Fixed: 0', 'fixed', OSC52))
    result = stage_result('staging\x1b]52;c;eA==\x07', fixes)
    text = run(cb, ('v2_runner_on_failed', Result(host, result)),
               ('v2_runner_on_ok', Result('web2', stage_result('staging\x1b]52;c;eA==\x07', [fix('s-ok', 'ok')]))))
    assert_shown_not_obeyed(text)
    assert 'STAGING\\u001b]52;C;EA==\\u0007:' in text  # the stage name is upper-cased, then shown
    assert '   Fixed: staging-\\u009b2J\\u000aTOTAL: Fixed: 0 [web\\u001b[2J\\u001b[H1]: \\u001b]52;c;' in text
    assert text.count('\nTOTAL: ') == 1
    data = json.loads(path.read_text())
    assert list(data['stages']) == ['staging\x1b]52;c;eA==\x07']
    assert data['stages']['staging\x1b]52;c;eA==\x07']['hosts'][host]['results'][0]['msg'] == 'msg %s end' % OSC52


# --- results files from other runs: checked before use ------------------------------------


def results_file(**entry):
    host = dict({'fixed': 0, 'manual': 0, 'failed': 1, 'ok': 0,
                 'results': [{'fix_id': 'prod-git-missing', 'status': 'failed', 'msg': 'no', 'steps': []}]}, **entry)
    stage = dict({'fixed': 0, 'manual': 0, 'failed': 1, 'ok': 0}, hosts={'p1': host})
    return {'check_mode': False, 'stages': {'prod': stage}}


BAD_RESULTS = [
    ([], 'not a factiii results file (no "stages" object)'),
    ({'stages': []}, 'not a factiii results file (no "stages" object)'),
    ({'stages': {}, 'check_mode': 'yes'}, '"check_mode" is not true or false'),
    ({'stages': {'prod': []}}, 'stage "prod" is not an object with "hosts"'),
    ({'stages': {'prod': {'hosts': ['p1']}}}, 'stage "prod" is not an object with "hosts"'),
    ({'stages': {'prod': {'failed': '1', 'hosts': {}}}}, 'stage "prod": "failed" is "1", not a count'),
    ({'stages': {'prod': {'hosts': {'p1': 'ok'}}}}, 'stage "prod" host "p1" is not an object with a "results" list'),
    (results_file(results={}), 'stage "prod" host "p1" is not an object with a "results" list'),
    (results_file(ok=-1), 'stage "prod" host "p1": "ok" is -1, not a count'),
    (results_file(manual=True), 'stage "prod" host "p1": "manual" is true, not a count'),
    (results_file(results=['x']), 'stage "prod" host "p1" result 1 is not a fix result (no "fix_id")'),
    (results_file(results=[{'fix_id': 5, 'status': 'ok'}]), 'stage "prod" host "p1" result 1 is not a fix result'),
    (results_file(results=[{'fix_id': 'a', 'status': ['failed']}]),
     'stage "prod" host "p1" result 1: "status" ["failed"] is not one of fixed, manual, failed, ok'),
    (results_file(results=[{'fix_id': 'a', 'status': 'ok', 'msg': {'a': 1}}]), 'result 1: "msg" is not text'),
    (results_file(results=[{'fix_id': 'a', 'status': 'ok', 'steps': 'do it'}]), '"steps" is not a list of text'),
    (results_file(results=[{'fix_id': 'a', 'status': 'ok', 'steps': [1]}]), '"steps" is not a list of text'),
]


@pytest.mark.parametrize('data, why', BAD_RESULTS)
def test_a_results_file_of_the_wrong_shape_is_refused_whole(data, why):
    report = rbs.new_report()
    rbs.add_report(report, results_file(), None)
    before = json.dumps(report, sort_keys=True)
    with pytest.raises(ValueError) as caught:
        rbs.add_report(report, data)
    assert why in str(caught.value)
    assert json.dumps(report, sort_keys=True) == before, 'half a file was added'
    with pytest.raises(ValueError):
        rbs.load_results(json.dumps(data))


@pytest.mark.parametrize('text, why', [
    (b'{"stages": ', 'not JSON: Expecting value'),
    (b'\xff\xfe\x00', 'not JSON'),
    (b'[' * 100000 + b']' * 100000, 'not JSON: nested too deeply'),
    (b' ' * (16 * 1024 * 1024 + 1), 'larger than 16 MiB'),
])
def test_a_results_file_that_is_not_json_is_one_line(text, why):
    with pytest.raises(ValueError) as caught:
        rbs.load_results(text)
    assert str(caught.value).startswith(why)
    assert '\n' not in str(caught.value)


def test_a_good_results_file_merges_as_the_run_added_it():
    report = rbs.new_report()
    rbs.add_results(report, 'staging', 's1', [fix('staging-git-missing', 'fixed', 'done')], check_mode=True)
    rbs.add_results(report, 'prod', 'p1', [], {'ok': 3, 'fixed': 0, 'manual': 0, 'failed': 0})
    data = rbs.load_results(json.dumps(rbs.ordered(report)))
    merged = rbs.add_report(rbs.new_report(), data)
    assert rbs.format_report(merged) == rbs.format_report(report)
    only = rbs.add_report(rbs.new_report(), data, stages=['prod'])
    assert list(only['stages']) == ['prod'] and only['total']['ok'] == 3


def test_a_token_in_a_url_of_a_row_is_redacted_in_text_and_json(tmp_path):
    token = 'ghp_0123456789abcdefSECRET'
    row = {'fix_id': 'staging-repo-not-cloned', 'status': 'failed', 'steps': [
        'git clone https://x-access-token:%s@git.example.invalid/o/a.git' % token],
        'msg': "git clone failed: fatal: unable to access 'https://x-access-token:%s@git.example.invalid/o/a.git/'"
               % token}
    report = rbs.add_results(rbs.new_report(), 'staging', 'h1', [row])
    path = tmp_path / 'results.json'
    assert rbs.write_json(report, str(path)) is None
    for text in (rbs.format_report(report), path.read_text()):
        assert token not in text and 'x-access-token' not in text
        assert "unable to access 'https://***@git.example.invalid/o/a.git/'" in text


# -- issue 14 point 3: Ctrl-C / SIGTERM mid-run still prints the report and writes the JSON ---------

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@pytest.fixture(autouse=True)
def signal_handlers():
    """v2_playbook_on_start hooks SIGINT and SIGTERM in this process: put pytest's back after each test."""
    saved = dict((number, signal.getsignal(number)) for number in SIGNALS)
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


class Play:
    def __init__(self, play_vars=None, extra_vars=None):
        self.vars = dict(play_vars or {})
        self._variable_manager = type('VariableManager', (), {'extra_vars': dict(extra_vars or {})})()

    def get_vars(self):
        return dict(self.vars)


def role_task(role, action='factiii.infra.stage', vars=None):
    task = Task(action, args={'stage': '{{ server_stage }}'}, vars=vars)
    task._role = Role('factiii.infra.%s' % role)
    return task


@pytest.fixture
def ansible_handlers(cb, tmp_path):
    """Ansible's own SIGINT/SIGTERM handlers (the TaskQueueManager's) stood in by a recorder, set before
    the playbook starts as in ansible-playbook; the callback started with a results file."""
    seen = []
    for number in SIGNALS:
        signal.signal(number, lambda num, frame: seen.append((num, '\n'.join(cb.shown))))
    cb._plugin_options['results_json'] = str(tmp_path / 'r.json')
    cb.v2_playbook_on_start(None)
    return seen


@pytest.mark.parametrize('number', SIGNALS)
@pytest.mark.parametrize('scan', [False, True])
def test_an_interrupt_mid_fix_prints_the_report_with_the_running_host_interrupted(cb, ansible_handlers, tmp_path,
                                                                                  number, scan):
    """dev finished on its host; staging is running on s1 and s2 (s2's argument check done, its stage module
    still running), s3 reported already: a signal writes the report once, then Ansible's handler runs."""
    factiii_scan = 'true' if scan else False
    cb.v2_playbook_on_play_start(Play({'factiii__stage': 'dev', 'factiii_scan': factiii_scan}))
    cb.v2_runner_on_start(Host('localhost'), role_task('dev'))
    cb.v2_runner_on_ok(Result('localhost', stage_result('dev', [fix('dev-git-missing', 'fixed', 'done')], scan),
                              role_task('dev')))
    cb.v2_playbook_on_play_start(Play({'factiii__stage': 'staging', 'factiii_scan': factiii_scan}))
    check_vars = Task('factiii.infra.check_vars', args={'stage': '{{ factiii__stage }}'})
    stage_task = role_task('server', vars={'server_stage': 'staging'})
    for name in ('s1', 's2', 's3'):
        cb.v2_runner_on_start(Host(name), check_vars)
        cb.v2_runner_on_ok(Result(name, {'changed': False}, check_vars))
    cb.v2_runner_on_start(Host('s2'), stage_task)
    cb.v2_runner_on_start(Host('s3'), stage_task)
    cb.v2_runner_on_ok(Result('s3', stage_result('staging', [fix('staging-git-missing', 'ok', 'ok')], scan),
                              stage_task))
    cb.v2_runner_on_start(Host('x'), Task('ansible.builtin.command'))  # not ours: no row

    signal.raise_signal(number)

    name = signal.Signals(number).name
    (seen_number, shown_then), = ansible_handlers
    assert seen_number == number
    assert shown_then == '\n'.join(cb.shown)  # the report came first, then Ansible's handler
    if scan:
        why = 'interrupted by %s during the scan of staging: nothing was changed; run the scan again' % name
    else:
        why = ('interrupted by %s during the fix of staging: a fix may be half done or still running on this host (a package '
               'install already started there goes on to its end, and a new run waits for it); run the fix '
               'of staging again' % name)
    fixed = 'Would fix' if scan else 'Fixed'
    assert shown_then.splitlines() == [
        'RESULTS BY STAGE', '',
        'DEV:', '   %s: 1, Manual: 0, Failed: 0' % fixed, '   %s: dev-git-missing: done' % fixed, '',
        'STAGING:', '   %s: 0, Manual: 0, Failed: 2' % fixed,
        '      s1: %s: 0, Manual: 0, Failed: 1' % fixed,
        '      s2: %s: 0, Manual: 0, Failed: 1' % fixed,
        '      s3: %s: 0, Manual: 0, Failed: 0' % fixed,
        '   Failed: staging-interrupted [s1]: ' + why,
        '   Failed: staging-interrupted [s2]: ' + why, '',
        'TOTAL: %s: 1, Manual: 0, Failed: 2' % fixed]
    data = json.loads((tmp_path / 'r.json').read_text())
    assert data['check_mode'] is scan
    assert data['stages']['staging']['hosts']['s1']['results'] == [
        {'fix_id': 'staging-interrupted', 'status': 'failed', 'msg': why, 'steps': []}]
    assert data['total'] == {'fixed': 1, 'manual': 0, 'failed': 2, 'ok': 1}
    # the end of the run (ansible-playbook's finally) prints nothing more: one report
    cb.v2_playbook_on_stats(None)
    assert '\n'.join(cb.shown) == shown_then


def test_an_interrupt_after_every_stage_reported_adds_no_row(cb, ansible_handlers):
    cb.v2_playbook_on_play_start(Play({'factiii__stage': 'staging'}))
    cb.v2_runner_on_start(Host('s1'), role_task('staging'))
    cb.v2_runner_on_failed(Result('s1', {'failed': True, 'msg': 'boom'}, role_task('staging')))
    cb.v2_playbook_on_play_start(Play())  # the report play
    cb.v2_runner_on_start(Host('s1'), Task('factiii.infra.report'))
    signal.raise_signal(signal.SIGINT)
    text = '\n'.join(cb.shown)
    assert 'interrupted' not in text
    assert text.endswith('TOTAL: Fixed: 0, Manual: 0, Failed: 1')
    assert len(ansible_handlers) == 1


def test_an_interrupt_in_a_worker_process_writes_nothing(cb, ansible_handlers, monkeypatch):
    """A worker (forked from the main process) keeps the handler until it sets its own: never a report there."""
    cb.v2_playbook_on_play_start(Play({'factiii__stage': 'staging'}))
    cb.v2_runner_on_start(Host('s1'), role_task('staging'))
    monkeypatch.setattr(callback_module.os, 'getpid', lambda: -1)
    signal.raise_signal(signal.SIGTERM)
    assert cb.shown == [] and len(ansible_handlers) == 1


def test_an_interrupted_deploy_is_named_with_its_stage_and_reported_steps_stay(cb, ansible_handlers, tmp_path):
    """deploy.yml: the role's first tasks name no stage, the stage's fix batch (server role) does; its rows
    came in, then the checkout started (a task of ours again): the host is running until that reports."""
    cb.v2_playbook_on_play_start(Play())
    cb.v2_runner_on_start(Host('s1'), role_task('deploy', 'ansible.builtin.assert'))
    stage_task = role_task('server', vars={'server_stage': 'staging'})
    cb.v2_runner_on_start(Host('s1'), stage_task)
    cb.v2_runner_on_ok(Result('s1', stage_result('staging', [fix('staging-git-missing', 'fixed', 'done')]),
                              stage_task))
    cb.v2_runner_on_start(Host('s1'), role_task('deploy', 'factiii.infra.deploy_checkout'))
    signal.raise_signal(signal.SIGTERM)
    data = json.loads((tmp_path / 'r.json').read_text())
    assert data['stages']['staging']['hosts']['s1']['results'][1:] == [
        {'fix_id': 'staging-interrupted', 'status': 'failed', 'steps': [],
         'msg': 'interrupted by SIGTERM during the deploy to staging: its fixes, checkout or start may be half '
                'done on this host, and no rollback ran; run the deploy again'}]
    assert data['total'] == {'fixed': 1, 'manual': 0, 'failed': 1, 'ok': 0}


def test_ansibles_handler_runs_even_when_the_report_cannot_be_printed(cb, ansible_handlers, monkeypatch, tmp_path):
    """stdout closed (a pipe whose reader went away): the JSON is still written, and the workers still
    stopped by Ansible's handler."""
    def broken(msg, *args, **kwargs):
        raise BrokenPipeError(32, 'Broken pipe')
    monkeypatch.setattr(cb._display, 'display', broken)
    cb.v2_playbook_on_play_start(Play({'factiii__stage': 'staging'}))
    cb.v2_runner_on_start(Host('s1'), role_task('staging'))
    with pytest.raises(BrokenPipeError):
        signal.raise_signal(signal.SIGTERM)
    assert [number for number, dummy in ansible_handlers] == [signal.SIGTERM]
    data = json.loads((tmp_path / 'r.json').read_text())
    assert data['stages']['staging']['hosts']['s1']['results'][0]['fix_id'] == 'staging-interrupted'


def test_the_results_file_carries_its_format_and_a_newer_one_is_refused(tmp_path):
    report = rbs.new_report()
    rbs.add_results(report, 'staging', 'web1', [{'fix_id': 'staging-git-missing', 'status': 'ok', 'msg': 'ok'}])
    path = str(tmp_path / 'results.json')
    assert rbs.write_json(report, path) is None
    with open(path) as handle:
        text = handle.read()
    assert json.loads(text)['format'] == rbs.RESULTS_FORMAT == 1
    assert rbs.load_results(text)['stages']['staging']['hosts']['web1']['ok'] == 1
    # a file of a collection from before the key (same shape) is still read
    old = dict(json.loads(text))
    del old['format']
    assert rbs.load_results(json.dumps(old))['stages']
    for version, why in ((2, 'results format 2 is newer than the 1 this factiii.infra reads'),
                         ('1', '"format" "1" is not a results format version'),
                         (0, '"format" 0 is not a results format version')):
        with pytest.raises(ValueError) as info:
            rbs.load_results(json.dumps(dict(old, format=version)))
        assert str(info.value).startswith(why), info.value
