#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: repo_not_cloned
short_description: Clone the app repository
version_added: 1.0.0
description:
  - Clones O(repo_url) into O(repo_dest) at O(repo_version) when it is not cloned yet.
  - An existing directory is never overwritten; another clone, a clone with local changes (listed) or a
    non-empty directory is C(manual).
  - Host keys are always checked; a deploy key given as content is written 0600 and removed afterwards.
  - In check mode (a scan) it says C(would clone) only when the clone could be made, checked read-only
    as the user the module runs as (the one the clone runs as) - the directory that would hold
    O(repo_dest) is writable, and C(git ls-remote) with the clone's key, host keys and credentials
    answers within 20 seconds and lists O(repo_version) as a branch or tag (a commit id is taken as
    it is). Otherwise it is C(failed) with the reason. Without git yet (git-missing installs it), the
    row says the remote was not checked.
  - Reported as fix C(<stage>-repo-not-cloned). The same fix runs inside M(factiii.infra.stage) with the rest of its stage.
author:
  - factiii contributors (@factiii)
extends_documentation_fragment:
  - factiii.infra.attributes
  - factiii.infra.attributes.actiongroup_infra
  - factiii.infra.attributes.scan
  - factiii.infra.attributes.host
  - factiii.infra.fix
  - factiii.infra.common
  - factiii.infra.repo_not_cloned
'''

EXAMPLES = r'''
- name: Run the repo-not-cloned fix
  factiii.infra.repo_not_cloned:
    stage: staging
    repo_url: git@github.com:example/app.git
    repo_dest: /srv/app
    repo_version: main
    repo_known_hosts:
      - "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
  become: true
'''

RETURN = r'''
fix_id:
  description: The fix's id, C(<stage>-repo-not-cloned).
  returned: always
  type: str
  sample: staging-repo-not-cloned
status:
  description: C(ok), C(fixed) (in check mode, would fix), C(manual) or C(failed).
  returned: always
  type: str
  sample: fixed
msg:
  description: One line saying what was found or done.
  returned: always
  type: str
  sample: "would clone git@github.com:example/app.git at main into /srv/app"
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

from ansible_collections.factiii.infra.plugins.module_utils.fixes.repo_not_cloned import RepoNotCloned
from ansible_collections.factiii.infra.plugins.module_utils.module import run_fix_module


def main():
    run_fix_module(RepoNotCloned)


if __name__ == '__main__':
    main()
