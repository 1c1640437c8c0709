"""A simulated Mac answering run_command like brew, colima, docker and launchctl do.

State changes only through the commands a fix runs (brew install, npm -g,
colima start, launchctl bootstrap/kickstart), so a test proves a fix by its effect.

Everything under /opt/homebrew belongs to jon, the brew owner, as on a real Mac: SimRunner
asks the sim who owns a program, and the sim fails a test that runs one of jon's programs
as root (issue 12, finding 7).

launchd here runs what the LaunchDaemon's plist says, nothing else (issue 16 point 2): a
bootstrap of a disabled label fails, bootstrap of a loaded one fails with error 5, bootout
takes a few `print`s to finish, a kickstart without -k does nothing to a running job, and
colima runs only if the job started it (`colima start --foreground` of the old plist exits
0 at once when colima already runs, and KeepAlive then respawns it: `respawning`). Our
supervisor (macos.COLIMA_SUPERVISOR) is taken to behave as its own tests show
(test_macos.py runs it in a real shell). A VM crash (`crash_vm`) is the moment after it:
the job still runs. docker answers only through the socket colima made, and, like Docker
CLI 23.0 to 28.0.x, exits 0 with an empty line when it cannot connect (docker/cli#5900).
"""
import json
import plistlib

from ansible_collections.factiii.infra.plugins.module_utils.platforms.macos import COLIMA_SUPERVISOR
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner

BREW = '/opt/homebrew/bin/brew'
OWNER_SUDO = ['/usr/bin/sudo', '-u', 'jon', '-H', '/usr/bin/env']
PREFIX = '/opt/homebrew/'
FORMULA_BINS = {
    'git': ['git'], 'node': ['node', 'npm'], 'colima': ['colima'], 'docker': ['docker'],
}
LABEL = 'com.factiii.colima'
NOT_FOUND = 'Could not find service "%s" in domain for system\n' % LABEL

# What `brew info` knows: formula -> stable version. homebrew-core keeps node@N only for
# the LTS lines below the stable node's major (Formula/n/node@24.rb: keg_only
# :versioned_formula); an odd major is only ever `node` itself. The versions are the
# releases of those months (nodejs.org/dist/index.json for node), as state for the
# simulation, not recorded output: the backend reads only node's majors from them.
NOV_2024 = {'node': '23.3.0', 'node@22': '22.11.0', 'node@20': '20.18.1', 'node@18': '18.20.5',
            'git': '2.47.1', 'colima': '0.8.1', 'docker': '27.3.1',
            'docker-compose': '2.31.0', 'docker-buildx': '0.19.2'}
# A Mac whose brew has not refreshed its formula data since April 2023.
APR_2023 = {'node': '20.0.0', 'node@18': '18.16.0', 'node@16': '16.20.0', 'node@14': '14.21.3',
            'git': '2.40.0', 'colima': '0.5.4', 'docker': '23.0.4'}


# `pmset -g` of a Mac mini as it ships (issue 16 point 6). The settings and their order are those a
# Mac mini on macOS Sonoma printed (ezone.co.uk, "Setting up a power schedule for macOS with pmset",
# which lists `pmset -g` on a Mac mini upgraded from Monterey); the column layout (one space, the
# name padded to 21 characters, the value, then any "(... prevented by ...)") is pmset's, as in the
# outputs quoted in public test suites of pmset parsers. autorestart is 0 here, pmset's default
# (that Mac's owner had set 1). Unverified on a real Mac by this project.
PMSET_MAC_MINI = (('disksleep', 10), ('powernap', 1), ('womp', 1), ('networkoversleep', 0),
                  ('sleep', 10), ('Sleep On Power Button', 1), ('ttyskeepawake', 1), ('tcpkeepalive', 1),
                  ('autorestart', 0), ('standby', 0), ('displaysleep', 10))
PREVENTED = {'sleep': ' (sleep prevented by sharingd, powerd, bluetoothd)'}
# `defaults read` of a key that is not set: exit 1, this line on stderr (defaults(1); the wording
# as quoted in issue threads, unverified here: the backend reads only the exit status)
NO_DEFAULT = 'The domain/default pair of (%s, %s) does not exist\n'
SOFTWARE_UPDATE = '/Library/Preferences/com.apple.SoftwareUpdate'
MANAGED_SOFTWARE_UPDATE = '/Library/Managed Preferences/com.apple.SoftwareUpdate'
# `docker <plugin> version` when docker finds no such plugin: the text Docker CLI 20.10 and 26.1 print
# (recorded on the Debian test hosts, cli/cobra.go); not recorded for 27.4 on a Mac: the backend
# reads only the exit status
NOT_A_COMMAND = "docker: '%s' is not a docker command.\nSee 'docker --help'\n"


def unavailable(name, level='Error'):
    """Homebrew/brew exceptions.rb FormulaOrCaskUnavailableError#to_s (since commit f54b458,
    2020, still in 6.0.18): `brew info --json=v2 nod` fails with it (Error:, exit 1); `brew
    install` only warns with it (cmd/install.rb opoo, exit 1). brew may add " Did you mean
    ...?" naming formulae spelt alike (Formula.fuzzy_search)."""
    return '%s: No available formula or cask with the name "%s".\n' % (level, name)


class SimMac:
    def __init__(self, formulae=(), node_stable=None, colima_running=False, daemon_loaded=False,
                 known=None, updated=None, plist=None, disabled=False, colima_home='/Users/jon/.colima'):
        self.formulae = set(formulae)
        # formula data brew answers from; `brew update` replaces it with `updated`
        self.known = dict(known or NOV_2024, **({'node': node_stable} if node_stable else {}))
        self.updated = updated
        self.linked = set(f for f in self.formulae if '@' not in f)  # keg-only ones wait for brew link
        self.colima_running = colima_running
        self.colima_home = colima_home
        self.plist = plist  # the path launchd loaded the job from
        self.daemon_loaded = daemon_loaded
        self.installed_versions = {}
        self.job_running = daemon_loaded  # a loaded job runs (RunAtLoad)
        self.disabled = disabled
        self.enabled_once = False
        self.bootout_left = 0  # `print`s that still find the job after a bootout
        self.respawning = False
        self.vm_broken = False  # `colima start` fails
        self.docker_reached = []  # one bool per `docker info`: did it reach a daemon
        self.pnpm = None
        self.calls = []
        self.check_mode = False
        # a Mac that comes back unattended (issue 16 point 6)
        self.pmset = dict(PMSET_MAC_MINI)
        self.filevault = 'FileVault is Off.'  # fdesetup status' line (Jamf Protect's and Pareto
        # Security's FileVault checks match "FileVault is On." / "FileVault is Off.")
        self.prefs = {}  # (domain, key) -> what `defaults read` prints (a bool prints 1 or 0)
        self.remote_login = True  # launchd has com.openssh.sshd enabled
        self.sudoers = set()  # users who may sudo without a password
        self.plugin_dirs = False  # jon's ~/.docker/config.json has Homebrew's cliPluginsExtraDirs

    def crash_vm(self):
        self.colima_running = False

    def program_owner(self, path):
        return 'jon' if PREFIX in path else None  # also the sim's pnpm, at a path that does not exist

    def candidates(self, name):
        found = self.get_bin_path(name)
        return [found] if found else []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        bins = {'brew': BREW}
        for formula in self.linked:
            for tool in FORMULA_BINS.get(formula.split('@')[0], []):
                bins[tool] = '/opt/homebrew/bin/' + tool
        if self.pnpm:
            # Not a path on this machine: the fix would read the package.json beside a real
            # pnpm (test_pnpm_version.py); here `pnpm --version` answers for it.
            bins['pnpm'] = '/nonexistent-sim/opt/homebrew/bin/pnpm'
        return bins.get(name)

    def run_command(self, argv, environ_update=None, data=None, cwd=None, check_rc=False,
                    binary_data=False):
        argv = list(argv)
        self.calls.append(argv)
        env = dict(environ_update or {})
        if argv[:5] == OWNER_SUDO:  # brew, npm and colima must run as the prefix owner
            rest = argv[5:]
            while rest and '=' in rest[0] and not rest[0].startswith('-'):
                key, value = rest.pop(0).split('=', 1)
                env[key] = value
            return self._as_owner(rest, env)
        assert PREFIX not in argv[0], 'ran a program of the brew owner as root: %r' % argv
        return self._system(argv, env)

    def _docker_socket(self):
        return 'unix://%s/default/docker.sock' % self.colima_home

    def _system(self, argv, env=None):
        """Apple's tools as root, and any program run as jon that is not brew, npm or colima."""
        tool = argv[0].rsplit('/', 1)[-1]
        if tool == 'stat':
            return 0, 'jon\n', ''
        if argv[1:] == ['--version']:
            return 0, {'git': 'git version 2.47.1', 'node': 'v' + self.node_version(), 'pnpm': self.pnpm or '',
                       'docker': 'Docker version 27.4.0, build bde2b89'}[tool] + '\n', ''
        if tool == 'docker' and argv[1:] in (['compose', 'version'], ['buildx', 'version']):
            # Homebrew's formulae link the plugin into $(brew --prefix)/lib/docker/cli-plugins, where
            # docker looks only when told (the formulae's caveat: cliPluginsExtraDirs). The version
            # line is not recorded output: the backend reads only the exit status
            if 'docker-' + argv[1] in self.formulae and self.plugin_dirs:
                return 0, '%s version %s\n' % (argv[1], self.known['docker-' + argv[1]]), ''
            return 1, '', NOT_A_COMMAND % argv[1]
        if tool == 'pmset':
            return self._pmset(argv[1:])
        if tool == 'fdesetup' and argv[1:] == ['status']:
            return 0, self.filevault + '\n', ''
        if tool == 'defaults':
            return self._defaults(argv[1:])
        if tool == 'sudo' and argv[1:3] == ['-n', '-u'] and argv[4:] == ['/usr/bin/sudo', '-n', 'true']:
            # sudo's own words when a password would be needed and -n forbids asking (sudo 1.9's
            # "a password is required"; the same text on the Debian test hosts, tests/molecule/test_unattended.py)
            return (0, '', '') if argv[3] in self.sudoers else (1, '', 'sudo: a password is required\n')
        if tool == 'docker':
            host = (env or {}).get('DOCKER_HOST', 'unix:///var/run/docker.sock')
            reached = self.colima_running and host == self._docker_socket()
            self.docker_reached.append(reached)
            if reached:
                return 0, '27.4.0\n', ''
            # Docker CLI 27.4.0 with the daemon down: the error on stderr, an empty line, exit 0
            # (docker/cli#5900; cli/command/system/info.go runInfo at v27.4.0; fixed in 28.1.0 by #5918)
            return 0, '\n', 'Cannot connect to the Docker daemon at %s. Is the docker daemon running?\n' % host
        if tool == 'launchctl':
            return self._launchctl(argv[1:])
        raise AssertionError('unexpected command %r' % (argv,))

    def _pmset(self, args):
        if args == ['-g']:
            lines = ['System-wide power settings:', 'Currently in use:']
            lines += [' %-21s%d%s' % (key, value, PREVENTED.get(key, '')) for key, value in self.pmset.items()]
            return 0, '\n'.join(lines) + '\n', ''
        assert args[0] == '-a' and len(args) % 2 == 1, args
        for key, value in zip(args[1::2], args[2::2]):
            assert key in self.pmset, 'pmset -a of a setting this Mac does not show: %r' % key
            self.pmset[key] = int(value)
        return 0, '', ''

    def _defaults(self, args):
        if args[0] == 'read' and len(args) == 3:
            value = self.prefs.get((args[1], args[2]))
            return (0, value + '\n', '') if value is not None else (1, '', NO_DEFAULT % (args[1], args[2]))
        if args[0] == 'write' and args[3:] == ['-bool', 'false']:
            self.prefs[(args[1], args[2])] = '0'
            return 0, '', ''
        raise AssertionError('unexpected defaults %r' % (args,))

    def _launchctl(self, args):
        target = 'system/' + LABEL
        if args == ['print', target]:
            if self.bootout_left:
                self.bootout_left -= 1
                return 0, 'state = running\n', ''
            return (0, 'state = running\n', '') if self.daemon_loaded else (113, '', NOT_FOUND)
        if args == ['print-disabled', 'system']:
            line = ('\t"%s" => %s\n' % (LABEL, 'disabled' if self.disabled else 'enabled')
                    if self.disabled or self.enabled_once else '')
            # Remote Login's job: "=> enabled" when on, "=> disabled" when off (the values the
            # macOS Security Compliance Project's rules sysprefs_ssh_enable and
            # system_settings_ssh_disable read from print-disabled)
            line += '\t"com.openssh.sshd" => %s\n' % ('enabled' if self.remote_login else 'disabled')
            return 0, 'disabled services = {\n%s}\n' % line, ''
        if args == ['enable', target]:
            self.disabled, self.enabled_once = False, True
            return 0, '', ''
        if args[:2] == ['bootstrap', 'system']:
            if self.disabled:
                return 119, '', '%s: Service is disabled\nBootstrap failed: 119: Service is disabled\n' % args[2]
            if self.daemon_loaded or self.bootout_left:
                return 5, '', 'Bootstrap failed: 5: Input/output error\n'
            self.plist, self.daemon_loaded = args[2], True
            self._start_job()  # RunAtLoad
            return 0, '', ''
        if args == ['bootout', target]:
            if not self.daemon_loaded:
                return 3, '', 'Boot-out failed: 3: No such process\n'
            self._stop_job()
            self.daemon_loaded, self.bootout_left = False, 2
            return 0, '', ''
        if args[0] == 'kickstart' and args[-1] == target:
            if not self.daemon_loaded:
                return 113, '', NOT_FOUND
            if self.job_running and '-k' not in args:
                return 0, '', ''  # launchctl(1): without -k a running job is left as it is
            self._stop_job()
            self._start_job()
            return 0, '', ''
        raise AssertionError('unexpected launchctl %r' % (args,))

    def _job(self):
        with open(self.plist, 'rb') as f:
            job = plistlib.load(f)
        assert job['UserName'] == 'jon' and job['Label'] == LABEL, job
        return job

    def _start_job(self):
        job = self._job()
        args = job['ProgramArguments']
        if args[:3] == ['/bin/sh', '-c', COLIMA_SUPERVISOR]:
            assert args[4] == '/opt/homebrew/bin/colima', args
            # `colima start`, then supervising; a failed start exits 1 (launchd retries later)
            self.job_running = self.colima_running or self._colima_start()[0] == 0
        elif args[1:] == ['start', '--foreground']:
            if self.colima_running:  # "already running, ignoring", exit 0: KeepAlive respawns it
                self.job_running, self.respawning = False, job.get('KeepAlive') is True
            else:
                self.job_running = self._colima_start()[0] == 0
        else:
            raise AssertionError('launchd cannot tell what this job runs: %r' % (args,))

    def _stop_job(self):
        if self.job_running:  # SIGTERM: both the supervisor and --foreground stop the VM
            self.colima_running = False
        self.job_running = False

    def _colima_start(self):
        if self.colima_running:
            return 0, '', 'time="2026-11-30T08:00:00Z" level=warning msg="already running, ignoring"\n'
        if self.vm_broken:
            return 1, '', ('time="2026-11-30T08:00:04Z" level=fatal msg="error starting vm: error at '
                           '\'starting\': exit status 1"\n')
        self.colima_running = True
        return 0, '', ''

    def _colima_status(self):
        if not self.colima_running:
            return 1, '', 'time="2026-11-30T08:00:00Z" level=fatal msg="colima is not running"\n'
        return 0, json.dumps({'display_name': 'colima', 'runtime': 'docker',
                              'docker_socket': self._docker_socket()}) + '\n', ''

    def _as_owner(self, argv, env=None):
        tool = argv[0].rsplit('/', 1)[-1]
        if tool == 'brew':
            return self._brew(argv[1], argv[2:])
        if tool == 'npm':
            self.pnpm = argv[-1].split('@', 1)[1] + '.0.0'
            return 0, '', ''
        if tool == 'colima' and argv[1:] == ['start']:
            return self._colima_start()
        if tool == 'colima' and argv[1:] == ['status', '--json']:
            return self._colima_status()
        return self._system(argv, env)

    def _brew(self, command, args):
        if command == 'update':
            if self.updated is None:
                return 0, 'Already up-to-date.\n', ''  # cmd/update.sh, nothing new
            self.known = dict(self.updated)  # (brew-update-report's listing is not simulated)
            return 0, '', ''
        if command == 'info':
            name = args[-1]
            if name not in self.known:
                return 1, '', unavailable(name)
            return 0, json.dumps({'formulae': [self._info(name)], 'casks': []}), ''
        if command == 'install':
            missing = [name for name in args if name not in self.known]
            if missing:
                return 1, '', unavailable(missing[0], 'Warning')
            self.formulae.update(args)
            self.linked.update(name for name in args if '@' not in name)
            self.installed_versions.update((name, self.known[name]) for name in args)
            return 0, '', ''
        if command == 'link' and args[:2] == ['--overwrite', '--force']:
            if args[2] not in self.formulae:
                return 1, '', 'Error: No such keg: /opt/homebrew/Cellar/%s\n' % args[2]  # exceptions.rb NoSuchKegError
            # --overwrite: the node@N links replace those of any other node
            self.linked = set(f for f in self.linked if f.split('@')[0] != args[2].split('@')[0])
            self.linked.add(args[2])
            return 0, '', ''
        raise AssertionError('unexpected brew command %r' % ([command] + args,))

    def _info(self, name):
        """The fields of `brew info --json=v2` the backend may read (Formula#to_hash)."""
        base = name.split('@')[0]
        return {
            'name': name, 'full_name': name, 'tap': 'homebrew/core',
            'versions': {'stable': self.known[name], 'head': None, 'bottle': True},
            'versioned_formulae': sorted((f for f in self.known if f.startswith(base + '@')), reverse=True)
            if '@' not in name else [],
            'keg_only': '@' in name,
            'keg_only_reason': {'reason': ':versioned_formula', 'explanation': ''} if '@' in name else None,
            'installed': [], 'linked_keg': None, 'deprecated': False, 'disabled': False,
        }

    def node_version(self):
        """The version of the node on PATH (the linked one)."""
        linked = [f for f in self.linked if f.split('@')[0] == 'node']
        return self.installed_versions.get(linked[0], '23.3.0') if linked else '23.3.0'

    def installs(self):
        return [c for c in self.calls if BREW in c and 'install' in c]

    def updates(self):
        return [c for c in self.calls if BREW in c and c[-1] == 'update']


class SimRunner(Runner):
    """A Runner as root on the simulated Mac: the sim says who owns a program."""
    euid = 0

    def program_owner(self, path):
        return self.module.program_owner(path)

    def candidates(self, name, dirs):
        return self.module.candidates(name)
