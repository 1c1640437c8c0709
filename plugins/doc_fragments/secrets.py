# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  secrets:
    description:
      - Names of the GitHub Actions secrets the C(secrets) stage requires.
      - A stage's SSH key, C(<STAGE>_SSH), must be a secret of the GitHub environment C(<stage>)
        (C(STAGING_SSH) of C(staging), C(PROD_SSH) of C(prod)), the environment the workflow jobs that use
        it run in. The key missing from its environment is C(manual); the key as a repository secret
        (readable by every workflow of every branch) is C(failed), with the steps to move it.
      - Other names are checked as repository secrets.
    type: list
    elements: str
    default: [STAGING_SSH, PROD_SSH]
  github_repo:
    description:
      - Repository (C(owner/name)) whose secrets are checked. Defaults to the environment variable
        C(GITHUB_REPOSITORY). The token comes from C(GITHUB_TOKEN) or C(GH_TOKEN) on the controller.
      - 'A fine-grained token needs the repository permissions "Secrets: read" and "Environments: read".'
    type: str
  github_api_url:
    description:
      - Base URL of the GitHub REST API (GitHub Enterprise Server, or a test server).
      - When unset, the first set of the controller's environment variables E(FACTIII_GITHUB_API_URL) and
        E(GITHUB_API_URL) (set by GitHub Actions, also on GitHub Enterprise Server), else V(https://api.github.com).
        The factiii CLI uses the same variables in the same order.
      - The API's TLS certificate is checked against the usual CAs plus those of the PEM file named by
        E(FACTIII_GITHUB_CA_BUNDLE), when set.
    type: str
'''
