# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Debian/Ubuntu: apt-get (one transaction), systemd, or the `service` command without it.

apt is driven through apt-get/apt-cache/dpkg-query, not python3-apt: a bare server
has no python3-apt, and a scan there must still answer.

A bad day on the package side ends in one row with apt's own words:
- a package lock held by a live process (apt-daily, unattended-upgrades, an admin's
  apt-get or dpkg), read from /proc/locks: waited for up to ``package_lock_timeout``
  seconds, then FAILED with the holder's PID and command line (a scan waits and says
  the same: it is what the fix would say). FAILED, not MANUAL: there is nothing to do by
  hand but let it finish (killing it is what interrupts dpkg), and the run must not pass;
- an interrupted dpkg (journal entries left in /var/lib/dpkg/updates) with NO process
  holding a package lock: MANUAL with ``sudo dpkg --configure -a``, or that command run
  first when ``repair_dpkg`` is set. A running apt or dpkg writes the same journal as it
  goes, so the journal alone says nothing until the locks are free;
- a package source that cannot be reached: `apt-get update` only warns, so its
  "Failed to fetch" line is kept and added to the install's failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import math
import os
import pwd
import re
import time

from ansible_collections.factiii.infra.plugins.module_utils.fix import (
    PlatformError, failed, manual, needs_fix, ok,
)
from ansible_collections.factiii.infra.plugins.module_utils.git import redact_url
from ansible_collections.factiii.infra.plugins.module_utils.platforms.base import PLUGINS, Platform

APT_LISTS = '/var/lib/apt/lists'
LISTS_MAX_AGE = 3600  # seconds before `apt-get update` runs again
# dpkg's journal: entries named by digits are status changes a killed dpkg did not
# fold into its database (apt's test for "dpkg was interrupted").
DPKG_UPDATES = '/var/lib/dpkg/updates'
LOCK_RETRY_INTERVAL = 1.0  # seconds between tries of a lock apt does not wait for
# The locks apt and dpkg take (fcntl on the whole file), frontend first: apt-get holds it for
# its whole run while its dpkg child holds the database lock.
PACKAGE_LOCKS = ('/var/lib/dpkg/lock-frontend', '/var/lib/dpkg/lock',
                 '/var/lib/apt/lists/lock', '/var/cache/apt/archives/lock')
PROC = '/proc'
COMMAND_MAX = 200  # characters of a holder's command line in a message

# The error line of apt or dpkg saying it could not take a lock.
LOCK_FAILED = re.compile(
    r'^(?:E: (?:Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock)'
    r'|dpkg: error: dpkg (?:frontend|database) lock (?:was|is) locked by \S+ process)', re.M)
# Who holds it. apt: "[Waiting for cache lock: |E: ]Could not get lock /var/lib/dpkg/lock-frontend.
# It is held by process 72 (python3)[...]"; dpkg: "dpkg frontend lock was locked by another
# process with pid 72" (dpkg 1.21) or "... locked by /usr/bin/apt-get process with pid 72" (later).
APT_LOCK_HOLDER = re.compile(
    r'Could not get lock (/\S*?)\.?(?: It is held by process (\d+)(?: \(([^)\n]*)\))?)?(?:\.\.\.)?[ \t]*$', re.M)
DPKG_LOCK_HOLDER = re.compile(r'dpkg (frontend|database) lock (?:was|is) locked by (\S+) process with pid (\d+)')
DPKG_LOCKS = {'frontend': '/var/lib/dpkg/lock-frontend', 'database': '/var/lib/dpkg/lock'}
# `apt-get update` exits 0 when a source cannot be fetched; these lines say which and why.
FETCH_FAILED = re.compile(r'^[WE]: Failed to fetch .*$', re.M)

# Sleep (issue 16 point 6). The targets Debian's wiki masks so that nothing suspends a host
# (wiki.debian.org/Suspend, "Disable suspend and hibernation").
SLEEP_TARGETS = ('sleep.target', 'suspend.target', 'hibernate.target', 'hybrid-sleep.target')
# logind.conf(5) actions that sleep; what a masked sleep.target stops
SLEEP_ACTIONS = ('suspend', 'hibernate', 'hybrid-sleep', 'suspend-then-hibernate', 'sleep')
# logind.conf and its drop-ins, lowest priority first (systemd.syntax(7), logind.conf(5)): a drop-in
# of one name in /etc hides the same name in /run and /usr/lib; all are read in name order
LOGIND_CONF = '/etc/systemd/logind.conf'
LOGIND_DROPINS = ('/usr/lib/systemd/logind.conf.d', '/usr/local/lib/systemd/logind.conf.d',
                  '/run/systemd/logind.conf.d', '/etc/systemd/logind.conf.d')
LID = '/proc/acpi/button/lid'
# the Debian packages that are docker CLI plugins (trixie: docker-compose 2.x, docker-buildx);
# bookworm's docker-compose is Compose v1 (1.29, python), not a plugin
PLUGIN_PACKAGES = {'compose': ('docker-compose', 2), 'buildx': ('docker-buildx', 0)}


def lock_holder(text):
    """(pid or None, process name or None, lock path or None) when ``text`` is apt's or
    dpkg's output of a failure to take a lock held by another process; else None."""
    if not LOCK_FAILED.search(text):
        return None
    pid = name = path = None
    for match in APT_LOCK_HOLDER.finditer(text):  # the last one that names a holder wins
        if match.group(2) or not pid:
            path, pid, name = match.group(1), match.group(2), match.group(3)
    for match in DPKG_LOCK_HOLDER.finditer(text):
        exe = match.group(2)
        path, pid, name = DPKG_LOCKS[match.group(1)], match.group(3), None if exe == 'another' else exe
    return pid, name, path


def _command(pid):
    """The command line of process ``pid`` (its name when it has none), printable, credentials
    redacted, cut at COMMAND_MAX characters; None when the process is gone."""
    try:
        with open(os.path.join(PROC, str(pid), 'cmdline'), 'rb') as handle:
            text = b' '.join(part for part in handle.read().split(b'\0') if part)
        if not text:
            with open(os.path.join(PROC, str(pid), 'comm'), 'rb') as handle:
                text = handle.read().strip()
    except OSError:
        return None
    text = ''.join(c if c.isprintable() else '?' for c in text.decode('utf-8', 'replace'))
    text = redact_url(text)
    return text if len(text) <= COMMAND_MAX else text[:COMMAND_MAX - 3] + '...'


def _has_open(pid, key):
    """True when process ``pid`` has the file (device, inode) ``key`` open (as fuser finds it)."""
    fds = os.path.join(PROC, str(pid), 'fd')
    try:
        names = os.listdir(fds)
    except OSError:
        return False  # gone, or not ours to read (a scan as a user): not confirmed
    for name in names:
        try:
            info = os.stat(os.path.join(fds, name))
        except OSError:
            continue
        if (info.st_dev, info.st_ino) == key:
            return True
    return False


def lock_holders(paths=PACKAGE_LOCKS):
    """[(path, pid, command)] of the live processes holding a lock on one of ``paths``, in
    the order of ``paths``, read from /proc/locks (world-readable: a scan as any user sees
    them; nothing is opened or locked). pid and command are None for a lock whose owner this
    process cannot see (an open-file-description lock, another PID namespace).

    /proc/locks names a file by its file system's device, which is not always the one stat()
    gives (btrfs subvolumes): a lock on the same inode number on another device counts only
    when its holder has the file open."""
    wanted, inodes = {}, {}
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            continue  # no lock file: nobody holds it
        wanted[(os.major(info.st_dev), os.minor(info.st_dev), info.st_ino)] = path
        inodes.setdefault(info.st_ino, (path, (info.st_dev, info.st_ino)))
    found = {}
    try:
        with open(os.path.join(PROC, 'locks'), 'rb') as handle:
            lines = handle.read().decode('ascii', 'replace').splitlines()
    except OSError:
        return []
    for line in lines:
        # "1: POSIX  ADVISORY  WRITE 1234 00:27:1540377 0 EOF"; "1: -> POSIX ..." is a waiter
        fields = line.split()
        if len(fields) < 6 or fields[1] == '->':
            continue
        try:
            major, minor, inode = fields[5].split(':')
            key = (int(major, 16), int(minor, 16), int(inode))
            pid = int(fields[4])
        except ValueError:
            continue
        path = wanted.get(key)
        if path is None and key[2] in inodes and pid > 0 and _has_open(pid, inodes[key[2]][1]):
            path = inodes[key[2]][0]
        if path is None or path in found:
            continue
        if pid > 0:
            command = _command(pid)
            if command is None:
                continue  # gone since: its lock went with it
            found[path] = (path, str(pid), command)
        else:
            found[path] = (path, None, None)
    return [found[path] for path in paths if path in found]


def dpkg_error(text):
    """dpkg's error about a package as one line: it prints it over two, e.g.
    "dpkg: error processing package app (--configure):" and " installed app package
    post-installation script subprocess returned error exit status 1"."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith('dpkg: error processing'):
            detail = lines[index + 1].strip() if index + 1 < len(lines) else ''
            return ('%s %s' % (line.strip(), detail)).strip()
    return None


class Debian(Platform):
    package_manager = 'apt'
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
        self._lists_error = None   # Result of a failed `apt-get update`, reported once per run
        self._fetch_problem = None  # apt-get update's first "Failed to fetch" line

    def which(self, tool):
        return self.runner.which(tool)

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
        user = self._user()
        return manual('this user is neither root nor allowed passwordless sudo', [
            # the role's task sets become itself: become on the play would not reach it
            '%s (and add --ask-become-pass to ansible-playbook if sudo asks %s for a password)'
            % (self.setting('become', 'true'), user),
            "echo '%s ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/factiii && chmod 0440 /etc/sudoers.d/factiii"
            '  # or, as root, grant %s passwordless sudo' % (user, user),
        ])

    def _user(self):
        try:
            return pwd.getpwuid(self.runner.euid).pw_name
        except KeyError:
            return str(self.runner.euid)

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

    def _lock_timeout(self):
        return self.options.get('package_lock_timeout', 120)

    def lock_holders(self):
        return lock_holders()

    def _wait_for_package_locks(self, start=None):
        """Wait, reading /proc only, until no live process holds a package lock, for up to
        package_lock_timeout seconds (since ``start``, when a wait began earlier); then raise
        PlatformError (FAILED) naming the holder. Returns the clock value the wait started at
        (the budget _run_locked continues)."""
        timeout = self._lock_timeout()
        start = self.clock() if start is None else start
        while True:
            holders = self.lock_holders()
            waited = self.clock() - start
            if not holders:
                return start
            if waited >= timeout:
                path, pid, command = holders[0]
                raise PlatformError(self._busy(waited, pid, command, path))
            self.sleep(LOCK_RETRY_INTERVAL)

    @staticmethod
    def _busy(waited, pid, name, path):
        msg = 'package manager busy (lock held by %s) after waiting %ds' % (
            'PID %s' % pid if pid else 'another process', int(round(waited)))
        if path:
            msg += ': %s%s' % (path, ' is held by %s' % name if name else '')
        return failed(msg)

    def _run_locked(self, argv, what, apt=True, start=None):
        """Run ``argv`` (apt-get's arguments, or a whole dpkg command) as root. While it fails
        because another process holds a package lock, try again until package_lock_timeout
        seconds have passed in all (since ``start``, when a wait began earlier); then raise
        PlatformError with the holder's PID.

        apt-get itself waits for dpkg's locks (DPkg::Lock::Timeout, given what is left of the
        time); the lists and archives locks, and dpkg's own, fail at once and are retried here.
        """
        timeout = self._lock_timeout()
        start = self.clock() if start is None else start
        wait = max(0, int(math.ceil(timeout - (self.clock() - start))))
        while True:
            full = ['apt-get', '-o', 'DPkg::Lock::Timeout=%d' % wait] + list(argv) if apt else list(argv)
            res = self.runner.run(self._as_root(full), env=self._apt_env())
            if res.ok:
                return res
            waited = self.clock() - start
            if lock_holder(res.err + '\n' + res.out) is None or waited >= timeout:
                raise PlatformError(self._apt_failure(what, res, waited))
            self.sleep(LOCK_RETRY_INTERVAL)
            wait = max(0, int(math.ceil(timeout - (self.clock() - start))))

    def refresh_lists(self):
        """`apt-get update` once per run, only when the lists are missing or stale."""
        if self._lists_fresh or self.check_mode:
            return
        if self._lists_error is not None:
            raise PlatformError(self._lists_error)
        age = self._lists_age()
        if age is None or age > LISTS_MAX_AGE:
            try:
                res = self._run_locked(['-q', 'update'], 'apt-get update')
            except PlatformError as exc:
                self._lists_error = exc.result
                raise
            fetch = FETCH_FAILED.search(res.err + '\n' + res.out)
            self._fetch_problem = fetch.group(0).strip() if fetch else None
        self._lists_fresh = True

    def package_names(self, tool):
        return self.packages_of(tool)

    def candidate_version(self, package):
        self.refresh_lists()
        res = self.runner.run(['apt-cache', 'policy', package])
        match = re.search(r'^\s*Candidate:\s*(\S+)', res.out, re.M)
        if not res.ok or not match or match.group(1) == '(none)':
            return None
        return match.group(1)

    def dpkg_journal(self):
        """True when dpkg's journal has entries: dpkg is at work, or was killed midway (then
        its database needs `dpkg --configure -a`). Ask only once no process holds the locks."""
        try:
            return any(name.isdigit() for name in os.listdir(DPKG_UPDATES))
        except OSError:
            return False

    def _ready_to_install(self):
        """Wait for the package locks, then the Result the install would end with before
        installing anything (busy, or an interrupted dpkg not opted in to repair), else None;
        and the clock value the wait started at."""
        if self._lists_error is not None:
            return self._lists_error, None  # already waited for and reported this run
        start = None
        while True:
            try:
                start = self._wait_for_package_locks(start)
            except PlatformError as exc:
                return exc.result, None
            # a journal seen while nobody held the locks (an apt that started since is waited for)
            if not self.dpkg_journal():
                return None, start
            if not self.lock_holders():
                break
        if not self.options.get('repair_dpkg'):
            return self._dpkg_manual(), start
        return None, start

    def install_blocker(self):
        # A scan waits like the fix would (reading /proc only), so that it says the same.
        return self._ready_to_install()[0]

    def install_packages(self, packages):
        blocker, start = self._ready_to_install()
        if blocker:
            raise PlatformError(blocker)
        if self.dpkg_journal():
            # What apt would run for us, made non-interactive: keep changed config files.
            self._run_locked(['dpkg', '--force-confdef', '--force-confold', '--configure', '-a'],
                             'dpkg --configure -a', apt=False, start=start)
        self.refresh_lists()
        self._run_locked(['-q', '-y', 'install'] + list(packages), 'apt-get install %s' % ' '.join(packages),
                         start=start)
        # any tool may have come with the packages (a fix's or a user check's): look again
        self.runner.forget()

    def _dpkg_manual(self):
        repair = self.setting('repair_dpkg', 'true')
        return manual('dpkg was interrupted: the package database needs repair', [
            'sudo dpkg --configure -a',
            'then re-run the stage' + ('; or %s and factiii runs it before installing' % repair if repair else '')])

    def _apt_failure(self, what, res, waited=0):
        text = res.err + '\n' + res.out
        holder = lock_holder(text)
        if holder is not None:
            pid, name, path = holder
            live = self.lock_holders()  # the holder's whole command line, while it runs
            if live:
                path, pid, name = live[0]
            return self._busy(waited, pid, name, path)
        if 'dpkg was interrupted' in text:
            return self._dpkg_manual()
        msg = '%s failed: %s' % (what, dpkg_error(text) or res.reason())
        if self._fetch_problem and what.startswith('apt-get install'):
            msg += '; apt-get update: %s' % self._fetch_problem
        return failed(msg)

    def npm_install_global(self, spec, ca_bundle=None):
        npm = self.which('npm')
        if not npm:
            raise PlatformError(failed('npm is not installed (install node first)'))
        env = {}
        if ca_bundle:
            env.update({'NODE_EXTRA_CA_CERTS': ca_bundle, 'npm_config_cafile': ca_bundle})
        res = self.runner.run(self._as_root(self.npm_install_argv(npm, spec)), env=env)
        if not res.ok:
            raise PlatformError(failed('npm install -g %s failed: %s' % (spec, res.reason())))

    def node_upgrade_steps(self, major):
        # What NodeSource's own setup_<major>.x script (github.com/nodesource/distributions,
        # scripts/deb) does, as commands to read before running, never piped into a shell.
        major = int(major)
        keyring = '/usr/share/keyrings/nodesource.gpg'
        return [
            'sudo apt-get install -y ca-certificates curl gnupg',
            'curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key '
            '| sudo gpg --dearmor --yes -o %s' % keyring,
            'sudo chmod 644 %s' % keyring,
            'echo "deb [arch=$(dpkg --print-architecture) signed-by=%s] '
            'https://deb.nodesource.com/node_%d.x nodistro main" '
            '| sudo tee /etc/apt/sources.list.d/nodesource.list' % (keyring, major),
            "printf 'Package: nodejs\\nPin: origin deb.nodesource.com\\nPin-Priority: 600\\n' "
            '| sudo tee /etc/apt/preferences.d/nodejs',
            'sudo apt-get update',
            'sudo apt-get install -y nodejs',
            'node --version  # must print v%d or later' % major,
        ]

    # -- services ------------------------------------------------------
    def _systemd(self):
        # sd_booted(): systemd is PID 1 only when this directory exists.
        return os.path.isdir('/run/systemd/system')

    def docker_installed(self):
        return bool(self.which('docker')) and bool(self.which('dockerd'))

    def docker_packages(self):
        # Debian 13 moved the CLI out of docker.io into docker-cli, which docker.io only
        # recommends: without recommends there would be a dockerd and no `docker`
        packages = self.packages_of('docker')
        if self.candidate_version('docker-cli'):
            packages.append('docker-cli')
        return packages

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
            raise PlatformError(failed('%s: docker info did not answer within %ds: %s'
                                       % (what, timeout, self.docker_state()[1])))

    def docker_state(self):
        version, reason = self.docker_info()
        # A user outside the docker group cannot reach the socket even when dockerd runs.
        prefix = self._prefix() if version is None and self.runner.euid != 0 else None
        if prefix:
            version, reason = self.docker_info(prefix)
        return version, reason

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

    # -- a server that comes back unattended (issue 16 point 6) ----------
    def read_text(self, path):
        try:
            with open(path) as handle:
                return handle.read()
        except (IOError, OSError):
            return None

    def logind_files(self):
        """logind.conf, then its drop-ins in the order logind reads them."""
        dropins = {}
        for folder in LOGIND_DROPINS:
            for path in glob.glob(os.path.join(folder, '*.conf')):
                dropins[os.path.basename(path)] = path  # a later folder hides the same name
        return [LOGIND_CONF] + [dropins[name] for name in sorted(dropins)]

    def logind_settings(self):
        """logind's [Login] settings as logind reads them: the last file that sets one wins."""
        settings = {}
        for path in self.logind_files():
            section = None
            for line in (self.read_text(path) or '').splitlines():
                line = line.strip()
                if line.startswith('['):
                    section = line
                elif section == '[Login]' and '=' in line and not line.startswith(('#', ';')):
                    key, value = line.split('=', 1)
                    settings[key.strip()] = value.strip()
        return settings

    def has_lid(self):
        return bool(glob.glob(os.path.join(LID, '*')))

    def _sleep_causes(self):
        """What can suspend this host by itself (logind's idle action, a lid), as text."""
        logind = self.logind_settings()
        causes = []
        idle = logind.get('IdleAction', 'ignore')
        if idle in SLEEP_ACTIONS:
            causes.append('logind IdleAction=%s' % idle)
        if self.has_lid():
            for key in ('HandleLidSwitch', 'HandleLidSwitchExternalPower'):
                action = logind.get(key, logind.get('HandleLidSwitch', 'suspend'))
                if action in SLEEP_ACTIONS:
                    causes.append('a lid, with logind %s=%s' % (key, action))
                    break
        return causes, idle

    def sleep_state(self):
        if not self._systemd():
            return ok('not applicable: no systemd, so no logind to suspend this host')
        causes, idle = self._sleep_causes()
        if not causes:
            return ok('nothing suspends this host: no lid (%s), logind IdleAction=%s' % (LID, idle))
        res = self.runner.run(['systemctl', 'is-enabled'] + list(SLEEP_TARGETS))
        states = res.out.split()
        if len(states) == len(SLEEP_TARGETS) and set(states) == {'masked'}:
            return ok('the sleep targets are masked (%s can ask, nothing happens)' % ', '.join(causes))
        what = 'this host can suspend itself: %s' % ', '.join(causes)
        if self._prefix() is None:
            return manual('%s and masking the sleep targets needs root' % what, self.admin_problem().steps)
        return needs_fix('would mask %s (%s)' % (' '.join(SLEEP_TARGETS), what))

    def disable_sleep(self):
        self.run_or_raise(self._as_root(['systemctl', 'mask'] + list(SLEEP_TARGETS)), 'systemctl mask')

    def power_restore_state(self):
        return ok('not applicable: powering on after a power failure is a firmware setting here '
                  '(the BIOS/UEFI "Restore on AC power loss", or "AC Power Recovery": set it to on)')

    def enable_power_restore(self):
        raise PlatformError(self.power_restore_state())  # never NEEDS_FIX: nothing to do here

    def update_reboot_state(self):
        if not self.which('unattended-upgrade'):
            return ok('unattended-upgrades is not installed: nothing reboots this host for updates')
        res = self.runner.run(['apt-config', 'dump', 'Unattended-Upgrade::Automatic-Reboot'])
        match = re.search(r'^Unattended-Upgrade::Automatic-Reboot "([^"]*)";', res.out, re.M)
        value = match.group(1) if match else 'false'  # unattended-upgrades' default
        if value.lower() not in ('true', 'yes', 'on', '1'):
            return ok('unattended-upgrades does not reboot this host (Automatic-Reboot %s)' % value)
        # an admin chose it: say what it means, do not undo it
        return manual('unattended-upgrades reboots this host by itself after some updates '
                      '(Unattended-Upgrade::Automatic-Reboot "%s")' % value, [
                          # apt reads /etc/apt/apt.conf.d in name order: the last value wins
                          "echo 'Unattended-Upgrade::Automatic-Reboot \"false\";' "
                          '| sudo tee /etc/apt/apt.conf.d/99factiii-no-reboot >/dev/null',
                          'apt-config dump Unattended-Upgrade::Automatic-Reboot  # must print "false"',
                          'Or keep the reboots at a quiet hour: Unattended-Upgrade::Automatic-Reboot-Time '
                          '"04:00"; in the same way'])

    def disable_update_reboot(self):
        raise PlatformError(self.update_reboot_state())  # never NEEDS_FIX: the admin's choice

    def disk_unlock_state(self):
        return ok('not applicable: FileVault is macOS\'s (an encrypted Debian root asks at boot as it was set up)')

    def remote_login_state(self):
        return ok('sshd answered: this host runs it (factiii reached it over SSH)')

    def passwordless_sudo(self, user):
        sudo = self.which('sudo')
        if not sudo:
            return False, 'sudo is not installed'
        if self.runner.euid == 0:
            argv = [sudo, '-n', '-u', user, sudo, '-n', 'true']
        elif self._user() == user:
            argv = [sudo, '-n', 'true']
        else:
            return None, 'only root can tell whether %s may sudo' % user
        res = self.runner.run(argv)
        return (True, None) if res.ok else (False, res.reason())

    def sudoers_group(self):
        return 'root'

    def missing_docker_plugins(self):
        docker = self.which('docker')
        return [plugin for plugin in PLUGINS
                if not (docker and self.runner.run([docker, plugin, 'version']).ok)]

    def docker_plugin_packages(self, plugins):
        packages = []
        for plugin in plugins:
            package, major = PLUGIN_PACKAGES[plugin]
            version = self.candidate_version(package)
            digits = re.match(r'(?:\d+:)?(\d+)', version or '')
            if not digits or int(digits.group(1)) < major:
                return None
            packages.append(package)
        return packages

    def docker_plugin_steps(self, plugins):
        # docs.docker.com/engine/install/debian/ (Docker's apt repository) and
        # docs.docker.com/compose/install/linux/ "Install the plugin manually"
        return ['Add Docker\'s apt repository as docs.docker.com/engine/install/debian/ says, then '
                'apt-get install %s' % ' '.join('docker-%s-plugin' % p for p in plugins),
                'Or put the plugin binaries in /usr/local/lib/docker/cli-plugins as '
                'docs.docker.com/compose/install/linux/ ("Install the plugin manually") says']
