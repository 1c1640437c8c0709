#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: deploy_checkout
short_description: Fetch a ref into the app's clone and check it out, never over files git does not track
version_added: 1.0.0
description:
  - The git steps of the P(factiii.infra.deploy#role) role. With O(ref), fetches it from the clone's origin and
    checks out the fetched commit (detached); with O(restore), checks out that commit again (the rollback).
  - Refused, before anything changes, with one line naming the paths (the first five) when the work tree
    has a file or directory git does not track (ignored, like C(.env), or untracked) where the commit to
    check out tracks one - git would overwrite an ignored file, and the way back would delete it.
  - With O(ref), also refused when the clone is of another repository than O(repo_url) or has local
    changes to tracked files.
  - A user and token in an HTTPS O(repo_url) are passed to git in its environment for the fetch only,
    and never shown (C(https://***@host/...)).
  - In check mode the ref is fetched, resolved and checked; nothing is checked out.
attributes:
  check_mode:
    support: partial
    details:
      - In check mode the ref is still fetched into the clone (git objects and the fetched ref), then resolved and
        checked; the work tree is not changed and nothing is checked out.
  diff_mode:
    support: none
author:
  - factiii contributors (@factiii)
extends_documentation_fragment:
  - factiii.infra.attributes
  - factiii.infra.attributes.host
options:
  repo_dest:
    description: The clone of the app repository on the host.
    type: path
    required: true
  ref:
    description:
      - Branch, tag or full commit id to fetch from origin and check out.
      - Letters, digits and C(. _ / -), not starting with C(-) or C(.), no C(..).
      - One of O(ref) and O(restore) is required.
    type: str
  restore:
    description: Commit id, already in the clone, to check out again (no fetch).
    type: str
  repo_url:
    description:
      - The repository the clone must be of (compared without credentials); required with O(ref).
      - A user and token in an HTTPS URL are used for the fetch only (git 2.31 or newer).
    type: str
  repo_key_file:
    description: Path on the host of a private deploy key (mode 0600) for an SSH O(repo_url).
    type: path
  repo_key:
    description:
      - Content of a private deploy key; written 0600 to a private temporary directory for the fetch
        and removed afterwards. Never logged.
    type: str
  repo_known_hosts:
    description: Pinned C(known_hosts) lines for the git server; host keys are always checked.
    type: list
    elements: str
    default: []
  repo_timeout:
    description:
      - Seconds the fetch may take (coreutils C(timeout); where there is none, only git's and ssh's stall
        limits apply). The deploy key is removed also when it times out.
    type: int
    default: 300
'''

EXAMPLES = r'''
- name: Fetch v1.2.0 and check it out
  factiii.infra.deploy_checkout:
    repo_dest: /srv/app
    repo_url: git@github.com:example/app.git
    repo_known_hosts:
      - "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    ref: v1.2.0
  register: checkout
  become: true

- name: Put the previous commit back
  factiii.infra.deploy_checkout:
    repo_dest: /srv/app
    restore: "{{ checkout.previous }}"
  become: true
'''

RETURN = r'''
previous:
  description: The commit checked out before.
  returned: success
  type: str
  sample: 3f1c2e9a7b0d4c6e8f1a2b3c4d5e6f708192a3b4
commit:
  description: The commit checked out now (in check mode, the one that would be).
  returned: success
  type: str
  sample: 9a8b7c6d5e4f30211f2e3d4c5b6a79881726354a
msg:
  description: One line saying what was done, or why nothing was.
  returned: always
  type: str
  sample: "checked out v1.2.0 9a8b7c6d5e4f in /srv/app"
'''

from ansible_collections.factiii.infra.plugins.module_utils.deploy_checkout import main


if __name__ == '__main__':
    main()
