# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A batch: the fixes of one stage run in one process, packages batched, dependency order kept.

This is the unit of one remote execution: the controller sends one module, this
runs every fix of the stage on the host and returns one result. Which fixes exist,
their order and each stage's defaults come from the fixes' declarations (fix.Fix).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.factiii.infra.plugins.module_utils.fix import (
    FAILED, FIXED, MANUAL, OK, Fix, PlatformError, Result, failed,
)
from ansible_collections.factiii.infra.plugins.module_utils.options import (
    COMMON, FIX, SECRETS, STAGE_CHOICES, argument_spec,
)
from ansible_collections.factiii.infra.plugins.module_utils.progress import no_progress
from ansible_collections.factiii.infra.plugins.module_utils.registry import FIXES
from ansible_collections.factiii.infra.plugins.module_utils.user_checks import OPTIONS as CHECKS

STAGES = tuple(STAGE_CHOICES)

# Options of the stage module and of every stage role that are no fix's own, by doc fragment
# (scripts/generate writes plugins/doc_fragments/<name>.py): declared like a fix's options.
STAGE_OPTION_GROUPS = {'common': COMMON, 'checks': CHECKS}


class OrderError(ValueError):
    """The fixes cannot be ordered: a cycle of requires/after, or two fixes of one name."""


def ordered(fixes):
    """``fixes`` (classes or instances) in run order: each after the ones it requires or
    runs after (those present; a missing one orders nothing), ties broken by ``rank``, then
    by the order given. Raises OrderError naming a cycle or a duplicate name."""
    fixes = list(fixes)
    by_name = {}
    for fix in fixes:
        if fix.name in by_name:
            raise OrderError('two fixes are named %s' % fix.name)
        by_name[fix.name] = fix
    before = dict((fix.name, [dep for dep in tuple(fix.requires) + tuple(getattr(fix, 'after', ()))
                              if dep in by_name and dep != fix.name]) for fix in fixes)
    key = dict((fix.name, (getattr(fix, 'rank', Fix.rank), index)) for index, fix in enumerate(fixes))
    done, result = set(), []
    while len(result) < len(fixes):
        ready = [fix for fix in fixes if fix.name not in done and all(dep in done for dep in before[fix.name])]
        if not ready:
            raise OrderError('the fixes depend on each other in a cycle: %s' % ' -> '.join(
                _cycle(dict((name, [dep for dep in deps if dep not in done])
                            for name, deps in before.items() if name not in done))))
        fix = min(ready, key=lambda f: key[f.name])
        done.add(fix.name)
        result.append(fix)
    return result


def _cycle(before):
    """One cycle in ``before`` (name -> the names it waits for; every name waits for one):
    ['a', 'b', 'a'] for a waiting for b and b for a."""
    path = [sorted(before)[0]]
    while path.count(path[-1]) < 2:
        path.append(sorted(before[path[-1]])[0])
    return path[path.index(path[-1]):]


def fix_names():
    """Every host-side fix's name, in run order: the ``fixes`` choices."""
    return [fix.name for fix in ordered(FIXES.values())]


def default_fixes(stage):
    """The fixes a stage runs when not told which, in run order (none for secrets: controller side)."""
    return [fix.name for fix in ordered(FIXES.values()) if stage in fix.stages]


def fix_argument_spec(fix_class):
    """The argument spec of a single-fix module."""
    spec = argument_spec(FIX)
    spec.update(argument_spec(COMMON))
    spec.update(argument_spec(fix_class.options))
    return spec


def stage_argument_spec():
    """Options of the factiii.infra.stage module and action plugin: every fix's, and the secrets stage's."""
    spec = {}
    for declared in list(STAGE_OPTION_GROUPS.values()) + [fix.options for fix in ordered(FIXES.values())] + [SECRETS]:
        spec.update(argument_spec(declared))
    spec['stage'] = {'type': 'str', 'required': True, 'choices': list(STAGE_CHOICES)}
    spec['fixes'] = {'type': 'list', 'elements': 'str', 'choices': fix_names()}
    return spec


def mutually_exclusive(fix_classes):
    """The mutually exclusive option groups of these fixes, for AnsibleModule."""
    return [list(group) for fix in fix_classes for group in fix.mutually_exclusive] or None


def count(results):
    counts = dict((status, 0) for status in (OK, FIXED, MANUAL, FAILED))
    for res in results:
        counts[res['status']] += 1
    return counts


def summary_msg(stage, results, check_mode):
    counts = count(results)
    msg = '%s: %s %d, manual %d, failed %d' % (
        stage, 'would fix' if check_mode else 'fixed',
        counts[FIXED], counts[MANUAL], counts[FAILED])
    bad = [r for r in results if r['status'] == FAILED]
    if bad:
        msg += ' (%s)' % '; '.join('%s: %s' % (r['fix_id'], r['msg']) for r in bad)
    return msg


def stage_return(stage, results, check_mode):
    """The one result shape of a stage, host side and controller side alike."""
    counts = count(results)
    return {
        'stage': stage,
        'check_mode': bool(check_mode),
        'results': results,
        'counts': counts,
        # Ansible's convention: in check mode, changed means "would change".
        'changed': bool(counts[FIXED]),
        'failed': bool(counts[FAILED]),
        'msg': summary_msg(stage, results, check_mode),
    }


def _blocked_by(fix, done):
    for dep in fix.requires:
        res = done.get(dep)
        if res is not None and res.status in (MANUAL, FAILED):
            return dep, res
    return None, None


def run_fixes(fixes, stage, check_mode, progress=no_progress):
    """Run ``fixes`` (Fix instances sharing one platform); return result dicts.

    1. scan the fixes that install packages and install all their packages in
       ONE transaction;
    2. walk every fix in order: scan (or reuse step 1's scan), apply outside
       check mode, and verify with a fresh scan.

    ``progress(msg)`` is told each step that changes the host (the transaction,
    each apply, its verification) as it starts: the controller prints it.
    """
    order_error = None
    try:
        fixes = ordered(fixes)
    except OrderError as exc:
        order_error = exc
    # a fix's own bad input (a user check declared twice) says more than the order it breaks
    bad_input = _input_problems(fixes)
    if bad_input:
        return [res.as_dict(fix.fix_id(stage)) for fix, res in bad_input]
    if order_error is not None:
        return [failed('%s; nothing was run' % order_error).as_dict('%s-fix-order' % stage)]
    platform = fixes[0].platform if fixes else None
    progress('checking %s' % ', '.join(fix.fix_id(stage) for fix in fixes))

    early = {}
    batch = []
    for fix in fixes:
        if type(fix).packages is not Fix.packages:
            early[fix.name] = _safe(fix.scan)
            if early[fix.name].needs_fix:
                packages = _safe(fix.packages)
                if isinstance(packages, Result):
                    early[fix.name] = packages
                else:
                    batch.extend(p for p in packages if p not in batch)

    install_error = None
    if batch and check_mode:
        # what the install would end with, so that a scan never promises a fix
        # that the fix run would report manual
        install_error = _safe(platform.install_blocker)
    elif batch:
        progress('installing %s (one %s transaction)' % (
            ' '.join(batch), getattr(platform, 'package_manager', 'package-manager')))
        try:
            platform.install_packages(batch)
        except PlatformError as exc:
            install_error = exc.result

    done = {}
    for fix in fixes:
        dep, dep_res = _blocked_by(fix, done)
        if dep:
            done[fix.name] = Result(dep_res.status, 'not attempted: needs %s-%s, which is %s'
                                    % (stage, dep, dep_res.status), steps=dep_res.steps)
            continue
        finding = early.get(fix.name) or _safe(fix.scan)
        if not finding.needs_fix:
            done[fix.name] = finding
        elif fix.name in early and install_error is not None:
            done[fix.name] = install_error
        elif check_mode:
            done[fix.name] = Result(FIXED, finding.msg, details=finding.details)
        else:
            progress('%s: %s' % (fix.fix_id(stage), _what(finding.msg)))
            done[fix.name] = _apply(fix, finding, lambda msg, fix_id=fix.fix_id(stage): progress('%s: %s' % (fix_id, msg)))
    return steps_once([done[f.name].as_dict(f.fix_id(stage)) for f in fixes])


def steps_once(rows):
    """Each step shown once in a stage: a step already under an earlier row (the sudo grant
    under every fix that installs, node's steps under the pnpm it blocked) is left out; a row
    left without steps points to the row that has them."""
    first = {}
    for row in rows:
        steps = [step for step in row['steps'] if step not in first]
        if row['steps'] and not steps:
            owner = first[row['steps'][0]]
            if owner not in row['msg']:
                row['msg'] += ' (steps under %s)' % owner
        for step in steps:
            first[step] = row['fix_id']
        row['steps'] = steps
    return rows


def _input_problems(fixes):
    """(fix, FAILED Result) for each fix whose input is wrong before anything runs
    (a deploy key file that is missing or readable by others, ...). Bad input
    must change nothing: the stage then runs none of its fixes."""
    found = []
    for fix in fixes:
        res = _safe(fix.input_problem)
        if isinstance(res, Result) and res.status == FAILED:
            found.append((fix, res))
    return found


def _apply(fix, finding, progress=no_progress):
    res = _safe(fix.apply)
    if res is not None:
        return res
    progress('verifying')
    after = _safe(fix.scan)
    if after.status == OK:
        return Result(FIXED, _done_msg(finding.msg), details=after.details)
    if after.status in (MANUAL, FAILED):
        return after
    # a user check's finding carries the check's own reason, without the 'would run: ...'
    return failed('still not right after the fix: %s' % after.details.get('reason', after.msg))


def _what(would):
    """'would install git (git)' -> 'install git (git)'."""
    return would[len('would '):] if would.startswith('would ') else would


def _done_msg(would):
    """'would install git (git)' -> 'done: install git (git)'."""
    return 'done: ' + _what(would) if would.startswith('would ') else would


def _safe(call):
    """call(), with a PlatformError - or any unexpected error - as that fix's row:
    one broken fix must not stop the rest of the stage."""
    try:
        return call()
    except PlatformError as exc:
        return exc.result
    except Exception as exc:  # pylint: disable=broad-exception-caught
        return failed('unexpected error in %s: %s: %s' % (getattr(call, '__name__', 'fix'), type(exc).__name__, exc))
