#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: node_missing
short_description: Install Node.js and npm of at least a given major
version_added: 1.0.0
description:
  - Installs Node.js and npm with the platform package manager when missing or older than O(node_min_major).
  - When the package on offer is older than asked, reports C(manual) with the steps to get a newer Node.
  - Reported as fix C(<stage>-node-missing). The same fix runs inside M(factiii.infra.stage) with the rest of its stage.
author:
  - factiii contributors (@factiii)
extends_documentation_fragment:
  - factiii.infra.attributes
  - factiii.infra.attributes.actiongroup_infra
  - factiii.infra.attributes.scan
  - factiii.infra.attributes.host
  - factiii.infra.fix
  - factiii.infra.common
  - factiii.infra.node_missing
'''

EXAMPLES = r'''
- name: Run the node-missing fix
  factiii.infra.node_missing:
    stage: staging
    node_min_major: 20
  become: true
'''

RETURN = r'''
fix_id:
  description: The fix's id, C(<stage>-node-missing).
  returned: always
  type: str
  sample: staging-node-missing
status:
  description: C(ok), C(fixed) (in check mode, would fix), C(manual) or C(failed).
  returned: always
  type: str
  sample: fixed
msg:
  description: One line saying what was found or done.
  returned: always
  type: str
  sample: "node v20.20.2 and npm are installed"
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

from ansible_collections.factiii.infra.plugins.module_utils.fixes.node_missing import NodeMissing
from ansible_collections.factiii.infra.plugins.module_utils.module import run_fix_module


def main():
    run_fix_module(NodeMissing)


if __name__ == '__main__':
    main()
