# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of factiii.infra.report: RESULTS BY STAGE without the callback.

Runs on the controller only (it never uses the task's connection): it reads the outcome each
stage play kept on its hosts and builds the report with the library the results_by_stage callback
uses (plugin_utils/results.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from collections.abc import Mapping

from ansible.utils.display import Display

from ansible_collections.factiii.infra.plugins.plugin_utils.controller_action import ControllerAction
from ansible_collections.factiii.infra.plugins.plugin_utils import reasons, results

display = Display()

# The fact playbooks/stages.yml keeps on each host: {stage: {result, failed, action}}
OUTCOMES = 'factiii__outcomes'
PREFIX = 'factiii.infra.'


def our_role(res):
    """The short name of the factiii.infra role whose argument spec refused its variables in ``res``, or None.

    The result names the role without its collection; its path says whose it is.
    """
    context = res.get('validate_args_context')
    if not isinstance(context, Mapping) or context.get('type') != 'role':
        return None
    name, path = context.get('name'), context.get('path')
    if not isinstance(name, str) or not isinstance(path, str):
        return None
    name = name[len(PREFIX):] if name.startswith(PREFIX) else name
    parts = path.rstrip('/').split('/')
    return name if parts[-5:] == ['ansible_collections', 'factiii', 'infra', 'roles', name] else None


def build_report(outcomes_by_host):
    """The report of ``outcomes_by_host`` ({host: {stage: outcome}}), as the callback would build it."""
    report = results.new_report()
    for host in sorted(outcomes_by_host):
        outcomes = outcomes_by_host[host]
        if not isinstance(outcomes, Mapping):
            continue
        for stage in results.stage_order(outcomes):
            outcome = outcomes[stage]
            res = outcome.get('result') if isinstance(outcome, Mapping) else None
            if not isinstance(res, Mapping):
                continue
            if res.get('unreachable'):
                results.add_unreachable(report, host, stage, res.get('msg'))
                continue
            # Every outcome here is of a stage's own tasks (tasks/stage.yml): a failure that reported
            # no fix (a role's refused variables aside) is that stage's failed row, whatever task it
            # was in (the role's argument check, when the host's connection variables cannot be templated).
            results.add_outcome(report, host, res, stage, bool(outcome.get('failed')), True, our_role(res))
    return report


def _failed_rows(report, host):
    return sum(st['hosts'][host][results.FAILED] for st in report['stages'].values() if host in st['hosts'])


def failure_message(report, outcomes_by_host):
    """'' when nothing failed, else one line for the run's failure.

    A stage that failed without a row (a variable that cannot be templated, say) fails the run
    too, as it did before its failure was rescued: Ansible's own error line above says why.
    """
    parts = []
    count = report['total'][results.FAILED]
    if count:
        parts.append('%d failed fix%s or unreachable host%s: see RESULTS BY STAGE' % (
            count, 'es' if count > 1 else '', 's' if count > 1 else ''))
    silent = []
    for host in sorted(outcomes_by_host):
        outcomes = outcomes_by_host[host] if isinstance(outcomes_by_host[host], Mapping) else {}
        for stage in results.stage_order(outcomes):
            outcome = outcomes[stage] if isinstance(outcomes[stage], Mapping) else {}
            res = outcome.get('result') if isinstance(outcome.get('result'), Mapping) else {}
            if (outcome.get('failed') or res.get('unreachable')) and not _failed_rows(report, host):
                silent.append('stage %s failed on %s before reporting a fix: %s' % (
                    results.printable(stage, newlines=False), results.printable(host, newlines=False),
                    results.printable(reasons.first_line(res.get('msg'), 'see the error above'), newlines=False)))
    if silent:
        parts.append(silent[0] + (' (and %d more)' % (len(silent) - 1) if len(silent) > 1 else ''))
    return '; '.join(parts)


class ActionModule(ControllerAction):

    NAME = 'factiii.infra.report'

    def run(self, tmp=None, task_vars=None):
        del tmp
        refused = self.options_refused()
        if refused:
            return refused
        task_vars = task_vars or {}
        hostvars = task_vars.get('hostvars') or {}
        outcomes = {}
        for host in task_vars.get('ansible_play_hosts_all') or []:
            kept = hostvars[host].get(OUTCOMES) if host in hostvars else None
            if kept:
                outcomes[host] = kept
        report = build_report(outcomes)
        report['check_mode'] = report['check_mode'] or bool(self._play_context.check_mode)
        result = {'changed': False, 'total': report['total'], 'check_mode': report['check_mode']}
        if not results.enabled():
            # The callback prints and writes the same report at the end of the run: once only.
            text = results.format_report(report)
            if text:
                display.display(text)
            path = os.environ.get('FACTIII_RESULTS_JSON')
            problem = results.write_json(report, path) if path else None
            if problem:
                display.warning(problem)
        message = failure_message(report, outcomes)
        if message:
            result.update(failed=True, msg=message)
        return result
