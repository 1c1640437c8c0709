"""Issue 12, finding 7, the rule itself on real files (Linux; chown needs root, as the tests run here):
as root, a program runs as root only when root alone controls the file and every directory above
it (also along symbolic links); another user's program runs as that user through sudo; a root-owned
program that someone else may replace is refused. macOS itself cannot run here: the macOS backend
is covered on the simulated Mac (test_macos.py, test_macos_stage.py)."""
import os
import pwd
import grp

import pytest

from ansible_collections.factiii.infra.plugins.module_utils.runner import (
    ENV, SUDO, Runner, UntrustedProgram, program_owner,
)

from fake import FakeModule

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='chown to another user needs root')

NOBODY = pwd.getpwnam('nobody').pw_uid
NOGROUP = grp.getgrgid(pwd.getpwnam('nobody').pw_gid)


def program(directory, name='tool', uid=0, mode=0o755):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text('#!/bin/sh\necho hi\n')
    os.chmod(str(path), mode)
    os.chown(str(path), uid, -1)
    return str(path)


@pytest.fixture
def base(tmp_path):
    """A root-owned 0755 directory (tmp_path's parents: root's, /tmp sticky)."""
    os.chmod(str(tmp_path), 0o755)
    return tmp_path


def test_a_root_program_in_root_directories_runs_as_root(base):
    assert program_owner(program(base / 'bin')) is None


def test_a_program_owned_by_a_user_runs_as_that_user(base):
    assert program_owner(program(base / 'bin', uid=NOBODY)) == 'nobody'


def test_a_user_without_a_name_is_run_as_by_uid(base):
    unused = next(uid for uid in range(40000, 50000) if not _has_user(uid))
    assert program_owner(program(base / 'bin', uid=unused)) == '#%d' % unused


def _has_user(uid):
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


def test_a_root_program_in_a_users_directory_is_refused(base):
    path = program(base / 'brew' / 'bin')
    os.chown(str(base / 'brew'), NOBODY, -1)  # the brew owner could swap bin/ and what is in it
    with pytest.raises(UntrustedProgram) as exc:
        program_owner(path)
    assert str(exc.value) == 'refusing to run %s as root: %s is owned by nobody' % (path, base / 'brew')


@pytest.mark.parametrize('mode, group, why', [
    (0o775, NOGROUP.gr_gid, 'is writable by group %s' % NOGROUP.gr_name),
    (0o757, 0, 'is writable by everyone'),
])
def test_a_root_program_in_a_directory_others_may_write_is_refused(base, mode, group, why):
    path = program(base / 'bin')
    os.chown(str(base / 'bin'), 0, group)
    os.chmod(str(base / 'bin'), mode)
    with pytest.raises(UntrustedProgram) as exc:
        program_owner(path)
    assert str(exc.value) == 'refusing to run %s as root: %s %s' % (path, base / 'bin', why)


def test_a_program_others_may_write_is_refused(base):
    path = program(base / 'bin', mode=0o777)
    with pytest.raises(UntrustedProgram, match='tool is writable by everyone$'):
        program_owner(path)


def test_a_sticky_directory_and_root_group_write_are_fine(base):
    path = program(base / 'shared' / 'bin')
    os.chmod(str(base / 'shared'), 0o1777)  # like /tmp: nobody else can replace root's entries
    os.chmod(str(base / 'shared' / 'bin'), 0o775)  # group root
    assert program_owner(path) is None


def test_a_link_to_a_users_program_runs_as_that_user(base):
    # /usr/local/bin/docker -> /Applications/Docker.app/.../docker, pnpm -> ../lib/node_modules/...
    target = program(base / 'home' / 'bin', uid=NOBODY)
    (base / 'bin').mkdir()
    (base / 'bin' / 'tool').symlink_to(target)
    assert program_owner(str(base / 'bin' / 'tool')) == 'nobody'


def test_a_linked_directory_of_a_user_is_followed(base):
    program(base / 'real' / 'bin')
    os.chown(str(base / 'real'), NOBODY, -1)
    (base / 'bin').symlink_to(base / 'real' / 'bin')
    with pytest.raises(UntrustedProgram, match='is owned by nobody$'):
        program_owner(str(base / 'bin' / 'tool'))


class RootRunner(Runner):
    euid = 0


def test_run_as_root_wraps_a_users_program_in_sudo_with_the_environment(base):
    path = program(base / 'bin', uid=NOBODY)
    want = [SUDO, '-u', 'nobody', '-H', ENV, 'LANG=C', 'LC_ALL=C', 'LC_MESSAGES=C',
            'PATH=%s:/usr/bin:/bin:/usr/sbin:/sbin' % (base / 'bin'), 'X=1', path, '--version']
    module = FakeModule([(want, 0, '1.0\n')])
    res = RootRunner(module).run([path, '--version'], env={'X': '1'})
    assert (res.rc, res.out) == (0, '1.0\n')
    module.assert_done()


def test_run_as_root_refuses_a_root_program_others_may_replace_and_runs_nothing(base):
    path = program(base / 'bin')
    os.chmod(str(base / 'bin'), 0o777)
    module = FakeModule([])
    res = RootRunner(module).run([path, '--version'])
    assert res.rc == 126 and res.reason() == 'refusing to run %s as root: %s is writable by everyone' % (
        path, base / 'bin')
    assert module.calls == []


def test_run_as_root_runs_roots_program_as_it_is(base):
    path = program(base / 'bin')
    module = FakeModule([([path, '--version'], 0, '1.0\n')])
    assert RootRunner(module).run([path, '--version']).ok
    module.assert_done()


def test_which_as_root_prefers_a_program_only_root_controls(base):
    users = program(base / 'brew' / 'bin', uid=NOBODY)
    roots = program(base / 'usr' / 'bin')

    class Module(FakeModule):
        def get_bin_path(self, name, required=False, opt_dirs=None):
            return users  # first on the search path, as /opt/homebrew/bin is

    runner = RootRunner(Module())
    assert runner.which('tool', extra_dirs=[str(base / 'brew' / 'bin'), str(base / 'usr' / 'bin')]) == roots


def test_which_as_root_keeps_a_users_program_when_root_has_none(base):
    users = program(base / 'brew' / 'bin', uid=NOBODY)
    module = FakeModule(bins={'tool': users})
    assert RootRunner(module).which('tool', extra_dirs=[str(base / 'brew' / 'bin')]) == users
