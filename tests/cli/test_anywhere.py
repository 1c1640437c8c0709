"""The CLI run from anywhere: ansible-playbook found next to its interpreter (else on PATH), one line
when it is nowhere; relative paths against the directory the CLI started in; what --on-server needs,
checked before anything runs; where the CLI and factiii-summary find the collection (no run-time link)."""
import os
import shutil
import subprocess
import sys

import pytest

from factiii_cli import local
from factiii_cli.errors import CliError
from support import ROOT, run_reported, tool

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


def _install(tarball, path):
    """ansible-galaxy collection install of ``tarball`` into ``path`` (a collections path)."""
    subprocess.run([tool('ansible-galaxy'), 'collection', 'install', '--force', '--no-deps', '-p', str(path), tarball],
                   check=True, capture_output=True, text=True, cwd=str(path.parent))
    return path / 'ansible_collections' / 'factiii' / 'infra'


def _results_file(cb, path):
    report = cb.new_report()
    cb.add_results(report, 'staging', 's1', [
        {'fix_id': 'staging-git-missing', 'status': 'fixed', 'msg': 'installed git', 'steps': []},
        {'fix_id': 'staging-docker-autostart', 'status': 'manual', 'msg': 'login', 'steps': ['enable auto-login']}])
    assert cb.write_json(report, str(path)) is None
    return report


def _summary(script, *args, cwd):
    """``script`` run as a workflow runs it, by a python3 with nothing but the standard library:
    -I (no PYTHONPATH, no user site), -S (no site-packages: no ansible-core, no checkout)."""
    return run_reported([sys.executable, '-I', '-S', str(script)] + [str(a) for a in args],
                        {'PATH': '/usr/bin:/bin'}, 60, cwd=cwd)


def test_summary_of_an_installed_collection_needs_no_checkout_nor_ansible_core(built_collection, cb, tmp_path):
    """Its own collection, found from where it is installed (before: a python3 without ansible-core
    could not load the report from the callback, exit 2)."""
    installed = _install(built_collection[0], tmp_path / 'collections')
    report = _results_file(cb, tmp_path / 'results.json')

    proc = _summary(installed / 'bin' / 'factiii-summary', tmp_path / 'results.json', cwd=tmp_path)

    assert proc.returncode == 0, proc.report
    assert '| STAGING | 1 | 1 | 0 | 0 |' in proc.stdout, proc.report
    assert '```text\n%s\n```' % cb.format_report(report) in proc.stdout, proc.report


def test_summary_in_a_checkout_uses_the_copy_scripts_setup_installed(built_collection, cb, tmp_path):
    """A checkout's bin/factiii-summary: its .collections (scripts/setup), nothing linked at run time;
    without it, one line saying where it looked."""
    checkout = tmp_path / 'checkout'
    (checkout / 'bin').mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, 'galaxy.yml'), str(checkout / 'galaxy.yml'))
    shutil.copy(os.path.join(ROOT, 'bin', 'factiii-summary'), str(checkout / 'bin' / 'factiii-summary'))
    report = _results_file(cb, tmp_path / 'results.json')

    proc = _summary(checkout / 'bin' / 'factiii-summary', tmp_path / 'results.json', cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == '', proc.report
    assert proc.stderr.splitlines() == [
        'factiii-summary: cannot find the factiii.infra collection: %s is not in an installed collection '
        '(<collections path>/ansible_collections/factiii/infra/bin/) nor in a checkout whose .collections holds it '
        '(scripts/setup): run the factiii-summary of the installed collection' % (checkout / 'bin')], proc.report

    _install(built_collection[0], checkout / '.collections')
    proc = _summary(checkout / 'bin' / 'factiii-summary', tmp_path / 'results.json', cwd=tmp_path)
    assert proc.returncode == 0, proc.report
    assert '```text\n%s\n```' % cb.format_report(report) in proc.stdout, proc.report
    assert sorted(os.listdir(str(checkout))) == ['.collections', 'bin', 'galaxy.yml']


def test_summary_that_cannot_find_its_collection_is_one_line(tmp_path):
    """A copy of the script anywhere else (before: it linked its directory as the collection, then
    failed to load the callback from there)."""
    script = tmp_path / 'bin' / 'factiii-summary'
    script.parent.mkdir()
    shutil.copy(os.path.join(ROOT, 'bin', 'factiii-summary'), str(script))
    (tmp_path / 'results.json').write_text('{}')

    proc = _summary(script, tmp_path / 'results.json', cwd=tmp_path)

    assert proc.returncode == 2 and proc.stdout == '', proc.report
    assert 'Traceback' not in proc.stderr, proc.report
    assert len(proc.stderr.splitlines()) == 1, proc.report
    assert proc.stderr.startswith('factiii-summary: cannot find the factiii.infra collection: %s is not in an '
                                  'installed collection' % script.parent), proc.report


def test_an_editable_install_uses_the_copy_scripts_setup_installed(tmp_path):
    """`pip install -e ./cli` in a checkout whose scripts/setup ran, used from elsewhere (no ansible.cfg,
    no collections path holds factiii.infra): the checkout's .collections, named by --version
    (before: the checkout itself, linked as a collection in a temporary directory at each run)."""
    from factiii_cli import __version__, collection
    if collection._checkout_root() != ROOT:  # pylint: disable=protected-access
        pytest.skip('the factiii CLI of this venv is not an editable install of this checkout')
    if not os.path.isfile(os.path.join(ROOT, '.collections', 'ansible_collections', 'factiii', 'infra', 'MANIFEST.json')):
        pytest.fail('run scripts/setup first: it installs the collection into .collections')
    (tmp_path / 'home').mkdir()
    (tmp_path / 'empty').mkdir()
    env = {'PATH': os.path.dirname(tool('factiii')) + os.pathsep + '/usr/bin:/bin', 'HOME': str(tmp_path / 'home'),
           'ANSIBLE_COLLECTIONS_PATH': str(tmp_path / 'empty')}

    proc = run_reported([tool('factiii'), '--version'], env, 120, cwd=tmp_path)

    assert proc.returncode == 0, proc.report
    assert proc.stdout.splitlines()[1].startswith('factiii.infra %s, installed in %s by scripts/setup' % (
        __version__, os.path.join(ROOT, '.collections'))), proc.report


def test_a_collection_without_the_report_library_is_older_than_the_cli(tmp_path):
    from factiii_cli import collection
    root = tmp_path / 'ansible_collections' / 'factiii' / 'infra'
    (root / 'plugins' / 'callback').mkdir(parents=True)
    (root / 'plugins' / 'callback' / 'results_by_stage.py').write_text('')
    (root / 'MANIFEST.json').write_text('{"collection_info": {"version": "1.0.0"}}')
    found = collection.Collection(str(tmp_path), 'test')

    with pytest.raises(CliError) as caught:
        found.results  # pylint: disable=pointless-statement

    assert str(caught.value) == (
        'factiii.infra in %s is older than this CLI (it has no plugins/plugin_utils/results.py): install the '
        'collection of the same version as the CLI' % root)


def test_version_names_the_collection_used(cli_env, factiii, built_collection):
    from factiii_cli import __version__
    proc = factiii('--version', env=cli_env)

    assert proc.returncode == 0, proc.report
    assert proc.stdout.splitlines() == ['factiii %s' % __version__, 'factiii.infra %s, installed in %s' % (
        __version__, built_collection[1])], proc.report
