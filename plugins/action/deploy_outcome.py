# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of factiii.infra.deploy_outcome: the deploy role's steps as rows of its stage.

On the controller only: it reads results the role registered and returns them in the stage's
result shape, which the results_by_stage callback and factiii.infra.report already turn into rows.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail

from ansible_collections.factiii.infra.plugins.module_utils.fix import FAILED
from ansible_collections.factiii.infra.plugins.module_utils.batch import stage_return
from ansible_collections.factiii.infra.plugins.modules.deploy_outcome import ARGUMENT_SPEC
from ansible_collections.factiii.infra.plugins.plugin_utils import deploy_rows
from ansible_collections.factiii.infra.plugins.plugin_utils.controller_action import ControllerAction


class ActionModule(ControllerAction):

    NAME = 'factiii.infra.deploy_outcome'

    def run(self, tmp=None, task_vars=None):
        del tmp, task_vars
        try:
            dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            return {'failed': True, 'changed': False, 'msg': '%s: %s' % (self.NAME, exc.message)}
        stage, ref, check_mode = args['stage'], args['ref'], bool(self._task.check_mode)
        found = []
        if args['batch'] is not None:
            why = deploy_rows.blockers(stage, args['batch'], args['start_command'])
            if why:
                found.append(deploy_rows.row(stage, 'start', FAILED, '%s: %s; nothing was checked out' % (
                    'would not start' if check_mode else 'not started', ', '.join(why))))
        found.extend(deploy_rows.rows(stage, ref, check_mode, args))
        result = stage_return(stage, found, check_mode)
        if result['failed']:
            commit = (args['checkout'] or {}).get('commit') or ''
            result['msg'] = deploy_rows.failure_message(ref, commit, found)
        return result
