# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RESULTS BY STAGE: the report model, its text and its JSON (the results file).

The one library behind every report of factiii.infra: the results_by_stage callback, the
factiii.infra.report action (the same report without the callback), the stage_hosts lookup,
the ``factiii`` CLI and bin/factiii-summary all import it from here, as
``ansible_collections.factiii.infra.plugins.plugin_utils.results``.

Standard library and this collection only (no ansible-core at import): the CLI and
factiii-summary load it from the installed collection, factiii-summary with any python3.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import tempfile
from collections.abc import Mapping

from ansible_collections.factiii.infra.plugins.module_utils.fix import FAILED, FIXED, MANUAL, OK
from ansible_collections.factiii.infra.plugins.module_utils.git import redact_url
from ansible_collections.factiii.infra.plugins.module_utils.batch import STAGES
from ansible_collections.factiii.infra.plugins.plugin_utils import reasons

# The callback that prints this report at the end of a run, when it is enabled.
CALLBACK_NAME = 'factiii.infra.results_by_stage'

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


def add_slice(report, data):
    """Add ``data``, the results of one slice of a stage's hosts (a job of a fanned-out run), to ``report``.

    The slices of one run each hold other hosts, and are all a scan or all a fix: a host of a stage
    already in ``report`` (another slice reported it too), or a scan merged with a fix, is an error.
    ValueError (one line) and nothing added when ``data`` is not a results report or does not fit.
    """
    why = results_problem(data)
    if why:
        raise ValueError(why)
    check_mode = data.get('check_mode', False)
    if report['stages'] and check_mode != report['check_mode']:
        raise ValueError('a %s merged with the slices of a %s: slices of one run are all a scan or all a fix'
                         % (('fix', 'scan') if not check_mode else ('scan', 'fix')))
    for stage, st in data['stages'].items():
        known = report['stages'].get(stage, {}).get('hosts', {})
        twice = sorted(host for host in st.get('hosts', {}) if host in known)
        if twice:
            raise ValueError('stage %s host %s is in another slice\'s results too: each host belongs to one slice'
                             % (_key(stage), _key(twice[0])))
    return add_report(report, data)


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


def plain_stage(value):
    """``value`` if it is a usable stage name as written, else None (templates are not rendered here)."""
    if isinstance(value, str) and value.strip() and '{{' not in value and '{%' not in value:
        return value.strip()
    return None


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
        stage = plain_stage(res.get('stage')) or stage
        fix = {'fix_id': '%s-task-failed' % stage, 'status': FAILED, 'steps': [],
               'msg': reasons.task_reason(res.get('msg'), 'task failed')}
        add_results(report, stage, host, [fix])
    return report


def add_unreachable(report, host, stage, msg):
    """Add the failed row of a ``host`` of ``stage`` that could not be reached (or was lost)."""
    fix = {'fix_id': '%s-host-unreachable' % stage, 'status': FAILED, 'steps': [],
           'msg': reasons.unreachable_reason(msg)}
    return add_results(report, stage, host, [fix])


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
    """True when the results_by_stage callback is enabled in Ansible's configuration (ansible.cfg or
    the environment). Without it, playbooks/stages.yml prints the report with factiii.infra.report.

    Imports ansible-core when called: the rest of this module does not need it.
    """
    from ansible import constants  # pylint: disable=import-outside-toplevel
    return CALLBACK_NAME in (constants.CALLBACKS_ENABLED or [])
