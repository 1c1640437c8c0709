#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sudo_needs_password
short_description: Report a deploy user who cannot sudo without a password
version_added: 1.0.0
description:
  - Checks that O(deploy_user) (by default the user Ansible became root from) can run C(sudo -n); C(manual) otherwise,
    with a C(/etc/sudoers.d) file checked by C(visudo -cf) before it is installed. Never changes anything.
  - When Ansible connects as root and O(deploy_user) is not set, C(ok) (nothing to check).
  - Reported as fix C(<stage>-sudo-needs-password). The same fix runs inside M(factiii.infra.stage) with the rest of
    its stage.
author:
  - factiii contributors (@factiii)
extends_documentation_fragment:
  - factiii.infra.attributes
  - factiii.infra.attributes.actiongroup_infra
  - factiii.infra.attributes.scan
  - factiii.infra.attributes.host
  - factiii.infra.fix
  - factiii.infra.common
  - factiii.infra.sudo_needs_password
'''

EXAMPLES = r'''
- name: Run the sudo-needs-password fix
  factiii.infra.sudo_needs_password:
    stage: staging
  become: true
'''

RETURN = r'''
fix_id:
  description: The fix's id, C(<stage>-sudo-needs-password).
  returned: always
  type: str
  sample: staging-sudo-needs-password
status:
  description: C(ok), C(fixed) (in check mode, would fix), C(manual) or C(failed).
  returned: always
  type: str
  sample: ok
msg:
  description: One line saying what was found or done.
  returned: always
  type: str
  sample: "jon may sudo without a password"
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

from ansible_collections.factiii.infra.plugins.module_utils.fixes.sudo_needs_password import SudoNeedsPassword
from ansible_collections.factiii.infra.plugins.module_utils.module import run_fix_module


def main():
    run_fix_module(SudoNeedsPassword)


if __name__ == '__main__':
    main()
