"""Issue 8, bad input: one clear line, a non-zero exit, never a traceback, nothing changed.

Every case runs ansible-playbook (the collection built from this tree, the repo's ansible.cfg)
against one throwaway staging host (factiii-badin-input-0, port 23460) that has no git and no app
directory. After each case the host is checked: still no git, no /srv/app, and - where the input
is refused on the controller - not a single SSH login.
"""
import json
import os

import pytest
import yaml

from ansible_collections.factiii.infra.plugins.module_utils.batch import fix_names
from support import run_reported, tool
from testhost import TestHosts

DEST = '/srv/app'
BASE_VARS = {'staging_repo_url': 'file:///srv/origin.git', 'staging_repo_dest': DEST,
             'staging_fixes': ['git-missing', 'repo-not-cloned']}


class Bad:
    def __init__(self, hosts, env, tmp):
        self.hosts = hosts
        self.host = hosts[0]
        self.env = env
        self.tmp = tmp
        self.inventory = hosts.inventory({'staging': hosts.names}, {'staging': BASE_VARS})
        self.runs = 0

    def run(self, *args, env=None):
        self.logins_before = self.host.ssh_logins()
        self.runs += 1
        run_env = dict(self.env, ANSIBLE_SSH_CONTROL_PATH_DIR=str(self.tmp / ('cp%d' % self.runs)))
        run_env.update(env or {})
        if '-i' not in args:
            args = ('-i', self.inventory) + args
        argv = [tool('ansible-playbook')] + list(args)
        return run_reported(argv, run_env, 600)

    def play(self, name, stage_args):
        """A playbook calling factiii.infra.stage directly with ``stage_args``."""
        path = self.tmp / ('%s.yml' % name)
        path.write_text(yaml.safe_dump([{
            'name': 'Direct stage call', 'hosts': 'staging', 'gather_facts': False, 'become': True,
            'tasks': [{'name': 'Run the stage', 'factiii.infra.stage': stage_args}],
        }]))
        return str(path)

    def unchanged(self, logins):
        """Still no git, no app directory; ``logins``: the SSH logins the last run made there."""
        assert self.host.exec('command -v git', check=False).returncode != 0, 'git was installed'
        assert self.host.exec('test ! -e %s' % DEST, check=False).returncode == 0, '%s was created' % DEST
        assert self.host.ssh_logins() - self.logins_before == logins


@pytest.fixture(scope='module')
def bad(test_host_image, ansible_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('bad_input')
    # factiii-badin-input-0 on 23460 (test_faults_ssh.py has factiii-badin-0..6 on 23450-23456)
    with TestHosts('badin-input', 1, tmp, base_port=23460) as hosts:
        yield Bad(hosts, ansible_env, tmp)


def one_line_error(proc, message):
    """Non-zero exit, no traceback, and ``message`` inside one line of the output."""
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, proc.report
    assert 'Traceback' not in text, proc.report
    assert any(message in line for line in text.splitlines()), proc.report


def test_unknown_stage_as_limit(bad):
    proc = bad.run('playbooks/fix.yml', '-l', 'qa')
    one_line_error(proc, 'Specified inventory, host pattern and/or --limit leaves us with no hosts to target.')
    bad.unchanged(logins=0)


def test_unknown_stage_given_to_the_module(bad):
    proc = bad.run(bad.play('unknown_stage', {'stage': 'qa'}))
    one_line_error(proc, 'value of stage must be one of: dev, secrets, staging, prod, got: qa')
    bad.unchanged(logins=0)


def test_unknown_fix_name_in_the_role(bad, tmp_path):
    results = tmp_path / 'r.json'
    proc = bad.run('playbooks/fix.yml', '-l', 'staging', '-e', json.dumps({'staging_fixes': ['git-missing', 'no-such-fix']}),
                   env={'FACTIII_RESULTS_JSON': str(results)})
    # the choices are every fix, in run order (declared by the fixes, not listed here)
    assert fix_names()[:7] == ['git-missing', 'node-missing', 'docker-missing', 'repo-not-cloned', 'pnpm-missing',
                               'docker-not-running', 'docker-autostart']
    one_line_error(proc, 'value of staging_fixes must be one or more of: %s. Got no match for: no-such-fix'
                   % ', '.join(fix_names()))
    assert 'Scan and fix stage' not in proc.stdout, proc.report
    # the report says it too, as a Failed row of the stage (a workflow reads the JSON)
    row = ('   Failed: staging-invalid-arguments: role factiii.infra.staging: value of staging_fixes must be one or more '
           'of: git-missing,')
    assert any(line.startswith(row) for line in proc.stdout.splitlines()), proc.report
    data = json.loads(results.read_text())
    assert data['total']['failed'] == 1
    bad.unchanged(logins=0)


def test_unknown_fix_name_given_to_the_module(bad):
    proc = bad.run(bad.play('unknown_fix', {'stage': 'staging', 'fixes': ['git-missing', 'no-such-fix'],
                                            'repo_url': 'file:///x', 'repo_dest': DEST}))
    one_line_error(proc, "unknown fix 'no-such-fix' for stage staging (known: git-missing, node-missing, ")
    bad.unchanged(logins=0)


def test_malformed_inventory_yaml(bad, tmp_path):
    broken = tmp_path / 'hosts.yml'
    broken.write_text('all:\n  children:\n    staging: [factiii-badin-input-0\n')
    proc = bad.run('-i', str(broken), 'playbooks/fix.yml', '-l', 'staging')
    one_line_error(proc, 'Completely failed to parse inventory source %s' % broken)
    bad.unchanged(logins=0)


@pytest.mark.parametrize('value', ['twenty', '20.5', '[20]'])
def test_node_min_major_not_a_number(bad, value):
    proc = bad.run('playbooks/fix.yml', '-l', 'staging', '-e', 'staging_node_min_major=%s' % value)
    one_line_error(proc, "argument 'staging_node_min_major' is of type str and we were unable to convert to int")
    bad.unchanged(logins=0)


def test_node_min_major_not_a_number_given_to_the_module(bad):
    proc = bad.run(bad.play('node_major', {'stage': 'staging', 'fixes': ['node-missing'], 'node_min_major': 'twenty'}))
    one_line_error(proc, "argument 'node_min_major' is of type str and we were unable to convert to int")
    bad.unchanged(logins=0)


@pytest.mark.parametrize('url', ['', '   '])
def test_empty_repo_url(bad, url):
    proc = bad.run('playbooks/fix.yml', '-l', 'staging', '-e', json.dumps({'staging_repo_url': url}))
    one_line_error(proc, 'staging-repo-not-cloned needs repo_url, and it is empty (in the roles: staging_repo_url); '
                         'nothing was run')
    bad.unchanged(logins=0)


def test_missing_deploy_key_file(bad):
    proc = bad.run('playbooks/fix.yml', '-l', 'staging', '-e', 'staging_repo_key_file=/root/no-such-key')
    one_line_error(proc, '   Failed: staging-repo-not-cloned: deploy key file /root/no-such-key does not exist')
    # the key is on the host: the stage ran there once, and stopped before git-missing could install git
    bad.unchanged(logins=1)


def test_world_readable_deploy_key_file(bad):
    bad.host.exec('umask 022; echo not-a-key > /root/deploy_key; chmod 0644 /root/deploy_key')
    try:
        proc = bad.run('playbooks/fix.yml', '-l', 'staging', '-e', 'staging_repo_key_file=/root/deploy_key')
        one_line_error(proc, '   Failed: staging-repo-not-cloned: deploy key file /root/deploy_key is readable by '
                             'others (mode 0644): chmod 600 /root/deploy_key')
        bad.unchanged(logins=1)
    finally:
        bad.host.exec('rm -f /root/deploy_key')


@pytest.mark.parametrize('where', ['missing-dir', 'a-directory'])
def test_results_json_that_cannot_be_written_stops_before_anything_runs(bad, tmp_path, where):
    path = tmp_path / 'no-such-dir' / 'results.json' if where == 'missing-dir' else tmp_path
    proc = bad.run('playbooks/fix.yml', '-l', 'staging', env={'FACTIII_RESULTS_JSON': str(path)})
    why = 'directory %s does not exist' % (tmp_path / 'no-such-dir') if where == 'missing-dir' else 'it is a directory'
    one_line_error(proc, 'results_json: cannot write %s: %s; nothing was run' % (path, why))
    assert proc.returncode == 5, proc.report
    assert 'PLAY [' not in proc.stdout and 'TASK [' not in proc.stdout, proc.report
    assert not os.path.exists(tmp_path / 'no-such-dir')
    bad.unchanged(logins=0)


def test_the_same_run_with_a_writable_results_json_does_run(bad, tmp_path):
    """The control case of the one above: the same command, the path fixed, runs the stage."""
    results = tmp_path / 'results.json'
    proc = bad.run('playbooks/scan.yml', '-l', 'staging', env={'FACTIII_RESULTS_JSON': str(results)})
    assert proc.returncode == 0, proc.report
    assert 'TASK [factiii.infra.server : Scan and fix stage staging]' in proc.stdout, proc.report
    assert json.loads(results.read_text())['check_mode'] is True
    bad.unchanged(logins=1)
