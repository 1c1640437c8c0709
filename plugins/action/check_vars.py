# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of factiii.infra.check_vars: a stage's variables checked on the controller.

The first task of each stage play (playbooks/tasks/stage.yml), which imports the stage's role without
Ansible's own argument check (this is that check, as one line): a typo, a missing required variable or
a value the role's spec refuses is one Failed row, <stage>-invalid-arguments, instead of an ignored
variable or the role's spec dumped per host; a value that cannot be templated fails the task with its
error's first line (the stage's <stage>-task-failed row).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError

from ansible_collections.factiii.infra.plugins.action.stage import secret_strings
from ansible_collections.factiii.infra.plugins.module_utils.fix import failed
from ansible_collections.factiii.infra.plugins.module_utils.batch import stage_return
from ansible_collections.factiii.infra.plugins.plugin_utils import stage_vars
from ansible_collections.factiii.infra.plugins.plugin_utils.controller_action import ControllerAction
from ansible_collections.factiii.infra.plugins.plugin_utils.reasons import first_line, scrub


class ActionModule(ControllerAction):

    NAME = 'factiii.infra.check_vars'

    def run(self, tmp=None, task_vars=None):
        args = self._task.args if isinstance(self._task.args, dict) else {}
        stage = args.get('stage')
        if sorted(args) != ['stage'] or stage not in stage_vars.PREFIXES:
            return {'failed': True, 'changed': False,
                    'msg': '%s takes stage: one of %s' % (self.NAME, ', '.join(sorted(stage_vars.PREFIXES)))}
        task_vars = task_vars or {}
        # First the names: the host's variables (inventory, extra vars, play and role defaults).
        why = stage_vars.problem(stage, list(task_vars))
        if why is None:
            options = stage_vars.role_options(stage)
            try:
                values = self._templar.template(dict((n, task_vars[n]) for n in options if n in task_vars))
            except AnsibleError as exc:
                # A value that cannot be templated (an unset APP_REPO_URL): the stage stops here, its
                # <stage>-task-failed row saying what to set (the roles run without their own check).
                return {'failed': True, 'changed': False, 'msg': self._untemplatable(options, task_vars, exc)}
            why = stage_vars.value_problem(stage, values)
            # the validator may quote a value back, and <stage>_repo_key is a private key
            why = why and scrub(why, secret_strings(values, options))
        if why is None:
            return {'changed': False, 'msg': 'the variables of stage %s are known and valid' % stage}
        result = stage_return(stage, [failed(why).as_dict('%s-invalid-arguments' % stage)], self._task.check_mode)
        result['msg'] = why
        return result

    def _untemplatable(self, options, task_vars, error):
        """The first line of the error of the first option (in the spec's order) that cannot be templated."""
        for name in options:
            if name in task_vars:
                try:
                    self._templar.template(task_vars[name])
                except AnsibleError as exc:
                    error = exc
                    break
        return first_line(getattr(error, 'message', None) or '%s' % error, 'a variable cannot be templated')
