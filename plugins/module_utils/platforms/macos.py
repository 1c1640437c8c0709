# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""macOS backend: Homebrew run as the prefix's owner, colima or Docker Desktop, launchd.

brew refuses to run as root, so as root every brew/npm/colima command runs as
the user who owns the Homebrew prefix. The other programs of the prefix (node,
pnpm, docker, git) are that user's too: as root the Runner runs them as their
owner (runner.py), so the brew user, or an npm install script running as that
user, never gets root by replacing one. Docker on a Mac starts at login, not at
boot: colima can run as a system LaunchDaemon; Docker Desktop cannot, so for it
we can only report what a human must set.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import plistlib
import pwd
import re
import shlex
import tempfile

from ansible_collections.factiii.infra.plugins.module_utils.fix import (
    MANUAL, PlatformError, failed, manual, needs_fix, ok,
)
from ansible_collections.factiii.infra.plugins.module_utils.platforms.base import Platform
from ansible_collections.factiii.infra.plugins.module_utils.runner import as_user_argv

# System tools by absolute path: over SSH PATH is short, and coreutils' gnubin
# may shadow BSD `stat`, whose `-f %Su` we rely on.
STAT = '/usr/bin/stat'
LAUNCHCTL = '/bin/launchctl'
DEFAULTS = '/usr/bin/defaults'
OPEN = '/usr/bin/open'
SW_VERS = '/usr/bin/sw_vers'

BREW_ENV = (('HOMEBREW_NO_AUTO_UPDATE', '1'), ('HOMEBREW_NO_INSTALL_CLEANUP', '1'))
HOMEBREW_INSTALL = [
    '/bin/bash -c "$(curl -fsSL https://raw.githubusercontent.com/Homebrew/install/HEAD/install.sh)"'
    '  # as an admin user, not root',
    'echo \'eval "$(/opt/homebrew/bin/brew shellenv)"\' >> ~/.zprofile'
    ' && eval "$(/opt/homebrew/bin/brew shellenv)"',
]

DOCKER_APP = '/Applications/Docker.app'
# `docker` is often not on PATH over SSH: Docker Desktop keeps its CLI in the app.
DOCKER_PATHS = (DOCKER_APP + '/Contents/Resources/bin/docker', '/usr/local/bin/docker',
                '/opt/homebrew/bin/docker')
DOCKER_SETTINGS = 'Library/Group Containers/group.com.docker'
LOGINWINDOW = '/Library/Preferences/com.apple.loginwindow'

LABEL = 'com.factiii.colima'
COLIMA_LOG = '/Library/Logs/factiii-colima.log'


def _cmdline(argv):
    return ' '.join(shlex.quote(str(a)) for a in argv)


def _brew_error(res):
    """brew ends stderr with hints; the line that matters starts with 'Error:'."""
    for line in res.err.splitlines():
        if line.startswith('Error:'):
            return line.strip()
    return res.reason()


def _colima_reason(res):
    """colima logs through logrus: `level=fatal msg="..."` (no TTY) or `FATA[0003] ...`."""
    for line in reversed((res.err + '\n' + res.out).splitlines()):
        if 'level=fatal' in line or line.startswith('FATA'):
            m = re.search(r'msg="((?:[^"\\]|\\.)*)"', line)
            return m.group(1) if m else re.sub(r'^FATA\[\d+\]\s*', '', line).strip()
    return res.reason()


class MacOS(Platform):
    name = 'macos'
    PACKAGES = {'git': ['git'], 'node': ['node'], 'npm': ['node'], 'docker': ['colima', 'docker']}
    # where the LaunchDaemon goes; tests point it at a temporary directory
    launchd_dir = '/Library/LaunchDaemons'

    def __init__(self, runner, check_mode=False, options=None):
        super(MacOS, self).__init__(runner, check_mode, options)
        self._brew_ctx = None
        self._candidates = {}

    # -- host access, overridden by tests ------------------------------
    def exists(self, path):
        return os.path.exists(path)

    def read_text(self, path):
        try:
            with open(path) as f:
                return f.read()
        except (IOError, OSError):
            return None

    def user_name(self, uid):
        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:
            return str(uid)

    def user_home(self, user):
        try:
            return pwd.getpwnam(user).pw_dir
        except KeyError:
            return '/Users/' + user

    def write_root_file(self, path, data, mode):
        """Atomic write: launchd must never see a half-written plist."""
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.factiii-')
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                os.fchmod(f.fileno(), mode)
                if os.geteuid() == 0:  # launchd ignores plists not owned by root:wheel
                    os.fchown(f.fileno(), 0, 0)
            os.rename(tmp, path)
        except Exception:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    # -- Homebrew and its owner ----------------------------------------
    def _brew(self):
        """(brew, prefix, owner), or PlatformError MANUAL when brew cannot be used."""
        if self._brew_ctx is None:
            brew = self.runner.which('brew', any_owner=True)  # run as its owner only
            if not brew:
                raise PlatformError(manual('Homebrew is not installed', HOMEBREW_INSTALL))
            # bin/brew -> prefix; no `brew --prefix`, which would run brew (maybe as root)
            prefix = os.path.dirname(os.path.dirname(brew))
            # On Intel the installer cannot chown /usr/local itself (it stays root's);
            # it owns the repository /usr/local/Homebrew instead.
            probe = prefix + '/Homebrew' if prefix == '/usr/local' else prefix
            res = self.runner.run([STAT, '-f', '%Su', probe])
            owner = res.out.strip()
            if not res.ok or not owner:
                raise PlatformError(failed('cannot tell who owns %s: %s' % (probe, res.reason())))
            if owner == 'root':
                raise PlatformError(manual(
                    '%s is owned by root and brew refuses to run as root' % probe,
                    ['sudo chown -R "$(whoami)" %s  # as the admin user who is to own Homebrew' % probe]))
            self._brew_ctx = (brew, prefix, owner)
        return self._brew_ctx

    def _owner_path(self, prefix):
        return '%s/bin:%s/sbin:/usr/bin:/bin:/usr/sbin:/sbin' % (prefix, prefix)

    def _as_owner_argv(self, argv, env):
        return as_user_argv(self._brew()[2], argv, env)

    def _run_as_owner(self, argv, env=()):
        """Run as the Homebrew owner: via sudo when root, directly when we are the owner."""
        owner = self._brew()[2]
        if self.runner.euid == 0:
            # cwd '/': the owner may not be able to read root's working directory
            return self.runner.run(self._as_owner_argv(argv, env), cwd='/')
        me = self.user_name(self.runner.euid)
        if me == owner:
            return self.runner.run(list(argv), env=dict(env))
        raise PlatformError(manual(
            '%s must run as %s, the owner of %s (this runs as %s)'
            % (os.path.basename(argv[0]), owner, self._brew()[1], me),
            ['%s  # as an admin' % _cmdline(self._as_owner_argv(argv, env)),
             'Or %s: factiii then runs brew as %s itself' % (self.setting('become', 'true'), owner)]))

    def _run_brew(self, args):
        return self._run_as_owner([self._brew()[0]] + list(args), BREW_ENV)

    def admin_problem(self):
        try:
            brew, prefix, owner = self._brew()
        except PlatformError as exc:
            return exc.result
        me = self.user_name(self.runner.euid)
        if self.runner.euid == 0 or me == owner:
            return None
        return manual('brew must run as %s, the owner of %s (this runs as %s)' % (owner, prefix, me),
                      ['%s: factiii then runs brew as %s itself' % (self.setting('become', 'true'), owner),
                       'Or connect as %s: set ansible_user: %s for this host in the inventory' % (owner, owner)])

    # -- packages ------------------------------------------------------
    def package_names(self, tool):
        if tool == 'docker' and self.exists(DOCKER_APP):
            return []  # Docker Desktop brings its own CLI and engine
        if tool in ('node', 'npm'):
            want = self.options.get('node_min_major')
            have = (self.candidate_version('node') or '').split('.')[0] if want else ''
            if have.isdigit() and int(have) < int(want):
                return ['node@%d' % int(want)]
        return super(MacOS, self).package_names(tool)

    def candidate_version(self, package):
        # `brew info` costs about a second: ask once per package and run
        if package not in self._candidates:
            self._candidates[package] = self._brew_candidate(package)
        return self._candidates[package]

    def _brew_candidate(self, package):
        # never raises: fixes call this while scanning, outside any error handling
        try:
            res = self._run_brew(['info', '--json=v2', package])
        except PlatformError:
            return None
        if not res.ok:
            return None
        try:
            return json.loads(res.out)['formulae'][0]['versions']['stable']
        except (ValueError, KeyError, IndexError, TypeError):
            return None

    def install_packages(self, packages):
        packages = list(packages)
        if not packages:
            return
        res = self._run_brew(['install'] + packages)
        if not res.ok:
            raise PlatformError(failed('brew install %s failed: %s'
                                       % (' '.join(packages), _brew_error(res))))
        for pkg in packages:
            if pkg.startswith('node@'):  # versioned formulae are keg-only: link to put node on PATH
                res = self._run_brew(['link', '--overwrite', '--force', pkg])
                if not res.ok:
                    raise PlatformError(failed('brew link %s failed: %s' % (pkg, _brew_error(res))))
        for tool in set(p.split('@')[0] for p in packages) | set(['npm']):
            self.runner.forget(tool)  # the next which() must see the new binaries

    def npm_install_global(self, spec, ca_bundle=None):
        brew, prefix, owner = self._brew()
        # brew's npm installs globals into the Homebrew prefix: only its owner may write there
        npm = self.runner.which('npm', extra_dirs=[prefix + '/bin'], any_owner=True)
        if not npm:
            raise PlatformError(failed('npm not found (install node first)'))
        env = [('PATH', self._owner_path(prefix))]  # npm's `#!/usr/bin/env node` needs node
        if ca_bundle:
            env += [('NODE_EXTRA_CA_CERTS', ca_bundle), ('npm_config_cafile', ca_bundle)]
        res = self._run_as_owner(self.npm_install_argv(npm, spec), env)
        if not res.ok:
            raise PlatformError(failed('npm install -g %s failed: %s' % (spec, res.reason())))
        name = spec.rsplit('@', 1)[0] if spec.rfind('@') > 0 else spec
        self.runner.forget(name.split('/')[-1])

    def node_upgrade_steps(self, major):
        formula = 'node@%d' % int(major)
        cmds = [['install', formula], ['link', '--overwrite', '--force', formula]]
        try:
            brew = self._brew()[0]
        except PlatformError as exc:
            return exc.result.steps + ['brew %s' % ' '.join(c) for c in cmds]
        return [_cmdline(self._as_owner_argv([brew] + c, BREW_ENV)) for c in cmds]

    # -- docker --------------------------------------------------------
    def which(self, tool):
        path = self.runner.which(tool)
        if tool == 'docker' and not path:
            path = next((p for p in DOCKER_PATHS if self.exists(p)), None)
        return path

    def _runtime(self):
        """'colima' (preferred: it can start at boot), 'desktop', or None."""
        if self.which('docker') and self.which('colima'):
            return 'colima'
        if self.exists(DOCKER_APP):
            return 'desktop'
        return None

    def docker_installed(self):
        return self._runtime() is not None

    def _docker_env(self):
        # root has no docker context: point it at the owner's colima socket
        if self.runner.euid != 0 or self._runtime() != 'colima':
            return None
        try:
            owner = self._brew()[2]
        except PlatformError:
            return None
        return {'DOCKER_HOST': 'unix://%s/.colima/default/docker.sock' % self.user_home(owner)}

    def docker_state(self):
        return self.docker_info(env=self._docker_env())

    def start_docker(self):
        runtime = self._runtime()
        timeout = self.options.get('docker_start_timeout', 60)
        if runtime == 'colima':
            if self.runner.euid == 0 and self.exists(self._plist_path()):
                # our LaunchDaemon owns colima: a second `colima start` would fight it
                res = self.runner.run([LAUNCHCTL, 'kickstart', 'system/' + LABEL])
            else:
                prefix = self._brew()[1]
                res = self._run_as_owner([self.which('colima'), 'start'],
                                         [('PATH', self._owner_path(prefix))])
            if not self.wait_until(self.docker_running, timeout if res.ok else 0):
                raise PlatformError(failed('docker did not answer after starting colima: %s'
                                           % _colima_reason(res)))
            return
        if runtime == 'desktop':
            steps = ["Log in to the Mac's desktop and start Docker Desktop"]
            if self.runner.euid == 0:
                raise PlatformError(manual(
                    'Docker Desktop can only start in a desktop login session, not as root over SSH',
                    steps))
            res = self.runner.run([OPEN, '-a', 'Docker'])
            if not res.ok:  # `open` needs the user's GUI session
                raise PlatformError(manual('cannot start Docker Desktop: %s' % res.reason(), steps))
            if not self.wait_until(self.docker_running, timeout):
                raise PlatformError(failed('Docker Desktop did not answer within %ss' % timeout))
            return
        raise PlatformError(failed('docker is not installed'))

    # -- docker at boot -------------------------------------------------
    def _plist_path(self):
        return os.path.join(self.launchd_dir, LABEL + '.plist')

    def _colima_plist(self):
        brew, prefix, owner = self._brew()
        home = self.user_home(owner)
        return {
            'Label': LABEL,
            'ProgramArguments': [self.which('colima'), 'start', '--foreground'],
            'UserName': owner,
            'RunAtLoad': True,
            'KeepAlive': True,
            'EnvironmentVariables': {'PATH': self._owner_path(prefix), 'HOME': home},
            'StandardOutPath': COLIMA_LOG,
            'StandardErrorPath': COLIMA_LOG,
        }

    def _read_plist(self, path):
        try:
            with open(path, 'rb') as f:
                return plistlib.load(f)
        except Exception:  # missing, unreadable or not a plist: all mean "rewrite it"
            return None

    def _loaded(self):
        return self.runner.run([LAUNCHCTL, 'print', 'system/' + LABEL]).ok

    def docker_boot(self):
        runtime = self._runtime()
        try:
            if runtime == 'colima':
                return self._colima_boot()
            if runtime == 'desktop':
                return self._desktop_boot()
        except PlatformError as exc:
            return exc.result
        # docker-missing installs colima first: the scan names the whole chain
        return needs_fix('would run colima at boot from LaunchDaemon %s (once colima is installed)' % LABEL)

    def _colima_boot(self):
        want = self._colima_plist()
        path = self._plist_path()
        what = 'LaunchDaemon %s running `colima start --foreground` as %s' % (LABEL, want['UserName'])
        if not self.exists(path):
            return needs_fix('would install ' + what)
        if self._read_plist(path) != want:
            return needs_fix('would update ' + what)
        if not self._loaded():
            return needs_fix('would load ' + what)
        return ok('colima starts at boot: ' + what, plist=path)

    def _desktop_boot(self):
        try:
            owner = self._brew()[2]
        except PlatformError:
            owner = None  # Docker Desktop does not need Homebrew
        res = self.runner.run([DEFAULTS, 'read', LOGINWINDOW, 'autoLoginUser'])
        auto = res.out.strip() if res.ok else ''
        user = auto or owner
        missing = []
        if not auto:
            missing.append(self._autologin_step(owner or '<the user who runs Docker Desktop>'))
        if not (user and self._desktop_autostart(user)):
            missing.append('Docker Desktop > Settings > General > '
                           'Start Docker Desktop when you sign in' + (' (as %s)' % user if user else ''))
        if not missing:
            return ok('docker starts after the auto-login of %s (Docker Desktop starts at sign-in)'
                      % auto, auto_login=auto)
        missing.append('Or install colima (%s) so factiii can run it as a LaunchDaemon at boot'
                       % ('sudo -u %s -H brew install colima docker' % owner if owner
                          else 'brew install colima docker'))
        return manual('Docker Desktop starts at login, not at boot: after an unattended reboot '
                      'docker stays down', missing, auto_login=auto or None)

    def _autologin_step(self, user):
        res = self.runner.run([SW_VERS, '-productVersion'])
        major = res.out.strip().split('.')[0] if res.ok else ''
        if major.isdigit() and int(major) < 13:  # Monterey and older: System Preferences
            return ('System Preferences > Users & Groups > Login Options > Automatic login: %s '
                    '(only offered when FileVault is off)' % user)
        return ('System Settings > Users & Groups > Automatically log in as %s '
                '(only offered when FileVault is off)' % user)

    def _desktop_autostart(self, user):
        # unreadable (e.g. TCC guards Group Containers) counts as "not set": MANUAL is honest
        base = os.path.join(self.user_home(user), DOCKER_SETTINGS)
        # Docker Desktop 4.34+ keeps settings-store.json (AutoStart); older settings.json (autoStart)
        for name, key in (('settings-store.json', 'AutoStart'), ('settings.json', 'autoStart')):
            text = self.read_text(os.path.join(base, name))
            if text is None:
                continue
            try:
                return bool(json.loads(text).get(key, False))
            except (ValueError, AttributeError):
                continue
        return False

    def enable_docker_at_boot(self):
        if self._runtime() != 'colima':
            res = self.docker_boot()
            if res.status == MANUAL:
                raise PlatformError(res)
            raise PlatformError(manual('docker at boot needs colima', ['brew install colima docker']))
        want = self._colima_plist()
        path = self._plist_path()
        loaded = self._loaded()
        if self.runner.euid != 0:
            data = plistlib.dumps(want).decode('utf-8')
            steps = ["sudo tee %s >/dev/null <<'EOF'\n%sEOF" % (path, data),
                     'sudo chown root:wheel %s' % path, 'sudo chmod 0644 %s' % path]
            if loaded:
                steps.append('sudo launchctl bootout system/%s' % LABEL)
            steps += ['sudo launchctl bootstrap system %s' % path,
                      'sudo launchctl kickstart system/%s' % LABEL]
            raise PlatformError(manual('installing a LaunchDaemon needs root: %s, or run these commands'
                                       % self.setting('become', 'true'), steps))
        changed = self._read_plist(path) != want
        if changed:
            try:
                self.write_root_file(path, plistlib.dumps(want), 0o644)
            except (IOError, OSError) as exc:
                raise PlatformError(failed('cannot write %s: %s' % (path, exc)))
        if loaded and changed:
            self.run_or_raise([LAUNCHCTL, 'bootout', 'system/' + LABEL], 'launchctl bootout')
            # bootout returns before the job is gone; bootstrapping too early fails with error 5
            self.wait_until(lambda: not self._loaded(), 10)
        bootstrap = changed or not loaded
        if bootstrap:
            self.run_or_raise([LAUNCHCTL, 'bootstrap', 'system', path], 'launchctl bootstrap')
        # RunAtLoad has just started a fresh job: -k would kill it mid-start; restart only an old one
        kick = [LAUNCHCTL, 'kickstart'] + ([] if bootstrap else ['-k']) + ['system/' + LABEL]
        self.run_or_raise(kick, 'launchctl kickstart')
