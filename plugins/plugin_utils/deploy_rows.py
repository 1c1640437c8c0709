# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy role's steps as rows of RESULTS BY STAGE (action factiii.infra.deploy_outcome).

From the results the role registered (its tasks never fail themselves, so that the callback
counts no ``task-failed`` row beside these), one row per step under the stage:
``<stage>-deploy-checkout``, ``-start``, ``-health``, ``-rollback``. And the gate: which fixes
of the stage's batch keep the deploy from starting.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections.abc import Mapping

from ansible_collections.factiii.infra.plugins.module_utils.fix import FAILED, FIXED, MANUAL, OK
from ansible_collections.factiii.infra.plugins.plugin_utils import reasons

# What the app itself needs from the stage, whatever its start command: the clone (and git,
# which the checkout runs), node and pnpm. A Manual one of these stops the deploy.
APP_NEEDS = ('git-missing', 'repo-not-cloned', 'node-missing', 'pnpm-missing')
# Needed only when the start command runs docker (docker compose, docker-compose, docker run).
# docker-autostart is never needed: it is about the next boot, not this start.
DOCKER_NEEDS = ('docker-missing', 'docker-not-running')
_DOCKER = re.compile(r'(^|[^\w.-])docker([\s-]|$)')
MAX_REASON = 300


def needs(start_command):
    """The fix names whose Manual row keeps ``start_command`` from being run."""
    uses_docker = isinstance(start_command, str) and _DOCKER.search(start_command)
    return APP_NEEDS + (DOCKER_NEEDS if uses_docker else ())


def blockers(stage, batch, start_command):
    """Why the stage's fix batch ``batch`` (its result) keeps the deploy from starting: a list of
    texts (``staging-node-missing is manual``), empty when nothing does.

    Any Failed fix stops it (a broken server, as before this gate existed); a Manual one only
    when the app needs it (needs()). A batch that failed without rows (refused variables, a
    crash) stops it too.
    """
    if not isinstance(batch, Mapping):
        return ['the fixes of %s did not run' % stage]
    if batch.get('unreachable'):
        return ['the host was not reached (%s)' % reasons.unreachable_reason(batch.get('msg'))]
    rows = batch.get('results') if isinstance(batch.get('results'), list) else []
    rows = [r for r in rows if isinstance(r, Mapping) and isinstance(r.get('fix_id'), str)]
    needed = ['%s-%s' % (stage, name) for name in needs(start_command)]
    found = []
    for row in rows:
        if row.get('status') == FAILED:
            found.append('%s failed' % row['fix_id'])
        elif row.get('status') == MANUAL and row['fix_id'] in needed:
            found.append('%s is manual' % row['fix_id'])
    if not found and batch.get('failed'):
        found.append('the fixes of %s failed: %s' % (stage, reasons.task_reason(batch.get('msg'), 'see the error above')))
    return found


def row(stage, step, status, msg):
    return {'fix_id': '%s-deploy-%s' % (stage, step), 'status': status, 'msg': _cut(msg), 'steps': []}


def _cut(text):
    text = ' '.join(('%s' % text).split())
    return text if len(text) <= MAX_REASON else text[:MAX_REASON - 3] + '...'


def _ran(res):
    return isinstance(res, Mapping) and bool(res) and not res.get('skipped')


def _shell_reason(res):
    """'(rc 3): its last line on stderr' of a failed shell task; why it did not run when it has no rc."""
    if res.get('rc') is None:
        return ': %s' % reasons.task_reason(res.get('msg'), 'it did not run')
    lines = [line for line in ('%s' % (res.get('stderr') or '')).splitlines() if line.strip()]
    return ' (rc %s)%s' % (res.get('rc'), ': %s' % lines[-1].strip() if lines else '')


def _healthy(res, codes):
    return _ran(res) and res.get('status') in codes


def _health_reason(res, url):
    checks = res.get('attempts') or 1
    return 'not healthy after %d check%s: %s: %s' % (
        checks, 's' if checks > 1 else '', url, reasons.first_line(res.get('msg'), 'no answer'))


def rows(stage, ref, check_mode, steps):
    """The rows of the deploy's steps, from the results in ``steps`` (checkout, start, health,
    restore, restart, rehealth: each a registered result, absent or skipped when it did not run;
    health_url, health_status_codes: the settings)."""
    checkout = steps.get('checkout')
    if not _ran(checkout):
        return []
    if not checkout.get('commit'):
        return [row(stage, 'checkout', FAILED, reasons.task_reason(checkout.get('msg'), 'checkout failed'))]
    commit = checkout['commit'][:12]
    found = [row(stage, 'checkout', FIXED if checkout.get('changed') else OK, checkout.get('msg'))]
    url, codes = steps.get('health_url'), steps.get('health_status_codes') or [200]
    if check_mode:
        found.append(row(stage, 'start', FIXED, 'would start %s %s' % (ref, commit)))
        if url:
            found.append(row(stage, 'health', FIXED, 'would check %s' % url))
        return found
    start, health = steps.get('start') or {}, steps.get('health') or {}
    if not _ran(start):
        return found
    if start.get('rc') != 0:
        found.append(row(stage, 'start', FAILED, 'start command failed%s' % _shell_reason(start)))
    else:
        found.append(row(stage, 'start', FIXED, 'started %s %s' % (ref, commit)))
        if url and _healthy(health, codes):
            found.append(row(stage, 'health', FIXED, 'healthy: %s answered %s' % (url, health['status'])))
        elif url:
            found.append(row(stage, 'health', FAILED, _health_reason(health, url)))
    if any(r['status'] == FAILED for r in found):
        found.append(_rollback(stage, steps, url, codes))
    return found


def _rollback(stage, steps, url, codes):
    restore, restart, rehealth = (steps.get(k) or {} for k in ('restore', 'restart', 'rehealth'))
    previous = ('%s' % (restore.get('commit') or steps['checkout'].get('previous') or ''))[:12]
    if not restore.get('commit'):
        return row(stage, 'rollback', FAILED, 'could NOT restore %s: %s'
                   % (previous, reasons.task_reason(restore.get('msg'), 'not attempted')))
    if not _ran(restart) or restart.get('rc') != 0:
        return row(stage, 'rollback', FAILED, 'restored %s but its start command failed too%s'
                   % (previous, _shell_reason(restart)))
    if url and not _healthy(rehealth, codes):
        return row(stage, 'rollback', FAILED, 'restored %s and restarted it, but its health check fails too: %s'
                   % (previous, reasons.first_line(rehealth.get('msg'), 'no answer')))
    return row(stage, 'rollback', FIXED, 'restored %s and restarted it%s' % (previous, ', healthy' if url else ''))


def failure_message(ref, commit, found):
    """One line for the task's failure: the deploy's failed step and the rollback's outcome."""
    bad = [r for r in found if r['status'] == FAILED and not r['fix_id'].endswith('-rollback')]
    back = [r for r in found if r['fix_id'].endswith('-rollback')]
    if not bad and not back:
        return ''
    msg = 'deploy of %s%s failed: %s' % (ref, ' (%s)' % commit[:12] if commit else '',
                                         '; '.join('%s: %s' % (r['fix_id'], r['msg']) for r in bad or back))
    return msg + ('; %s' % back[0]['msg'] if back and bad else '')
