#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_autostart
short_description: Make docker start at boot
version_added: 1.0.0
description:
  - Makes docker start at boot with C(systemctl enable docker), or the init script links without systemd.
  - On macOS, colima runs from a system LaunchDaemon as the Homebrew owner, under a small supervisor that starts
    colima again when its VM stops (C(launchctl enable), C(bootstrap), C(kickstart -k)). The scan checks the daemon
    is installed, enabled, loaded, and that docker answers through colima's socket.
  - Docker Desktop starts only at login, so without colima the result is C(manual), naming what is missing
    (automatic login, "start Docker Desktop when you sign in").
  - Reported as fix C(<stage>-docker-autostart). The same fix runs inside M(factiii.infra.stage) with the rest of its stage.
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
- name: Run the docker-autostart fix
  factiii.infra.docker_autostart:
    stage: staging
  become: true
'''

RETURN = r'''
fix_id:
  description: The fix's id, C(<stage>-docker-autostart).
  returned: always
  type: str
  sample: staging-docker-autostart
status:
  description: C(ok), C(fixed) (in check mode, would fix), C(manual) or C(failed).
  returned: always
  type: str
  sample: fixed
msg:
  description: One line saying what was found or done.
  returned: always
  type: str
  sample: "docker.service is enabled at boot"
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

from ansible_collections.factiii.infra.plugins.module_utils.fixes.docker_autostart import DockerAutostart
from ansible_collections.factiii.infra.plugins.module_utils.module import run_fix_module


def main():
    run_fix_module(DockerAutostart)


if __name__ == '__main__':
    main()
