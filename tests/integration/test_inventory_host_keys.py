"""Issue 18 point 3: the inventories users start from keep host key checking on under ansible-runner.

ansible-runner (so ansible-navigator and AWX) sets ANSIBLE_HOST_KEY_CHECKING=False unless it is set,
and a server stage is then refused (plugins/plugin_utils/host_keys.py) unless the inventory says
`ansible_host_key_checking: true`: every server of inventories/example and of what `factiii init`
writes (app-template/) must carry it. tests/molecule/test_ee.py runs the refusal through the runner.
"""
import json
import os

import pytest

from support import ROOT, run_reported, tool

SERVER_STAGES = ('staging', 'prod')


@pytest.mark.parametrize('inventory', ['inventories/example', 'app-template/factiii'])
def test_every_server_of_the_inventory_keeps_host_key_checking_on(inventory):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_'))
    # --list resolves each host's variables (group_vars included) as Ansible does
    proc = run_reported([tool('ansible-inventory'), '-i', os.path.join(ROOT, inventory), '--list'], env, 120)
    assert proc.returncode == 0, proc.report
    data = json.loads(proc.stdout)
    servers = [host for stage in SERVER_STAGES for host in data.get(stage, {}).get('hosts', [])]
    assert servers, 'no staging or prod host in %s' % inventory
    hostvars = data['_meta']['hostvars']
    for host in servers:
        assert hostvars[host].get('ansible_host_key_checking') is True, (inventory, host, hostvars[host])
