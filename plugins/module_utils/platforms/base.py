# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platform interface: the only place that knows apt vs brew, systemd vs launchd.

Fixes are written against this interface alone. Operations that change the host
raise PlatformError carrying a FAILED or MANUAL Result; the fix/stage code turns
that into the reported row. Nothing here exits the module or checks check mode
itself: callers only call changing operations outside check mode.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.factiii.infra.plugins.module_utils.fix import (
    PlatformError, failed, manual,
)
from ansible_collections.factiii.infra.plugins.module_utils.options import setting


class Platform:
    name = None
    package_manager = 'the package manager'  # for progress lines: 'installing git (one apt transaction)'
    # logical tool -> packages of this platform's package manager
    PACKAGES = {}

    def __init__(self, runner, check_mode=False, options=None):
        self.runner = runner
        self.check_mode = check_mode
        self.options = dict(options or {})
        self.clock = time.monotonic
        self.sleep = time.sleep

    # -- tools ---------------------------------------------------------
    def which(self, tool):
        return self.runner.which(tool)

    def tool_version(self, tool, args=('--version',)):
        """First line printed by ``tool --version``, or None when absent/broken."""
        path = self.which(tool)
        if not path:
            return None
        res = self.runner.run([path] + list(args))
        if not res.ok:
            return None
        lines = (res.out or res.err).strip().splitlines()
        return lines[0].strip() if lines else None

    # -- privileges ----------------------------------------------------
    def admin_problem(self):
        """None when this process may install packages and manage services,
        else a MANUAL Result saying what the user must grant."""
        raise NotImplementedError

    def setting(self, option, value):
        """The step that sets ``option`` for this run's stage, by its real variable name
        ('set staging_become: true in the inventory'); None when the stage has no such variable."""
        return setting(self.options.get('stage'), option, value)

    # -- packages ------------------------------------------------------
    def package_names(self, tool):
        return list(self.PACKAGES.get(tool, [tool]))

    def candidate_version(self, package):
        """Version the package manager would install, or None if unknown."""
        raise NotImplementedError

    def install_packages(self, packages):
        """Install every package in ONE package-manager transaction."""
        raise NotImplementedError

    def install_blocker(self):
        """The Result that install_packages() would end with before installing
        anything (a package database needing repair), else None. A scan asks
        this so that it reports what the fix would really do."""
        return None

    def npm_install_global(self, spec, ca_bundle=None):
        """``npm install -g spec`` as the user allowed to write npm's prefix (npm_install_argv)."""
        raise NotImplementedError

    @staticmethod
    def npm_install_argv(npm, spec):
        """``npm install -g`` of one checked ``name@version``: install scripts off, as this runs
        as root (or the Homebrew owner) and the version may come from the app's repository."""
        return [npm, 'install', '-g', '--ignore-scripts', '--no-fund', '--no-audit', spec]

    def node_upgrade_steps(self, major):
        """Exact steps a human takes to get Node >= major on this platform."""
        raise NotImplementedError

    # -- docker --------------------------------------------------------
    def docker_installed(self):
        raise NotImplementedError

    def docker_packages(self):
        return self.package_names('docker')

    def docker_info(self, prefix=(), env=None):
        """(the engine's version, None) when ``docker info`` reaches it, else (None, why not).
        Only a version proves it: Docker CLI 23.0 to 28.0.x exit 0 from ``docker info --format``
        when they cannot reach the daemon, with an empty line on stdout and the error on stderr
        (docker/cli#3594 brought it in 23.0; docker/cli#5900, fixed by #5918 in 28.1.0)."""
        docker = self.which('docker')
        if not docker:
            return None, 'docker is not installed'
        res = self.runner.run(list(prefix) + [docker, 'info', '--format', '{{.ServerVersion}}'], env=env)
        version = res.out.strip()
        if res.ok and version:
            return version, None
        if res.ok and not res.err.strip():
            return None, 'docker info printed no server version'
        reason = res.reason()
        if reason.startswith('template:'):
            # Docker CLI 20.10 leaves the server part empty when the engine did not answer, and
            # the format then fails on it, hiding the connection error (cli/command/system/info.go)
            return None, 'docker info could not reach the engine'
        return None, reason

    def docker_state(self):
        """docker_info() the way this platform reaches its engine."""
        return self.docker_info()

    def docker_running(self):
        return self.docker_state()[0] is not None

    def start_docker(self):
        raise NotImplementedError

    def docker_boot(self):
        """OK / NEEDS_FIX / MANUAL Result about docker starting at boot."""
        raise NotImplementedError

    def enable_docker_at_boot(self):
        raise NotImplementedError

    # -- helpers for backends -----------------------------------------
    def wait_until(self, predicate, timeout, interval=1.0):
        """Poll ``predicate`` until true or ``timeout`` seconds: no fixed sleeps."""
        deadline = self.clock() + timeout
        while True:
            if predicate():
                return True
            if self.clock() >= deadline:
                return False
            self.sleep(interval)

    def run_or_raise(self, argv, what, env=None, cwd=None):
        res = self.runner.run(argv, env=env, cwd=cwd)
        if not res.ok:
            raise PlatformError(failed('%s failed: %s' % (what, res.reason())))
        return res


class UnsupportedPlatform(Platform):
    """Any OS we have no backend for: every operation is a MANUAL row, never a traceback."""

    name = 'unsupported'

    def __init__(self, runner, check_mode=False, options=None, description='unknown'):
        super(UnsupportedPlatform, self).__init__(runner, check_mode, options)
        self.description = description

    def _manual(self):
        return manual('factiii has no backend for %s' % self.description,
                      ['Fix this by hand, or run factiii on macOS or Debian/Ubuntu.'])

    def admin_problem(self):
        return self._manual()

    def candidate_version(self, package):
        return None

    def install_packages(self, packages):
        raise PlatformError(self._manual())

    def npm_install_global(self, spec, ca_bundle=None):
        raise PlatformError(self._manual())

    def node_upgrade_steps(self, major):
        return self._manual().steps

    def docker_installed(self):
        return bool(self.which('docker'))

    def start_docker(self):
        raise PlatformError(self._manual())

    def docker_boot(self):
        return self._manual()

    def enable_docker_at_boot(self):
        raise PlatformError(self._manual())
