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
    M(factiii.infra.report), built with the same report library as this callback; with it, the report is printed once, here.
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
import os
import signal
import threading
from collections.abc import Mapping

from ansible import context
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.callback import CallbackBase

from ansible_collections.factiii.infra.plugins.module_utils.batch import STAGES
from ansible_collections.factiii.infra.plugins.plugin_utils.results import (
    CALLBACK_NAME, add_outcome, add_results, add_unreachable, extract, format_report, interrupted_row,
    new_report, path_problem, plain_stage, write_json,
)

# ansible-core's exit code for bad or incomplete options (ExitCode.INVALID_CLI_OPTION)
EXIT_BAD_OPTION = 5

# Signals on which the report is still written (ansible-core 2.19 handles both in its
# TaskQueueManager: SIGINT becomes KeyboardInterrupt, SIGTERM kills the process at once).
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = CALLBACK_NAME
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
        stage = plain_stage(args.get('stage')) if isinstance(args, Mapping) else None
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
            stage = plain_stage(source.get('factiii_stage')) if isinstance(source, Mapping) else None
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
            stage = plain_stage(task_vars.get('server_stage') if isinstance(task_vars, Mapping) else None) or role
        elif stage == 'unknown':
            # a task of playbooks/tasks/stage.yml (check_vars): its play's stage
            stage = plain_stage(self._play_vars.get('factiii__stage')) or stage
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
