# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way fixes run commands: argv lists, C locale, binaries looked up once."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

# Homebrew (Apple Silicon, Intel) and the usual sbin dirs: over SSH, PATH is short.
EXTRA_BIN_DIRS = ['/opt/homebrew/bin', '/usr/local/bin', '/usr/local/sbin', '/usr/sbin', '/sbin']


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

    def which(self, name, extra_dirs=None):
        key = (name, tuple(extra_dirs or ()))
        if key not in self._paths:
            dirs = list(extra_dirs or []) + EXTRA_BIN_DIRS
            self._paths[key] = self.module.get_bin_path(name, required=False, opt_dirs=dirs)
        return self._paths[key]

    def forget(self, name):
        """Drop cached lookups of ``name`` (after an install put it on disk)."""
        for key in [k for k in self._paths if k[0] == name]:
            del self._paths[key]

    def run(self, argv, env=None, data=None, cwd=None, timeout=None):
        """Run ``argv``; with ``timeout`` (seconds), stop it when it takes longer.

        run_command has no timeout, and stays the one way commands run (its
        environment handling; unit tests fake it): the timeout is coreutils'
        timeout in front of argv. Where there is none (macOS), the command
        runs without it; callers also set the tool's own stall limits.
        """
        environ = {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C'}
        environ.update(self.extra_env)
        environ.update(env or {})
        argv = [str(a) for a in argv]
        limiter = next((path for path in TIMEOUT_BINS if os.access(path, os.X_OK)), None) if timeout else None
        if limiter:
            argv = [limiter, '--kill-after=%d' % TIMEOUT_KILL_AFTER, str(int(timeout))] + argv
        rc, out, err = self.module.run_command(
            argv, environ_update=environ, data=data, cwd=cwd, check_rc=False, binary_data=False)
        return CommandResult(rc, out, err, timeout=int(timeout) if limiter else None)
