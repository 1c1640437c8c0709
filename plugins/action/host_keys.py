# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of factiii.infra.host_keys: refuse a connection that would not check the host's key.

Reads the task's connection options on the controller; nothing is sent to the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.factiii.infra.plugins.plugin_utils.host_keys import host_key_problem


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        # ActionBase.run is not called: nothing here touches the host (its shell, its temporary directory).
        del tmp
        if self._task.args:
            return {'failed': True, 'changed': False, 'msg': 'factiii.infra.host_keys takes no options, got: %s' % ', '.join(sorted(map(str, self._task.args)))}
        host = (task_vars or {}).get('inventory_hostname', 'the host')
        problem = host_key_problem(self._connection, host)
        if problem:
            return {'failed': True, 'changed': False, 'msg': '%s; nothing was run' % problem}
        return {'changed': False, 'msg': 'host key checking is on for %s' % host}
