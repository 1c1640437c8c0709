#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pnpm_missing
short_description: Install pnpm at the app's version with npm
version_added: 1.0.0
description:
  - Installs pnpm with C(npm install -g --ignore-scripts pnpm@VERSION) and verifies it with C(pnpm --version).
  - The version is the C(packageManager) field of the app's C(package.json) when present, else O(pnpm_version).
  - Reported as fix C(<stage>-pnpm-missing). The same fix runs inside M(factiii.infra.stage) with the rest of its stage.
author:
  - factiii contributors (@factiii)
extends_documentation_fragment:
  - factiii.infra.attributes
  - factiii.infra.attributes.actiongroup_infra
  - factiii.infra.attributes.scan
  - factiii.infra.attributes.host
  - factiii.infra.fix
  - factiii.infra.common
  - factiii.infra.pnpm_missing
'''

EXAMPLES = r'''
- name: Run the pnpm-missing fix
  factiii.infra.pnpm_missing:
    stage: staging
    app_dir: /srv/app
  become: true
'''

RETURN = r'''
fix_id:
  description: The fix's id, C(<stage>-pnpm-missing).
  returned: always
  type: str
  sample: staging-pnpm-missing
status:
  description: C(ok), C(fixed) (in check mode, would fix), C(manual) or C(failed).
  returned: always
  type: str
  sample: fixed
msg:
  description: One line saying what was found or done.
  returned: always
  type: str
  sample: "would install pnpm@9.12.0 with npm"
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

from ansible_collections.factiii.infra.plugins.module_utils.fixes.pnpm_missing import PnpmMissing
from ansible_collections.factiii.infra.plugins.module_utils.module import run_fix_module


def main():
    run_fix_module(PnpmMissing)


if __name__ == '__main__':
    main()
