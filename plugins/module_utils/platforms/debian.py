# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Debian/Ubuntu: apt-get (one transaction), systemd, or the `service` command without it.

apt is driven through apt-get/apt-cache/dpkg-query, not python3-apt: a bare server
has no python3-apt, and a scan there must still answer.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import time

from ansible_collections.factiii.infra.plugins.module_utils.fix import (
    PlatformError, failed, manual, needs_fix, ok,
)
from ansible_collections.factiii.infra.plugins.module_utils.platforms.base import Platform

APT_LISTS = '/var/lib/apt/lists'
LISTS_MAX_AGE = 3600  # seconds before `apt-get update` runs again


class Debian(Platform):
    name = 'debian'
    PACKAGES = {
        'git': ['git'],
        'node': ['nodejs'],
        'npm': ['npm'],
        'docker': ['docker.io'],
    }

    def __init__(self, runner, check_mode=False, options=None):
        super(Debian, self).__init__(runner, check_mode, options)
        self._sudo = None
        self._lists_fresh = False

    # -- privileges ----------------------------------------------------
    def _prefix(self):
        """[] as root, ['sudo', '-n'] when passwordless sudo works, None otherwise."""
        if self._sudo is None:
            if self.runner.euid == 0:
                self._sudo = []
            else:
                sudo = self.which('sudo')
                self._sudo = ['sudo', '-n'] if sudo and self.runner.run([sudo, '-n', 'true']).ok else False
        return self._sudo if self._sudo is not False else None

    def admin_problem(self):
        if self._prefix() is not None:
            return None
        return manual('this user is neither root nor allowed passwordless sudo', [
            'Run the stage with privilege escalation: set become: true on the play '
            '(or pass --become --ask-become-pass to ansible-playbook).',
            'Or grant passwordless sudo to this user: echo "$USER ALL=(ALL) NOPASSWD: ALL" '
            '| sudo tee /etc/sudoers.d/factiii && sudo chmod 0440 /etc/sudoers.d/factiii',
        ])

    def _as_root(self, argv):
        prefix = self._prefix()
        if prefix is None:
            raise PlatformError(self.admin_problem())
        return prefix + list(argv)

    # -- packages ------------------------------------------------------
    def _lists_age(self):
        stamps = [os.path.getmtime(p) for p in glob.glob(os.path.join(APT_LISTS, '*_Packages*'))]
        return time.time() - max(stamps) if stamps else None

    def _apt_env(self):
        return {'DEBIAN_FRONTEND': 'noninteractive', 'NEEDRESTART_MODE': 'a'}

    def _lock_opt(self):
        return ['-o', 'DPkg::Lock::Timeout=%d' % self.options.get('package_lock_timeout', 120)]

    def refresh_lists(self):
        """`apt-get update` once per run, only when the lists are missing or stale."""
        if self._lists_fresh or self.check_mode:
            return
        age = self._lists_age()
        if age is None or age > LISTS_MAX_AGE:
            res = self.runner.run(self._as_root(['apt-get'] + self._lock_opt() + ['-q', 'update']),
                                  env=self._apt_env())
            if not res.ok:
                raise PlatformError(self._apt_failure('apt-get update', res))
        self._lists_fresh = True

    def candidate_version(self, package):
        self.refresh_lists()
        res = self.runner.run(['apt-cache', 'policy', package])
        match = re.search(r'^\s*Candidate:\s*(\S+)', res.out, re.M)
        if not res.ok or not match or match.group(1) == '(none)':
            return None
        return match.group(1)

    def install_packages(self, packages):
        self.refresh_lists()
        argv = ['apt-get'] + self._lock_opt() + ['-q', '-y', 'install'] + list(packages)
        res = self.runner.run(self._as_root(argv), env=self._apt_env())
        if not res.ok:
            raise PlatformError(self._apt_failure('apt-get install %s' % ' '.join(packages), res))
        for tool in ('git', 'node', 'npm', 'docker', 'dockerd'):
            self.runner.forget(tool)

    def _apt_failure(self, what, res):
        text = res.err + res.out
        lock = re.search(r'Could not get lock (\S+)\.? It is held by process (\d+)', text)
        if lock or 'Could not get lock' in text:
            pid = lock.group(2) if lock else 'unknown'
            return failed('package manager busy (lock held by PID %s) after waiting %ds'
                          % (pid, self.options.get('package_lock_timeout', 120)))
        if 'dpkg was interrupted' in text:
            return manual('dpkg was interrupted: the package database needs repair', [
                'sudo dpkg --configure -a', 'then re-run the stage'])
        return failed('%s failed: %s' % (what, res.reason()))

    def npm_install_global(self, spec, ca_bundle=None):
        npm = self.which('npm')
        if not npm:
            raise PlatformError(failed('npm is not installed (install node first)'))
        env = {}
        if ca_bundle:
            env.update({'NODE_EXTRA_CA_CERTS': ca_bundle, 'npm_config_cafile': ca_bundle})
        res = self.runner.run(self._as_root([npm, 'install', '-g', '--no-fund', '--no-audit', spec]), env=env)
        if not res.ok:
            raise PlatformError(failed('npm install -g %s failed: %s' % (spec, res.reason())))

    def node_upgrade_steps(self, major):
        return [
            'Add the NodeSource apt repository for Node %d.x '
            '(instructions: https://github.com/nodesource/distributions)' % major,
            'sudo apt-get install -y nodejs',
            'node --version  # must print v%d or later' % major,
        ]

    # -- services ------------------------------------------------------
    def _systemd(self):
        # sd_booted(): systemd is PID 1 only when this directory exists.
        return os.path.isdir('/run/systemd/system')

    def docker_installed(self):
        return bool(self.which('docker')) and bool(self.which('dockerd'))

    def start_docker(self):
        if self._systemd():
            argv, what = ['systemctl', 'start', 'docker'], 'systemctl start docker'
        else:
            argv, what = ['service', 'docker', 'start'], 'service docker start'
        res = self.runner.run(self._as_root(argv))
        if not res.ok:
            raise PlatformError(failed('%s failed: %s' % (what, res.reason())))
        timeout = self.options.get('docker_start_timeout', 60)
        if not self.wait_until(self.docker_running, timeout):
            raise PlatformError(failed('%s: docker info did not answer within %ds' % (what, timeout)))

    def docker_running(self):
        if super(Debian, self).docker_running():
            return True
        # A user outside the docker group cannot reach the socket even when dockerd runs.
        prefix = self._prefix() if self.runner.euid != 0 else None
        return bool(prefix) and bool(self.which('docker')) and self.runner.run(
            prefix + [self.which('docker'), 'info', '--format', '{{.ServerVersion}}']).ok

    def docker_boot(self):
        if self._systemd():
            res = self.runner.run(['systemctl', 'is-enabled', 'docker'])
            state = res.out.strip() or 'not installed'
            if state == 'enabled':
                return ok('docker.service is enabled at boot')
            return needs_fix('would enable docker.service at boot (systemctl enable docker; was: %s)' % state)
        if glob.glob('/etc/rc[2345].d/S*docker'):
            return ok('docker starts at boot (init script links in /etc/rc2-5.d)')
        return needs_fix('would enable the docker init script at boot (update-rc.d docker defaults)')

    def enable_docker_at_boot(self):
        if self._systemd():
            self.run_or_raise(self._as_root(['systemctl', 'enable', 'docker']), 'systemctl enable docker')
        else:
            self.run_or_raise(self._as_root(['update-rc.d', 'docker', 'defaults']), 'update-rc.d docker defaults')
            self.run_or_raise(self._as_root(['update-rc.d', 'docker', 'enable']), 'update-rc.d docker enable')
