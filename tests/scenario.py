"""Run molecule scenarios phase by phase, with the collection built from this tree.

Used by tests/molecule (whose conftest builds the test host image).

The test host image is built first (tests/hosts/build-image); a scenario that
cannot get its hosts fails, it never skips. Each scenario's hosts are destroyed
at the end of its test module, whatever happened.
"""
import json
import os
import subprocess

import pytest
import testinfra

from support import run_reported, tool


class Molecule:
    """One scenario: `run('converge', results=path)` runs a molecule command."""

    def __init__(self, scenario, env, tmp_path):
        self.scenario = scenario
        self.env = env
        self.tmp_path = tmp_path
        self.runs = 0

    def run(self, command, *args, results=None, check=True, timeout=1800):
        env = dict(self.env)
        if results is not None:
            env['FACTIII_RESULTS_JSON'] = str(results)
        # A fresh ControlPersist socket dir per run: each run's SSH logins are its own.
        self.runs += 1
        env['ANSIBLE_SSH_CONTROL_PATH_DIR'] = str(self.tmp_path / ('cp%d' % self.runs))
        argv = [tool('molecule'), command, '-s', self.scenario] + list(args)
        proc = run_reported(argv, env, timeout)
        if check:
            assert proc.returncode == 0, proc.report
        return proc

    def ephemeral(self, name):
        """A file the scenario's prepare wrote into molecule's ephemeral directory."""
        # molecule keeps it under ~/.ansible/tmp/molecule.<project hash>.<scenario>
        base = os.path.expanduser('~/.ansible/tmp')
        found = sorted((os.path.getmtime(p), p) for p in (
            os.path.join(base, entry, name) for entry in os.listdir(base)
            if entry.startswith('molecule.') and entry.endswith('.' + self.scenario)) if os.path.exists(p))
        assert found, '%s not found in the ephemeral directory of %s' % (name, self.scenario)
        with open(found[-1][1]) as handle:
            return handle.read()


def scenario_fixture(name):
    """A module-scoped fixture: the scenario created and prepared, destroyed afterwards.

    Its playbooks find the built collection tarball in $FACTIII_COLLECTION_TARBALL
    (to install it on a host, as the on-server path does).
    """
    @pytest.fixture(scope='module')
    def fixture(test_host_image, ansible_env, built_collection, tmp_path_factory):
        env = dict(ansible_env)
        env.pop('ANSIBLE_CONFIG', None)  # molecule writes its own ansible.cfg
        env['FACTIII_COLLECTION_TARBALL'] = built_collection[0]
        mol = Molecule(name, env, tmp_path_factory.mktemp('molecule-' + name))
        mol.run('destroy', check=False)
        try:
            mol.run('create')
            mol.run('prepare')
            yield mol
        finally:
            mol.run('destroy', check=False)
    return fixture


def results(path):
    with open(path) as handle:
        return json.load(handle)


def rows(data, stage, host):
    return dict((r['fix_id'], r) for r in data['stages'][stage]['hosts'][host]['results'])


def docker_exec(container, command):
    """Run a shell command in a test host through docker (not SSH: the sshd logs stay the product's)."""
    proc = subprocess.run(['docker', 'exec', container, 'sh', '-c', command],
                          capture_output=True, text=True, check=False)
    return proc


def host_state(container):
    """What a scan must not change, read by testinfra (docker backend, so no SSH login):
    packages, running services, enabled units, the app dir and global npm bins."""
    host = testinfra.get_host('docker://' + container)
    listing = host.run("systemctl list-units --type=service --state=running --no-legend --plain | awk '{print $1}'")
    return {
        'packages': host.check_output("dpkg-query -W -f='${Package} ${Version}\\n'"),
        # user@0 is root's systemd session from logging in, not from factiii
        'running': [unit for unit in listing.stdout.split() if not unit.startswith('user@')],
        'enabled': host.check_output("systemctl list-unit-files --state=enabled --no-legend | awk '{print $1}'"),
        'files': host.check_output('ls -la /srv /usr/local/bin 2>&1'),
        'docker_running': host.service('docker').is_running,
    }


def ssh_logins(container):
    """Accepted SSH logins so far, from the host's sshd log."""
    proc = docker_exec(container, 'journalctl -u ssh --no-pager -o cat | grep -c "Accepted publickey" || true')
    return int(proc.stdout.strip() or 0)


def run_fix(ansible_env, hosts, tmp_path, name, group_vars, *extra, playbook='playbooks/fix.yml'):
    """`ansible-playbook playbooks/fix.yml -l staging` (or ``playbook``: scan.yml) over ``hosts``;
    (proc, results JSON, seconds)."""
    inventory = hosts.inventory({'staging': hosts.names}, {'staging': group_vars}, name='%s.yml' % name)
    results = tmp_path / ('%s.json' % name)
    env = dict(ansible_env, FACTIII_RESULTS_JSON=str(results),
               ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp_path / ('cp-%s' % name)))
    argv = [tool('ansible-playbook'), '-i', inventory, playbook, '-l', 'staging'] + list(extra)
    proc = run_reported(argv, env, 900)
    for stream in (proc.stdout, proc.stderr):
        assert 'Traceback (most recent call last)' not in stream, proc.report
    assert os.path.exists(str(results)), proc.report
    with open(str(results)) as handle:
        return proc, json.load(handle), proc.seconds


def row(data, host, fix):
    """The row of staging-<fix> on ``host``, checked to be one line."""
    found = rows(data, 'staging', host.name)['staging-' + fix]
    assert '\n' not in found['msg'], found
    return found
