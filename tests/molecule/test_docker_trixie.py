"""Issue 16, point 1, on a real Debian 13 host: docker stopped after a fix is found and started.

Debian 13's docker.io (26.1.x) has a Docker CLI that exits 0 from
`docker info --format '{{.ServerVersion}}'` when dockerd is down (docker/cli#5900, fixed in
28.1.0), so "docker info exited 0" no longer means "docker runs". One trixie test host
(tests/hosts/build-image with FACTIII_TEST_SUITE=trixie; tests/testhost.py, prefix t16dk,
loopback port 23970) with docker.io installed, running and enabled, then stopped
(docker.service and docker.socket): the scan says docker-not-running would start it, with
docker's own reason; the fix starts it; a second fix finds it running and changes nothing.
Also on Debian 13: docker.io has no CLI (that is docker-cli, which docker.io only recommends);
installed without recommends, docker-missing installs docker-cli.
"""
import os
import subprocess

import pytest

from scenario import row, run_fix
from testhost import TestHosts

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PORT = 23970  # this file's loopback ports: 23970-23979
IMAGE = 'factiii-test-host:trixie'
FIXES = ['docker-missing', 'docker-not-running', 'docker-autostart']
DOWN = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?'
SETTINGS = {'staging_repo_url': 'file:///opt/git/app.git', 'staging_repo_dest': '/srv/app',
            'staging_fixes': FIXES}


@pytest.fixture(scope='module')
def trixie_image():
    """The Debian 13 test host image (reused while its inputs are unchanged)."""
    proc = subprocess.run(['bash', os.path.join(ROOT, 'tests', 'hosts', 'build-image')], capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL, timeout=1200,
                          env=dict(os.environ, FACTIII_TEST_SUITE='trixie'))
    if proc.returncode != 0:
        pytest.fail('cannot build the trixie test host image:\n%s%s' % (proc.stdout, proc.stderr))
    return IMAGE


def statuses(data, host):
    return dict((name, row(data, host, name)['status']) for name in FIXES)


def test_docker_stopped_on_debian_13_is_found_and_started(trixie_image, ansible_env, tmp_path):
    with TestHosts('t16dk', 1, tmp_path, base_port=PORT, image=trixie_image) as hosts:
        host = hosts[0]
        assert host.exec('cat /etc/debian_version').stdout.startswith('13.')
        # trixie's docker.io has no CLI: that is docker-cli, which docker.io only recommends
        host.exec('export DEBIAN_FRONTEND=noninteractive; apt-get -q update >/dev/null && '
                  'apt-get -q -y install --no-install-recommends docker.io docker-cli >/dev/null')
        version = host.exec('docker --version').stdout.strip()
        assert host.exec('systemctl is-active docker').stdout.strip() == 'active'
        assert host.exec('systemctl is-enabled docker').stdout.strip() == 'enabled'
        # stopped after a fix: the socket too, or the first docker call would start dockerd again
        host.exec('systemctl stop docker.socket docker.service')
        assert host.exec('systemctl is-active docker', check=False).stdout.strip() == 'inactive'
        # what this docker really answers with dockerd down: exit 0, an empty line, the reason on stderr
        down = host.exec("LANG=C docker info --format '{{.ServerVersion}}'", check=False)
        assert (down.returncode, down.stdout, down.stderr.strip()) == (0, '\n', DOWN), (version, down)

        proc, scan, seconds_scan = run_fix(ansible_env, hosts, tmp_path, 'scan', SETTINGS,
                                           playbook='playbooks/scan.yml')
        assert statuses(scan, host) == {'docker-missing': 'ok', 'docker-not-running': 'fixed',
                                        'docker-autostart': 'ok'}, proc.report
        assert row(scan, host, 'docker-not-running')['msg'] == 'would start docker (%s)' % DOWN
        assert host.exec('systemctl is-active docker', check=False).stdout.strip() == 'inactive'

        proc, fix, seconds_fix = run_fix(ansible_env, hosts, tmp_path, 'fix', SETTINGS)
        assert proc.returncode == 0, proc.report
        assert statuses(fix, host) == {'docker-missing': 'ok', 'docker-not-running': 'fixed',
                                       'docker-autostart': 'ok'}, proc.report
        assert host.exec('systemctl is-active docker').stdout.strip() == 'active'
        server = host.exec("docker info --format '{{.ServerVersion}}'").stdout.strip()
        assert server.startswith('26.1.'), server

        started = host.exec('systemctl show -p ActiveEnterTimestampMonotonic docker').stdout
        proc, again, seconds_again = run_fix(ansible_env, hosts, tmp_path, 'again', SETTINGS)
        assert proc.returncode == 0, proc.report
        assert statuses(again, host) == dict.fromkeys(FIXES, 'ok'), proc.report
        assert row(again, host, 'docker-not-running')['msg'] == 'docker is running (server %s)' % server
        # and it left docker alone: not restarted
        assert host.exec('systemctl show -p ActiveEnterTimestampMonotonic docker').stdout == started
    print('%s; scan %.1fs, fix %.1fs, second fix %.1fs' % (version, seconds_scan, seconds_fix, seconds_again))


def test_docker_io_without_its_cli_on_debian_13_gets_docker_cli(trixie_image, ansible_env, tmp_path):
    with TestHosts('t16dk', 1, tmp_path, base_port=PORT + 2, image=trixie_image) as hosts:
        host = hosts[0]
        # docker.io installed without its recommends: dockerd runs, there is no `docker`
        host.exec('export DEBIAN_FRONTEND=noninteractive; apt-get -q update >/dev/null && '
                  'apt-get -q -y install --no-install-recommends docker.io >/dev/null')
        assert host.exec('command -v docker', check=False).returncode != 0
        assert host.exec('systemctl is-active docker').stdout.strip() == 'active'

        proc, scan, seconds_scan = run_fix(ansible_env, hosts, tmp_path, 'scan', SETTINGS,
                                           playbook='playbooks/scan.yml')
        assert row(scan, host, 'docker-missing')['msg'] == 'would install docker (docker.io docker-cli)', proc.report

        proc, fix, seconds_fix = run_fix(ansible_env, hosts, tmp_path, 'fix', SETTINGS)
        assert proc.returncode == 0, proc.report
        assert statuses(fix, host) == {'docker-missing': 'fixed', 'docker-not-running': 'ok',
                                       'docker-autostart': 'ok'}, proc.report
        assert host.exec('docker --version').stdout.startswith('Docker version 26.1.')
    print('scan %.1fs, fix %.1fs' % (seconds_scan, seconds_fix))
