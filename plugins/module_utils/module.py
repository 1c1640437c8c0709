# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of every factiii module: build the module, pick the platform, run, report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.factiii.infra.plugins.module_utils.batch import (
    default_fixes, fix_argument_spec, mutually_exclusive, run_fixes, stage_argument_spec, stage_return,
)
from ansible_collections.factiii.infra.plugins.module_utils.fix import failed
from ansible_collections.factiii.infra.plugins.module_utils.git import secret_values
from ansible_collections.factiii.infra.plugins.module_utils.host_lock import HostBusy, LockError, host_lock
from ansible_collections.factiii.infra.plugins.module_utils.platforms.select import select_platform
from ansible_collections.factiii.infra.plugins.module_utils.progress import OPTION as PROGRESS_FILE, Progress
from ansible_collections.factiii.infra.plugins.module_utils.registry import FIXES
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner
from ansible_collections.factiii.infra.plugins.module_utils.user_checks import secret_lines, user_checks


def _platform(module):
    return select_platform(Runner(module), check_mode=module.check_mode, options=module.params)


def mask_url_credentials(module):
    """A token in repo_url is masked wherever the result holds it (invocation, messages):
    AnsibleModule replaces every no_log value in what it returns."""
    module.no_log_values.update(secret_values(module.params.get('repo_url')))


def _finish(module, result):
    if result['failed']:
        module.fail_json(**result)
    module.exit_json(**result)


def locked_rows(module, stage, run, progress=None):
    """run() -> rows, inside this host's lock (shared for a scan, exclusive for a fix); when
    another run holds it past lock_timeout, or it cannot be used, ONE Failed row and nothing run."""
    try:
        with host_lock(stage, module.check_mode, module.params['lock_timeout'], progress=progress):
            return run()
    except HostBusy as exc:
        return [failed('%s' % exc).as_dict('%s-host-busy' % stage)]
    except LockError as exc:
        return [failed('%s; nothing was run' % exc).as_dict('%s-host-lock' % stage)]


def run_fix_module(fix_class):
    """A single fix as its own module: the same code path as a stage of one fix."""
    module = AnsibleModule(argument_spec=fix_argument_spec(fix_class), supports_check_mode=True,
                           mutually_exclusive=mutually_exclusive([fix_class]))
    mask_url_credentials(module)
    stage = module.params['stage']
    fix = fix_class(_platform(module), module.params)
    rows = locked_rows(module, stage, lambda: run_fixes([fix], stage, module.check_mode))
    result = stage_return(stage, rows, module.check_mode)
    result.update(rows[0])
    _finish(module, result)


def run_stage_module():
    argument_spec = stage_argument_spec()
    # Hidden (a leading _): set by the stage action in a fix, where it polls the file.
    argument_spec[PROGRESS_FILE] = {'type': 'path'}
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=mutually_exclusive(FIXES.values()))
    mask_url_credentials(module)
    # a user check's output may show one line of a private key: each line is masked too
    module.no_log_values.update(secret_lines(module.no_log_values))
    progress = Progress(module.params[PROGRESS_FILE], mask=lambda text: remove_values(text, module.no_log_values))
    stage = module.params['stage']
    names = module.params['fixes']
    if names is None:
        names = default_fixes(stage)
    platform = _platform(module)
    fixes = [FIXES[name](platform, module.params) for name in names]
    # user checks always run (fixes selects built-ins); after the built-ins, in their own order
    fixes += user_checks(platform, module.params, FIXES, names)
    rows = locked_rows(module, stage, lambda: run_fixes(fixes, stage, module.check_mode, progress=progress),
                       progress=progress)
    _finish(module, stage_return(stage, rows, module.check_mode))
