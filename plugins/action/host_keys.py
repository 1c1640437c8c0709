# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of factiii.infra.host_keys: refuse a connection that would not check the host's key.

Reads the task's connection options on the controller; nothing is sent to the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.factiii.infra.plugins.plugin_utils.controller_action import ControllerAction
from ansible_collections.factiii.infra.plugins.plugin_utils.host_keys import host_key_problem


class ActionModule(ControllerAction):

    NAME = 'factiii.infra.host_keys'

    def run(self, tmp=None, task_vars=None):
        del tmp
        refused = self.options_refused()
        if refused:
            return refused
        host = (task_vars or {}).get('inventory_hostname', 'the host')
        problem = host_key_problem(self._connection, host)
        if problem:
            return {'failed': True, 'changed': False, 'msg': '%s; nothing was run' % problem}
        return {'changed': False, 'msg': 'host key checking is on for %s' % host}
