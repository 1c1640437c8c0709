"""User checks (issue 17 point 4) through the stage batch: every status, every bad declaration,
the one package transaction (simulated Debian host), and real timeouts (real processes)."""
import os
import time

import pytest

from ansible_collections.factiii.infra.plugins.module_utils.options import argument_spec
from ansible_collections.factiii.infra.plugins.module_utils.batch import stage_argument_spec
from ansible_collections.factiii.infra.plugins.module_utils.platforms import debian as debian_mod
from ansible_collections.factiii.infra.plugins.module_utils.platforms.debian import Debian
from ansible_collections.factiii.infra.plugins.module_utils.registry import FIXES
from ansible_collections.factiii.infra.plugins.module_utils import runner as runner_mod
from ansible_collections.factiii.infra.plugins.module_utils.runner import TIMEOUT_BINS, Runner
from ansible_collections.factiii.infra.plugins.module_utils.batch import run_fixes
from ansible_collections.factiii.infra.plugins.module_utils.user_checks import (
    OPTIONS, secret_lines, user_checks,
)

from fake import RealModule
from sim_debian import SimDebian

PARAMS = {'node_min_major': 20, 'pnpm_version': '10', 'package_lock_timeout': 30,
          'docker_start_timeout': 5, 'repo_known_hosts': []}
LIMIT = next(path for path in TIMEOUT_BINS if os.access(path, os.X_OK))
CONVERGED = ('git', 'nodejs', 'npm', 'docker.io')


def decl(name, check, **extra):
    """A declaration as the module gets it: every option present, unset ones at their default."""
    spec = OPTIONS['checks']['options']
    found = dict((key, option.get('default')) for key, option in spec.items())
    found.update(name=name, check=check, **extra)
    return found


class Host(SimDebian):
    """A simulated Debian host that also answers the user checks' commands.

    ``answers`` maps a command (tuple, without coreutils timeout in front) to a list of
    (rc, out, err), one per run, the last one repeated; ``bins`` adds programs."""

    def __init__(self, answers=None, bins=None, **kwargs):
        super(Host, self).__init__(**kwargs)
        self.answers = dict((k, list(v)) for k, v in (answers or {}).items())
        self.bins = dict(bins or {})
        self.user_calls = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        if name == 'jq' and 'jq' in self.packages:
            return '/usr/bin/jq'
        return self.bins.get(name) or super(Host, self).get_bin_path(name, required, opt_dirs)

    def run_command(self, argv, environ_update=None, data=None, cwd=None, check_rc=False, binary_data=False):
        argv = list(argv)
        if argv[0] == LIMIT:
            argv = argv[3:]
        if tuple(argv) in self.answers:
            self.calls.append(argv)
            self.user_calls.append(argv)
            queue = self.answers[tuple(argv)]
            return queue.pop(0) if len(queue) > 1 else queue[0]
        return super(Host, self).run_command(argv, environ_update, data, cwd, check_rc, binary_data)


@pytest.fixture(autouse=True)
def simulated(monkeypatch):
    monkeypatch.setattr(Debian, '_systemd', lambda self: True)
    monkeypatch.setattr(Debian, '_lists_age', lambda self: 10)
    monkeypatch.setattr(Runner, 'program_owner', lambda self, path: None)


def run(host, checks, names=(), check_mode=False, module_runner=None):
    debian_mod.os.geteuid = lambda: host.euid
    params = dict(PARAMS, checks=checks)
    platform = Debian(module_runner or Runner(host), check_mode=check_mode, options=params)
    platform.clock, platform.sleep = host.clock, host.sleep
    platform.lock_holders = host.lock_holders
    fixes = [FIXES[n](platform, params) for n in names] + user_checks(platform, params, FIXES, list(names))
    return run_fixes(fixes, 'staging', check_mode)


@pytest.fixture(autouse=True)
def restore_geteuid():
    real = debian_mod.os.geteuid
    yield
    debian_mod.os.geteuid = real


def by_id(rows):
    return dict((r['fix_id'][len('staging-'):], r) for r in rows)


ENABLED = ('/usr/bin/systemctl', 'is-enabled', 'app.service')
ENABLE = ('/usr/bin/systemctl', 'enable', '--now', 'app.service')
SYSTEMCTL = {'systemctl': '/usr/bin/systemctl'}
UNIT = decl('app-enabled', ['systemctl', 'is-enabled', 'app.service'],
            fix=['systemctl', 'enable', '--now', 'app.service'])


def test_a_passing_check_is_ok_with_its_first_output_line():
    host = Host({ENABLED: [(0, '\nenabled\nmore\n', '')], ('/bin/sh', '-c', 'test -f /etc/x'): [(0, '', '')]},
                SYSTEMCTL)
    rows = by_id(run(host, [UNIT, decl('x-file', 'test -f /etc/x', shell=True)]))
    assert rows['app-enabled'] == dict(rows['app-enabled'], status='ok', msg='enabled')
    assert rows['x-file'] == dict(rows['x-file'], status='ok', msg='check passed')
    assert host.user_calls == [list(ENABLED), ['/bin/sh', '-c', 'test -f /etc/x']]


def test_a_scan_runs_only_the_check_and_says_what_the_fix_would_run():
    host = Host({ENABLED: [(1, 'disabled\n', '')]}, SYSTEMCTL, check_mode=True)
    rows = by_id(run(host, [UNIT], check_mode=True))
    assert rows['app-enabled']['status'] == 'fixed'
    assert rows['app-enabled']['msg'] == 'would run: systemctl enable --now app.service (check: disabled)'
    assert host.user_calls == [list(ENABLED)]


def test_a_fix_runs_the_fix_then_verifies_and_a_second_fix_changes_nothing():
    host = Host({ENABLED: [(1, 'disabled\n', ''), (0, 'enabled\n', '')], ENABLE: [(0, '', 'Created symlink\n')]},
                SYSTEMCTL)
    rows = by_id(run(host, [UNIT]))
    assert rows['app-enabled'] == dict(rows['app-enabled'], status='fixed',
                                       msg='done: run: systemctl enable --now app.service (check: disabled)')
    assert host.user_calls == [list(ENABLED), list(ENABLE), list(ENABLED)]
    host.user_calls = []
    rows = by_id(run(host, [UNIT]))
    assert rows['app-enabled']['status'] == 'ok' and host.user_calls == [list(ENABLED)]


def test_a_fix_that_fails_is_failed_with_its_reason():
    host = Host({ENABLED: [(1, 'disabled\n', '')],
                 ENABLE: [(1, '', 'Failed to enable unit: Unit file app.service does not exist.\n')]}, SYSTEMCTL)
    rows = by_id(run(host, [UNIT]))
    assert rows['app-enabled'] == dict(rows['app-enabled'], status='failed', msg=(
        'fix systemctl enable --now app.service failed: Failed to enable unit: Unit file app.service does not exist.'))


def test_a_fix_that_leaves_the_check_failing_is_failed_with_the_checks_reason():
    host = Host({ENABLED: [(1, 'masked\n', '')], ENABLE: [(0, '', '')]}, SYSTEMCTL)
    rows = by_id(run(host, [UNIT]))
    assert rows['app-enabled'] == dict(rows['app-enabled'], status='failed',
                                       msg='still not right after the fix: masked')


def test_without_fix_or_packages_a_failing_check_is_manual_with_its_steps():
    port = ('/bin/sh', '-c', 'ss -ltn | grep -q ":8080 "')
    host = Host({port: [(1, '', '')], ('/usr/bin/stat', '-c', '%a', '/etc/app.conf'): [(0, '644\n', '')],
                 ('/usr/bin/test', '600', '=', '644'): [(1, '', '')]}, {'stat': '/usr/bin/stat'})
    checks = [decl('port-8080', port[2], shell=True, manual=['start the app: systemctl start app']),
              decl('conf-mode', ['/usr/bin/test', '600', '=', '644'])]
    rows = by_id(run(host, checks))
    assert rows['port-8080'] == dict(rows['port-8080'], status='manual', msg='check failed: exit code 1',
                                     steps=['start the app: systemctl start app'])
    assert rows['conf-mode']['status'] == 'manual'
    assert rows['conf-mode']['steps'] == ['make `/usr/bin/test 600 = 644` succeed, then re-run the stage']


def test_a_program_that_is_not_there_is_failed_in_one_line():
    host = Host()
    rows = by_id(run(host, [decl('tool', ['nosuchtool', '--version'], fix=['true'])]))
    assert rows['tool'] == dict(rows['tool'], status='failed', msg='nosuchtool: command not found')
    shell = Host({('/bin/sh', '-c', 'nosuch'): [(127, '', '/bin/sh: 1: nosuch: not found\n')]})
    rows = by_id(run(shell, [decl('tool', 'nosuch', shell=True)]))
    assert rows['tool'] == dict(rows['tool'], status='failed', msg='cannot run nosuch: /bin/sh: 1: nosuch: not found')


def test_an_absolute_program_that_is_not_executable_is_failed_and_not_run(tmp_path):
    data = tmp_path / 'data.txt'
    data.write_text('not a program')
    host = Host()
    rows = by_id(run(host, [decl('odd', [str(data), '--check'])]))
    assert rows['odd'] == dict(rows['odd'], status='failed', msg='%s: not an executable file' % data)
    assert host.calls == []


def test_a_shell_check_whose_program_a_package_brings_would_install_it():
    host = Host({('/bin/sh', '-c', 'jq -n 1'): [(127, '', '/bin/sh: 1: jq: not found\n')]}, check_mode=True)
    rows = by_id(run(host, [decl('jq', 'jq -n 1', shell=True, packages=['jq'])], check_mode=True))
    assert rows['jq'] == dict(rows['jq'], status='fixed',
                              msg='would install jq (check: cannot run jq -n 1: /bin/sh: 1: jq: not found)')


def test_packages_join_the_one_transaction_of_the_built_in_fixes():
    jq = ('/usr/bin/jq', '--version')
    host = Host({jq: [(0, 'jq-1.6\n', '')]}, packages=('nodejs', 'npm', 'docker.io'))
    check = decl('jq', ['jq', '--version'], packages=['jq'])
    scan = by_id(run(host, [check], names=['git-missing'], check_mode=True))
    assert scan['jq'] == dict(scan['jq'], status='fixed', msg='would install jq (check: jq: command not found)')
    assert not host.installs()
    rows = by_id(run(host, [check], names=['git-missing']))
    assert host.installs() == [['apt-get', '-o', 'DPkg::Lock::Timeout=30', '-q', '-y', 'install', 'git', 'jq']]
    assert rows['jq'] == dict(rows['jq'], status='fixed', msg='done: install jq (check: jq: command not found)')
    assert rows['git-missing']['status'] == 'fixed'
    again = by_id(run(host, [check], names=['git-missing']))
    assert again['jq'] == dict(again['jq'], status='ok', msg='jq-1.6') and len(host.installs()) == 1


def test_a_check_that_requires_a_manual_fix_is_not_attempted_and_checks_run_after_what_they_require():
    first = ('/bin/sh', '-c', 'first')
    host = Host({first: [(0, 'one\n', '')]}, euid=1000)  # no sudo: docker-missing is manual
    checks = [decl('second', 'docker info', shell=True, requires=['docker-missing', 'first']),
              decl('first', 'first', shell=True)]
    rows = run(host, checks, names=['docker-missing'])
    assert [r['fix_id'] for r in rows] == ['staging-docker-missing', 'staging-first', 'staging-second']
    assert [r['status'] for r in rows] == ['manual', 'ok', 'manual']
    assert rows[2]['msg'].startswith('not attempted: needs staging-docker-missing, which is manual')
    assert host.user_calls == [list(first)]


@pytest.mark.parametrize('checks, names, problem', [
    ([decl('git-missing', ['true'])], [], 'check name git-missing is taken by a built-in fix'),
    ([decl('host-busy', ['true'])], [], 'check name host-busy is taken by a built-in row'),
    ([decl('Bad_Name', ['true'])], [], "bad check name 'Bad_Name': use lower-case letters, digits and -"),
    ([decl('a', ['true']), decl('a', ['true'])], [], 'check name a is declared twice'),
    ([decl('a', None)], [], 'check is missing'),
    ([decl('a', 'systemctl is-enabled x')], [],
     'check is a string: give a list (program and arguments), or set shell: true'),
    ([decl('a', ['true'], fix='rm -rf /tmp/x')], [],
     'fix is a string: give a list (program and arguments), or set shell: true'),
    ([decl('a', ['true', 3])], [], 'check must be a list of non-empty strings (program and arguments)'),
    ([decl('a', ' ', shell=True)], [], 'check is an empty string'),
    ([decl('a', ['true'], requires=['nope'])], [],
     'requires names nope, which is neither a built-in fix nor a check'),
    ([decl('a', ['true'], after=['nope'])], [], 'after names nope, which is neither a built-in fix nor a check'),
    ([decl('a', ['true'], requires=['repo-not-cloned'])], ['git-missing'],
     'requires repo-not-cloned, which this stage does not run'),
    ([decl('a', ['true'], requires=['a'])], [], 'requires names the check itself'),
    ([decl('a', ['true'], packages=['-oAPT::Foo=1'])], [], "bad package name '-oAPT::Foo=1' (a literal package name)"),
    ([decl('a', ['true'], timeout=0)], [], 'timeout must be a positive number of seconds'),
])
def test_a_bad_declaration_is_one_failed_row_and_nothing_runs(checks, names, problem):
    host = Host()
    rows = run(host, checks, names=names)
    assert [(r['status'], r['msg']) for r in rows] == [('failed', 'bad check: %s; nothing was run' % problem)]
    assert host.calls == []


def test_a_cycle_is_one_failed_row_and_nothing_runs():
    host = Host()
    rows = run(host, [decl('a', ['true'], requires=['b']), decl('b', ['true'], after=['c']),
                      decl('c', ['true'], requires=['a'])], names=['git-missing'])
    assert [(r['fix_id'], r['status'], r['msg']) for r in rows] == [
        ('staging-fix-order', 'failed', 'the fixes depend on each other in a cycle: a -> b -> c -> a; nothing was run')]
    assert host.calls == []


def test_the_declaration_gives_the_module_spec_and_its_documentation():
    spec = stage_argument_spec()['checks']
    assert spec == argument_spec(OPTIONS)['checks']
    assert 'description' not in spec and all('description' not in o for o in spec['options'].values())
    assert spec['options']['timeout'] == {'type': 'int', 'default': 30}


def test_each_line_of_a_private_key_is_a_secret():
    key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nshort\n-----END OPENSSH PRIVATE KEY-----\n'
    assert secret_lines([key, 'token123']) == {
        '-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAA', '-----END OPENSSH PRIVATE KEY-----',
        'token123'}


# Real processes: the timeout kills the check and what it started.

def test_a_hung_check_is_killed_with_its_children_after_its_timeout(tmp_path):
    marker = tmp_path / 'child-survived'
    host = Host()
    hung = decl('hangs', '(sleep 2; touch %s) & sleep 30' % marker, shell=True, timeout=1)
    start = time.monotonic()
    rows = by_id(run(host, [hung, decl('next', ['true'])], module_runner=Runner(RealModule())))
    took = time.monotonic() - start
    assert rows['hangs'] == dict(rows['hangs'], status='failed', msg=(
        '(sleep 2; touch %s) & sleep 30 timed out after 1 s (no answer, or too slow)' % marker))
    assert rows['next']['status'] == 'ok'  # the stage goes on
    assert took < 5, took
    time.sleep(2.5)
    assert not marker.exists()  # the background child went with the shell's process group


def test_a_check_without_packages_runs_in_its_turn_after_the_fix_it_requires():
    enabled = decl('app-enabled', ['systemctl', 'is-enabled', 'app.service'],
                   fix=['systemctl', 'enable', '--now', 'app.service'])
    port = decl('app-port', 'port-open', shell=True, requires=['app-enabled'])
    jq = ('/usr/bin/jq', '--version')
    host = Host({ENABLED: [(1, 'disabled\n', ''), (0, 'enabled\n', '')], ENABLE: [(0, '', '')],
                 ('/bin/sh', '-c', 'port-open'): [(0, 'port answers\n', '')], jq: [(0, 'jq-1.6\n', '')]},
                SYSTEMCTL, packages=CONVERGED)
    rows = by_id(run(host, [enabled, port, decl('jq', ['jq', '--version'], packages=['jq'])]))
    assert [r['status'] for r in rows.values()] == ['fixed', 'ok', 'fixed']
    # the port is checked after the unit was enabled; jq's check before the transaction
    assert host.user_calls == [list(ENABLED), list(ENABLE), list(ENABLED), ['/bin/sh', '-c', 'port-open'], list(jq)]


def test_without_coreutils_timeout_perl_kills_a_hung_check_and_its_children(tmp_path, monkeypatch):
    # macOS has no coreutils timeout: the system's perl limits the check the same way
    monkeypatch.setattr(runner_mod, 'TIMEOUT_BINS', ('/nonexistent/timeout',))
    module = RealModule()
    marker = tmp_path / 'child-survived'
    checks = [decl('hangs', '(sleep 2; touch %s) & sleep 30' % marker, shell=True, timeout=1),
              decl('stubborn', 'trap "" TERM; sleep 30', shell=True, timeout=1),
              decl('exits-3', 'echo why >&2; exit 3', shell=True),
              decl('passes', ['echo', 'fine'])]
    monkeypatch.setattr(runner_mod, 'TIMEOUT_KILL_AFTER', 1)
    start = time.monotonic()
    rows = by_id(run(Host(), checks, module_runner=Runner(module)))
    took = time.monotonic() - start
    assert module.calls[0][:2] == ['/usr/bin/perl', '-e']
    assert [(r['status'], r['msg']) for r in rows.values()] == [
        ('failed', '(sleep 2; touch %s) & sleep 30 timed out after 1 s (no answer, or too slow)' % marker),
        ('failed', 'trap "" TERM; sleep 30 timed out after 1 s (no answer, or too slow)'),  # KILLed 1 s later
        ('manual', 'check failed: why'),
        ('ok', 'fine')]
    assert took < 6, took
    time.sleep(2.5)
    assert not marker.exists()


def test_a_bad_name_is_not_the_row_id():
    rows = run(Host(), [decl('fine', ['true']), decl('Bad Name', ['true'])])
    assert [(r['fix_id'], r['msg']) for r in rows] == [
        ('staging-check-2', "bad check: bad check name 'Bad Name': use lower-case letters, digits and -; nothing was run")]
