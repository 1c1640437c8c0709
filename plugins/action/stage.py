# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of factiii.infra.stage: one task, one stage, one remote run.

Arguments are validated on the controller so a typo fails before anything is
sent to a host. The ``secrets`` stage asks the GitHub API and never touches a
host; every other stage is exactly one run of the factiii.infra.stage module.

A scan is one synchronous module round trip. A fix runs the same module as an
async job (Ansible's async_wrapper), so that it goes on to its end on the host
if the controller stops (Ctrl-C must not cut an apt transaction in half), and
the action polls it over the same connection (no new SSH authentication):
the job's status (async_status) and the step the module wrote to its progress
file, printing a line when the step changes and at least every STILL_EVERY
seconds. The result is the module's own, as in a scan.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shlex
import time

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.factiii.infra.plugins.module_utils.batch import (
    default_fixes, fix_names, mutually_exclusive, stage_argument_spec, stage_return,
)
from ansible_collections.factiii.infra.plugins.module_utils.fix import failed
from ansible_collections.factiii.infra.plugins.module_utils.fixes.pnpm_missing import pnpm_version_problem
from ansible_collections.factiii.infra.plugins.module_utils.progress import OPTION as PROGRESS_FILE, one_line, read_progress
from ansible_collections.factiii.infra.plugins.module_utils.registry import FIXES
from ansible_collections.factiii.infra.plugins.plugin_utils import reasons
from ansible_collections.factiii.infra.plugins.plugin_utils.host_keys import host_key_problem

display = Display()

MODULE = 'factiii.infra.stage'
# Lines of a secret shorter than this are not masked on their own: a short line
# ('-----END ...' is longer) would garble unrelated words of a message.
MIN_SECRET_LINE = 8
POLL_EVERY = 2.0  # seconds between two polls of a fix's job
# A line at least this often while a step goes on: a poll is made when one falls due, so
# with a poll's own round trips (about a second on a busy controller) no more than about 10 s
# pass without a line.
STILL_EVERY = 8.0
# async_wrapper kills the job after this many seconds; a fix (package transaction, clone,
# docker start, each with its own timeout) ends long before.
FIX_TIME_LIMIT = 7200
# Polls that fail to reach the host (a network blip) are retried for this long; then the
# host is unreachable (a host that went down mid-fix is reported without a long wait).
POLL_RETRY = 20.0
JOB_KEYS = ('ansible_job_id', 'finished', 'started', 'results_file', 'stderr', 'stderr_lines')


def _strings(value):
    """Every string inside ``value`` (nested lists and dicts), and its str() and repr()."""
    found = []
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(_strings(key) + _strings(item))
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            found.extend(_strings(item))
    if value is not None and not isinstance(value, (bool, int, float)):
        try:
            found.extend([str(value), repr(value)])
        except Exception:  # pylint: disable=broad-exception-caught
            pass  # an object that cannot even print itself cannot be quoted in a message either
    return found


def _culprit(spec, args):
    """'value of OPTION: ' for the first option whose value alone fails or breaks Ansible's validator, else ''."""
    for key in sorted(k for k in args if isinstance(k, str) and k in spec):
        try:
            if ArgumentSpecValidator({key: spec[key]}).validate({key: args[key]}).error_messages:
                return 'value of %s: ' % key
        except Exception:  # pylint: disable=broad-exception-caught
            return 'value of %s: ' % key
    return ''


def secret_strings(args, spec):
    """What must never appear in a message: each no_log value, whole and line by line, longest first."""
    secrets = set()
    for key, value in (args or {}).items():
        if not isinstance(key, str) or not spec.get(key, {}).get('no_log'):
            continue
        for text in _strings(value):
            text = text.strip()
            if text:
                secrets.add(text)
                secrets.update(line.strip() for line in text.splitlines() if len(line.strip()) >= MIN_SECRET_LINE)
                secrets.add(reasons.join_lines(text))
    return sorted((s for s in secrets if s), key=len, reverse=True)


class ProgressLines:
    """The line to print after each poll of a fix, if any: the step when it changes,
    else ``still <step> (N s)`` once STILL_EVERY seconds passed without a line."""

    def __init__(self, host, clock, secrets=()):
        self.host = host
        self.clock = clock
        self.secrets = secrets
        self.seq = None
        self.msg = 'starting the fix'
        self.start = self.since = self.last = clock()

    def line(self, found):
        """``found``: (seq, msg) read from the progress file, or None (not there or not readable)."""
        now = self.clock()
        if found is not None and found[0] != self.seq:
            self.seq, self.msg = found[0], reasons.scrub(one_line(found[1]), self.secrets)
            self.since = self.last = now
            return '%s: %s' % (self.host, self.msg)
        if now - self.last >= STILL_EVERY:
            self.last = now
            return '%s: still %s (%d s)' % (self.host, self.msg, now - self.since)
        return None


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp

        try:
            args = self._validated_args()
            if args['stage'] == 'secrets':
                result.update(self._run_secrets(args))
            else:
                result.update(self._run_module(args, task_vars))
        except AnsibleActionFail as exc:
            result.update(failed=True, changed=False, msg=self._scrub_no_log(exc))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _validated_args(self):
        spec = stage_argument_spec()
        # Unknown fix names get the message below, which names the stage, not
        # the generic "value of fixes must be one or more of" from choices.
        spec.get('fixes', {}).pop('choices', None)
        if not isinstance(self._task.args, dict):
            raise AnsibleActionFail('the arguments of factiii.infra.stage must be a mapping of option: value')
        try:
            dummy, args = self.validate_argument_spec(
                argument_spec=spec, mutually_exclusive=mutually_exclusive(FIXES.values()))
        except AnsibleActionFail as exc:
            # Ansible's message on a bad list of dicts (checks: 'a string') names no option
            culprit = _culprit(spec, self._task.args)
            if culprit and culprit[len('value of '):-len(': ')] not in '%s' % exc:
                raise AnsibleActionFail('invalid arguments for factiii.infra.stage: %s%s' % (culprit, exc))
            raise
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # Ansible's validator itself can break on odd values (a list of
            # huge numbers for an int raises OverflowError in ansible-core
            # 2.19): still one line, never a traceback.
            raise AnsibleActionFail('invalid arguments for factiii.infra.stage: %s%s: %s' % (
                _culprit(spec, self._task.args), type(exc).__name__, exc))
        # A boolean is an int to Python and to Ansible's validator: node_min_major: true
        # would quietly be 1. A number option given true/false is a mistake.
        flags = sorted(key for key, value in self._task.args.items()
                       if isinstance(value, bool) and spec.get(key, {}).get('type') == 'int')
        if flags:
            raise AnsibleActionFail('argument %s is %s, not a whole number' % (
                flags[0], str(self._task.args[flags[0]]).lower()))
        unknown = [name for name in args.get('fixes') or [] if name not in FIXES]
        if unknown:
            raise AnsibleActionFail('unknown fix%s %s for stage %s (known: %s)' % (
                'es' if len(unknown) > 1 else '', ', '.join("'%s'" % name for name in unknown),
                args['stage'], ', '.join(fix_names())))
        self._check_repo_args(args)
        self._check_pnpm_version(args)
        return args

    @staticmethod
    def _host_fixes(args):
        """The fixes the stage runs on its host: none for secrets (see _run_secrets)."""
        if args['stage'] == 'secrets':
            return []
        return args.get('fixes') if args.get('fixes') is not None else default_fixes(args['stage'])

    def _check_pnpm_version(self, args):
        """pnpm_version reaches `npm install -g` as root: an exact version, a major or latest."""
        if 'pnpm-missing' not in self._host_fixes(args):
            return
        problem = pnpm_version_problem(args.get('pnpm_version') or 'latest')
        if problem:
            raise AnsibleActionFail('%s-pnpm-missing: %s; nothing was run' % (args['stage'], problem))

    def _check_repo_args(self, args):
        """The clone needs a URL and a place: an empty one is bad input, stopped before
        anything runs (the module would still run the stage's other fixes)."""
        stage = args['stage']
        if 'repo-not-cloned' not in self._host_fixes(args):
            return
        empty = [key for key in ('repo_url', 'repo_dest') if not (args.get(key) or '').strip()]
        if empty:
            raise AnsibleActionFail(
                '%s-repo-not-cloned needs %s, and %s empty (in the roles: %s); nothing was run' % (
                    stage, ' and '.join(empty), 'they are' if len(empty) > 1 else 'it is',
                    ', '.join('%s_%s' % (stage, key) for key in empty)))

    def _scrub_no_log(self, msg):
        # validate_argument_spec may quote a bad value back, and repo_key is a
        # private key: mask it (whole and line by line) before the message is
        # folded into one line, which would hide a multi-line key from a mask.
        args = self._task.args if isinstance(self._task.args, dict) else {}
        secrets = secret_strings(args, stage_argument_spec())
        return reasons.scrub(reasons.join_lines(reasons.scrub('%s' % msg, secrets)), secrets)

    def _run_module(self, args, task_vars):
        """The stage's one module run; a become that fails is the stage's Failed row."""
        problem = host_key_problem(self._connection, task_vars.get('inventory_hostname', 'the host'))
        if problem:
            raise AnsibleActionFail('%s; nothing was run' % problem)
        try:
            if self._task.check_mode or not self._multiplexed():
                return self._execute_module(module_name=MODULE, module_args=self._module_args(args), task_vars=task_vars)
            return self._run_fix_job(self._module_args(args), task_vars)
        except AnsibleConnectionFailure:
            raise  # unreachable: Ansible's own accounting, one row in the report
        except AnsibleError as exc:
            reason = reasons.become_reason('%s' % exc, self._get_remote_user())
            if reason is None:
                raise
            row = failed(reason).as_dict('%s-become-failed' % args['stage'])
            return stage_return(args['stage'], [row], self._task.check_mode)

    def _multiplexed(self):
        """Whether more round trips reuse the one SSH login (ControlPersist, as in Ansible's default
        ssh_args). Without it each poll would log in again: the fix then runs as one synchronous
        round trip, silent while it lasts, and says why once."""
        if getattr(self._connection, 'transport', None) != 'ssh':
            return True  # local (dev, --on-server) and others: no login per command
        try:
            args = ' '.join(str(self._connection.get_option(name) or '')
                            for name in ('ssh_args', 'ssh_common_args', 'ssh_extra_args'))
        except Exception:  # pylint: disable=broad-exception-caught
            return False  # options not readable: keep the one-login guarantee
        if 'ControlPersist' in args and not any(off in args for off in ('ControlPersist=no', 'ControlMaster=no')):
            return True
        display.warning('factiii.infra.stage: ssh_args without ControlPersist: the fix runs as one round trip '
                        'and prints no progress until it ends (each poll would be a new SSH login); keep '
                        "Ansible's default ssh_args or add -o ControlMaster=auto -o ControlPersist=60s")
        return False

    # time.sleep and time.monotonic, as attributes so a unit test can run the poll on a fake clock
    _sleep = staticmethod(time.sleep)
    _clock = staticmethod(time.monotonic)

    def _run_fix_job(self, module_args, task_vars):
        """The module as an async job, polled to its end; its own result."""
        tmpdir = self._connection._shell.tmpdir or self._make_tmp_path()
        # In the job's own temporary directory, which async_wrapper removes when the job ends.
        module_args[PROGRESS_FILE] = self._connection._shell.join_path(tmpdir, 'progress')
        async_val = self._task.async_val
        self._task.async_val = FIX_TIME_LIMIT  # async_wrapper's limit; never seen by the task executor
        try:
            started = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars,
                                           wrap_async=True)
        finally:
            self._task.async_val = async_val
        if started.get('failed') or not started.get('ansible_job_id') or not started.get('results_file'):
            return started
        jid = started['ansible_job_id']
        async_dir = os.path.dirname(started['results_file'])
        lines = ProgressLines(task_vars.get('inventory_hostname', 'the host'), self._clock,
                              secret_strings(self._task.args, stage_argument_spec()))
        status = self._poll(jid, async_dir, module_args[PROGRESS_FILE], lines, task_vars)
        try:
            self._job_status(jid, async_dir, task_vars, mode='cleanup')
            # The job's directory holds the module with its arguments (a deploy key given as
            # content among them): async_wrapper removes it up to 5 s after the job ends; now.
            self._low_level_execute_command(self._connection._shell.remove(tmpdir, recurse=True), sudoable=False)
        except AnsibleError as exc:  # the result is in hand; what async_wrapper removes anyway
            display.vvv('factiii.infra.stage: cleanup of job %s: %s' % (jid, exc))
        if status.get('failed') and 'results' not in status and 'stage' not in status:
            return self._lost_job(status, lines)
        return dict((key, value) for key, value in status.items() if key not in JOB_KEYS)

    def _lost_job(self, status, lines):
        """async_wrapper's own report of a module that printed no result (killed by SIGKILL or
        the OOM killer, or crashed): its traceback says nothing to an operator; one line does."""
        stderr = [line for line in (status.get('stderr') or '').splitlines() if line.strip()]
        why = reasons.scrub(one_line(stderr[-1]), lines.secrets)[:300] if stderr else 'killed, or it crashed'
        return {'failed': True, 'changed': False,
                'msg': 'the stage module on the host ended without a result (%s) during: %s; a fix may be '
                       'half done: run the fix again' % (why, lines.msg)}

    def _poll(self, jid, async_dir, progress_file, lines, task_vars):
        """async_status of the job until it finished; a progress line when there is one."""
        failing_since = None
        while self._clock() - lines.start < FIX_TIME_LIMIT + POLL_RETRY:
            # the next poll when a 'still' line falls due, if that comes before POLL_EVERY
            self._sleep(max(0.5, min(POLL_EVERY, lines.last + STILL_EVERY - self._clock())))
            try:
                status = self._job_status(jid, async_dir, task_vars)
                if status.get('finished'):
                    return status
                line = lines.line(self._read_progress(progress_file))
            except AnsibleConnectionFailure as exc:
                # As Ansible's own async poll: a blip is retried (the ssh connection opens a
                # new master if its old one died), a lasting loss is unreachable.
                failing_since = failing_since or self._clock()
                if self._clock() - failing_since > POLL_RETRY:
                    raise AnsibleConnectionFailure(reasons.lost_reason(
                        self._play_context.remote_addr or lines.host,
                        reasons.first_line('%s' % exc, 'no answer for %d s' % POLL_RETRY)))
                line = lines.line(None)
            else:
                failing_since = None
            if line:
                display.display(line)
        # async_wrapper ends a job at FIX_TIME_LIMIT; a job still "started" after that lost its wrapper
        return {'failed': True, 'msg': 'the fix on the host did not end within %d s (async job %s)' % (FIX_TIME_LIMIT, jid)}

    def _job_status(self, jid, async_dir, task_vars, mode='status'):
        return self._execute_module(module_name='ansible.legacy.async_status', task_vars=task_vars,
                                    module_args={'jid': jid, 'mode': mode, '_async_dir': async_dir})

    def _read_progress(self, path):
        res = self._low_level_execute_command('cat %s' % shlex.quote(path), sudoable=True)
        return read_progress(res.get('stdout', '')) if res.get('rc') == 0 else None

    @staticmethod
    def _module_args(args):
        # The module validates again with the same mutually_exclusive, which
        # counts keys, not values: the None defaults filled in here would make
        # repo_key and repo_key_file clash. Leaving them out means the same.
        return dict((key, value) for key, value in args.items() if value is not None)

    def _run_secrets(self, args):
        # Imported here: only the secrets stage (on the controller) needs the
        # HTTP client, and every forked worker of every other stage would pay
        # its imports (about 5 MB each; bench/README.md).
        from ansible_collections.factiii.infra.plugins.plugin_utils import github_secrets  # pylint: disable=import-outside-toplevel

        for ignored in ('fixes', 'checks'):
            if args.get(ignored):
                display.warning('factiii.infra.stage: %s are ignored for stage secrets; '
                                'it checks the names in secrets' % ignored)
        # The controller's environment, on purpose: task `environment:` is for
        # the remote side, and this stage never goes there.
        results = github_secrets.check_secrets(
            args['secrets'],
            github_secrets.find_repo(args.get('github_repo'), os.environ),
            github_secrets.find_token(os.environ),
            api_url=args['github_api_url'],
            ca_path=args.get('ca_bundle'),
        )
        return stage_return('secrets', results, self._task.check_mode)
