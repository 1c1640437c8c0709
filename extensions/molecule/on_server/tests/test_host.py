"""testinfra: what only the on-server run leaves (molecule verify); what every fixed server
must have is in ../../shared/tests/test_converged_server.py, run in the same verify."""
import os

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ['MOLECULE_INVENTORY_FILE']).get_hosts('onserver')


def test_the_host_runs_its_own_ansible(host):
    # the stage ran from the host's venv, with the collection installed there
    assert host.file('/opt/factiii/venv/bin/ansible-playbook').is_file
    assert host.file('/opt/factiii/collections/ansible_collections/factiii/infra/MANIFEST.json').is_file
    assert host.file('/root/factiii-results.json').is_file
