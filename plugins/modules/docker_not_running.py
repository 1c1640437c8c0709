#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_not_running
short_description: Start the docker engine
version_added: 1.0.0
description:
  - Starts docker when C(docker info) does not answer (systemd, the C(service) command, or colima
    on macOS - C(launchctl kickstart -k) of factiii's LaunchDaemon when it is loaded, else C(colima start) as the
    Homebrew owner), then polls until it answers or O(docker_start_timeout) passes.
  - On macOS docker is asked through the owner's socket - colima's (named by C(colima status --json)) or Docker
    Desktop's C(~/.docker/run/docker.sock) - as C(/var/run/docker.sock) exists only with Docker Desktop's
    setting "Allow the default Docker socket".
  - Reported as fix C(<stage>-docker-not-running). The same fix runs inside M(factiii.infra.stage) with the rest of its stage.
author:
  - factiii contributors (@factiii)
extends_documentation_fragment:
  - factiii.infra.attributes
  - factiii.infra.attributes.actiongroup_infra
  - factiii.infra.attributes.scan
  - factiii.infra.attributes.host
  - factiii.infra.fix
  - factiii.infra.common
  - factiii.infra.docker_not_running
'''

EXAMPLES = r'''
- name: Run the docker-not-running fix
  factiii.infra.docker_not_running:
    stage: staging
    docker_start_timeout: 90
  become: true
'''

RETURN = r'''
fix_id:
  description: The fix's id, C(<stage>-docker-not-running).
  returned: always
  type: str
  sample: staging-docker-not-running
status:
  description: C(ok), C(fixed) (in check mode, would fix), C(manual) or C(failed).
  returned: always
  type: str
  sample: fixed
msg:
  description: One line saying what was found or done.
  returned: always
  type: str
  sample: "docker is running (server 26.1.5+dfsg1)"
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

from ansible_collections.factiii.infra.plugins.module_utils.fixes.docker_not_running import DockerNotRunning
from ansible_collections.factiii.infra.plugins.module_utils.module import run_fix_module


def main():
    run_fix_module(DockerNotRunning)


if __name__ == '__main__':
    main()
