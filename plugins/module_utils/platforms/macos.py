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

Whose docker: colima's socket is its owner's (`colima status --json` names it:
~/.colima/<profile>/docker.sock, or under ~/.config/colima when that is colima's
home), Docker Desktop's is ~/.docker/run/docker.sock; /var/run/docker.sock, which
root's docker uses by default, exists only with Docker Desktop's "Allow the
default Docker socket". So every docker check names the socket (DOCKER_HOST).
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
from ansible_collections.factiii.infra.plugins.module_utils.fixes.node_missing import major as _major
from ansible_collections.factiii.infra.plugins.module_utils.platforms.base import PLUGINS, Platform
from ansible_collections.factiii.infra.plugins.module_utils.runner import as_user_argv

# System tools by absolute path: over SSH PATH is short, and coreutils' gnubin
# may shadow BSD `stat`, whose `-f %Su` we rely on.
STAT = '/usr/bin/stat'
LAUNCHCTL = '/bin/launchctl'
DEFAULTS = '/usr/bin/defaults'
OPEN = '/usr/bin/open'
SW_VERS = '/usr/bin/sw_vers'
PMSET = '/usr/bin/pmset'
FDESETUP = '/usr/bin/fdesetup'
SUDO = '/usr/bin/sudo'
# pmset(1) timers that put an unattended Mac to sleep, or its disks, or into standby and Power Nap
SLEEP_KEYS = ('sleep', 'disksleep', 'standby', 'powernap')
# Software Update's "Install macOS updates" (restarts the Mac by itself). A configuration profile's
# com.apple.SoftwareUpdate payload sets the same key, in Managed Preferences, and "prevents the user
# from changing the option" (Apple's device-management schema, mdm/profiles/com.apple.SoftwareUpdate.yaml;
# that payload is deprecated in macOS 26, whose declarative software update settings are not read here)
SOFTWARE_UPDATE = '/Library/Preferences/com.apple.SoftwareUpdate'
MANAGED_SOFTWARE_UPDATE = '/Library/Managed Preferences/com.apple.SoftwareUpdate'
AUTO_MACOS_UPDATES = 'AutomaticallyInstallMacOSUpdates'
SSHD_LABEL = 'com.openssh.sshd'  # Remote Login's job (/System/Library/LaunchDaemons/ssh.plist)

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
# Seconds launchd waits after SIGTERM before SIGKILL (launchd.plist(5) ExitTimeOut): the
# supervisor stops the VM first (`colima stop`); a VM killed mid-stop leaves stale state.
COLIMA_EXIT_TIMEOUT = 120
COLIMA_CHECK_EVERY = 30  # seconds between the supervisor's `colima status` checks
# What the LaunchDaemon runs as the Homebrew owner: `sh -c SUPERVISOR label colima seconds`.
# Not `colima start --foreground`: that only waits for a signal (colima cmd/start.go,
# awaitForInterruption), so a VM that dies under it is never restarted; and `colima start`
# exits 0 on "already running, ignoring", which a plain KeepAlive respawns every 10 s. This
# starts colima (or adopts the one already running), exits 1 once two checks in a row find
# the VM gone (KeepAlive SuccessfulExit=false: launchd starts it again), and on SIGTERM
# (bootout, kickstart -k, shutdown) stops the VM and exits 0. A start that fails is tried once
# more after `colima stop --force`: vz can leave stale state after an unclean shutdown, which
# only that clears (ikuwow/dotfiles#202). Data comes only as arguments.
COLIMA_SUPERVISOR = (
    'colima=$1\n'
    'trap \'"$colima" stop; exit 0\' TERM INT\n'
    '"$colima" start || { "$colima" stop --force; "$colima" start; } || exit 1\n'
    'misses=0\n'
    'while [ "$misses" -lt 2 ]; do\n'
    '    sleep "$2" & wait $!\n'
    '    if "$colima" status >/dev/null 2>&1; then misses=0; else misses=$((misses + 1)); fi\n'
    'done\n'
    'echo "colima\'s VM is not running: exiting so that launchd starts colima again" >&2\n'
    'exit 1\n'
)
DESKTOP_SOCKET = '.docker/run/docker.sock'  # in the Desktop user's home (docker/for-mac#6529)


def _cmdline(argv):
    return ' '.join(shlex.quote(str(a)) for a in argv)


def _brew_error(res):
    """The line of brew's output that says what went wrong.

    brew ends stderr with hints; the line that matters starts with 'Error:'. A name brew
    does not know is only a 'Warning:' (cmd/install.rb: `opoo`, exit 1). Since Homebrew 5
    downloads run in a queue and curl's own line ("curl: (6) ...") comes after the Error
    line, if at all: it is the reason worth keeping."""
    lines = [line.strip() for line in res.err.splitlines() if line.strip()]
    error = next((line for line in lines if line.startswith('Error:')), None)
    if error is None:
        return next((line for line in lines if line.startswith('Warning:')), None) or res.reason()
    curl = next((line for line in lines if line.startswith('curl: (')), None)
    return '%s (%s)' % (error, curl) if curl else error


def _colima_reason(res):
    """colima logs through logrus: `level=fatal msg="..."` (no TTY) or `FATA[0003] ...`."""
    for line in reversed((res.err + '\n' + res.out).splitlines()):
        if 'level=fatal' in line or line.startswith('FATA'):
            m = re.search(r'msg="((?:[^"\\]|\\.)*)"', line)
            return m.group(1) if m else re.sub(r'^FATA\[\d+\]\s*', '', line).strip()
    return res.reason()


def pmset_settings(text):
    """{setting: int} of `pmset -g` ("Currently in use:" lines like ` sleep  1 (sleep prevented by
    sharingd)`); settings this Mac does not have are absent."""
    found = {}
    for line in text.splitlines():
        m = re.match(r'^\s+(\w+)\s+(-?\d+)\b', line)
        if m:
            found[m.group(1)] = int(m.group(2))
    return found


def _open_reason(res):
    """Since Big Sur `open` says "The application ... cannot be opened for an unexpected reason,
    error=Error Domain=NSOSStatusErrorDomain Code=-108xx "kLS...: text" UserInfo={...}": keep
    what comes before the UserInfo dump."""
    return res.reason().split(' UserInfo=')[0]


class MacOS(Platform):
    package_manager = 'brew'
    PACKAGES = {'git': ['git'], 'node': ['node'], 'npm': ['node'], 'docker': ['colima', 'docker']}
    # where the LaunchDaemon goes; tests point it at a temporary directory
    launchd_dir = '/Library/LaunchDaemons'

    def __init__(self, runner, check_mode=False, options=None):
        super(MacOS, self).__init__(runner, check_mode, options)
        self._brew_ctx = None
        self._formulae = {}
        self._refreshed = False     # `brew update` ran in this run (maybe failing)
        self._refresh_error = None  # its FAILED Result, reported by the install

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
        """(brew, prefix, owner), or PlatformError MANUAL when brew cannot be used
        (asked once per run: the answer is kept, failures too)."""
        if isinstance(self._brew_ctx, PlatformError):
            raise self._brew_ctx
        if self._brew_ctx is None:
            try:
                self._brew_ctx = self._find_brew()
            except PlatformError as exc:
                self._brew_ctx = exc
                raise
        return self._brew_ctx

    def _find_brew(self):
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
        return brew, prefix, owner

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
            prefix, owner = self._brew()[1:]
        except PlatformError as exc:
            return exc.result
        me = self.user_name(self.runner.euid)
        if self.runner.euid == 0 or me == owner:
            return None
        return manual('brew must run as %s, the owner of %s (this runs as %s)' % (owner, prefix, me),
                      ['%s: factiii then runs brew as %s itself' % (self.setting('become', 'true'), owner),
                       'Or connect as %s: set ansible_user: %s for this host in the inventory' % (owner, owner)])

    # -- packages ------------------------------------------------------
    def refresh_formulae(self):
        """`brew update` once per fix run, never in a scan.

        Every brew call sets HOMEBREW_NO_AUTO_UPDATE (an install must not update the
        whole prefix behind the operator's back), which also stops brew from ever
        refreshing its formula data (api.rb fetch_api_files! skips the download):
        without this, `brew info` would answer from the day Homebrew was installed.
        A failure is kept and reported by the install, which would otherwise choose
        from stale data."""
        if self._refreshed or self.check_mode or self.admin_problem() is not None:
            return  # (brew cannot run here: the install says so, with its own command)
        self._refreshed = True
        res = self._run_brew(['update'])
        if not res.ok:
            self._refresh_error = failed('brew update failed: %s' % _brew_error(res))

    def package_names(self, tool):
        if tool == 'docker' and self.exists(DOCKER_APP):
            return []  # Docker Desktop brings its own CLI and engine
        if tool in ('node', 'npm'):
            want = self.options.get('node_min_major')
            have = _major(self.candidate_version('node')) if want else None
            # node@N exists only below the stable node's major (homebrew-core keeps the
            # older LTS lines): ask for it only when brew has it and it is new enough
            if have is not None and have < int(want) and self._offers('node@%d' % int(want), int(want)):
                return ['node@%d' % int(want)]
        return self.packages_of(tool)

    def _offers(self, formula, major):
        """brew can install ``formula`` at ``major`` or later (it exists and is not disabled)."""
        info = self._formula(formula)
        stable = _major((info or {}).get('versions', {}).get('stable'))
        return bool(info) and not info.get('disabled') and stable is not None and stable >= major

    def candidate_version(self, package):
        return ((self._formula(package) or {}).get('versions') or {}).get('stable')

    def _formula(self, name):
        """`brew info --json=v2` of one formula, or None (unknown to brew, or brew unusable).
        Asked once per formula and run: it costs about a second. Never raises: fixes
        call this while scanning, outside any error handling."""
        if name not in self._formulae:
            self._formulae[name] = None
            try:
                self.refresh_formulae()
                res = self._run_brew(['info', '--json=v2', name])
            except PlatformError:
                return None
            if res.ok:
                try:
                    self._formulae[name] = json.loads(res.out)['formulae'][0]
                except (ValueError, KeyError, IndexError, TypeError):
                    pass
        return self._formulae[name]

    def install_blocker(self):
        # nothing a scan can see ends brew's install before it starts: without brew, or as
        # another user, admin_problem() has made the fix MANUAL already; a failing
        # `brew update` (reported by the install) runs only in a fix
        return None

    def install_packages(self, packages):
        packages = list(packages)
        if not packages:
            return
        self.refresh_formulae()
        if self._refresh_error is not None:
            raise PlatformError(self._refresh_error)
        res = self._run_brew(['install'] + packages)
        if not res.ok:
            raise PlatformError(failed('brew install %s failed: %s'
                                       % (' '.join(packages), _brew_error(res))))
        for pkg in packages:
            # node@N is keg-only (its bin stays under opt/node@N): link it to put node on
            # PATH; cmd/link.rb links a versioned keg-only formula, --overwrite replaces
            # the links of an older node
            if pkg.startswith('node@'):
                res = self._run_brew(['link', '--overwrite', '--force', pkg])
                if not res.ok:
                    raise PlatformError(failed('brew link %s failed: %s' % (pkg, _brew_error(res))))
        self.runner.forget()  # the next which() must see the new binaries, whichever came

    def npm_install_global(self, spec, ca_bundle=None):
        prefix = self._brew()[1]
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
        """Homebrew offers no node >= major: no node@major either (it exists only below
        the stable node's major). What works is fresher formula data, a lower
        node_min_major, or waiting for Homebrew."""
        major = int(major)
        try:
            brew = self._brew()[0]
        except PlatformError as exc:
            return exc.result.steps + ['brew install node', 'node --version  # must print v%d or later' % major]
        steps = []
        if not self._refreshed or self._refresh_error is not None:
            # a scan reads the formula data as it is, maybe months old
            steps.append('%s  # Homebrew\'s formula data may be old; then re-run the stage'
                         % _cmdline(self._as_owner_argv([brew, 'update'], BREW_ENV)))
        have = _major(self.candidate_version('node'))
        lower = self.setting('node_min_major', have) if have else None
        if lower:
            steps.append('%s (node %d is the newest Homebrew offers)' % (lower, have))
        steps.append('wait until `brew info node` shows a stable %d.x or later, then re-run the stage'
                     % major)
        return [step if i == 0 else 'Or ' + step for i, step in enumerate(steps)]

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

    def docker_packages(self):
        return self.package_names('docker')

    def _desktop_user(self):
        """Whose Docker Desktop: ours, or as root the Homebrew owner, else the auto-login user."""
        if self.runner.euid != 0:
            return self.user_name(self.runner.euid)
        try:
            return self._brew()[2]
        except PlatformError:
            res = self.runner.run([DEFAULTS, 'read', LOGINWINDOW, 'autoLoginUser'])
            return res.out.strip() if res.ok else None

    def _colima_socket(self):
        """(DOCKER_HOST, None), or (None, why): colima names its socket, which lives in
        colima's home (~/.colima or ~/.config/colima: colima config/files.go)."""
        try:
            prefix = self._brew()[1]
            res = self._run_as_owner([self.which('colima'), 'status', '--json'],
                                     [('PATH', self._owner_path(prefix))])
        except PlatformError as exc:
            return None, exc.result.msg
        if not res.ok:
            return None, _colima_reason(res)  # "colima is not running"
        try:
            socket = json.loads(res.out).get('docker_socket')
        except (ValueError, AttributeError):
            socket = None
        if not socket:
            return None, 'colima runs no docker engine (`colima status --json` names no docker_socket)'
        # the owner's answer, and docker may run as root: a local socket only (ssh:// or tcp://
        # would make docker connect elsewhere, or run ssh)
        if not re.match(r'unix:///[^\s]+$', socket):
            return None, 'colima names a docker socket that is not a local unix socket: %r' % socket[:200]
        return socket, None

    def _docker_host(self):
        """(DOCKER_HOST or None for docker's default, None) or (None, why docker cannot answer)."""
        if self._runtime() == 'colima':
            return self._colima_socket()
        user = self._desktop_user()
        socket = os.path.join(self.user_home(user), DESKTOP_SOCKET) if user else None
        if socket and self.exists(socket):
            return 'unix://' + socket, None
        return None, None  # /var/run/docker.sock: Docker Desktop's "Allow the default Docker socket"

    def docker_state(self):
        """docker_info() through the owner's socket: (server version, None), else (None, why not)."""
        host, why = self._docker_host()
        if why:
            return None, why
        return self.docker_info(env={'DOCKER_HOST': host} if host else None)

    def start_docker(self):
        runtime = self._runtime()
        timeout = self.options.get('docker_start_timeout', 60)
        if runtime == 'colima':
            if self.runner.euid == 0 and self._loaded():
                # our LaunchDaemon owns colima: restart it. Without -k kickstart does nothing
                # to a running job (launchctl(1)), e.g. a supervisor whose VM just died; and a
                # second `colima start` beside it would fight it.
                argv = [LAUNCHCTL, 'kickstart', '-k', 'system/' + LABEL]
                res = self.runner.run(argv)
                if not res.ok:
                    raise PlatformError(failed('launchctl kickstart -k failed: %s' % res.reason()))
                if not self.wait_until(self.docker_running, timeout):
                    raise PlatformError(failed(
                        'docker did not answer within %ss of restarting LaunchDaemon %s: %s (colima logs to %s)'
                        % (timeout, LABEL, self.docker_state()[1], COLIMA_LOG)))
                return
            prefix = self._brew()[1]
            res = self._run_as_owner([self.which('colima'), 'start'],
                                     [('PATH', self._owner_path(prefix))])
            if not self.wait_until(self.docker_running, timeout if res.ok else 0):
                why = _colima_reason(res) if not res.ok else self.docker_state()[1]
                raise PlatformError(failed('docker did not answer after starting colima: %s' % why))
            return
        if runtime == 'desktop':
            steps = ["Log in to the Mac's desktop and start Docker Desktop"]
            if self.runner.euid == 0:
                raise PlatformError(manual(
                    'Docker Desktop can only start in a desktop login session, not as root over SSH',
                    steps))
            res = self.runner.run([OPEN, '-a', 'Docker'])
            if not res.ok:  # `open` needs the user's GUI session
                raise PlatformError(manual('cannot start Docker Desktop: %s' % _open_reason(res), steps))
            if not self.wait_until(self.docker_running, timeout):
                raise PlatformError(failed('Docker Desktop did not answer within %ss' % timeout))
            return
        raise PlatformError(failed('docker is not installed'))

    # -- docker at boot -------------------------------------------------
    def _plist_path(self):
        return os.path.join(self.launchd_dir, LABEL + '.plist')

    def _colima_plist(self):
        prefix, owner = self._brew()[1:]
        home = self.user_home(owner)
        return {
            'Label': LABEL,
            'ProgramArguments': ['/bin/sh', '-c', COLIMA_SUPERVISOR, LABEL, self.which('colima'),
                                 str(COLIMA_CHECK_EVERY)],
            'UserName': owner,
            'RunAtLoad': True,
            # started again only when the supervisor fails (VM gone, start failed); a stop on
            # purpose exits 0 (launchd.plist(5) KeepAlive SuccessfulExit)
            'KeepAlive': {'SuccessfulExit': False},
            'ExitTimeOut': COLIMA_EXIT_TIMEOUT,
            # unset, launchd applies "light resource limits" (throttled CPU and I/O): the VM is
            # what this server is for (launchd.plist(5) ProcessType; Homebrew's :interactive)
            'ProcessType': 'Interactive',
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

    def _disabled(self, label=LABEL):
        """launchd's disabled database (`launchctl disable`, `unload -w`) holds ``label``: it is
        then never loaded, at boot nor by bootstrap ("Service is disabled"), until enabled.
        True / False, or None when the database does not name it."""
        res = self.runner.run([LAUNCHCTL, 'print-disabled', 'system'])
        key = '"%s" =>' % label
        for line in res.out.splitlines():
            line = line.strip()
            if line.startswith(key):
                # "=> disabled" since Big Sur, "=> true" before (the values seen in print-disabled)
                return line[len(key):].strip() in ('disabled', 'true')
        return None

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
        what = 'LaunchDaemon %s running colima as %s' % (LABEL, want['UserName'])
        if not self.exists(path):
            return needs_fix('would install ' + what)
        if self._read_plist(path) != want:
            return needs_fix('would update ' + what)
        if self._disabled():
            return needs_fix('would enable and load %s (launchd has it disabled: it never loads)' % what)
        if not self._loaded():
            return needs_fix('would load ' + what)
        version, why = self.docker_state()
        if version is None:
            return needs_fix('would restart %s (launchctl kickstart -k): loaded, but docker does not '
                             'answer through it: %s' % (what, why))
        return ok('colima starts at boot: %s; docker %s answers' % (what, version), plist=path)

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
        target = 'system/' + LABEL
        loaded = self._loaded()
        if self.runner.euid != 0:
            data = plistlib.dumps(want).decode('utf-8')
            steps = ["sudo tee %s >/dev/null <<'EOF'\n%sEOF" % (path, data),
                     'sudo chown root:wheel %s' % path, 'sudo chmod 0644 %s' % path]
            if loaded:
                steps += ['sudo launchctl bootout %s' % target,
                          'while sudo launchctl print %s >/dev/null 2>&1; do sleep 1; done' % target]
            steps += ['sudo launchctl enable %s' % target, 'sudo launchctl bootstrap system %s' % path]
            raise PlatformError(manual('installing a LaunchDaemon needs root: %s, or run these commands'
                                       % self.setting('become', 'true'), steps))
        changed = self._read_plist(path) != want
        if changed:
            try:
                self.write_root_file(path, plistlib.dumps(want), 0o644)
            except (IOError, OSError) as exc:
                raise PlatformError(failed('cannot write %s: %s' % (path, exc)))
        if loaded and changed:
            self.run_or_raise([LAUNCHCTL, 'bootout', target], 'launchctl bootout')
            # bootout returns before the job is gone (the supervisor stops the VM first, for up
            # to ExitTimeOut); bootstrapping before then fails with "5: Input/output error"
            if not self.wait_until(lambda: not self._loaded(), COLIMA_EXIT_TIMEOUT + 10):
                raise PlatformError(failed('launchctl bootout: %s was still loaded after %ds'
                                           % (target, COLIMA_EXIT_TIMEOUT + 10)))
            loaded = False
        # a label once disabled is never loaded again, at boot nor by bootstrap, until enabled
        self.run_or_raise([LAUNCHCTL, 'enable', target], 'launchctl enable')
        if not loaded:
            self.run_or_raise([LAUNCHCTL, 'bootstrap', 'system', path], 'launchctl bootstrap')  # RunAtLoad starts it
        elif not self.docker_running():
            # loaded and running, docker not answering: only -k restarts a running job
            self.run_or_raise([LAUNCHCTL, 'kickstart', '-k', target], 'launchctl kickstart -k')
        timeout = self.options.get('docker_start_timeout', 60)
        if not self.wait_until(self.docker_running, timeout):
            raise PlatformError(failed('LaunchDaemon %s is loaded, but docker did not answer within %ss: %s '
                                       '(colima logs to %s)' % (LABEL, timeout, self.docker_state()[1],
                                                                COLIMA_LOG)))

    # -- a Mac that comes back unattended (issue 16 point 6) ------------
    def _as_root_or_manual(self, what, argv, finding):
        """``finding`` (NEEDS_FIX) as root, else MANUAL with ``argv`` to run with sudo."""
        if self.runner.euid == 0:
            return finding
        return manual('%s and changing it needs root' % what,
                      ['sudo %s' % _cmdline(argv),
                       'Or %s: factiii then runs it itself' % self.setting('become', 'true')])

    def _pmset(self):
        res = self.runner.run([PMSET, '-g'])
        if not res.ok:
            raise PlatformError(failed('pmset -g failed: %s' % res.reason()))
        return pmset_settings(res.out)

    def _sleep_argv(self, settings):
        awake = [key for key in SLEEP_KEYS if settings.get(key, 0) != 0]
        return awake, [PMSET, '-a'] + [word for key in awake for word in (key, '0')]

    def sleep_state(self):
        try:
            settings = self._pmset()
        except PlatformError as exc:
            return exc.result
        awake, argv = self._sleep_argv(settings)
        if not awake:
            return ok('the Mac never sleeps on its own (pmset: %s)' % ', '.join(
                '%s 0' % key for key in SLEEP_KEYS if key in settings))
        what = 'the Mac sleeps on its own (pmset: %s)' % ', '.join('%s %d' % (k, settings[k]) for k in awake)
        return self._as_root_or_manual(what, argv, needs_fix('would run %s (%s)' % (_cmdline(argv), what)))

    def disable_sleep(self):
        awake, argv = self._sleep_argv(self._pmset())
        if awake:
            self.run_or_raise(argv, 'pmset -a')

    def power_restore_state(self):
        try:
            settings = self._pmset()
        except PlatformError as exc:
            return exc.result
        if 'autorestart' not in settings:
            return manual('pmset -g shows no autorestart setting on this Mac', [
                'System Settings > Energy (or Energy Saver) > Start up automatically after a power failure'])
        if settings['autorestart']:
            return ok('the Mac starts up by itself after a power failure (pmset autorestart 1)')
        argv = [PMSET, '-a', 'autorestart', '1']
        what = 'the Mac stays off after a power failure (pmset autorestart 0)'
        return self._as_root_or_manual(what, argv, needs_fix('would run %s (%s)' % (_cmdline(argv), what)))

    def enable_power_restore(self):
        self.run_or_raise([PMSET, '-a', 'autorestart', '1'], 'pmset -a autorestart 1')

    def _read_default(self, domain, key):
        """The value `defaults read` prints, or None when the domain or key is not set
        ("The domain/default pair of (..., ...) does not exist", exit 1)."""
        res = self.runner.run([DEFAULTS, 'read', domain, key])
        return res.out.strip() if res.ok else None

    def update_reboot_state(self):
        managed = self._read_default(MANAGED_SOFTWARE_UPDATE, AUTO_MACOS_UPDATES)
        if managed is not None:
            if managed == '0':
                return ok('a configuration profile turns off automatic macOS updates')
            # the profile wins over the local preference: writing it would change nothing
            return manual('a configuration profile (MDM) makes macOS install its updates by itself, '
                          'restarting the Mac', [
                              'In your MDM, set %s to false in the Software Update payload '
                              '(com.apple.SoftwareUpdate) of the profile on this Mac' % AUTO_MACOS_UPDATES])
        local = self._read_default(SOFTWARE_UPDATE, AUTO_MACOS_UPDATES)
        if local == '0':
            return ok('macOS does not install its updates by itself (%s 0)' % AUTO_MACOS_UPDATES)
        argv = [DEFAULTS, 'write', SOFTWARE_UPDATE, AUTO_MACOS_UPDATES, '-bool', 'false']
        what = ('macOS installs its updates by itself, restarting the Mac (%s %s)'
                % (AUTO_MACOS_UPDATES, local if local is not None else 'not set: macOS decides'))
        return self._as_root_or_manual(what, argv, needs_fix('would run %s (%s)' % (_cmdline(argv), what)))

    def disable_update_reboot(self):
        self.run_or_raise([DEFAULTS, 'write', SOFTWARE_UPDATE, AUTO_MACOS_UPDATES, '-bool', 'false'],
                          'defaults write %s' % SOFTWARE_UPDATE)

    def disk_unlock_state(self):
        res = self.runner.run([FDESETUP, 'status'])
        if not res.ok:
            return failed('fdesetup status failed: %s' % res.reason())
        status = res.out.strip().splitlines()[0] if res.out.strip() else ''
        if status.startswith('FileVault is Off') and 'will be enabled' not in status:
            return ok('FileVault is off: the Mac boots without anyone typing a password')
        return manual('%s: after a restart the Mac waits at the FileVault unlock screen, docker and '
                      'SSH down, until someone types a password' % status.rstrip('.'), [
                          'Turn FileVault off: System Settings > Privacy & Security > FileVault > Turn Off '
                          '(or sudo fdesetup disable)',
                          'Or keep it, and restart on purpose only with sudo fdesetup authrestart (it unlocks '
                          'the next boot once); a power cut still stops at the unlock screen'])

    def remote_login_state(self):
        if self._disabled(SSHD_LABEL) is False:
            return ok('Remote Login is on (launchd has %s enabled)' % SSHD_LABEL)
        # ssh.plist ships Disabled: Remote Login on is an "enabled" entry in launchd's database
        steps = ['System Settings > General > Sharing > Remote Login: on',
                 'Or sudo systemsetup -setremotelogin on (the terminal needs Full Disk Access)']
        return manual('Remote Login is off (launchd does not have %s enabled): no SSH after a restart'
                      % SSHD_LABEL, steps)

    def passwordless_sudo(self, user):
        if self.runner.euid == 0:
            argv = [SUDO, '-n', '-u', user, SUDO, '-n', 'true']
        elif self.user_name(self.runner.euid) == user:
            argv = [SUDO, '-n', 'true']
        else:
            return None, 'only root can tell whether %s may sudo' % user
        res = self.runner.run(argv)
        return (True, None) if res.ok else (False, res.reason())

    def sudoers_group(self):
        return 'wheel'

    def _docker_plugin_runs(self, plugin):
        docker = self.which('docker')
        return bool(docker) and self.runner.run([docker, plugin, 'version']).ok

    def missing_docker_plugins(self):
        return [plugin for plugin in PLUGINS if not self._docker_plugin_runs(plugin)]

    def docker_plugin_packages(self, plugins):
        prefix = self._brew()[1]
        if any(self.exists(self._plugin_link(prefix, plugin)) for plugin in plugins):
            return None  # installed, but docker does not look there: docker_plugin_steps()
        return ['docker-%s' % plugin for plugin in plugins]

    @staticmethod
    def _plugin_link(prefix, plugin):
        # the formulae link their plugin here (Formula/d/docker-compose.rb, docker-buildx.rb:
        # (lib/"docker/cli-plugins").install_symlink)
        return '%s/lib/docker/cli-plugins/docker-%s' % (prefix, plugin)

    def docker_plugin_steps(self, plugins):
        try:
            prefix, owner = self._brew()[1:]
        except PlatformError as exc:
            return exc.result.steps
        # the formulae's caveat: docker finds Homebrew's plugins only through cliPluginsExtraDirs
        # (/usr/local/lib/docker/cli-plugins is one of docker's own plugin directories, not
        # /opt/homebrew/lib/docker/cli-plugins)
        return ['sudo -u %s -H brew install %s' % (owner, ' '.join('docker-' + p for p in plugins)),
                'Add "cliPluginsExtraDirs": ["%s/lib/docker/cli-plugins"] to %s/.docker/config.json '
                '(the formulae\'s caveat), then check with docker compose version'
                % (prefix, self.user_home(owner))]
