#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: deploy_outcome
short_description: The deploy's steps as rows of its stage in RESULTS BY STAGE
version_added: 1.0.0
description:
  - Used by the P(factiii.infra.deploy#role) role. From the results its tasks registered, returns the stage's
    result shape (C(stage), C(results), C(counts)), so the P(factiii.infra.results_by_stage#callback) callback
    and M(factiii.infra.report) show the deploy's steps as rows of the stage - C(<stage>-deploy-checkout),
    C(<stage>-deploy-start), C(<stage>-deploy-health), C(<stage>-deploy-rollback) - in the text, the JSON and
    the job summary.
  - 'With O(batch) (the result of the stage''s fix batch), one Failed row C(<stage>-deploy-start) when that batch
    leaves the app without what it needs - C(not started: staging-node-missing is manual; nothing was checked out):
    any Failed fix; a Manual C(git-missing), C(repo-not-cloned), C(node-missing) or C(pnpm-missing); a Manual
    C(docker-missing) or C(docker-not-running) when O(start_command) runs C(docker). C(docker-autostart) never
    stops a deploy (it is about the next boot).'
  - Fails, with one line naming the ref, the failed step and the rollback's outcome, when a row is Failed.
  - Runs on the controller only; it never connects to a host.
attributes:
  check_mode:
    support: full
    details:
      - It only reads the results it is given, in check mode or not.
author:
  - factiii contributors (@factiii)
extends_documentation_fragment:
  - factiii.infra.attributes
  - factiii.infra.attributes.controller
options:
  stage:
    description: The stage deployed to.
    type: str
    required: true
    choices: [staging, prod]
  ref:
    description: The ref deployed.
    type: str
    required: true
  batch:
    description: The registered result of the stage's fix batch (or the failure that stopped it).
    type: dict
  start_command:
    description: The start command (only whether it runs C(docker) is used).
    type: str
  checkout:
    description: The registered result of M(factiii.infra.deploy_checkout) with its C(ref).
    type: dict
  start:
    description: The registered result of the start command.
    type: dict
  health:
    description: The registered result of the health check.
    type: dict
  restore:
    description: The registered result of M(factiii.infra.deploy_checkout) with its C(restore) (the rollback).
    type: dict
  restart:
    description: The registered result of the start command at the restored commit.
    type: dict
  rehealth:
    description: The registered result of the health check at the restored commit.
    type: dict
  health_url:
    description: The health URL; unset when there is no health check.
    type: str
  health_status_codes:
    description: HTTP status codes that count as healthy.
    type: list
    elements: int
    default: [200]
'''

EXAMPLES = r'''
- name: Report the deploy's steps
  factiii.infra.deploy_outcome:
    stage: staging
    ref: v1.2.0
    checkout: "{{ deploy__checkout }}"
    start: "{{ deploy__start }}"
'''

RETURN = r'''
stage:
  description: The stage.
  returned: always
  type: str
  sample: staging
results:
  description: One row per step, as the stage's own rows (C(fix_id), C(status), C(msg), C(steps)).
  returned: always
  type: list
  elements: dict
  sample: [{fix_id: staging-deploy-start, status: failed, msg: "start command failed (rc 3): no health page", steps: []}]
counts:
  description: Number of rows per status.
  returned: always
  type: dict
  sample: {ok: 0, fixed: 2, manual: 0, failed: 1}
msg:
  description: One line; when a row failed, the ref, the failed step and the rollback's outcome.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

STEPS = ('checkout', 'start', 'health', 'restore', 'restart', 'rehealth')
# The options documented above; the action plugin validates its task's arguments against them.
ARGUMENT_SPEC = dict(
    [(step, {'type': 'dict'}) for step in STEPS],
    stage={'type': 'str', 'required': True, 'choices': ['staging', 'prod']},
    ref={'type': 'str', 'required': True},
    batch={'type': 'dict'},
    start_command={'type': 'str'},
    health_url={'type': 'str'},
    health_status_codes={'type': 'list', 'elements': 'int', 'default': [200]},
)


def main():
    # The work is done by the action plugin on the controller; this only documents it.
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg='factiii.infra.deploy_outcome runs on the controller (its action plugin)')


if __name__ == '__main__':
    main()
