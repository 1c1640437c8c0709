# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""autorestart-off: the server powers on by itself after a power failure (issue 16 point 6).

macOS: pmset autorestart 1. Elsewhere a firmware setting: an ok "not applicable" row naming it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.factiii.infra.plugins.module_utils.fix import Fix


class AutorestartOff(Fix):
    name = 'autorestart-off'
    rank = 81
    stages = ('staging', 'prod')
    uses = ('power_restore_state', 'enable_power_restore')

    def scan(self):
        return self.platform.power_restore_state()

    def apply(self):
        self.platform.enable_power_restore()
