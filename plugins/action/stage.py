# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of factiii.infra.stage: one task, one stage, one remote run.

Arguments are validated on the controller so a typo fails before anything is
sent to a host. The ``secrets`` stage asks the GitHub API and never touches a
host; every other stage is exactly one run of the factiii.infra.stage module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.factiii.infra.plugins.module_utils.options import (
    REPO_MUTUALLY_EXCLUSIVE, stage_argument_spec,
)
from ansible_collections.factiii.infra.plugins.module_utils.stage import FIX_ORDER, stage_return
from ansible_collections.factiii.infra.plugins.plugin_utils import github_secrets

display = Display()

MODULE = 'factiii.infra.stage'


def _one_line(text):
    return ' '.join(line.strip() for line in str(text).splitlines() if line.strip())


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
                result.update(self._execute_module(
                    module_name=MODULE, module_args=self._module_args(args), task_vars=task_vars))
        except AnsibleActionFail as exc:
            result.update(failed=True, changed=False, msg=self._scrub_no_log(_one_line(exc)))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _validated_args(self):
        spec = stage_argument_spec()
        # Unknown fix names get the message below, which names the stage, not
        # the generic "value of fixes must be one or more of" from choices.
        spec.get('fixes', {}).pop('choices', None)
        dummy, args = self.validate_argument_spec(
            argument_spec=spec, mutually_exclusive=REPO_MUTUALLY_EXCLUSIVE)
        unknown = [name for name in args.get('fixes') or [] if name not in FIX_ORDER]
        if unknown:
            raise AnsibleActionFail('unknown fix%s %s for stage %s (known: %s)' % (
                'es' if len(unknown) > 1 else '', ', '.join("'%s'" % name for name in unknown),
                args['stage'], ', '.join(FIX_ORDER)))
        return args

    def _scrub_no_log(self, msg):
        # validate_argument_spec may quote a bad value back, and repo_key is a
        # private key.
        spec = stage_argument_spec()
        for key, value in (self._task.args or {}).items():
            if spec.get(key, {}).get('no_log') and isinstance(value, str) and value:
                msg = msg.replace(value, '********')
        return msg

    @staticmethod
    def _module_args(args):
        # The module validates again with the same mutually_exclusive, which
        # counts keys, not values: the None defaults filled in here would make
        # repo_key and repo_key_file clash. Leaving them out means the same.
        return dict((key, value) for key, value in args.items() if value is not None)

    def _run_secrets(self, args):
        if args.get('fixes'):
            display.warning('factiii.infra.stage: fixes are ignored for stage secrets; '
                            'it checks the names in secrets')
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
