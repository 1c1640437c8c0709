#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sleep_enabled
short_description: Keep the server from sleeping on its own
version_added: 1.0.0
description:
  - On macOS, sets C(pmset -a sleep 0 disksleep 0 standby 0 powernap 0) (only the timers that are not 0).
  - On Debian/Ubuntu, when something can suspend the host (logind's C(IdleAction), or a lid and C(HandleLidSwitch)),
    masks C(sleep.target), C(suspend.target), C(hibernate.target) and C(hybrid-sleep.target); a server with neither is
    C(ok) as it is.
  - Reported as fix C(<stage>-sleep-enabled). The same fix runs inside M(factiii.infra.stage) with the rest of its
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
- name: Run the sleep-enabled fix
  factiii.infra.sleep_enabled:
    stage: staging
  become: true
'''

RETURN = r'''
fix_id:
  description: The fix's id, C(<stage>-sleep-enabled).
  returned: always
  type: str
  sample: staging-sleep-enabled
status:
  description: C(ok), C(fixed) (in check mode, would fix), C(manual) or C(failed).
  returned: always
  type: str
  sample: ok
msg:
  description: One line saying what was found or done.
  returned: always
  type: str
  sample: "the Mac never sleeps on its own (pmset: sleep 0, disksleep 0)"
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

from ansible_collections.factiii.infra.plugins.module_utils.fixes.sleep_enabled import SleepEnabled
from ansible_collections.factiii.infra.plugins.module_utils.module import run_fix_module


def main():
    run_fix_module(SleepEnabled)


if __name__ == '__main__':
    main()
