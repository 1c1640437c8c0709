# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sleep-enabled: nothing puts the server to sleep on its own (issue 16 point 6).

macOS: pmset's sleep, disksleep, standby and powernap all 0. Debian: when something can suspend
the host (logind's IdleAction, a lid), its sleep targets are masked; a server without either is ok.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.factiii.infra.plugins.module_utils.fix import Fix


class SleepEnabled(Fix):
    name = 'sleep-enabled'
    rank = 80
    stages = ('staging', 'prod')  # a developer's machine may sleep
    uses = ('sleep_state', 'disable_sleep')

    def scan(self):
        return self.platform.sleep_state()

    def apply(self):
        self.platform.disable_sleep()
