#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: filevault_on
short_description: Report FileVault, which stops an unattended boot
version_added: 1.0.0
description:
  - On macOS, C(manual) when C(fdesetup status) says FileVault is on, because after a restart the Mac waits for a
    password. The steps give the options (turn it off, or restart only with C(fdesetup authrestart)). Never changes
    anything.
  - On Debian/Ubuntu, C(ok) (not applicable).
  - Reported as fix C(<stage>-filevault-on). The same fix runs inside M(factiii.infra.stage) with the rest of its
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
- name: Run the filevault-on fix
  factiii.infra.filevault_on:
    stage: staging
  become: true
'''

RETURN = r'''
fix_id:
  description: The fix's id, C(<stage>-filevault-on).
  returned: always
  type: str
  sample: staging-filevault-on
status:
  description: C(ok), C(fixed) (in check mode, would fix), C(manual) or C(failed).
  returned: always
  type: str
  sample: ok
msg:
  description: One line saying what was found or done.
  returned: always
  type: str
  sample: "FileVault is off: the Mac boots without anyone typing a password"
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

from ansible_collections.factiii.infra.plugins.module_utils.fixes.filevault_on import FilevaultOn
from ansible_collections.factiii.infra.plugins.module_utils.module import run_fix_module


def main():
    run_fix_module(FilevaultOn)


if __name__ == '__main__':
    main()
