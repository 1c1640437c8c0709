# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of this collection's actions that run on the controller alone (report, host_keys)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase


class ControllerAction(ActionBase):
    """An action without options that never touches the host: not its shell, not a temporary
    directory (ActionBase.run is not called), not even its connection."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False
    NAME = None  # the action's FQCN, for its messages

    def options_refused(self):
        """The failed result for a task that gave options, else None."""
        if not self._task.args:
            return None
        return {'failed': True, 'changed': False,
                'msg': '%s takes no options, got: %s' % (self.NAME, ', '.join(sorted(map(str, self._task.args))))}
