#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: docker_plugins_missing
short_description: Install the docker compose and buildx plugins
version_added: 1.0.0
description:
  - Installs C(docker compose) and C(docker buildx) where the package manager has them as docker CLI plugins
    (Homebrew's C(docker-compose) and C(docker-buildx); Debian 13's C(docker-compose) and C(docker-buildx)).
  - Debian 12's C(docker-compose) is Compose v1, not a plugin. There, and when docker does not find Homebrew's plugins
    (C(cliPluginsExtraDirs)), the result is C(manual) with Docker's documented steps.
  - Not in any stage's default fixes; add it to O(factiii.infra.stage#module:fixes).
  - Reported as fix C(<stage>-docker-plugins-missing). The same fix runs inside M(factiii.infra.stage) with the rest
    of its stage.
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
- name: Run the docker-plugins-missing fix
  factiii.infra.docker_plugins_missing:
    stage: staging
  become: true
'''

RETURN = r'''
fix_id:
  description: The fix's id, C(<stage>-docker-plugins-missing).
  returned: always
  type: str
  sample: staging-docker-plugins-missing
status:
  description: C(ok), C(fixed) (in check mode, would fix), C(manual) or C(failed).
  returned: always
  type: str
  sample: ok
msg:
  description: One line saying what was found or done.
  returned: always
  type: str
  sample: "docker compose and docker buildx are installed"
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

from ansible_collections.factiii.infra.plugins.module_utils.fixes.docker_plugins_missing import DockerPluginsMissing
from ansible_collections.factiii.infra.plugins.module_utils.module import run_fix_module


def main():
    run_fix_module(DockerPluginsMissing)


if __name__ == '__main__':
    main()
