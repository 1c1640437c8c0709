# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""updates-restart: no automatic update restarts the server by itself (issue 16 point 6).

macOS: Software Update's "Install macOS updates" (AutomaticallyInstallMacOSUpdates) off, or MANUAL
when a configuration profile sets it. Debian: unattended-upgrades' Automatic-Reboot is the admin's
choice, so MANUAL when it is on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.factiii.infra.plugins.module_utils.fix import Fix


class UpdatesRestart(Fix):
    name = 'updates-restart'
    rank = 82
    stages = ('staging', 'prod')
    uses = ('update_reboot_state', 'disable_update_reboot')

    def scan(self):
        return self.platform.update_reboot_state()

    def apply(self):
        self.platform.disable_update_reboot()
