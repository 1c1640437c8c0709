#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: autorestart_off
short_description: Make the server power on by itself after a power failure
version_added: 1.0.0
description:
  - On macOS, sets C(pmset -a autorestart 1).
  - On Debian/Ubuntu it is a firmware setting, so an C(ok) row says so and names it.
  - Reported as fix C(<stage>-autorestart-off). The same fix runs inside M(factiii.infra.stage) with the rest of its
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
- name: Run the autorestart-off fix
  factiii.infra.autorestart_off:
    stage: staging
  become: true
'''

RETURN = r'''
fix_id:
  description: The fix's id, C(<stage>-autorestart-off).
  returned: always
  type: str
  sample: staging-autorestart-off
status:
  description: C(ok), C(fixed) (in check mode, would fix), C(manual) or C(failed).
  returned: always
  type: str
  sample: ok
msg:
  description: One line saying what was found or done.
  returned: always
  type: str
  sample: "the Mac starts up by itself after a power failure (pmset autorestart 1)"
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

from ansible_collections.factiii.infra.plugins.module_utils.fixes.autorestart_off import AutorestartOff
from ansible_collections.factiii.infra.plugins.module_utils.module import run_fix_module


def main():
    run_fix_module(AutorestartOff)


if __name__ == '__main__':
    main()
