#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: check_vars
short_description: Refuse a stage's unknown, missing or invalid variables in one line, before the stage runs
version_added: 1.0.0
description:
  - Fails, with one line, when the host has a variable named with the stage's prefix (C(dev_), C(secrets_),
    C(staging_), C(prod_)) that the stage's role does not declare (a typo Ansible would ignore; the line
    names the closest known variable, C(did you mean staging_repo_version?)), or lacks a variable the
    role requires.
  - Extra vars (C(-e)), inventory, play and role variables are all checked by name. Then the values of the
    role's options, templated, are checked against the role's argument spec as the role's own check would
    (C(value of staging_fixes must be one or more of ...)), in one line, a secret value masked. A value that
    cannot be templated is left to the role's own check (the stage's C(<stage>-task-failed) row).
  - Allowed besides the role's options - the variables of C(factiii.infra.dev_sync) (C(dev_sync_tarball),
    C(dev_sync_rollback), C(dev_sync_run), C(dev_sync_root), C(dev_sync_keep), C(dev_sync_ansible_bin),
    C(dev_sync_results_dir), C(dev_sync_become)) and names with a double underscore (C(dev__result)),
    the roles' own.
  - The failure is the stage's result with one Failed row, C(<stage>-invalid-arguments), for the report.
  - The first task of each stage play of C(factiii.infra.scan) and C(factiii.infra.fix); C(factiii.infra.deploy)
    checks C(deploy) (the P(factiii.infra.deploy#role) role's C(deploy_) variables) and the stage, and
    C(factiii.infra.dev_sync) the stage, before anything reaches the server.
  - Runs on the controller only; it never connects to the host.
attributes:
  check_mode:
    support: full
    details:
      - It only reads variables, in check mode or not.
author:
  - factiii contributors (@factiii)
extends_documentation_fragment:
  - factiii.infra.attributes
  - factiii.infra.attributes.controller
options:
  stage:
    description: The stage whose role's variables are checked, or C(deploy) for the deploy role's.
    type: str
    required: true
    choices:
      - dev
      - secrets
      - staging
      - prod
      - deploy
'''

EXAMPLES = r'''
- name: Check the variables of the staging stage
  factiii.infra.check_vars:
    stage: staging
'''

RETURN = r'''
msg:
  description: What was found.
  returned: always
  type: str
  sample: 'unknown variable staging_repo_verison: did you mean staging_repo_version? (ansible-doc -t role factiii.infra.staging
    lists its variables); nothing was run'
results:
  description: On failure, the one Failed row C(<stage>-invalid-arguments).
  returned: failure
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    # The work is done by the action plugin on the controller; this only documents it.
    module = AnsibleModule(argument_spec={'stage': {'type': 'str', 'required': True,
                                                    'choices': ['dev', 'secrets', 'staging', 'prod', 'deploy']}},
                           supports_check_mode=True)
    module.fail_json(msg='factiii.infra.check_vars runs on the controller (its action plugin)')


if __name__ == '__main__':
    main()
