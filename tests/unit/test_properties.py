"""Property-based tests (hypothesis) of issue 8's bad input.

* The action plugin's argument validation: whatever value of whatever type an option gets, the
  task ends as either one module run with arguments of the declared types, or one failed result
  with a one-line message - never an exception, and never the private key quoted back.
* The callback's aggregation: any mix of results (stage results, single fixes, counts only,
  unreachable hosts with any message, failed tasks, garbage) adds up, prints one line per
  unreachable host, and writes JSON that says what the text says.
* The one-line reasons: any text in, one line out.
"""

import json
import math
import re
import string

from hypothesis import HealthCheck, assume, given, settings, strategies as st

from ansible_collections.factiii.infra.plugins.callback.results_by_stage import CallbackModule
from ansible_collections.factiii.infra.plugins.plugin_utils import results as rbs
from ansible_collections.factiii.infra.plugins.module_utils.batch import stage_argument_spec
from ansible_collections.factiii.infra.plugins.plugin_utils import reasons
from ansible_collections.factiii.infra.plugins.module_utils.progress import OPTION as PROGRESS_FILE
from ansible_collections.factiii.infra.tests.unit.plugins.action.test_stage import TMPDIR, make_action

SPEC = stage_argument_spec()
VALID = {'stage': 'staging', 'repo_url': 'git@example.invalid:o/app.git', 'repo_dest': '/srv/app'}
STATUSES = ('ok', 'fixed', 'manual', 'failed')
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=30), st.binary(max_size=10))
ANY_VALUE = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4),
    st.tuples(inner, inner), st.sets(st.integers(), max_size=3)), max_leaves=10)


def declared_type_ok(name, value):
    kind = SPEC[name].get('type', 'str')
    if value is None:
        return True
    if kind == 'int':
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == 'bool':
        return isinstance(value, bool)
    if kind == 'list':
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)  # str and path


def assert_one_run_or_one_line(action, result):
    assert isinstance(result, dict)
    if action._execute_module.called:
        action._execute_module.assert_called_once()
        module_args = action._execute_module.call_args.kwargs['module_args']
        for name, value in module_args.items():
            if name == PROGRESS_FILE and not action._task.check_mode:  # the action's own, in a fix
                assert value.startswith(TMPDIR + '/'), value
                continue
            assert name in SPEC, name
            assert declared_type_ok(name, value), (name, value)
        assert not result.get('failed')
    else:
        assert result['failed'] is True, result
        msg = result['msg']
        assert isinstance(msg, str) and msg.strip()
        assert msg.splitlines() == [msg], msg
        assert 'Traceback' not in msg


@SETTINGS
@given(name=st.sampled_from(sorted(SPEC)), value=ANY_VALUE)
def test_any_value_for_any_option_is_one_run_or_one_failed_line(name, value):
    action = make_action(dict(VALID, **{name: value}))
    assert_one_run_or_one_line(action, action.run(task_vars={}))


@SETTINGS
@given(args=st.dictionaries(st.one_of(st.sampled_from(sorted(SPEC)), st.text(max_size=12)), ANY_VALUE, max_size=6))
def test_any_arguments_at_all_are_one_run_or_one_failed_line(args):
    action = make_action(args)
    assert_one_run_or_one_line(action, action.run(task_vars={}))


@SETTINGS
@given(value=st.one_of(st.text(alphabet=string.ascii_letters + '.-/ ', min_size=1, max_size=12),
                       st.floats(allow_nan=True), st.lists(st.integers(), max_size=3),
                       st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)))
def test_a_node_minimum_that_is_not_a_whole_number_fails_in_one_line(value):
    assume(not re.match(r'^\s*[-+]?\d+\s*$', '%s' % value))   # "20" and 20.0 are whole numbers
    assume(not (isinstance(value, float) and math.isfinite(value) and value == int(value)))
    action = make_action(dict(VALID, node_min_major=value))
    result = action.run(task_vars={})
    assert result['failed'] is True and 'node_min_major' in result['msg'], result
    assert result['msg'].splitlines() == [result['msg']]
    action._execute_module.assert_not_called()


@SETTINGS
@given(fixes=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=4))
def test_unknown_fix_names_fail_in_one_line_naming_them(fixes):
    known = set(SPEC['fixes']['choices'])
    assume(any(f not in known for f in fixes))
    action = make_action(dict(VALID, fixes=fixes))
    result = action.run(task_vars={})
    assert_one_run_or_one_line(action, result)
    action._execute_module.assert_not_called()
    assert result['msg'].startswith('unknown fix')


@SETTINGS
@given(body=st.lists(st.text(alphabet=string.ascii_letters + string.digits + '+/=', min_size=12, max_size=60),
                     min_size=1, max_size=4),
       other=st.sampled_from([{'repo_key_file': '/k'}, {'node_min_major': 'x'}, {'fixes': 'nope'}, {'stage': 'qa'}]))
def test_a_private_key_never_appears_in_a_failure(body, other):
    key = '-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n' % '\n'.join(body)
    action = make_action(dict(VALID, repo_key=key, **other))
    result = action.run(task_vars={})
    assert result['failed'] is True
    for line in body:
        assert line not in result['msg']


# -- the callback ----------------------------------------------------------------------------

class Host:
    def __init__(self, name):
        self.name = name
        self.vars = {}

    def get_name(self):
        return self.name

    def get_groups(self):
        return []


class Task:
    def __init__(self, stage, action='factiii.infra.stage'):
        self.action = self.resolved_action = action
        self.args = {'stage': stage}

    def get_vars(self):
        return {}


class Result:
    def __init__(self, host, result, task):
        self.host, self.result, self.task = Host(host), result, task


TEXT = st.text(alphabet=string.printable + '@\u2028é', max_size=60)
FIX = st.fixed_dictionaries({'fix_id': st.text(alphabet=string.ascii_lowercase + '-', min_size=1, max_size=12),
                             'status': st.sampled_from(STATUSES), 'msg': TEXT,
                             'steps': st.lists(st.text(max_size=10), max_size=2)})
STAGE = st.sampled_from(['dev', 'secrets', 'staging', 'prod', 'qa'])
HOST = st.sampled_from(['h1', 'h2', 'h3'])
EVENT = st.one_of(
    st.tuples(st.just('stage'), STAGE, HOST, st.lists(FIX, max_size=4), st.booleans()),
    st.tuples(st.just('single'), STAGE, HOST, FIX, st.booleans()),
    st.tuples(st.just('counts'), STAGE, HOST, st.fixed_dictionaries(dict((s, st.integers(-2, 5)) for s in STATUSES)),
              st.booleans()),
    st.tuples(st.just('unreachable'), STAGE, HOST, st.one_of(st.none(), TEXT), st.booleans()),
    st.tuples(st.just('crash'), STAGE, HOST, st.one_of(st.none(), TEXT, st.integers()), st.booleans()),
    st.tuples(st.just('garbage'), STAGE, HOST, ANY_VALUE, st.booleans()),
)


def feed(callback, event):
    """Send one event; return the rows it must add as (stage, host, status) or None when unknown."""
    kind, stage, host, payload, failed = event
    task = Task(stage)
    if kind == 'stage':
        res = {'stage': stage, 'check_mode': False, 'results': payload, 'failed': failed,
               'counts': dict((s, sum(1 for f in payload if f['status'] == s)) for s in STATUSES)}
        getattr(callback, 'v2_runner_on_failed' if failed else 'v2_runner_on_ok')(Result(host, res, task))
        rows = [(stage, host, f['status']) for f in payload]
        if failed and not any(f['status'] == 'failed' for f in payload):
            rows.append((stage, host, 'failed'))  # a failed task never looks clean: a task-failed row
        return rows
    if kind == 'single':
        # its flag: a scan's result (check mode), so the report's labels are checked both ways
        callback.v2_runner_on_ok(Result(host, dict(payload, stage=stage, check_mode=failed), task))
        return [(stage, host, payload['status'])]
    if kind == 'counts':
        callback.v2_runner_on_ok(Result(host, {'stage': stage, 'results': [], 'counts': payload}, task))
        return [(stage, host, s) for s in STATUSES for dummy in range(max(payload[s], 0))]
    if kind == 'unreachable':
        callback.v2_runner_on_unreachable(Result(host, {'unreachable': True, 'msg': payload}, task))
        return None  # once per (stage, host): counted by the caller
    if kind == 'crash':
        callback.v2_runner_on_failed(Result(host, {'failed': True, 'msg': payload}, task))
        return [(stage, host, 'failed')]
    getattr(callback, 'v2_runner_on_failed' if failed else 'v2_runner_on_ok')(
        Result(host, payload, Task(stage, 'ansible.builtin.command')))
    return []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(events=st.lists(EVENT, max_size=25))
def test_any_mix_of_results_adds_up_and_json_says_what_the_text_says(events, tmp_path_factory):
    callback = CallbackModule()
    expected = []
    unreachable = set()
    for event in events:
        rows = feed(callback, event)
        if rows is None:
            if (event[1], event[2]) not in unreachable:
                unreachable.add((event[1], event[2]))
                expected.append((event[1], event[2], 'failed'))
        else:
            expected.extend(rows)
    report = callback.report
    for status in STATUSES:
        assert report['total'][status] == sum(1 for row in expected if row[2] == status)
        for stage, data in report['stages'].items():
            assert data[status] == sum(1 for row in expected if row[0] == stage and row[2] == status)
            assert data[status] == sum(entry[status] for entry in data['hosts'].values())
    # every unreachable and task-failed row is one line, whatever the message was
    for data in report['stages'].values():
        for entry in data['hosts'].values():
            for row in entry['results']:
                if row['fix_id'].endswith(('-host-unreachable', '-task-failed')):
                    assert row['msg'].splitlines() == [row['msg']], row
    path = tmp_path_factory.mktemp('json') / 'r.json'
    assert rbs.write_json(report, str(path)) is None
    data = json.loads(path.read_text())
    assert data == json.loads(json.dumps(rbs.ordered(report)))
    text = rbs.format_report(report)
    if not report['stages']:
        assert text == ''
        return
    # a scan (any check-mode result) fixed nothing: its counts say what a fix would do; the JSON keeps "fixed"
    fixed = 'Would fix' if data['check_mode'] else 'Fixed'
    assert data['check_mode'] is any(e[0] == 'single' and e[4] for e in events)
    assert text.endswith('TOTAL: %s: %d, Manual: %d, Failed: %d' % (
        fixed, data['total']['fixed'], data['total']['manual'], data['total']['failed']))
    for name, stage in data['stages'].items():
        assert '%s:\n   %s: %d, Manual: %d, Failed: %d\n' % (
            name.upper(), fixed, stage['fixed'], stage['manual'], stage['failed']) in text


PIECES = st.sampled_from([
    '@@@@@@@@', 'Host key verification failed.', 'Permission denied (publickey)',
    'root@h: Permission denied (publickey).', '\r\n', '\n', 'Task failed: ',
    'Failed to connect to the host via ssh: ',
    'Data could not be sent to remote host "h". Make sure this host can be reached over ssh:',
    'Shared connection to h closed.', 'Host key for h has changed and you have requested strict checking.',
    'Offending ED25519 key in /k:3', 'Incorrect sudo password', '\u2028', ' '])


@SETTINGS
@given(msg=st.one_of(st.none(), st.text(max_size=200), st.lists(PIECES, max_size=8).map(''.join)))
def test_reasons_are_always_one_line(msg):
    for reason in (reasons.unreachable_reason(msg), reasons.first_line(msg, 'd'), reasons.become_reason(msg, 'u')):
        if reason is not None:
            assert isinstance(reason, str) and reason.strip()
            assert reason.splitlines() == [reason], repr(reason)
