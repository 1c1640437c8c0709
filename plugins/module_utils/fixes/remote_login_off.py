# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""remote-login-off: the server takes SSH logins after a boot (issue 16 point 6).

macOS: Remote Login (sshd's launchd job enabled), MANUAL when off: turning it on needs Full Disk
Access (systemsetup) or System Settings. Debian: ok, factiii reached it over SSH.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.factiii.infra.plugins.module_utils.fix import Fix


class RemoteLoginOff(Fix):
    name = 'remote-login-off'
    rank = 84
    stages = ('staging', 'prod')
    uses = ('remote_login_state',)

    def scan(self):
        return self.platform.remote_login_state()
