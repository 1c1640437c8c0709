#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_missing
short_description: Install a docker engine and CLI
version_added: 1.0.0
description:
  - Installs docker when it is missing - C(docker.io) on Debian/Ubuntu, with C(docker-cli) where that package
    exists (Debian 13 moved the CLI there); on macOS, C(colima) and the C(docker)
    CLI with Homebrew unless Docker Desktop is installed.
  - Reported as fix C(<stage>-docker-missing). The same fix runs inside M(factiii.infra.stage) with the rest of its stage.
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
- name: Run the docker-missing fix
  factiii.infra.docker_missing:
    stage: staging
  become: true
'''

RETURN = r'''
fix_id:
  description: The fix's id, C(<stage>-docker-missing).
  returned: always
  type: str
  sample: staging-docker-missing
status:
  description: C(ok), C(fixed) (in check mode, would fix), C(manual) or C(failed).
  returned: always
  type: str
  sample: fixed
msg:
  description: One line saying what was found or done.
  returned: always
  type: str
  sample: "would install docker (docker.io)"
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

from ansible_collections.factiii.infra.plugins.module_utils.fixes.docker_missing import DockerMissing
from ansible_collections.factiii.infra.plugins.module_utils.module import run_fix_module


def main():
    run_fix_module(DockerMissing)


if __name__ == '__main__':
    main()
