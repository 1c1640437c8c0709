#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: host_keys
short_description: Refuse a host whose SSH connection would not check its host key
version_added: 1.0.0
description:
  - Fails, with one line naming the fix, when the task's connection would accept any host key - its
    C(host_key_checking) is false (E(ANSIBLE_HOST_KEY_CHECKING=False), which ansible-runner, and so
    ansible-navigator and AWX, set unless told otherwise; C(host_key_checking = False) in an
    C(ansible.cfg); the inventory variable C(ansible_host_key_checking)), or C(StrictHostKeyChecking=no)
    is in its SSH arguments.
  - The inventory variable C(ansible_host_key_checking=true) wins over the environment and keeps checking on.
  - A connection without host keys (C(local), for example) passes.
  - The same check runs inside M(factiii.infra.stage) for every server stage; this module is for playbooks
    that reach a server without a stage first (C(factiii.infra.dev_sync)).
  - Runs on the controller only; it never connects to the host.
attributes:
  check_mode:
    support: full
    details:
      - It only reads the connection's settings, in check mode or not.
author:
  - factiii contributors (@factiii)
extends_documentation_fragment:
  - factiii.infra.attributes
  - factiii.infra.attributes.controller
options: {}
notes:
  - Pin each server's key in a known_hosts file named by C(ansible_ssh_common_args)
    (C(-o UserKnownHostsFile=...)), as C(inventories/example) shows.
'''

EXAMPLES = r'''
- name: Refuse a server whose host key would not be checked
  factiii.infra.host_keys:
'''

RETURN = r'''
msg:
  description: What was found.
  returned: always
  type: str
  sample: host key checking is on for staging-1
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    # The work is done by the action plugin on the controller; this only documents it.
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.fail_json(msg='factiii.infra.host_keys runs on the controller (its action plugin)')


if __name__ == '__main__':
    main()
