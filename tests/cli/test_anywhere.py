"""The CLI run from anywhere: ansible-playbook found next to its interpreter (else on PATH), one line
when it is nowhere; relative paths against the directory the CLI started in; what --on-server needs,
checked before anything runs; factiii-summary with a Python lacking ansible-core."""
import os
import subprocess
import sys

import pytest

from factiii_cli import local
from factiii_cli.errors import CliError
from support import ROOT, run_reported

EMPTY_STAGING = '''all:
  children:
    staging:
      hosts: {}
'''
REMOTE_STAGING = '''all:
  children:
    staging:
      hosts:
        web1:
          ansible_host: 127.0.0.1
'''
LOCAL_STAGING = '''all:
  children:
    staging:
      children:
        eu:
          hosts:
            staging-local:
              ansible_connection: local
'''


def _executable(path, text='#!/bin/sh\nexit 0\n'):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_ansible_playbook_next_to_the_interpreter_comes_before_path(tmp_path, monkeypatch):
    beside = _executable(tmp_path / 'venv' / 'bin' / 'ansible-playbook')
    _executable(tmp_path / 'elsewhere' / 'ansible-playbook')
    monkeypatch.setattr(sys, 'executable', str(tmp_path / 'venv' / 'bin' / 'python'))
    monkeypatch.setenv('PATH', str(tmp_path / 'elsewhere'))

    assert local.find_ansible('ansible-playbook') == str(beside)


def test_ansible_playbook_on_path_when_not_next_to_the_interpreter(tmp_path, monkeypatch):
    (tmp_path / 'venv' / 'bin').mkdir(parents=True)
    (tmp_path / 'venv' / 'bin' / 'ansible-playbook').write_text('not executable')
    on_path = _executable(tmp_path / 'elsewhere' / 'ansible-playbook')
    monkeypatch.setattr(sys, 'executable', str(tmp_path / 'venv' / 'bin' / 'python'))
    monkeypatch.setenv('PATH', str(tmp_path / 'elsewhere'))

    assert local.find_ansible('ansible-playbook') == str(on_path)


def test_ansible_playbook_nowhere_is_one_line_saying_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, 'executable', str(tmp_path / 'venv' / 'bin' / 'python'))
    monkeypatch.setenv('PATH', str(tmp_path / 'empty'))

    with pytest.raises(CliError) as caught:
        local.find_ansible('ansible-playbook')

    assert str(caught.value) == (
        'ansible-playbook not found: looked next to this Python (%s) and on PATH (%s): install ansible-core '
        'where the factiii command is installed' % (tmp_path / 'venv' / 'bin', tmp_path / 'empty'))


def test_the_cli_without_ansible_playbook_says_so_in_one_line(cli_env, tmp_path):
    """The real command: an interpreter whose directory has no ansible-playbook, none on PATH
    (before: `ansible-playbook exited 127`)."""
    env = dict(cli_env, PATH='/usr/bin:/bin')
    code = ('import sys; sys.executable = %r; from factiii_cli.main import main; sys.exit(main(["scan", "--dev"]))'
            % str(tmp_path / 'nowhere' / 'python'))

    proc = run_reported([sys.executable, '-c', code], env, 300, cwd=tmp_path)

    assert proc.returncode == 2, proc.report
    assert 'Traceback' not in proc.stderr and 'exited 127' not in proc.stderr, proc.report
    assert proc.stderr.rstrip('\n').splitlines()[-1] == (
        'factiii: error: ansible-playbook not found: looked next to this Python (%s) and on PATH (/usr/bin:/bin): '
        'install ansible-core where the factiii command is installed' % (tmp_path / 'nowhere')), proc.report


def test_an_ansible_playbook_that_cannot_start_says_why_in_one_line(cli_env, tmp_path):
    """An ansible-playbook whose #! interpreter is gone (a moved or removed venv) is found but cannot run
    (before: `ansible-playbook exited 127 (status failed)`)."""
    bin_dir = tmp_path / 'moved-venv-bin'
    bin_dir.mkdir()
    # this interpreter, from a directory that holds the broken ansible-playbook (found next to it)
    (bin_dir / 'python').symlink_to(sys.executable)
    (bin_dir / 'ansible-playbook').write_text('#!/nonexistent/python3\n')
    (bin_dir / 'ansible-playbook').chmod(0o755)
    paths = [p for p in sys.path if p.endswith('site-packages')] + [os.path.join(ROOT, 'cli', 'src')]
    env = dict(cli_env, PYTHONPATH=os.pathsep.join(paths))
    code = 'import sys; from factiii_cli.main import main; sys.exit(main(["scan", "--dev"]))'

    proc = run_reported([str(bin_dir / 'python'), '-c', code], env, 300, cwd=tmp_path)

    assert proc.returncode == 2, proc.report
    assert 'Traceback' not in proc.stderr and 'exited 127' not in proc.stderr, proc.report
    assert proc.stderr.rstrip('\n').splitlines()[-1] == (
        'factiii: error: the local run of dev (factiii.infra.scan) failed before reporting a failed fix: cannot run '
        '%s: its interpreter /nonexistent/python3 (its #! line) was not found; reinstall ansible-core there'
        % (bin_dir / 'ansible-playbook')), proc.report


def test_relative_paths_are_relative_to_where_the_cli_started(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    assert local.here('factiii/hosts.yml') == str(tmp_path / 'factiii' / 'hosts.yml')
    assert local.here('/etc/ansible/hosts') == '/etc/ansible/hosts'
    assert local.here('~/x.yml') == os.path.join(os.path.expanduser('~'), 'x.yml')
    # an inventory that is a host list stays one
    assert local.here('web1,web2') == 'web1,web2'


def test_relative_json_and_inventory_reach_the_run_as_absolute_paths(cli_env, factiii, tmp_path):
    """The real command from a subdirectory: ../hosts.yml and out.json are the user's, not runner's."""
    work = tmp_path / 'app' / 'sub'
    work.mkdir(parents=True)
    (tmp_path / 'app' / 'hosts.yml').write_text(
        'all:\n  children:\n    dev:\n      hosts:\n        devbox:\n          ansible_connection: local\n'
        '          ansible_python_interpreter: "{{ ansible_playbook_python }}"\n')

    proc = factiii('scan', '--dev', '--inventory', '../hosts.yml', '--json', 'out.json', env=cli_env, cwd=work)

    assert 'Traceback' not in proc.stderr, proc.report
    assert (work / 'out.json').is_file(), proc.report
    assert '[dev] devbox: dev-git-missing ' in proc.stderr, proc.report


def _check(collection, inventory_text, tmp_path, stages=('staging',)):
    path = tmp_path / 'hosts.yml'
    path.write_text(inventory_text)
    local.check_on_server(collection, list(stages), [str(path)])
    return str(path)


@pytest.fixture
def installed(ansible_env, monkeypatch):
    """The collection as the CLI finds it with the built collection installed."""
    for name in ('ANSIBLE_COLLECTIONS_PATH', 'PATH'):
        monkeypatch.setenv(name, ansible_env[name])
    from factiii_cli import collection
    return collection.Collection(ansible_env['ANSIBLE_COLLECTIONS_PATH'], 'test')


def test_on_server_refuses_an_empty_stage_group(installed, tmp_path):
    with pytest.raises(CliError) as caught:
        _check(installed, EMPTY_STAGING, tmp_path)
    assert str(caught.value) == (
        '--on-server runs the staging stage on this machine, but the staging group of %s has no host: put this '
        'machine in it with ansible_connection: local (as in the collection\'s inventories/on-server/hosts.yml)'
        % (tmp_path / 'hosts.yml'))


def test_on_server_refuses_a_host_reached_over_ssh(installed, tmp_path):
    with pytest.raises(CliError) as caught:
        _check(installed, REMOTE_STAGING, tmp_path)
    assert str(caught.value).startswith(
        '--on-server runs the staging stage on this machine, but web1 in the staging group of %s has '
        'ansible_connection: ssh: give it ansible_connection: local, or use --inventory ' % (tmp_path / 'hosts.yml'))


def test_on_server_needs_root_or_passwordless_sudo_unless_become_is_off(installed, tmp_path, monkeypatch):
    monkeypatch.setattr(local, 'can_become_root', lambda: False)
    with pytest.raises(CliError) as caught:
        _check(installed, LOCAL_STAGING, tmp_path)
    assert str(caught.value) == (
        '--on-server runs the staging stage as root (staging_become), but this user is not root and sudo -n '
        'does not work: run factiii as root, give this user passwordless sudo, or set staging_become: false')
    # staging_become from group_vars next to the inventory, as Ansible reads it
    (tmp_path / 'group_vars').mkdir()
    (tmp_path / 'group_vars' / 'staging.yml').write_text('staging_become: false\n')
    _check(installed, LOCAL_STAGING, tmp_path)
    monkeypatch.setattr(local, 'can_become_root', lambda: True)
    (tmp_path / 'group_vars' / 'staging.yml').unlink()
    _check(installed, LOCAL_STAGING, tmp_path)


def test_on_server_leaves_a_broken_inventory_to_the_run(installed, tmp_path):
    """Ansible's own error line says what is wrong with it (test_local's broken inventory test)."""
    _check(installed, 'all:\n  children:\n    staging:\n      hosts: [oops\n', tmp_path)


def test_root_or_passwordless_sudo(tmp_path, monkeypatch):
    monkeypatch.setattr(os, 'geteuid', lambda: 1000)
    monkeypatch.setenv('PATH', str(tmp_path))
    assert local.can_become_root() is False  # no sudo at all
    _executable(tmp_path / 'sudo', '#!/bin/sh\n[ "$1 $2" = "-n true" ] || exit 9\nexit 1\n')
    assert local.can_become_root() is False  # sudo asks for a password
    _executable(tmp_path / 'sudo', '#!/bin/sh\n[ "$1 $2" = "-n true" ] || exit 9\nexit 0\n')
    assert local.can_become_root() is True
    monkeypatch.setattr(os, 'geteuid', lambda: 0)
    monkeypatch.setenv('PATH', str(tmp_path / 'none'))
    assert local.can_become_root() is True


def test_summary_with_a_python_lacking_ansible_core_is_one_line(tmp_path):
    results = tmp_path / 'results.json'
    results.write_text('{}')
    # -S: no site-packages, so no ansible-core, as with a system python3
    proc = subprocess.run([sys.executable, '-S', os.path.join(ROOT, 'bin', 'factiii-summary'), str(results)],
                          capture_output=True, text=True, timeout=60, check=False)

    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ''
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith('factiii-summary: this Python (%s) cannot load the results_by_stage callback '
                               '(No module named \'ansible' % sys.executable), proc.stderr
    assert lines[0].endswith('run factiii-summary with the Python that runs ansible-playbook'), proc.stderr


def test_version_names_the_collection_used(cli_env, factiii, built_collection):
    from factiii_cli import __version__
    proc = factiii('--version', env=cli_env)

    assert proc.returncode == 0, proc.report
    assert proc.stdout.splitlines() == ['factiii %s' % __version__, 'factiii.infra %s, installed in %s' % (
        __version__, built_collection[1])], proc.report
