# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  repo_url:
    description:
      - URL of the app repository (SSH, HTTPS or a local path).
    type: str
  repo_dest:
    description:
      - Where the app repository is cloned. An existing directory is never overwritten.
    type: path
  repo_version:
    description:
      - Branch, tag or commit checked out after a fresh clone. Defaults to the remote's default branch.
      - An existing clone is left at its version (deploying a ref is a separate step).
    type: str
  repo_key_file:
    description:
      - Path on the host of a private deploy key (mode 0600) for an SSH O(repo_url).
    type: path
  repo_key:
    description:
      - Content of a private deploy key; written 0600 to a private temporary directory for the
        clone and removed afterwards. Never logged.
    type: str
  repo_known_hosts:
    description:
      - Pinned C(known_hosts) lines for the git server. Host keys are always checked
        (C(StrictHostKeyChecking=yes)); without this, the user's C(known_hosts) is used.
    type: list
    elements: str
    default: []
'''
