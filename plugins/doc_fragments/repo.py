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
      - A user and token in an HTTPS URL (C(https://x-access-token:TOKEN@host/owner/app.git)) are used for
        the clone only, as an HTTP header in git's environment (git 2.31 or newer). The clone's
        C(.git/config) gets the URL without them, and messages and results show C(https://***@host/...).
    type: str
  repo_dest:
    description:
      - Where the app repository is cloned. An existing directory is never overwritten.
    type: path
  repo_version:
    description:
      - Branch, tag or commit checked out after a fresh clone. Defaults to the remote's default branch.
      - Letters, digits and C(. _ / -), not starting with C(-) or C(.), no C(..) (never an option to git).
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
  repo_timeout:
    description:
      - Seconds a clone (or a deploy's fetch) may take; then it is stopped, reported as timed out, and
        the deploy key removed. A transfer that stalls (under 1000 bytes/s for 60 s, or an SSH server
        that stops answering for a minute) is abandoned sooner.
      - Enforced with C(timeout) from coreutils; where there is none (macOS), only the stall limits apply.
      - A scan asks the remote with C(git ls-remote) for at most 20 seconds (or this, when shorter).
    type: int
    default: 300
'''
