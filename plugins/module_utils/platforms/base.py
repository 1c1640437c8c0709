# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platform interface: the only place that knows apt vs brew, systemd vs launchd.

Fixes and the batch are written against this interface alone: every operation they call
on a platform that a backend must answer for itself is an abstract method here, with its
contract; a backend that misses one is refused when its class is defined (TypeError naming
what is missing), not at the first run that calls it. The few operations defined here
(tool_version, docker_running) are built on the abstract ones and need no backend code.

Operations that change the host raise PlatformError carrying a FAILED or MANUAL Result;
the fix/batch code turns that into the reported row. Nothing here exits the module or
checks check mode itself: callers only call changing operations outside check mode.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from abc import ABC, abstractmethod

from ansible_collections.factiii.infra.plugins.module_utils.fix import (
    PlatformError, failed, manual,
)
from ansible_collections.factiii.infra.plugins.module_utils.options import setting

# docker CLI plugins a deploy needs (`docker compose up --build` builds with buildx)
PLUGINS = ('compose', 'buildx')
POLL_INTERVAL = 1.0  # seconds between two looks at something a backend waits for


class Platform(ABC):
    """A platform backend. Subclasses set ``package_manager`` and PACKAGES, and implement
    every abstract method: a class statement that misses one raises TypeError."""

    package_manager = 'the package manager'  # for progress lines: 'installing git (one apt transaction)'
    # logical tool -> packages of this platform's package manager (see packages_of)
    PACKAGES = {}

    def __init__(self, runner, check_mode=False, options=None):
        self.runner = runner
        self.check_mode = check_mode
        self.options = dict(options or {})
        self.clock = time.monotonic
        self.sleep = time.sleep

    def __init_subclass__(cls, **kwargs):
        # abc alone refuses an incomplete backend only when it is instantiated, i.e. on a
        # host, in the middle of a run: refuse it where it is written instead.
        super(Platform, cls).__init_subclass__(**kwargs)
        missing = sorted(name for name in Platform.__abstractmethods__
                         if getattr(getattr(cls, name), '__isabstractmethod__', False))
        if missing:
            raise TypeError('platform backend %s does not implement %s'
                            % (cls.__name__, ', '.join(missing)))

    # -- tools ---------------------------------------------------------
    @abstractmethod
    def which(self, tool):
        """Absolute path of the program ``tool`` ('git', 'node', 'npm', 'docker', ...) this
        platform runs, or None when it is not installed. Answers may be cached per run:
        install_packages and npm_install_global make the next call look again."""

    def tool_version(self, tool):
        """First line printed by ``tool --version``, or None when absent/broken."""
        path = self.which(tool)
        if not path:
            return None
        res = self.runner.run([path, '--version'])
        if not res.ok:
            return None
        lines = (res.out or res.err).strip().splitlines()
        return lines[0].strip() if lines else None

    # -- privileges ----------------------------------------------------
    @abstractmethod
    def admin_problem(self):
        """None when this process may install packages and manage services,
        else a MANUAL Result saying what the user must grant. Read-only: a scan asks it."""

    def setting(self, option, value):
        """The step that sets ``option`` for this run's stage, by its real variable name
        ('set staging_become: true in the inventory'); None when the stage has no such variable."""
        return setting(self.options.get('stage'), option, value)

    # -- packages ------------------------------------------------------
    def packages_of(self, tool):
        """PACKAGES' packages for ``tool`` (the tool's own name when it has no entry)."""
        return list(self.PACKAGES.get(tool, [tool]))

    @abstractmethod
    def package_names(self, tool):
        """The packages install_packages() needs so that ``tool`` is installed (a new
        list; empty when the platform has it by other means). May ask the package manager
        read-only (a scan calls it)."""

    @abstractmethod
    def candidate_version(self, package):
        """Version of ``package`` the package manager would install, or None if unknown.
        Never raises: fixes call it while scanning."""

    @abstractmethod
    def install_blocker(self):
        """The Result that install_packages() would end with before installing anything
        (e.g. a package database needing repair, a lock held past the timeout), else None.
        A scan asks this, read-only, so that it reports what the fix would really do."""

    @abstractmethod
    def install_packages(self, packages):
        """Install every package of ``packages`` in ONE package-manager transaction, or
        raise PlatformError (FAILED or MANUAL). Afterwards which() finds the new programs."""

    @abstractmethod
    def npm_install_global(self, spec, ca_bundle=None):
        """``npm install -g spec`` (spec: a checked ``name@version``) as the user allowed to
        write npm's prefix, with npm_install_argv() (install scripts off); ``ca_bundle``: a
        CA file for npm and node. Raises PlatformError when it fails."""

    @staticmethod
    def npm_install_argv(npm, spec):
        """``npm install -g`` of one checked ``name@version``: install scripts off, as this runs
        as root (or the Homebrew owner) and the version may come from the app's repository."""
        return [npm, 'install', '-g', '--ignore-scripts', '--no-fund', '--no-audit', spec]

    @abstractmethod
    def node_upgrade_steps(self, major):
        """Exact steps (list of str) a human takes to get Node >= ``major`` on this platform,
        when its package manager offers none. Read-only."""

    # -- docker --------------------------------------------------------
    @abstractmethod
    def docker_installed(self):
        """True when this platform has a docker engine and CLI installed (running or not)."""

    @abstractmethod
    def docker_packages(self):
        """The packages install_packages() needs for a docker engine and CLI (a new list)."""

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

    @abstractmethod
    def docker_state(self):
        """(server version, None) when the engine answers the way this platform reaches it
        (its socket, its user: usually through docker_info()), else (None, why not). Read-only."""

    def docker_running(self):
        return self.docker_state()[0] is not None

    @abstractmethod
    def start_docker(self):
        """Start the docker engine and wait (docker_start_timeout) until docker_state()
        answers; raise PlatformError (FAILED or MANUAL) otherwise."""

    @abstractmethod
    def docker_boot(self):
        """OK / NEEDS_FIX / MANUAL Result about docker starting at boot, without anyone
        logging in. Read-only: a scan calls it."""

    @abstractmethod
    def enable_docker_at_boot(self):
        """Make docker start at boot (what docker_boot() said NEEDS_FIX), or raise
        PlatformError (FAILED or MANUAL)."""

    # -- a server that comes back unattended (issue 16 point 6) ----------
    @abstractmethod
    def sleep_state(self):
        """OK when nothing puts this host to sleep on its own, else NEEDS_FIX (what
        disable_sleep() would do) or MANUAL (this process may not change it). Read-only."""

    @abstractmethod
    def disable_sleep(self):
        """Make sleep_state() OK, or raise PlatformError (FAILED or MANUAL)."""

    @abstractmethod
    def power_restore_state(self):
        """OK / NEEDS_FIX / MANUAL Result about the host powering on by itself after a power
        failure (OK 'not applicable' where only the firmware decides). Read-only."""

    @abstractmethod
    def enable_power_restore(self):
        """Make power_restore_state() OK, or raise PlatformError (FAILED or MANUAL)."""

    @abstractmethod
    def update_reboot_state(self):
        """OK / NEEDS_FIX / MANUAL Result about automatic updates that restart the host by
        themselves. Read-only."""

    @abstractmethod
    def disable_update_reboot(self):
        """Make update_reboot_state() OK, or raise PlatformError (FAILED or MANUAL)."""

    @abstractmethod
    def disk_unlock_state(self):
        """OK, or MANUAL when a boot stops until someone types a disk password (FileVault).
        Never NEEDS_FIX: turning disk encryption off is the owner's decision. Read-only."""

    @abstractmethod
    def remote_login_state(self):
        """OK, or MANUAL when the host does not accept SSH logins after a boot. Read-only."""

    @abstractmethod
    def passwordless_sudo(self, user):
        """(True, None) when ``user`` may run ``sudo -n`` without a password, (False, why not)
        otherwise, (None, why) when this process cannot tell. Read-only."""

    @abstractmethod
    def sudoers_group(self):
        """The group that owns /etc/sudoers.d files here ('root', 'wheel')."""

    @abstractmethod
    def missing_docker_plugins(self):
        """The docker CLI plugins of PLUGINS that ``docker <plugin> version`` does not find,
        as the user whose docker the deploy runs (a new list, in PLUGINS' order). Read-only."""

    @abstractmethod
    def docker_plugin_packages(self, plugins):
        """The packages that install ``plugins`` as docker CLI plugins, or None when the
        package manager has none (then docker_plugin_steps() says what to do). Read-only."""

    @abstractmethod
    def docker_plugin_steps(self, plugins):
        """Exact steps (list of str) to get ``plugins`` by hand, when no package has them or
        docker does not find the installed ones. Read-only."""

    # -- helpers for backends -----------------------------------------
    def wait_until(self, predicate, timeout):
        """Poll ``predicate`` every POLL_INTERVAL seconds until true or ``timeout`` seconds:
        no fixed sleeps."""
        deadline = self.clock() + timeout
        while True:
            if predicate():
                return True
            if self.clock() >= deadline:
                return False
            self.sleep(POLL_INTERVAL)

    def run_or_raise(self, argv, what):
        res = self.runner.run(argv)
        if not res.ok:
            raise PlatformError(failed('%s failed: %s' % (what, res.reason())))
        return res


class UnsupportedPlatform(Platform):
    """Any OS we have no backend for: every operation is a MANUAL row, never a traceback."""

    def __init__(self, runner, check_mode=False, options=None, description='unknown'):
        super(UnsupportedPlatform, self).__init__(runner, check_mode, options)
        self.description = description

    def _manual(self):
        return manual('factiii has no backend for %s' % self.description,
                      ['Fix this by hand, or run factiii on macOS or Debian/Ubuntu.'])

    def which(self, tool):
        return self.runner.which(tool)

    def admin_problem(self):
        return self._manual()

    def package_names(self, tool):
        return self.packages_of(tool)

    def candidate_version(self, package):
        return None

    def install_blocker(self):
        return None  # admin_problem() already makes every fix MANUAL

    def install_packages(self, packages):
        raise PlatformError(self._manual())

    def npm_install_global(self, spec, ca_bundle=None):
        raise PlatformError(self._manual())

    def node_upgrade_steps(self, major):
        return self._manual().steps

    def docker_installed(self):
        return bool(self.which('docker'))

    def docker_packages(self):
        return self.package_names('docker')

    def docker_state(self):
        return self.docker_info()

    def start_docker(self):
        raise PlatformError(self._manual())

    def docker_boot(self):
        return self._manual()

    def enable_docker_at_boot(self):
        raise PlatformError(self._manual())

    def sleep_state(self):
        return self._manual()

    def disable_sleep(self):
        raise PlatformError(self._manual())

    def power_restore_state(self):
        return self._manual()

    def enable_power_restore(self):
        raise PlatformError(self._manual())

    def update_reboot_state(self):
        return self._manual()

    def disable_update_reboot(self):
        raise PlatformError(self._manual())

    def disk_unlock_state(self):
        return self._manual()

    def remote_login_state(self):
        return self._manual()

    def passwordless_sudo(self, user):
        return None, self._manual().msg

    def sudoers_group(self):
        return 'root'

    def missing_docker_plugins(self):
        return list(PLUGINS)

    def docker_plugin_packages(self, plugins):
        return None

    def docker_plugin_steps(self, plugins):
        return self._manual().steps
