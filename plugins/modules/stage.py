#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: stage
short_description: Run every fix of a stage in one execution on the host
version_added: 1.0.0
description:
  - Runs all fixes of one stage (C(dev), C(staging), C(prod)) in ONE Python process on the host,
    so a stage costs one SSH login per host, whatever the number of fixes; a scan is one module round trip.
  - A fix runs as an async job on the host (it goes on to its end if the controller stops), polled
    every 2 seconds over the same connection; the action prints the step each host is on when it
    changes and at least every 10 seconds, for example the packages of its one package transaction.
  - Fixes run in dependency order (docker installed before it is started, git before the clone);
    the packages every fix is missing are installed in one package-manager transaction.
  - In check mode this is the scan - every fix says what it would do and nothing changes.
  - The C(secrets) stage runs on the controller only (its action plugin checks the repository's
    GitHub Actions secrets through the GitHub REST API); nothing is executed on a host for it.
  - The whole run holds this host's lock, shared by scans and exclusive for a fix, whichever
    controller started it; a run that cannot get it within O(lock_timeout) returns one C(failed) row
    C(<stage>-host-busy) naming the run that holds it, and changes nothing.
  - Checks of your own (O(checks)) run in the same execution and are reported like the built-in fixes.
  - Any C(failed) fix fails the task; C(manual) alone does not.
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - The action plugin validates the options and refuses a host whose host key would not be checked, then runs
        the module once on the host; the C(secrets) stage runs on the controller only.
author:
  - factiii contributors (@factiii)
extends_documentation_fragment:
  - factiii.infra.attributes
  - factiii.infra.attributes.actiongroup_infra
  - factiii.infra.attributes.scan
  - factiii.infra.attributes.host
  - factiii.infra.common
  - factiii.infra.fixes
  - factiii.infra.secrets
  - factiii.infra.checks
options:
  stage:
    description:
      - The stage to run; also the prefix of every reported C(fix_id).
    type: str
    required: true
    choices: [dev, secrets, staging, prod]
  _progress_file:
    description:
      - Internal, set only by the action plugin during a fix - the file on the host the module writes
        its current step to. A task cannot set it (the action refuses it).
    type: path
'''

EXAMPLES = r'''
- name: Fix the staging stage in one round trip
  factiii.infra.stage:
    stage: staging
    node_min_major: 20
    repo_url: git@github.com:example/app.git
    repo_dest: /srv/app
    repo_version: main
    repo_key: "{{ lookup('ansible.builtin.env', 'STAGING_DEPLOY_KEY') }}"
    repo_known_hosts:
      - "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
  become: true

- name: The staging stage with three checks of the team's own, in the same round trip
  factiii.infra.stage:
    stage: staging
    checks:
      # a systemd unit enabled (and started) at boot
      - name: app-enabled
        check: [systemctl, is-enabled, app.service]
        fix: [systemctl, enable, --now, app.service]
      # a port answering (the app may still be starting: curl retries); curl installed with the
      # stage's other packages; when the app does not answer, a human looks at it
      - name: app-port
        check: [curl, --silent, --fail, --max-time, '3', --retry, '5', --retry-delay, '1', --retry-connrefused,
                --output, /dev/null, 'http://127.0.0.1:8080/health']
        packages: [curl]
        requires: [app-enabled]
        manual:
          - "journalctl -u app.service -n 50  # why the app does not answer on port 8080"
        timeout: 20
      # a file with the right mode (the shell is asked for explicitly)
      - name: env-file-mode
        check: test "$(stat -c %a /srv/app/.env)" = 600
        fix: [chmod, '0600', /srv/app/.env]
        shell: true
        after: [repo-not-cloned]
  become: true

- name: Check the required GitHub secrets exist (controller side)
  factiii.infra.stage:
    stage: secrets
    github_repo: example/app
    secrets: [STAGING_SSH, PROD_SSH]

# The common options, set once for the stage module and every fix module of a block or play
# (the action group factiii.infra.infra)
- name: Scan staging with a longer wait for the host's lock and for apt's
  module_defaults:
    group/factiii.infra.infra:
      lock_timeout: 900
      package_lock_timeout: 600
  block:
    - name: Scan the staging stage
      factiii.infra.stage:
        stage: staging
        repo_url: git@github.com:example/app.git
        repo_dest: /srv/app
      check_mode: true
      become: true
'''

RETURN = r'''
stage:
  description: The stage that ran.
  returned: always
  type: str
  sample: staging
check_mode:
  description: Whether this was a scan (C(fixed) then means "would fix").
  returned: always
  type: bool
results:
  description: One entry per fix, in the order they ran.
  returned: always
  type: list
  elements: dict
  contains:
    fix_id:
      description: C(<stage>-<fix>), the original tool's naming; C(<stage>-<name>) for a check of O(checks).
      type: str
      sample: staging-docker-missing
    status:
      description: C(ok), C(fixed), C(manual) or C(failed).
      type: str
    msg:
      description: One line saying what was found or done.
      type: str
    steps:
      description: For C(manual), the exact steps a human must take.
      type: list
      elements: str
    details:
      description: Extra facts the fix found.
      type: dict
counts:
  description: Number of fixes per status.
  returned: always
  type: dict
  sample: {ok: 4, fixed: 2, manual: 1, failed: 0}
'''

from ansible_collections.factiii.infra.plugins.module_utils.module import run_stage_module


def main():
    run_stage_module()


if __name__ == '__main__':
    main()
