#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: updates_restart
short_description: Keep automatic updates from restarting the server
version_added: 1.0.0
description:
  - On macOS, turns off Software Update's automatic install of macOS updates (C(AutomaticallyInstallMacOSUpdates)
    false in C(/Library/Preferences/com.apple.SoftwareUpdate)); C(manual) when a configuration profile (MDM) sets it.
  - On Debian/Ubuntu, C(manual) when unattended-upgrades has C(Unattended-Upgrade::Automatic-Reboot) true (an admin's
    choice), else C(ok).
  - Reported as fix C(<stage>-updates-restart). The same fix runs inside M(factiii.infra.stage) with the rest of its
    stage.
author:
  - factiii contributors (@factiii)
extends_documentation_fragment:
  - factiii.infra.attributes
  - factiii.infra.attributes.actiongroup_infra
  - factiii.infra.attributes.scan
  - factiii.infra.attributes.host
  - factiii.infra.fix
  - factiii.infra.common
'''

EXAMPLES = r'''
- name: Run the updates-restart fix
  factiii.infra.updates_restart:
    stage: staging
  become: true
'''

RETURN = r'''
fix_id:
  description: The fix's id, C(<stage>-updates-restart).
  returned: always
  type: str
  sample: staging-updates-restart
status:
  description: C(ok), C(fixed) (in check mode, would fix), C(manual) or C(failed).
  returned: always
  type: str
  sample: ok
msg:
  description: One line saying what was found or done.
  returned: always
  type: str
  sample: "macOS does not install its updates by itself (AutomaticallyInstallMacOSUpdates 0)"
steps:
  description: For C(manual), the exact steps a human must take; empty otherwise.
  returned: always
  type: list
  elements: str
details:
  description: Extra facts the fix found (for example versions).
  returned: always
  type: dict
'''

from ansible_collections.factiii.infra.plugins.module_utils.fixes.updates_restart import UpdatesRestart
from ansible_collections.factiii.infra.plugins.module_utils.module import run_fix_module


def main():
    run_fix_module(UpdatesRestart)


if __name__ == '__main__':
    main()
