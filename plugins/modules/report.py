#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: report
short_description: Print RESULTS BY STAGE at the end of the stages, without the callback
version_added: 1.0.0
description:
  - The last play of the C(factiii.infra.scan) and C(factiii.infra.fix) playbooks. It builds the report
    from the outcome each stage play kept on its hosts (the stage task's result, the failure its
    C(rescue) caught, or the unreachable result), with the report library of the
    P(factiii.infra.results_by_stage#callback) callback, so the text and the JSON are the same.
  - When that callback is not enabled (no C(callbacks_enabled) in an C(ansible.cfg), no
    E(ANSIBLE_CALLBACKS_ENABLED)), it prints the report and writes the JSON to E(FACTIII_RESULTS_JSON)
    if set. When the callback is enabled, the callback does both, once, and this task prints nothing.
  - Fails (one line) when any fix failed or a host was unreachable, so the run exits non-zero.
  - Runs on the controller only; it never connects to a host.
attributes:
  check_mode:
    support: full
    details:
      - In check mode (a scan) it prints the report and writes E(FACTIII_RESULTS_JSON) too - they are the scan's output.
author:
  - factiii contributors (@factiii)
extends_documentation_fragment:
  - factiii.infra.attributes
  - factiii.infra.attributes.controller
options: {}
notes:
  - Reads the fact C(factiii__outcomes) of each host of its play, which C(playbooks/stages.yml) sets;
    outside those playbooks it reports nothing.
  - The JSON path is read from the environment variable E(FACTIII_RESULTS_JSON) only (the callback's
    C(results_json) ini setting applies to the callback).
seealso:
  - plugin: factiii.infra.results_by_stage
    plugin_type: callback
'''

EXAMPLES = r'''
- name: Report the stages
  hosts: all
  gather_facts: false
  tasks:
    - name: Print RESULTS BY STAGE and fail when a fix failed
      factiii.infra.report:
      run_once: true
      delegate_to: localhost
'''

RETURN = r'''
total:
  description: Number of results per status over all stages.
  returned: always
  type: dict
  sample: {ok: 4, fixed: 2, manual: 1, failed: 0}
check_mode:
  description: Whether the run is a scan (its fixed results are "would fix").
  returned: always
  type: bool
  sample: true
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    # The work is done by the action plugin on the controller; this only documents it.
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.fail_json(msg='factiii.infra.report runs on the controller (its action plugin)')


if __name__ == '__main__':
    main()
