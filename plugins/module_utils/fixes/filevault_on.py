# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""filevault-on: a boot does not wait for someone to unlock the disk (issue 16 point 6).

Only reported: turning disk encryption off is the owner's decision, so FileVault on is MANUAL
with the options; not applicable on Debian.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.factiii.infra.plugins.module_utils.fix import Fix


class FilevaultOn(Fix):
    name = 'filevault-on'
    rank = 83
    stages = ('staging', 'prod')
    uses = ('disk_unlock_state',)

    def scan(self):
        return self.platform.disk_unlock_state()
