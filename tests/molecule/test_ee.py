"""Issue 18 points 1-3: the collection inside its execution environment (EE), run the way AWX runs it.

The Debian variant of meta/execution-environment.yml (tests/ee_image.py: built with ansible-builder,
cached by a hash of its inputs) runs the staging scan and fix of real throwaway Debian hosts
(tests/testhost.py, ports 24240-24259) three ways: ansible-navigator with the EE, ansible-runner
with process isolation in the EE image, and `ansible-runner transmit | docker run IMAGE ansible-runner
worker | ansible-runner process` (an AWX execution node). Each: RESULTS BY STAGE in the job's
output (from runner's artifacts), one SSH authentication per host per stage, nothing changed by the scan.

The containers use `--network host`: the hosts' sshd listen on 127.0.0.1:<port> only (test traffic
stays on loopback), which a container reaches only in the machine's own network namespace.

ansible-runner sets ANSIBLE_HOST_KEY_CHECKING=False unless it is set: a server stage must then be
refused (host_keys.py) unless the inventory says `ansible_host_key_checking: true`.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest
import yaml

import ee_image
from support import run_reported, tool
from testhost import TestHosts

pytestmark = pytest.mark.skipif(os.environ.get('FACTIII_INTEGRATION') != '1',
                                reason='real hosts and an image build: set FACTIII_INTEGRATION=1 (scripts/test does)')

PREFIX, BASE_PORT = 'ee18', 24240   # this file's loopback ports: 24240-24259
PATHS = ('navigator', 'runner', 'transmit')
STAGE_VARS = {'staging_repo_url': 'root@factiii-nowhere:/srv/git/app.git', 'staging_repo_dest': '/srv/app',
              'staging_fixes': ['git-missing'], 'ansible_python_interpreter': '/usr/bin/python3'}
# ansible-runner's event markers in the display's output (navigator -m stdout passes them on):
# base64 chunks, each erased again by cursor moves
EVENT_MARKER = re.compile(r'\x1b\[K[A-Za-z0-9+/=]*\x1b\[\d+D')
FIX_HINT = 'set ansible_host_key_checking: true for it in the inventory'


@pytest.fixture(scope='module')
def image(test_host_image):
    """The EE image's name (its base is the test host image's base)."""
    try:
        return ee_image.build()
    except ee_image.EEError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope='module')
def hosts(test_host_image, tmp_path_factory):
    # one host per path, and one for the host key checks
    with TestHosts(PREFIX, len(PATHS) + 1, tmp_path_factory.mktemp('hosts'), base_port=BASE_PORT) as made:
        yield made


def runner_env():
    """The controller's environment without Ansible settings: ansible-runner sets its own."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'FACTIII_')))
    env['PATH'] = os.path.dirname(tool('ansible-runner')) + os.pathsep + env.get('PATH', '')
    return env


def private_data_dir(tmp_path, hosts, host, checking=True, known_hosts=None):
    """An ansible-runner private data dir: project/{scan,fix}.yml (the collection's playbooks, as
    an AWX project would import them) and inventory/hosts.yml for ``host`` in staging."""
    pdd = tmp_path / 'pdd'
    (pdd / 'project').mkdir(parents=True)
    (pdd / 'inventory').mkdir()
    for mode in ('scan', 'fix'):
        (pdd / 'project' / ('%s.yml' % mode)).write_text(
            '---\n- name: The factiii %s\n  ansible.builtin.import_playbook: factiii.infra.%s\n' % (mode, mode))
    host_vars = hosts.ssh_vars(host)
    if known_hosts:
        host_vars['ansible_ssh_common_args'] = host_vars['ansible_ssh_common_args'].replace(
            hosts.known_hosts, known_hosts)
    if checking:
        host_vars['ansible_host_key_checking'] = True
    inventory = {'all': {'children': {'staging': {'hosts': {host.name: host_vars}, 'vars': STAGE_VARS}}}}
    (pdd / 'inventory' / 'hosts.yml').write_text(yaml.safe_dump(inventory))
    return pdd


def artifacts(run_dir):
    """(rc, the job's stdout rebuilt from its events) of a run's artifacts directory."""
    events = []
    for path in glob.glob(os.path.join(run_dir, 'job_events', '*.json')):
        with open(path, encoding='utf-8') as handle:
            events.append(json.load(handle))
    events.sort(key=lambda e: e['counter'])
    with open(os.path.join(run_dir, 'rc'), encoding='utf-8') as handle:
        rc = int(handle.read().strip())
    return rc, '\n'.join(e['stdout'].replace('\r\n', '\n') for e in events if e.get('stdout'))


def run_ee(path, image, pdd, mode, workdir):
    """Run project/<mode>.yml of ``pdd`` in the EE one of three ways; returns (rc, job stdout, proc)."""
    playbook = '%s.yml' % mode
    mount = '%s:%s:ro' % (workdir, workdir)  # the key and known_hosts, at the inventory's paths
    env = runner_env()
    if path == 'navigator':
        # its own directory for the run: navigator writes its log and settings beside it
        argv = [tool('ansible-navigator'), 'run', str(pdd / 'project' / playbook), '-i',
                str(pdd / 'inventory' / 'hosts.yml'), '--ee', 'true', '--ce', 'docker', '--eei', image,
                '--pp', 'never', '-m', 'stdout', '--pae', 'false', '--lf', str(pdd / 'navigator.log'),
                '--eev', mount, '--co=--network=host']
        proc = run_reported(argv, env, 600, cwd=pdd)
        return proc.returncode, EVENT_MARKER.sub('', proc.stdout).replace('\x1b[K', ''), proc
    if path == 'runner':
        argv = [tool('ansible-runner'), 'run', str(pdd), '-p', playbook, '--ident', mode, '--process-isolation',
                '--process-isolation-executable', 'docker', '--container-image', image,
                '--container-volume-mount', mount, '--container-option=--network=host']
        proc = run_reported(argv, env, 600)
        rc, stdout = artifacts(str(pdd / 'artifacts' / mode))
        return rc, stdout, proc
    # transmit | worker in a container | process, as AWX's receptor runs a job on an execution node
    out = pdd.parent / 'processed'
    out.mkdir(exist_ok=True)
    script = ('set -o pipefail; "$1" transmit "$2" -p "$3" | docker run -i --rm --user 0 --network host -v "$4" '
              '"$5" ansible-runner worker --private-data-dir=/runner | "$1" process "$6"')
    argv = ['bash', '-c', script, 'ee', tool('ansible-runner'), pdd, playbook, mount, image, out]
    proc = run_reported(argv, env, 600)
    rc, stdout = artifacts(str(out / 'artifacts'))  # process writes no <ident>/ level
    shutil.rmtree(out)
    return rc, stdout, proc


def report_block(stdout):
    match = re.search(r'^RESULTS BY STAGE\n.*?^TOTAL: [^\n]*$', stdout, re.M | re.S)
    return match.group(0) if match else None


def git_installed(host):
    return host.exec('command -v git', check=False).returncode == 0


@pytest.mark.parametrize('path', PATHS)
def test_scan_and_fix_in_the_ee(image, hosts, tmp_path, path):
    host = hosts[PATHS.index(path)]
    pdd = private_data_dir(tmp_path, hosts, host)
    assert not git_installed(host)
    for mode, row in (('scan', 'Would fix'), ('fix', 'Fixed')):
        logins = host.ssh_logins()
        rc, stdout, proc = run_ee(path, image, pdd, mode, hosts.workdir)
        assert rc == 0, '%s\n--- job stdout\n%s' % (proc.report, stdout[-5000:])
        block = report_block(stdout)
        assert block, 'no RESULTS BY STAGE in the job output:\n%s\n%s' % (stdout[-5000:], proc.report)
        assert re.search(r'^   %s: staging-git-missing: ' % row, block, re.M), block
        assert 'Traceback' not in stdout + proc.stderr, proc.report
        assert host.ssh_logins() - logins == 1, 'SSH authentications of one %s stage run: %d' % (
            mode, host.ssh_logins() - logins)
        if mode == 'scan':
            assert not git_installed(host), 'the scan installed git'
            assert host.exec('test -e /srv/app', check=False).returncode != 0, 'the scan created /srv/app'
    assert git_installed(host), 'the fix did not install git'


@pytest.fixture
def wrong_known_hosts(hosts):
    """A known_hosts pinning another key for the host key test host's address."""
    host = hosts[len(PATHS)]
    key = tempfile.mkdtemp(prefix='ee-key-', dir=hosts.workdir)
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', os.path.join(key, 'k')], check=True,
                   capture_output=True)
    with open(os.path.join(key, 'k.pub'), encoding='utf-8') as handle:
        line = '[127.0.0.1]:%d %s' % (host.port, handle.read())
    path = os.path.join(hosts.workdir, 'wrong_known_hosts')
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(line)
    return path


def test_host_keys_under_ansible_runner(image, hosts, tmp_path, wrong_known_hosts):
    # through transmit | worker | process, as AWX runs a job (ansible-runner sets the variable in the worker)
    path, host = 'transmit', hosts[len(PATHS)]
    logins = host.ssh_logins()
    # runner's ANSIBLE_HOST_KEY_CHECKING=False, no inventory setting, a wrong pinned key: refused, no login
    pdd = private_data_dir(tmp_path / 'off', hosts, host, checking=False, known_hosts=wrong_known_hosts)
    rc, stdout, proc = run_ee(path, image, pdd, 'scan', hosts.workdir)
    assert rc != 0, 'a scan with host key checking off ran:\n%s' % stdout[-5000:]
    refusals = [line for line in stdout.splitlines() if 'host key checking is off for %s' % host.name in line]
    assert refusals, 'no refusal in the job output:\n%s\n%s' % (stdout[-5000:], proc.report)
    assert 'from env: ANSIBLE_HOST_KEY_CHECKING' in refusals[0] and FIX_HINT in refusals[0], refusals
    assert 'Traceback' not in stdout
    assert host.ssh_logins() == logins, 'the refused run logged in'
    # the inventory setting on, the same wrong key: ssh refuses the host
    pdd = private_data_dir(tmp_path / 'wrong', hosts, host, known_hosts=wrong_known_hosts)
    rc, stdout, proc = run_ee(path, image, pdd, 'scan', hosts.workdir)
    assert rc != 0, 'a scan with a wrong pinned host key ran:\n%s' % stdout[-5000:]
    assert 'Host key verification failed' in stdout or 'host key changed' in stdout, stdout[-5000:]
    assert host.ssh_logins() == logins, 'a run with a wrong host key logged in'
    # the inventory setting on and the right key: it runs
    pdd = private_data_dir(tmp_path / 'right', hosts, host)
    rc, stdout, proc = run_ee(path, image, pdd, 'scan', hosts.workdir)
    assert rc == 0, '%s\n--- job stdout\n%s' % (proc.report, stdout[-5000:])
    assert report_block(stdout), stdout[-5000:]
    assert host.ssh_logins() == logins + 1
