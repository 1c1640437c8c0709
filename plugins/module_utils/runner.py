# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way fixes run commands: argv lists, C locale, binaries looked up once.

As root, a program is run as root only when root alone controls it: the file and
every directory above it (also along symbolic links) are root's and nobody else may
write them. Any other program (Homebrew's, owned by the brew user; a user's npm
global) runs as the user who owns the file, through sudo: whoever can replace it
must not get root by waiting for the next run. A root-owned program in a directory
someone else can write is not run at all. Lookups as root prefer a program root
controls (Apple's /usr/bin/git over Homebrew's).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import stat

# Homebrew (Apple Silicon, Intel) and the usual sbin dirs: over SSH, PATH is short.
EXTRA_BIN_DIRS = ['/opt/homebrew/bin', '/usr/local/bin', '/usr/local/sbin', '/usr/sbin', '/sbin']
SUDO = '/usr/bin/sudo'
ENV = '/usr/bin/env'
# What a program run as its owner finds besides its own directory (node beside npm and pnpm)
OWNER_PATH = '/usr/bin:/bin:/usr/sbin:/sbin'
REFUSED_RC = 126  # the shell's "found but cannot be run"


class UntrustedProgram(Exception):
    """A program root must not run, and there is no user to run it as instead."""


def _name(database, ident):
    try:
        return database(ident)[0]
    except KeyError:
        return str(ident)


def _entries(path):
    """``path`` and every directory above it, as given and along its real path."""
    found = []
    for entry in (os.path.abspath(path), os.path.realpath(path)):
        while entry not in found:
            found.append(entry)
            entry = os.path.dirname(entry)
    return found


def program_owner(path):
    """None when only root controls the program at ``path``; else the name of the user
    who owns it, to run it as. UntrustedProgram when root owns it but another user may
    replace it (a directory above it is theirs or writable by others)."""
    problem = None
    for entry in _entries(path):
        try:
            info = os.lstat(entry)
        except OSError:
            continue  # not there: only whoever may write the directory above could make it
        if stat.S_ISLNK(info.st_mode):
            continue  # a link cannot be changed, only replaced by who may write its directory
        if info.st_uid != 0:
            problem = '%s is owned by %s' % (entry, _name(pwd.getpwuid, info.st_uid))
        elif info.st_mode & stat.S_IWOTH and not (stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX):
            problem = '%s is writable by everyone' % entry
        elif (info.st_mode & stat.S_IWGRP and info.st_gid != 0
              and not (stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX)):
            problem = '%s is writable by group %s' % (entry, _name(grp.getgrgid, info.st_gid))
        if problem:
            break
    if problem is None:
        return None
    try:
        uid = os.stat(path).st_uid
    except OSError:
        uid = 0
    if uid == 0:
        raise UntrustedProgram('refusing to run %s as root: %s' % (path, problem))
    name = _name(pwd.getpwuid, uid)
    return '#%d' % uid if name == str(uid) else name  # sudo -u '#UID' for a user without a name


def as_user_argv(user, argv, env=()):
    """``argv`` run as ``user`` by root: sudo clears the environment, env sets what it needs."""
    return [SUDO, '-u', user, '-H', ENV] + ['%s=%s' % kv for kv in env] + list(argv)


# Lines that say what went wrong, most specific first (file system, ssh, git, apt, generic).
REASON_MARKERS = ('No space left on device', 'Read-only file system', 'Disk quota exceeded',
                  'Host key verification failed', 'Permission denied', 'Could not resolve hostname',
                  'Connection refused', 'Connection timed out', 'No route to host', 'Could not get lock',
                  'fatal:', 'E: ', 'error:', 'Error:', 'ERR!')
# Of several lines with the same marker, the one the tool gave as its error wins: git says
# "error: copy-fd: write returned: No space left on device" before
# "fatal: cannot copy '...' to '...': No space left on device".
ERROR_PREFIXES = ('fatal:', 'E: ')

# coreutils timeout, only from the system's own directories (root runs no binary another user
# owns). It puts the command in its own process group and signals the whole group, so git's
# ssh and remote helpers go too; TERM first (git removes its lock files), KILL 10 s later.
TIMEOUT_BINS = ('/usr/bin/timeout', '/bin/timeout')
TIMEOUT_KILL_AFTER = 10
TIMED_OUT = (124, 128 + 9)  # timeout's own code, and a KILLed command
# Where there is no coreutils timeout (macOS), the system's perl does the same: the command in
# its own process group, TERM to the group at the limit, KILL after the grace, timeout's codes.
PERL = '/usr/bin/perl'
PERL_TIMEOUT = (
    'my ($limit, $grace) = splice(@ARGV, 0, 2); my $pid = fork; defined $pid or die "fork: $!\n";'
    ' if (!$pid) { setpgrp(0, 0); exec { $ARGV[0] } @ARGV; print STDERR "$ARGV[0]: $!\n"; exit 127 }'
    ' setpgrp($pid, $pid); my $timed_out = 0;'
    " $SIG{ALRM} = sub { kill 'KILL', -$pid if $timed_out++; kill 'TERM', -$pid; alarm $grace }; alarm $limit;"
    ' 1 while waitpid($pid, 0) != $pid;'
    ' exit($timed_out ? (($? & 127) == 9 ? 137 : 124) : (($? & 127) ? 128 + ($? & 127) : $? >> 8));')


class CommandResult:
    def __init__(self, rc, out, err, timeout=None):
        self.rc = rc
        self.out = out or ''
        self.err = err or ''
        # set when the command was run under a timeout and ran out of it
        self.timed_out = timeout if timeout is not None and rc in TIMED_OUT else None

    @property
    def ok(self):
        return self.rc == 0

    def reason(self):
        """One line for a report: the first telling error line, else the last line."""
        if self.timed_out is not None:
            return 'timed out after %d s (no answer, or too slow)' % self.timed_out
        lines = [line.strip() for text in (self.err, self.out)
                 for line in text.splitlines() if line.strip()]
        for marker in REASON_MARKERS:
            found = [line for line in lines if marker in line]
            if found:
                return next((line for line in found if line.startswith(ERROR_PREFIXES)), found[0])
        return lines[-1] if lines else 'exit code %d' % self.rc


class Runner:
    """Wraps AnsibleModule.run_command / get_bin_path; unit tests fake the module."""

    def __init__(self, module, extra_env=None):
        self.module = module
        self.extra_env = dict(extra_env or {})
        self._paths = {}

    @property
    def euid(self):
        return os.geteuid()

    def which(self, name, extra_dirs=None, any_owner=False):
        """The path of ``name``, searching ``extra_dirs`` first. As root, a program only root
        controls wins over one found earlier, unless ``any_owner`` (the caller runs it as the
        Homebrew owner anyway, and wants the one in ``extra_dirs``)."""
        key = (name, tuple(extra_dirs or ()), any_owner)
        if key not in self._paths:
            dirs = list(extra_dirs or []) + EXTRA_BIN_DIRS
            found = self.module.get_bin_path(name, required=False, opt_dirs=dirs)
            if found and self.euid == 0 and not any_owner and not self._root_controls(found):
                found = next((path for path in self.candidates(name, dirs) if self._root_controls(path)), found)
            self._paths[key] = found
        return self._paths[key]

    # -- what root may run; tests of a simulated host override these two --
    def program_owner(self, path):
        return program_owner(path)

    def candidates(self, name, dirs):
        """Every executable ``name`` in the order get_bin_path searches (dirs, PATH, sbin)."""
        found = []
        search = list(dirs) + os.environ.get('PATH', '').split(os.pathsep) + ['/sbin', '/usr/sbin', '/usr/local/sbin']
        for directory in search:
            path = os.path.join(directory, name)
            if directory and path not in found and os.path.isfile(path) and os.access(path, os.X_OK):
                found.append(path)
        return found

    def limit_with_perl(self):
        """Whether the system's perl may limit a command's time (root controls it, as on macOS)."""
        return os.access(PERL, os.X_OK) and (self.euid != 0 or self._root_controls(PERL))

    def _root_controls(self, path):
        try:
            return self.program_owner(path) is None
        except UntrustedProgram:
            return False

    def forget(self, name=None):
        """Drop cached lookups of ``name``, or all of them (after an install put tools on disk)."""
        for key in [k for k in self._paths if name is None or k[0] == name]:
            del self._paths[key]

    def run(self, argv, env=None, data=None, cwd=None, timeout=None, strict_timeout=False):
        """Run ``argv``; with ``timeout`` (seconds), stop it when it takes longer.

        run_command has no timeout, and stays the one way commands run (its
        environment handling; unit tests fake it): the timeout is coreutils'
        timeout in front of argv. Where there is none (macOS), the command
        runs without it (callers also set the tool's own stall limits), unless
        ``strict_timeout``: then the system's perl limits it the same way.
        """
        environ = {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C'}
        environ.update(self.extra_env)
        environ.update(env or {})
        argv = [str(a) for a in argv]
        if self.euid == 0 and os.path.isabs(argv[0]):  # bare names: root's own PATH
            try:
                user = self.program_owner(argv[0])
            except UntrustedProgram as exc:
                return CommandResult(REFUSED_RC, '', str(exc))
            if user is not None:
                environ.setdefault('PATH', '%s:%s' % (os.path.dirname(argv[0]), OWNER_PATH))
                argv = as_user_argv(user, argv, sorted(environ.items()))
                cwd = cwd or '/'  # the user may not be able to read root's working directory
        limiter = next((path for path in TIMEOUT_BINS if os.access(path, os.X_OK)), None) if timeout else None
        if limiter:
            argv = [limiter, '--kill-after=%d' % TIMEOUT_KILL_AFTER, str(int(timeout))] + argv
        elif timeout and strict_timeout and self.limit_with_perl():
            limiter = PERL
            argv = [PERL, '-e', PERL_TIMEOUT, str(int(timeout)), str(TIMEOUT_KILL_AFTER)] + argv
        rc, out, err = self.module.run_command(
            argv, environ_update=environ, data=data, cwd=cwd, check_rc=False, binary_data=False)
        return CommandResult(rc, out, err, timeout=int(timeout) if limiter else None)
