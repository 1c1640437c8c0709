# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: results_by_stage
type: aggregate
short_description: Report factiii fix results per stage at the end of a run
description:
  - Collects the fix results returned by C(factiii.infra.stage) and the single-fix
    modules of this collection and, at the end of the playbook, prints how many
    fixes were fixed, need manual work or failed, per stage and in total.
  - Under each stage it lists what was fixed, the manual steps a human must take, and why fixes failed.
  - 'In check mode (a scan) nothing was fixed, so every stage''s counts line and the C(TOTAL) line say
    C(Would fix: N, Manual: N, Failed: N), and the items C(Would fix: <fix id>: ...); a fix run says C(Fixed:).'
  - An unreachable host counts as one failed result in its stage (C(<stage>-host-unreachable)), so a
    host that could not be reached never looks clean; so does a task of this collection that failed
    without reporting a failed fix (C(<stage>-task-failed), for example a module crash), and a role of
    this collection that refused its variables (C(<stage>-invalid-arguments)).
  - Each such reason is one line - a changed host key, a refused SSH key, a connection lost mid-run,
    a wrong become password - with what to do about it, not ssh's whole output.
  - Task results that carry no factiii fix results are ignored, and so is the failure of the
    C(factiii.infra.report) task that ends C(factiii.infra.scan) and C(factiii.infra.fix) (it only sets the exit code).
  - Without this callback, those two playbooks print the same report and write the same JSON with
    M(factiii.infra.report), built with this plugin's functions; with it, the report is printed once, here.
  - 'Interrupted (Ctrl-C, SIGINT, or SIGTERM to C(ansible-playbook)): the report is still printed and
    the JSON written, once, before Ansible stops its workers. Stages that finished keep their rows;
    each host whose stage was still running is one failed row C(<stage>-interrupted) that says what
    may be half done (a fix: a fix may be half done or still running on the host, whose module goes on
    without the controller; a scan: nothing was changed; a deploy: its fixes, checkout or start, and no
    rollback ran) and what to run next. C(ansible-playbook)''s own exit status is unchanged: 99 after
    SIGINT, killed by SIGTERM (143 in a shell). Without this callback nothing is printed on an interrupt
    (the report is the last play''s task, which never runs).'
version_added: 1.0.0
requirements:
  - Enable the callback in C(ansible.cfg) with C(callbacks_enabled = factiii.infra.results_by_stage)
    in the C([defaults]) section, or with the E(ANSIBLE_CALLBACKS_ENABLED) environment variable.
options:
  results_json:
    description:
      - Also write the results as JSON to this file.
      - The file is replaced atomically; its directory must exist and be writable.
      - This is checked when the playbook starts, before any play runs; if the file could not be
        written there, ansible-playbook stops with one error line and exit code 5 (bad option).
        Callback errors cannot stop a run in ansible-core 2.19 (they become warnings), so the
        callback ends the process itself (C(SystemExit)) after printing the error.
      - If it still cannot be written at the end, a warning is shown and the text report is still printed.
      - The JSON holds only what the modules returned (without their C(details)), never task arguments.
      - Its keys are the same for a scan and a fix. C(check_mode) is V(true) for a scan, and then the
        counts under C(fixed) (and the rows with C(status) V(fixed)) are what a fix would do.
      - C(format) is the version of this shape (V(1)); a reader refuses a file of a newer format
        with one line saying so (a file without the key is of format 1).
    type: path
    env:
      - name: FACTIII_RESULTS_JSON
    ini:
      - section: callback_results_by_stage
        key: results_json
'''

import functools
import json
import os
import re
import signal
import tempfile
import threading
from collections.abc import Mapping

from ansible import constants as C
from ansible import context
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.callback import CallbackBase

from ansible_collections.factiii.infra.plugins.module_utils.fix import FAILED, FIXED, MANUAL, OK
from ansible_collections.factiii.infra.plugins.module_utils.git import redact_url
from ansible_collections.factiii.infra.plugins.module_utils.batch import STAGES
from ansible_collections.factiii.infra.plugins.plugin_utils import reasons

# ansible-core's exit code for bad or incomplete options (ExitCode.INVALID_CLI_OPTION)
EXIT_BAD_OPTION = 5

SHOWN = ((FIXED, 'Fixed'), (MANUAL, 'Manual'), (FAILED, 'Failed'))
# A scan changes nothing: its "fixed" results are what a fix would do (the JSON keeps the key).
SHOWN_CHECK = ((FIXED, 'Would fix'),) + SHOWN[1:]
COUNTED = (FIXED, MANUAL, FAILED, OK)
FIX_KEYS = ('fix_id', 'status', 'msg', 'steps')
# A results file is a few kilobytes; the CLI and factiii-summary refuse anything absurd.
MAX_RESULTS_BYTES = 16 * 1024 * 1024
# The version of the results file's shape ("format"); a file without one is of this
# shape (written before the key existed). Raise it when the shape changes.
RESULTS_FORMAT = 1

# What a terminal (or a Markdown page) would obey rather than show: C0 but tab and newline, DEL, C1
# (CSI, OSC, DCS as one byte), the line and paragraph separators, the bidirectional overrides that
# reorder a line on screen, and lone surrogates (a JSON string may hold one; printing it raises).
_CONTROLS = r'\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff'
_CONTROL = re.compile('[%s]' % _CONTROLS)
_CONTROL_OR_NEWLINE = re.compile('[\\n%s]' % _CONTROLS)


def printable(value, newlines=True):
    """``value`` as text that shows on a terminal as it is: each control character as ``\\uXXXX``.

    The one way text from hosts, results files and GitHub is printed (the callback's report, the
    CLI, factiii-summary). With ESC (and the one-byte C1 CSI/OSC/DCS) shown, no escape sequence can
    take effect - clear the screen, set the clipboard (OSC 52), move the cursor - and its remaining
    characters are plain text; ``\\r`` cannot write over a line. ``newlines=False`` for one-line
    values (a stage, a host, a fix id), where a newline could forge a line of the report.
    """
    text = value if isinstance(value, str) else '%s' % (value,)
    pattern = _CONTROL if newlines else _CONTROL_OR_NEWLINE
    return pattern.sub(lambda match: '\\u%04x' % ord(match.group()), text)


def stage_order(names):
    """The known stages in pipeline order, then any others alphabetically."""
    known = [s for s in STAGES if s in names]
    return known + sorted(n for n in names if n not in STAGES)


def _zero():
    return dict((status, 0) for status in COUNTED)


def _add_counts(target, counts):
    for status in COUNTED:
        target[status] += counts[status]


def new_report():
    """An empty report, in the shape written as JSON."""
    return {'check_mode': False, 'stages': {}, 'total': _zero()}


def add_results(report, stage, host, fixes, counts=None, check_mode=False):
    """Add one task's fix dicts for one host of one stage to ``report``.

    ``counts`` is used only when ``fixes`` is empty: a result may report counts
    without listing its fixes, and the fixes, when listed, are what the report
    shows, so the counts line must agree with them.
    """
    st = report['stages'].setdefault(stage, dict(_zero(), hosts={}))
    entry = st['hosts'].setdefault(host, dict(_zero(), results=[]))
    added = _zero()
    for fix in fixes:
        entry['results'].append(_redacted(dict((k, v) for k, v in fix.items() if k != 'details')))
        if fix.get('status') in added:
            added[fix['status']] += 1
    if not fixes and isinstance(counts, Mapping):
        for status in COUNTED:
            value = counts.get(status)
            added[status] = value if isinstance(value, int) and value > 0 else 0
    for target in (entry, st, report['total']):
        _add_counts(target, added)
    report['check_mode'] = report['check_mode'] or bool(check_mode)
    return report


def _redacted(fix):
    """The fix with any user:token@ of an https URL in its message and steps replaced by ***@:
    the modules redact their own; this is the last line for any other result."""
    if 'msg' in fix:
        fix['msg'] = redact_url(fix['msg'])
    if isinstance(fix.get('steps'), list):
        fix['steps'] = [redact_url(step) for step in fix['steps']]
    return fix


def ordered(report):
    """A copy of ``report`` with stages in report order and hosts sorted by name."""
    stages = {}
    for name in stage_order(report['stages']):
        st = report['stages'][name]
        stages[name] = dict((k, v) for k, v in st.items() if k != 'hosts')
        stages[name]['hosts'] = dict((h, st['hosts'][h]) for h in sorted(st['hosts']))
    return {'format': RESULTS_FORMAT, 'check_mode': report['check_mode'], 'stages': stages,
            'total': dict(report['total'])}


def _key(value):
    """A name from a results file, quoted and short, for a message about that file."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:56] + '..."'


def _counts_problem(where, node):
    for status in COUNTED:
        value = node.get(status, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return '%s"%s" is %s, not a count' % (where, status, _key(value))
    return None


def _fix_problem(where, fix):
    if not isinstance(fix, Mapping) or not isinstance(fix.get('fix_id'), str):
        return '%s is not a fix result (no "fix_id")' % where
    if fix.get('status') not in COUNTED:
        return '%s: "status" %s is not one of %s' % (where, _key(fix.get('status')), ', '.join(COUNTED))
    if not isinstance(fix.get('msg', ''), (str, type(None))):
        return '%s: "msg" is not text' % where
    steps = fix.get('steps', [])
    if not isinstance(steps, list) or not all(isinstance(step, str) for step in steps):
        return '%s: "steps" is not a list of text' % where
    return None


def results_problem(data):
    """None when ``data`` has the shape write_json writes, else what is wrong with it (one line).

    A results file comes from another run (a workflow's artifact); nothing in it is used before it
    passed this check, so a wrong one is reported, never a traceback or half a report.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get('stages'), Mapping):
        return 'not a factiii results file (no "stages" object)'
    version = data.get('format', RESULTS_FORMAT)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return '"format" %s is not a results format version' % _key(version)
    if version > RESULTS_FORMAT:
        return 'results format %d is newer than the %d this factiii.infra reads: use the same version of ' \
               'the collection as the run that wrote it' % (version, RESULTS_FORMAT)
    if not isinstance(data.get('check_mode', False), bool):
        return '"check_mode" is not true or false'
    for stage, st in data['stages'].items():
        where = 'stage %s' % _key(stage)
        if not isinstance(st, Mapping) or not isinstance(st.get('hosts', {}), Mapping):
            return '%s is not an object with "hosts"' % where
        why = _counts_problem(where + ': ', st)
        for host, entry in st.get('hosts', {}).items():
            if why:
                break
            where = 'stage %s host %s' % (_key(stage), _key(host))
            if not isinstance(entry, Mapping) or not isinstance(entry.get('results', []), list):
                return '%s is not an object with a "results" list' % where
            why = _counts_problem(where + ': ', entry)
            for index, fix in enumerate(entry.get('results', [])):
                why = why or _fix_problem('%s result %d' % (where, index + 1), fix)
        if why:
            return why
    return None


def load_results(text):
    """The report in a results file's ``text`` (str or bytes); ValueError saying what is wrong."""
    if len(text) > MAX_RESULTS_BYTES:
        raise ValueError('larger than %d MiB' % (MAX_RESULTS_BYTES // 2 ** 20))
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError('not JSON: nested too deeply') from None
    except ValueError as exc:
        raise ValueError('not JSON: %s' % exc) from None
    why = results_problem(data)
    if why:
        raise ValueError(why)
    return data


def add_report(report, data, stages=None):
    """Add a results file's report ``data`` (only ``stages`` when given) to ``report``.

    Through add_results, as the run itself added them, so the text of several files merged is the
    text of one run. ValueError (what is wrong, one line) when ``data`` is not a results report.
    """
    why = results_problem(data)
    if why:
        raise ValueError(why)
    check_mode = data.get('check_mode', False)
    for stage, st in data['stages'].items():
        if stages is None or stage in stages:
            for host, entry in st.get('hosts', {}).items():
                add_results(report, stage, host, entry.get('results', []), entry, check_mode)
    report['check_mode'] = report['check_mode'] or check_mode
    return report


def labels(check_mode):
    """((status, label), ...) of the counted statuses as shown: 'Would fix' for a scan, else 'Fixed'."""
    return SHOWN_CHECK if check_mode else SHOWN


def _counts_text(counts, check_mode):
    return ', '.join('%s: %d' % (label, counts[status]) for status, label in labels(check_mode))


def _item_line(label, fix, host):
    fix_id = printable(fix.get('fix_id', ''), newlines=False)
    if host is not None:
        fix_id += ' [%s]' % printable(host, newlines=False)
    # Continuation lines of a long message stay under their item, not at column 0.
    msg = printable(('%s' % (fix.get('msg') or '')).strip()).replace('\n', '\n      ')
    return '   %s: %s: %s' % (label, fix_id, msg) if msg else '   %s: %s' % (label, fix_id)


def format_report(report):
    """The text printed at the end of the run; '' when no stage had results."""
    if not report['stages']:
        return ''
    report = ordered(report)
    check_mode = report['check_mode']
    lines = ['RESULTS BY STAGE', '']
    for name, st in report['stages'].items():
        several = len(st['hosts']) > 1
        lines.append('%s:' % printable(name.upper(), newlines=False))
        lines.append('   ' + _counts_text(st, check_mode))
        if several:
            lines.extend('      %s: %s' % (printable(h, newlines=False), _counts_text(e, check_mode))
                         for h, e in st['hosts'].items())
        for status, label in labels(check_mode):
            for host, entry in st['hosts'].items():
                for fix in entry['results']:
                    if fix.get('status') != status:
                        continue
                    lines.append(_item_line(label, fix, host if several else None))
                    if status == MANUAL:
                        lines.extend('      - %s' % printable(step).replace('\n', '\n        ')
                                     for step in fix.get('steps') or [])
        lines.append('')
    lines.append('TOTAL: ' + _counts_text(report['total'], check_mode))
    return '\n'.join(lines)


def _dir_problem(path):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        return 'directory %s does not exist' % directory
    if not os.access(directory, os.W_OK | os.X_OK):
        return 'directory %s is not writable' % directory
    if os.path.isdir(path):
        return 'it is a directory'
    return None


def path_problem(path):
    """None when ``path`` can be written by write_json, else why not (one line).

    Checked before the run starts: besides the directory's existence and mode,
    a temporary file is really created there and removed (a read-only
    filesystem, or root on a directory it may not write, only shows that way).
    """
    why = _dir_problem(path)
    if why is None:
        try:
            fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.check',
                                       dir=os.path.dirname(os.path.abspath(path)))
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            why = getattr(exc, 'strerror', None) or '%s' % exc
    return 'results_json: cannot write %s: %s' % (path, why) if why else None


def write_json(report, path):
    """Write ``report`` to ``path`` atomically; return None, or why it could not."""
    directory = os.path.dirname(os.path.abspath(path))
    why = _dir_problem(path)
    if why:
        return 'results_json: cannot write %s: %s' % (path, why)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=directory)
        with os.fdopen(fd, 'w') as handle:
            json.dump(ordered(report), handle, indent=2)
            handle.write('\n')
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError) as exc:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        return 'results_json: cannot write %s: %s' % (path, getattr(exc, 'strerror', None) or exc)
    return None


def extract(res):
    """The fix outcomes one task result carries: a list of (stage, check_mode, fixes, counts)."""
    if not isinstance(res, Mapping):
        return []
    stage = res.get('stage') if isinstance(res.get('stage'), str) else None
    check_mode = bool(res.get('check_mode'))
    if isinstance(res.get('fix_id'), str):
        # Only the fix's own keys: the rest of a module result (invocation,
        # changed, ...) would drag the task's arguments into the report.
        return [(stage, check_mode, [dict((k, res[k]) for k in FIX_KEYS if k in res)], None)]
    items = res.get('results')
    if not isinstance(items, list):
        return []
    if all(_is_fix(item) for item in items):
        counts = res.get('counts')
        if items or (stage and isinstance(counts, Mapping)):
            return [(stage, check_mode, items, counts)]
        return []
    # A looped task: each item is a whole module result of its own.
    found = []
    for item in items:
        if isinstance(item, Mapping) and ('fix_id' in item or 'results' in item) and 'ansible_loop_var' in item:
            found.extend(extract(item))
    return found


def _reports_a_failure(outcomes):
    """True when ``outcomes`` (from extract) hold at least one failed fix or a failed count."""
    for dummy, dummy, fixes, counts in outcomes:
        if any(fix.get('status') == FAILED for fix in fixes):
            return True
        if not fixes and isinstance(counts, Mapping):
            value = counts.get(FAILED)
            if isinstance(value, int) and value > 0:
                return True
    return False


def _is_fix(item):
    return isinstance(item, Mapping) and isinstance(item.get('fix_id'), str)


def _plain(value):
    """``value`` if it is a usable stage name as written, else None (templates are not rendered here)."""
    if isinstance(value, str) and value.strip() and '{{' not in value and '{%' not in value:
        return value.strip()
    return None


def _first_line(msg, default):
    # ansible-core 2.19 prefixes its own messages with 'Task failed: '; the row already says it failed
    return reasons.become_reason(msg) or reasons.first_line(msg, default)


def _argument_errors(res):
    """The argument errors of a failed validate_argument_spec result, in one line, or None."""
    errors = res.get('argument_errors')
    if isinstance(errors, list) and errors:
        return '; '.join(reasons.first_line(e, '') for e in errors if reasons.first_line(e, ''))
    return None


def add_outcome(report, host, res, stage, failed=False, ours=False, role=None):
    """Add one task result ``res`` of ``host`` to ``report``: the fixes it carries, else a failed row.

    The one way a task's outcome becomes rows, for the callback and for the report action.
    ``stage`` is the stage when the result names none; ``ours``: the task is a module of this
    collection; ``role``: the short name of the factiii.infra role the task belongs to.
    """
    outcomes = extract(res)
    for found, check_mode, fixes, counts in outcomes:
        add_results(report, found or stage, host, fixes, counts, check_mode)
    if failed and not outcomes and role and _argument_errors(res):
        # A role of this collection refused its variables (a stage's fix
        # list with a typo, a version that is not a number): the stage did
        # not run, and the report says why instead of looking empty.
        stage = role if role in STAGES else stage
        fix = {'fix_id': '%s-invalid-arguments' % stage, 'status': FAILED, 'steps': [],
               'msg': 'role factiii.infra.%s: %s' % (role, _argument_errors(res))}
        add_results(report, stage, host, [fix])
    elif failed and not _reports_a_failure(outcomes) and (ours or role):
        # A task of this collection (a module, or any task of its roles) that failed
        # before it could report fixes (crash, bad arguments, no python on the host,
        # connection variables that cannot be templated) must not look like a clean stage.
        stage = _plain(res.get('stage')) or stage
        fix = {'fix_id': '%s-task-failed' % stage, 'status': FAILED, 'steps': [],
               'msg': _first_line(res.get('msg'), 'task failed')}
        add_results(report, stage, host, [fix])
    return report


def add_unreachable(report, host, stage, msg):
    """Add the failed row of a ``host`` of ``stage`` that could not be reached (or was lost)."""
    fix = {'fix_id': '%s-host-unreachable' % stage, 'status': FAILED, 'steps': [],
           'msg': reasons.unreachable_reason(msg)}
    return add_results(report, stage, host, [fix])


# Signals on which the report is still written (ansible-core 2.19 handles both in its
# TaskQueueManager: SIGINT becomes KeyboardInterrupt, SIGTERM kills the process at once).
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


def interrupted_row(stage, run, signame):
    """The failed row of a host whose ``stage`` was still running when the run got ``signame``.

    ``run``: what was running there, 'scan', 'fix' or 'deploy'.
    """
    if run == 'scan':
        msg = ('interrupted by %s during the scan of %s: nothing was changed; run the scan again'
               % (signame, stage))
    elif run == 'deploy':
        msg = ('interrupted by %s during the deploy to %s: its fixes, checkout or start may be half done on '
               'this host, and no rollback ran; run the deploy again' % (signame, stage))
    else:
        # the stage module goes on on the host when the controller stops (measured on a real host)
        msg = ('interrupted by %s during the fix of %s: a fix may be half done or still running on this '
               'host (a package install already started there goes on to its end, and a new run waits for '
               'it); run the fix of %s again' % (signame, stage, stage))
    return {'fix_id': '%s-interrupted' % stage, 'status': FAILED, 'steps': [], 'msg': msg}


def enabled():
    """True when this callback is enabled in Ansible's configuration (ansible.cfg or the environment).

    Without it, playbooks/stages.yml prints the report with factiii.infra.report instead.
    """
    return CallbackModule.CALLBACK_NAME in (C.CALLBACKS_ENABLED or [])


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'factiii.infra.results_by_stage'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.report = new_report()
        self._play_vars = {}
        self._unreachable = set()
        # host -> {'stage', 'run': scan/fix/deploy, 'open': a task of ours started and has not reported}
        self._running = {}
        self._scan = False
        # results arrive in the strategy's results thread; a signal in the main thread
        self._lock = threading.RLock()
        self._main_pid = None
        self._done = False

    @staticmethod
    def _parts(result):
        """(result dict, host name, host, task) for ansible-core 2.19+ and older."""
        res = getattr(result, 'result', None)
        if res is None:
            res = getattr(result, '_result', None) or {}
        host = getattr(result, 'host', None) or getattr(result, '_host', None)
        task = getattr(result, 'task', None) or getattr(result, '_task', None)
        name = host.get_name() if host is not None else 'unknown'
        return res, name, host, task

    def _stage_of(self, host, task):
        """Best cheap guess of the stage a task ran for, without templating anything."""
        args = getattr(task, 'args', None) or {}
        stage = _plain(args.get('stage')) if isinstance(args, Mapping) else None
        if stage:
            return stage
        sources = []
        if task is not None and hasattr(task, 'get_vars'):
            sources.append(task.get_vars())
        sources.append(self._play_vars)
        if host is not None:
            sources.append(getattr(host, 'vars', None) or {})
            groups = sorted(host.get_groups() if hasattr(host, 'get_groups') else [],
                            key=lambda g: (getattr(g, 'depth', 0), getattr(g, 'priority', 1), g.get_name()))
            # Deeper / higher priority groups win, as in inventory precedence.
            sources.extend(g.get_vars() for g in reversed(groups))
        for source in sources:
            stage = _plain(source.get('factiii_stage')) if isinstance(source, Mapping) else None
            if stage:
                return stage
        return 'unknown'

    def _gather(self, result, failed=False):
        with self._lock:
            self._gather_locked(result, failed)

    def _gather_locked(self, result, failed):
        res, name, host, task = self._parts(result)
        if self._is_report(task):
            # factiii.infra.report failing says the run failed: not a row of its own; it says whether
            # the run is a scan, also when no stage got as far as reporting a fix
            self.report['check_mode'] = self.report['check_mode'] or res.get('check_mode') is True
            return
        role = self._our_role(task)
        stage = self._task_stage(host, task, role)
        add_outcome(self.report, name, res, stage, failed, self._is_ours(task), role)
        if (failed or extract(res)) and name in self._running:
            # the stage reported (its rows, or its failed row): no longer running
            self._running[name]['open'] = False

    def _task_stage(self, host, task, role):
        """The stage ``task`` (of the factiii.infra ``role``, or None) runs for on ``host``."""
        stage = self._stage_of(host, task)
        if stage == 'unknown' and role in STAGES:
            stage = role
        elif stage == 'unknown' and role:
            # the server role is imported by staging and prod with server_stage set
            task_vars = task.get_vars() if hasattr(task, 'get_vars') else {}
            stage = _plain(task_vars.get('server_stage') if isinstance(task_vars, Mapping) else None) or role
        elif stage == 'unknown':
            # a task of playbooks/tasks/stage.yml (check_vars): its play's stage
            stage = _plain(self._play_vars.get('factiii__stage')) or stage
        return stage

    @staticmethod
    def _is_report(task):
        action = getattr(task, 'resolved_action', None) or getattr(task, 'action', None) or ''
        return action == 'factiii.infra.report'

    @staticmethod
    def _is_ours(task):
        action = getattr(task, 'resolved_action', None) or getattr(task, 'action', None) or ''
        return isinstance(action, str) and action.startswith('factiii.infra.')

    @staticmethod
    def _our_role(task):
        """The short name of the factiii.infra role ``task`` belongs to, or None."""
        role = getattr(task, '_role', None)
        name = role.get_name() if role is not None and hasattr(role, 'get_name') else None
        if isinstance(name, str) and name.startswith('factiii.infra.'):
            return name[len('factiii.infra.'):]
        return None

    def v2_playbook_on_start(self, playbook):
        """Stop before any play runs when the results file could not be written at the end.

        An exception raised here would only become a warning (ansible-core 2.19
        turns every Exception from a callback into one), so the run would go on
        and only miss its JSON at the end. SystemExit is not an Exception: it
        goes through ansible-playbook, whose executor cleans up on the way out,
        and the process exits non-zero before any host was contacted.
        """
        path = self.get_option('results_json')
        problem = path_problem(path) if path else None
        if problem:
            self._display.error('%s; nothing was run (set FACTIII_RESULTS_JSON to a file in an existing, '
                                'writable directory)' % problem)
            raise SystemExit(EXIT_BAD_OPTION)
        self._catch_interrupts()

    def _catch_interrupts(self):
        """Write the report when the run is interrupted, then let Ansible's own handler go on.

        ansible-core 2.19's TaskQueueManager handles SIGINT and SIGTERM in the main process: it
        signals its workers, then raises KeyboardInterrupt (SIGINT: "User interrupted execution",
        exit 99) or kills itself with SIGTERM; neither reaches v2_playbook_on_stats. This runs in
        the main process, after that handler was set (playbook start); a worker sets its own.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        self._main_pid = os.getpid()
        for number in INTERRUPTS:
            previous = signal.getsignal(number)
            signal.signal(number, functools.partial(self._on_interrupt, previous=previous))

    def _on_interrupt(self, number, frame, previous):
        try:
            if os.getpid() == self._main_pid:
                self.report_interrupted(signal.Signals(number).name)
        finally:
            # whatever happened to the report (a closed stdout), Ansible still stops its workers
            if callable(previous):
                previous(number, frame)
            elif previous != signal.SIG_IGN:
                # no handler of Ansible's: the default action (end the process), as without this callback
                signal.signal(number, signal.SIG_DFL)
                os.kill(os.getpid(), number)

    def report_interrupted(self, signame):
        """Print the report and write the JSON once, each host whose stage was running a failed row."""
        with self._lock:
            if self._done:
                return
            for name, running in sorted(self._running.items()):
                if running['open']:
                    stage = running['stage']
                    add_results(self.report, stage, name, [interrupted_row(stage, running['run'], signame)], None,
                                self._scan)
            self._running.clear()
            self._finish()

    def v2_playbook_on_play_start(self, play):
        self._play_vars = play.get_vars() if hasattr(play, 'get_vars') else {}
        manager = getattr(play, '_variable_manager', None)
        extra = getattr(manager, 'extra_vars', None) or {}
        # fix.yml and scan.yml differ in factiii_scan (import_playbook vars are play vars); or --check
        scan = extra.get('factiii_scan', self._play_vars.get('factiii_scan', False))
        self._scan = boolean(scan, strict=False) or bool(context.CLIARGS.get('check'))
        with self._lock:
            self._running.clear()  # one play is one stage; the last one's hosts are done

    def v2_runner_on_start(self, host, task):
        role = self._our_role(task)
        if host is None or self._is_report(task) or not (role or self._is_ours(task)):
            return
        stage = self._task_stage(host, task, role)
        with self._lock:
            running = self._running.setdefault(host.get_name(), {'stage': stage, 'run': 'fix'})
            # deploy's first tasks name no stage; the stage role's tasks within it do
            if running['stage'] not in STAGES and stage in STAGES:
                running['stage'] = stage
            if role == 'deploy' or running['run'] == 'deploy':
                running['run'] = 'deploy'
            else:
                running['run'] = 'scan' if self._scan else 'fix'
            running['open'] = True

    def v2_runner_on_ok(self, result):
        self._gather(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._gather(result, failed=True)

    def v2_runner_on_unreachable(self, result):
        res, name, host, task = self._parts(result)
        stage = self._stage_of(host, task)
        if (stage, name) in self._unreachable:
            return
        self._unreachable.add((stage, name))
        with self._lock:
            add_unreachable(self.report, name, stage, res.get('msg'))
            self._running.pop(name, None)  # its row says it

    def v2_playbook_on_stats(self, stats):
        with self._lock:
            if not self._done:
                self._finish()

    def _finish(self):
        self._done = True
        text = format_report(self.report)
        try:
            if text:
                self._display.display(text)
        finally:
            # the JSON also when stdout is gone (a closed pipe, an interrupted job's log)
            path = self.get_option('results_json')
            problem = write_json(self.report, path) if path else None
            if problem:
                self._display.warning(problem)
