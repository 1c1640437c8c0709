"""A simulated Debian host answering run_command like the real tools do.

State (installed packages, docker running / enabled) changes only through the
commands a fix runs, so a test proves a fix by what it ran and what it left.

Faults, with the output apt 2.6 / dpkg 1.21 print on Debian 12 (seen on a test host):
- ``lock``: {'path': ..., 'pid': ..., 'name': ..., 'until': t} - another process holds
  that lock until the simulated time ``t`` (``clock``, advanced by apt's own waiting and
  by the platform's sleep); /proc/locks shows it with its command line (``command``,
  else ``name``); with ``'finishes': True`` it is an apt at work that folds dpkg's journal
  when it ends (without, it is killed and leaves the journal as it is);
- ``updates_dir``: dpkg's journal directory; digit-named entries mean "dpkg was
  interrupted", ``dpkg --configure -a`` clears them (or fails with ``configure_error``);
- ``source_down``: the package source refuses connections (update only warns);
- ``docker_cli``: the Docker CLI's version, which decides what ``docker info`` answers while
  dockerd is down (DOCKER_INFO): '20.10' (Debian 12) exits 1, '26.1' (Debian 13) exits 0;
  a user other than root reaches dockerd only through sudo, or with ``docker_group``.
"""
import os
import re

PACKAGE_BINS = {
    'git': {'git': '/usr/bin/git'},
    'nodejs': {'node': '/usr/bin/node'},
    'npm': {'npm': '/usr/bin/npm'},
    'docker.io': {'docker': '/usr/bin/docker', 'dockerd': '/usr/sbin/dockerd'},
    'unattended-upgrades': {'unattended-upgrade': '/usr/bin/unattended-upgrade'},
}
# /etc/systemd/logind.conf as Debian 12 and 13 ship it (systemd 252, 257): every setting commented
# out (the [Login] lines that matter here, read in the test host images, tests/hosts/build-image)
LOGIND_CONF = ('[Login]\n#HandleLidSwitch=suspend\n#HandleLidSwitchExternalPower=suspend\n'
               '#HandleLidSwitchDocked=ignore\n#IdleAction=ignore\n#IdleActionSec=30min\n')
SLEEP_TARGETS = ('sleep.target', 'suspend.target', 'hibernate.target', 'hybrid-sleep.target')
FRONTEND, LISTS = '/var/lib/dpkg/lock-frontend', '/var/lib/apt/lists/lock'
SOURCE = 'http://127.0.0.1:23448/debian'
VERSIONS = {
    'git': 'git version 2.39.5',
    'docker': 'Docker version 20.10.24+dfsg1, build 297e128',
}
# apt-cache policy's Candidate of the plugin packages, by image (None: no such package)
PLUGIN_CANDIDATES = {
    'docker-compose': {'20.10': '1.29.2-3', '26.1': '2.26.1-4'},
    'docker-buildx': {'20.10': None, '26.1': '0.13.1+ds1-3'},
}
# `docker compose version`, `docker buildx version` on trixie with the packages installed (recorded
# on the trixie test host image: both packages put the plugin in /usr/libexec/docker/cli-plugins)
PLUGIN_VERSIONS = {'docker-compose': 'Docker Compose version 2.26.1-4',
                   'docker-buildx': 'github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3'}
# `docker info --format '{{.ServerVersion}}'` by Docker CLI version: (the answer while dockerd runs,
# the answer while it is down, the answer to a user outside the docker group).
TEMPLATE_NIL = ('template: :1:2: executing "" at <.ServerVersion>: reflect: indirection through nil pointer to '
                'embedded struct field Info\n')
DOCKER_INFO = {
    # Debian 12, docker.io 20.10.24+dfsg1-1+deb12u1, recorded on this project's machine (down:
    # DOCKER_HOST=unix:///nonexistent.sock; no access: as nobody): the nil server Info fails the
    # template, exit 1, whatever the error was.
    '20.10': ((0, '20.10.24+dfsg1\n', ''),) + ((1, '\n', TEMPLATE_NIL),) * 2,
    # Debian 13, docker.io and docker-cli 26.1.5+dfsg1-9+deb13u1+b1, recorded on a trixie test host
    # (tests/hosts/build-image): Docker CLI 23.0 to 28.0.x print the error on stderr, an empty
    # version, and exit 0 (docker/cli#5900; cli/command/system/info.go runInfo in v26.1.5).
    '26.1': ((0, '26.1.5+dfsg1\n', ''),
             (0, '\n', 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n'),
             (0, '\n', 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: '
                       'Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.45/info": dial unix /var/run/docker.sock: '
                       'connect: permission denied\n')),
}


class SimDebian:
    def __init__(self, packages=(), node='20.19.2', candidate_node='20.19.2-1nodesource1',
                 docker_running=False, docker_enabled=False, pnpm=None, euid=0, sudo=False,
                 apt_error=None, start_error=None, check_mode=False, lock=None, updates_dir=None,
                 configure_error=None, source_down=False, docker_cli='20.10', docker_group=False,
                 logind=None, lid=False, auto_reboot=None):
        # logind's files (path -> text, in the order logind reads them), a lid in /proc/acpi/button,
        # the Automatic-Reboot value unattended-upgrades was given (None: not set)
        self.logind = dict(logind or {'/etc/systemd/logind.conf': LOGIND_CONF})
        self.lid = lid
        self.auto_reboot = auto_reboot
        self.masked = set()
        self.sudoers = set()  # users root lets sudo without a password
        self.docker_cli = docker_cli
        self.docker_group = docker_group
        self.packages = set(packages)
        self.node = node
        self.candidate_node = candidate_node
        self.docker_running = docker_running
        self.docker_enabled = docker_enabled
        self.pnpm = pnpm
        self.euid = euid
        self.sudo = sudo
        self.apt_error = apt_error
        self.start_error = start_error
        self.check_mode = check_mode
        self.lock = lock
        self.updates_dir = updates_dir
        self.configure_error = configure_error
        self.source_down = source_down
        self.now = 0.0
        self.calls = []

    # the platform's clock and sleep
    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self._finish()

    def _finish(self):
        """A holder at work that has ended has folded dpkg's journal into its database."""
        if self.lock and self.lock.get('finishes') and self.now >= self.lock['until'] and self.updates_dir:
            for name in os.listdir(self.updates_dir):
                os.remove(os.path.join(self.updates_dir, name))

    def lock_holders(self):
        """What debian.lock_holders() reads from /proc/locks on this host."""
        if self.lock is None or not self._locked(self.lock['path']):
            return []
        return [(self.lock['path'], str(self.lock['pid']), self.lock.get('command', self.lock['name']))]

    def _locked(self, path):
        return self.lock is not None and self.lock['path'] == path and self.now < self.lock['until']

    def _held_by(self):
        return 'Could not get lock %s. It is held by process %d (%s)' % (
            self.lock['path'], self.lock['pid'], self.lock['name'])

    def interrupted(self):
        return bool(self.updates_dir) and any(n.isdigit() for n in os.listdir(self.updates_dir))

    # AnsibleModule's two entry points used by Runner
    def get_bin_path(self, name, required=False, opt_dirs=None):
        bins = {}
        for pkg in self.packages:
            bins.update(PACKAGE_BINS.get(pkg, {}))
        if self.docker_cli != '20.10':  # trixie's docker.io has no CLI: docker-cli has it
            bins.pop('docker', None)
            if 'docker-cli' in self.packages:
                bins['docker'] = '/usr/bin/docker'
        if self.pnpm:
            # Not a path on this machine: the fix would read the package.json beside a real
            # pnpm (test_pnpm_version.py); here `pnpm --version` answers for it.
            bins['pnpm'] = '/nonexistent-sim/usr/local/bin/pnpm'
        if self.sudo is not None:
            bins['sudo'] = '/usr/bin/sudo'
        return bins.get(name)

    def run_command(self, argv, environ_update=None, data=None, cwd=None, check_rc=False,
                    binary_data=False):
        argv = list(argv)
        self.calls.append(argv)
        assert environ_update['LANG'] == 'C'
        as_root = self.euid == 0
        if argv[:2] == ['sudo', '-n']:
            if not self.sudo:
                return 1, '', 'sudo: a password is required\n'
            argv = argv[2:]
            as_root = True
            if argv == ['true']:
                return 0, '', ''
        elif argv[0] == '/usr/bin/sudo' and argv[2:3] == ['-u']:  # root asks: may this user sudo -n?
            return (0, '', '') if argv[3] in self.sudoers else (1, '', 'sudo: a password is required\n')
        elif argv[0] == '/usr/bin/sudo':
            return (0, '', '') if self.sudo else (1, '', 'sudo: a password is required\n')
        if argv[0].endswith('/docker') and argv[1] == 'info' and not (as_root or self.docker_group):
            return DOCKER_INFO[self.docker_cli][2]
        return self._answer(argv)

    def _answer(self, argv):
        tool = argv[0].rsplit('/', 1)[-1]
        if argv[1:] == ['--version']:
            if tool == 'node':
                return 0, 'v%s\n' % self.node, ''
            if tool == 'pnpm':
                return 0, '%s\n' % self.pnpm, ''
            return 0, VERSIONS[tool] + '\n', ''
        if tool == 'apt-cache' and argv[-1] in PLUGIN_CANDIDATES:
            # recorded with apt-cache policy in the bookworm and trixie test host images: bookworm's
            # docker-compose is Compose v1, it has no docker-buildx (nothing printed, exit 0)
            candidate = PLUGIN_CANDIDATES[argv[-1]]['26.1' if self.docker_cli != '20.10' else '20.10']
            if candidate is None:
                return 0, '', ''
            installed = candidate if argv[-1] in self.packages else '(none)'
            return 0, '%s:\n  Installed: %s\n  Candidate: %s\n' % (argv[-1], installed, candidate), ''
        if tool == 'docker' and argv[1:] in (['compose', 'version'], ['buildx', 'version']):
            package = 'docker-' + argv[1]
            if package in self.packages:
                return 0, PLUGIN_VERSIONS[package] + '\n', ''
            # Docker CLI 20.10 and 26.1 alike (recorded on both test host images)
            return 1, '', "docker: '%s' is not a docker command.\nSee 'docker --help'\n" % argv[1]
        if tool == 'apt-cache' and argv[-1] == 'docker-cli':
            # bookworm has no such package: apt-cache policy prints nothing and exits 0
            if self.docker_cli == '20.10':
                return 0, '', ''
            installed = '26.1.5+dfsg1-9+deb13u1+b1' if 'docker-cli' in self.packages else '(none)'
            return 0, 'docker-cli:\n  Installed: %s\n  Candidate: 26.1.5+dfsg1-9+deb13u1+b1\n' % installed, ''
        if tool == 'apt-cache':
            return 0, 'nodejs:\n  Installed: (none)\n  Candidate: %s\n' % (self.candidate_node or '(none)'), ''
        if tool == 'apt-get':
            return self._apt(argv)
        if tool == 'dpkg':
            return self._dpkg(argv)
        if tool == 'npm':
            self.pnpm = argv[-1].split('@', 1)[1].replace('10', '10.2.1') if argv[-1] != 'pnpm@9.12.0' else '9.12.0'
            return 0, 'added 1 package in 2s\n', ''
        if tool == 'docker' and argv[1] == 'info':
            running, down = DOCKER_INFO[self.docker_cli][:2]
            return running if self.docker_running else down
        if argv[:2] in (['systemctl', 'start'], ['service', 'docker']):
            if self.start_error:
                return 1, '', self.start_error
            self.docker_running = 'docker.io' in self.packages
            return 0, '', ''
        if argv[:2] == ['systemctl', 'is-enabled'] and argv[2:] == list(SLEEP_TARGETS):
            # static units (no [Install]), "masked" once masked; exit 1 when one is masked
            states = ['masked' if unit in self.masked else 'static' for unit in SLEEP_TARGETS]
            return (1 if self.masked else 0), '\n'.join(states) + '\n', ''
        if argv[:2] == ['systemctl', 'mask']:
            self.masked.update(argv[2:])
            return 0, '', ''.join('Created symlink /etc/systemd/system/%s \u2192 /dev/null.\n' % u for u in argv[2:])
        if argv[0] == 'apt-config' and argv[1:] == ['dump', 'Unattended-Upgrade::Automatic-Reboot']:
            # apt 2.6 prints the one key asked for, nothing (exit 0) when it is not set
            if self.auto_reboot is None:
                return 0, '', ''
            return 0, 'Unattended-Upgrade::Automatic-Reboot "%s";\n' % self.auto_reboot, ''
        if argv[:2] == ['systemctl', 'is-enabled']:
            if 'docker.io' not in self.packages:
                return 1, '', 'Failed to get unit file state for docker.service: No such file or directory\n'
            return (0, 'enabled\n', '') if self.docker_enabled else (1, 'disabled\n', '')
        if argv[:2] == ['systemctl', 'enable']:
            self.docker_enabled = True
            return 0, '', 'Created symlink ...\n'
        raise AssertionError('unexpected command %r' % (argv,))

    def _apt(self, argv):
        assert argv[1] == '-o', argv
        wait = int(re.match(r'DPkg::Lock::Timeout=(\d+)$', argv[2]).group(1))
        if self.apt_error:
            return 100, '', self.apt_error
        if 'update' in argv:
            if self._locked(LISTS):  # apt does not wait for the lists lock
                return 100, 'Reading package lists...\n', 'E: %s\nE: Unable to lock directory /var/lib/apt/lists/\n' % (
                    self._held_by())
            if self.source_down:
                return 0, ('Err:1 %s bookworm InRelease\n  Could not connect to 127.0.0.1:23448 (127.0.0.1). - connect '
                           '(111: Connection refused)\nReading package lists...\n' % SOURCE), (
                    'W: Failed to fetch %s/dists/bookworm/InRelease  Could not connect to 127.0.0.1:23448 '
                    '(127.0.0.1). - connect (111: Connection refused)\n'
                    'W: Some index files failed to download. They have been ignored, or old ones used instead.\n'
                    % SOURCE)
            return 0, 'Reading package lists...\n', ''
        if self._locked(FRONTEND):  # apt waits up to DPkg::Lock::Timeout, printing a line a second
            waited = min(wait, self.lock['until'] - self.now)
            self.now += waited
            self._finish()
            out = ''.join('Waiting for cache lock: %s...\n' % self._held_by() for dummy in range(max(1, int(waited))))
            if self._locked(FRONTEND):
                return 100, out, ('E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), '
                                  'is another process using it?\n')
        if self.interrupted():
            return 100, '', "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem. \n"
        pkgs = argv[argv.index('install') + 1:]
        if self.source_down:
            return 100, 'Reading package lists...\n', ''.join('E: Unable to locate package %s\n' % p for p in pkgs)
        self.packages.update(pkgs)
        if 'nodejs' in pkgs:
            self.node = self.candidate_node.split('-')[0].split('+')[0]
        if 'docker.io' in pkgs:  # the package's postinst starts and enables it
            self.docker_running = self.docker_enabled = True
        return 0, 'Setting up %s ...\n' % pkgs[-1], ''

    def attach(self, platform):
        """``platform`` (a Debian backend) reading this host's logind files and lid."""
        platform.logind_files = lambda: list(self.logind)
        platform.read_text = self.logind.get
        platform.has_lid = lambda: self.lid
        return platform

    def installs(self):
        return [c for c in self.calls if 'apt-get' in c and 'install' in c]

    def _dpkg(self, argv):
        assert argv == ['dpkg', '--force-confdef', '--force-confold', '--configure', '-a'], argv
        if self._locked(FRONTEND):  # dpkg does not wait
            return 2, '', ('dpkg: error: dpkg frontend lock was locked by another process with pid %d\n'
                           'Note: removing the lock file is always wrong, can damage the locked area\n'
                           'and the entire system. See <https://wiki.debian.org/Teams/Dpkg/FAQ#db-lock>.\n'
                           % self.lock['pid'])
        if self.configure_error:
            return 1, '', self.configure_error
        for name in os.listdir(self.updates_dir):
            os.remove(os.path.join(self.updates_dir, name))
        return 0, 'Setting up factiii-interrupted (1.0) ...\n', ''

    def lock_waits(self):
        """DPkg::Lock::Timeout of each apt-get run, in order."""
        return [int(c[2].split('=')[1]) for c in self.calls if c[0] == 'apt-get']
