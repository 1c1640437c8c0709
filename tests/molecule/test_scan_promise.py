"""Issue 14, point 7: a scan never promises a clone the fix cannot make (a real test host).

One test host (tests/testhost.py, prefix t14pr, loopback port 23920) with git installed and a
bare repository /opt/git/app.git owned by an unprivileged user `deploy` (no sudo), reached as
three inventory hosts with their own staging settings:

  missing   root; repo_url is a repository that does not exist on the host: the scan says
            Failed with git's reason (it used to say "would clone")
  unwritable  deploy, staging_become false; repo_dest /srv/app-deploy (/srv is root's): the scan
            says Failed, EACCES, naming the user (it used to say "would clone")
  writable  deploy, staging_become false; repo_dest in deploy's home: would clone

Then the fix: each host's fix row has the status its scan row announced, and only the writable
one has a clone.
"""
import json
import os
import subprocess

import yaml

from support import run_reported, tool
from testhost import TestHosts

PORT = 23920  # this file's loopback ports: 23920-23929
MISSING, UNWRITABLE, WRITABLE = 't14pr-missing', 't14pr-unwritable', 't14pr-writable'
ORIGIN = 'file:///opt/git/app.git'
AS_DEPLOY = {'ansible_user': 'deploy', 'staging_become': False}
SETTINGS = {
    MISSING: {'staging_repo_url': 'file:///opt/git/missing.git', 'staging_repo_dest': '/srv/app'},
    UNWRITABLE: dict(AS_DEPLOY, staging_repo_url=ORIGIN, staging_repo_dest='/srv/app-deploy'),
    WRITABLE: dict(AS_DEPLOY, staging_repo_url=ORIGIN, staging_repo_dest='/home/deploy/app'),
}


def prepare(hosts):
    host = hosts[0]
    host.exec('apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive '
              'apt-get -q -y install --no-install-recommends git >/dev/null')
    with open(hosts.key + '.pub') as handle:
        pub = handle.read()
    script = ('useradd -m -s /bin/bash deploy && install -d -m 0700 -o deploy -g deploy /home/deploy/.ssh && '
              'cat > /home/deploy/.ssh/authorized_keys && chown deploy: /home/deploy/.ssh/authorized_keys && '
              'chmod 0600 /home/deploy/.ssh/authorized_keys && install -d -m 0755 -o deploy -g deploy /opt/git && '
              'install -d -m 0755 -o root -g root /srv')
    # the origin: deploy's own (git refuses a repository another user owns)
    origin = ('set -e; cd /home/deploy; git init -q -b main work; cd work; echo one > app.txt; git add app.txt; '
              'git -c user.name=t -c user.email=t@example.com commit -q -m one; '
              'git clone -q --bare /home/deploy/work /opt/git/app.git; rm -rf /home/deploy/work')
    subprocess.run(['docker', 'exec', '-i', host.name, 'sh', '-c', script], input=pub, text=True, check=True,
                   capture_output=True)
    subprocess.run(['docker', 'exec', '-u', 'deploy', host.name, 'sh', '-c', origin], text=True, check=True,
                   capture_output=True)


def run_stage(ansible_env, hosts, tmp_path, playbook):
    name = os.path.basename(playbook).split('.')[0]
    inventory = tmp_path / ('%s.yml' % name)
    inventory.write_text(yaml.safe_dump({'all': {'children': {'staging': {
        'hosts': dict((alias, dict(hosts.ssh_vars(hosts[0]), **settings)) for alias, settings in SETTINGS.items()),
        'vars': {'staging_fixes': ['repo-not-cloned']}}}}}))
    results = tmp_path / ('%s.json' % name)
    env = dict(ansible_env, FACTIII_RESULTS_JSON=str(results), ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp_path / name))
    proc = run_reported([tool('ansible-playbook'), '-i', str(inventory), playbook, '-l', 'staging'], env, 600)
    for stream in (proc.stdout, proc.stderr):
        assert 'Traceback (most recent call last)' not in stream, proc.report
    assert results.exists(), proc.report
    data = json.loads(results.read_text())
    rows = {}
    for alias in SETTINGS:
        found = [r for r in data['stages']['staging']['hosts'][alias]['results']
                 if r['fix_id'] == 'staging-repo-not-cloned']
        assert len(found) == 1 and '\n' not in found[0]['msg'], (found, proc.report)
        rows[alias] = found[0]
    return proc, rows


def test_a_scan_says_failed_where_the_clone_would_fail_and_the_fix_agrees(test_host_image, ansible_env, tmp_path):
    with TestHosts('t14pr', 1, tmp_path, base_port=PORT) as hosts:
        prepare(hosts)
        host = hosts[0]
        proc, scan = run_stage(ansible_env, hosts, tmp_path, 'playbooks/scan.yml')
        assert proc.returncode != 0, proc.report
        assert scan[MISSING]['status'] == 'failed', proc.report
        assert scan[MISSING]['msg'] == ("git ls-remote file:///opt/git/missing.git failed: fatal: "
                                        "'/opt/git/missing.git' does not appear to be a git repository"), proc.report
        assert scan[UNWRITABLE]['status'] == 'failed', proc.report
        assert scan[UNWRITABLE]['msg'] == ('cannot clone into /srv/app-deploy: cannot create a directory in /srv: '
                                           'Permission denied (EACCES) (running as deploy)'), proc.report
        assert (scan[WRITABLE]['status'], scan[WRITABLE]['msg']) == (
            'fixed', 'would clone %s into /home/deploy/app' % ORIGIN), proc.report
        for line in ('Failed: staging-repo-not-cloned [%s]: %s' % (MISSING, scan[MISSING]['msg']),
                     'Failed: staging-repo-not-cloned [%s]: %s' % (UNWRITABLE, scan[UNWRITABLE]['msg'])):
            assert line in proc.stdout, proc.report
        # a scan changes nothing
        assert host.exec('ls -A /srv').stdout.split() == [], proc.report
        assert host.exec('test -e /home/deploy/app', check=False).returncode == 1, proc.report

        proc, fix = run_stage(ansible_env, hosts, tmp_path, 'playbooks/fix.yml')
        # what the scan announced is what the fix did
        assert dict((a, r['status']) for a, r in fix.items()) == dict((a, r['status']) for a, r in scan.items()), \
            proc.report
        assert fix[MISSING]['msg'].startswith('git clone failed: fatal:'), proc.report
        assert fix[UNWRITABLE]['msg'] == scan[UNWRITABLE]['msg'], proc.report
        assert host.exec('ls -A /srv').stdout.split() == [], proc.report
        assert host.exec('stat -c %U /home/deploy/app/app.txt').stdout.strip() == 'deploy'
