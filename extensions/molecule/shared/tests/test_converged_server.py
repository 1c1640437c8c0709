"""testinfra: what a fixed staging/prod server must have (molecule verify of the servers and
on_server scenarios; each names its hosts in FACTIII_VERIFY_HOSTS, an Ansible host pattern)."""
import os

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ['MOLECULE_INVENTORY_FILE']).get_hosts(os.environ['FACTIII_VERIFY_HOSTS'])


def test_git_node_pnpm(host):
    assert host.run('git --version').stdout.startswith('git version ')
    node = host.run('node --version').stdout.strip()
    assert int(node.lstrip('v').split('.')[0]) >= 18
    # the app's package.json asks for pnpm@9.15.0, which wins over pnpm_version
    assert host.run('pnpm --version').stdout.strip() == '9.15.0'


def test_docker_runs_now_and_at_boot(host):
    docker = host.service('docker')
    assert docker.is_running
    assert docker.is_enabled
    assert host.run('docker info --format "{{.ServerVersion}}"').rc == 0


def test_app_repo_cloned_at_v1(host):
    with open(os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'app_v1_commit'), encoding='utf-8') as handle:
        v1 = handle.read().strip()
    assert host.run('git -C /srv/app rev-parse HEAD').stdout.strip() == v1
    assert host.file('/srv/app/package.json').contains('pnpm@9.15.0')
    assert not host.file('/srv/app/LATER').exists
