"""A simulated Debian host answering run_command like the real tools do.

State (installed packages, docker running / enabled) changes only through the
commands a fix runs, so a test proves a fix by what it ran and what it left.
"""

PACKAGE_BINS = {
    'git': {'git': '/usr/bin/git'},
    'nodejs': {'node': '/usr/bin/node'},
    'npm': {'npm': '/usr/bin/npm'},
    'docker.io': {'docker': '/usr/bin/docker', 'dockerd': '/usr/sbin/dockerd'},
}
VERSIONS = {
    'git': 'git version 2.39.5',
    'docker': 'Docker version 20.10.24+dfsg1, build 297e128',
}


class SimDebian:
    def __init__(self, packages=(), node='20.19.2', candidate_node='20.19.2-1nodesource1',
                 docker_running=False, docker_enabled=False, pnpm=None, euid=0, sudo=False,
                 apt_error=None, start_error=None, check_mode=False):
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
        self.calls = []

    # AnsibleModule's two entry points used by Runner
    def get_bin_path(self, name, required=False, opt_dirs=None):
        bins = {}
        for pkg in self.packages:
            bins.update(PACKAGE_BINS.get(pkg, {}))
        if self.pnpm:
            bins['pnpm'] = '/usr/local/bin/pnpm'
        if self.sudo is not None:
            bins['sudo'] = '/usr/bin/sudo'
        return bins.get(name)

    def run_command(self, argv, environ_update=None, data=None, cwd=None, check_rc=False,
                    binary_data=False):
        argv = list(argv)
        self.calls.append(argv)
        assert environ_update['LANG'] == 'C'
        if argv[:2] == ['sudo', '-n']:
            if not self.sudo:
                return 1, '', 'sudo: a password is required\n'
            argv = argv[2:]
            if argv == ['true']:
                return 0, '', ''
        elif argv[0] == '/usr/bin/sudo':
            return (0, '', '') if self.sudo else (1, '', 'sudo: a password is required\n')
        return self._answer(argv)

    def _answer(self, argv):
        tool = argv[0].rsplit('/', 1)[-1]
        if argv[1:] == ['--version']:
            if tool == 'node':
                return 0, 'v%s\n' % self.node, ''
            if tool == 'pnpm':
                return 0, '%s\n' % self.pnpm, ''
            return 0, VERSIONS[tool] + '\n', ''
        if tool == 'apt-cache':
            return 0, 'nodejs:\n  Installed: (none)\n  Candidate: %s\n' % (self.candidate_node or '(none)'), ''
        if tool == 'apt-get':
            return self._apt(argv)
        if tool == 'npm':
            self.pnpm = argv[-1].split('@', 1)[1].replace('10', '10.2.1') if argv[-1] != 'pnpm@9.12.0' else '9.12.0'
            return 0, 'added 1 package in 2s\n', ''
        if tool == 'docker' and argv[1] == 'info':
            return (0, '20.10.24\n', '') if self.docker_running else (
                1, '', 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n')
        if argv[:2] in (['systemctl', 'start'], ['service', 'docker']):
            if self.start_error:
                return 1, '', self.start_error
            self.docker_running = 'docker.io' in self.packages
            return 0, '', ''
        if argv[:2] == ['systemctl', 'is-enabled']:
            if 'docker.io' not in self.packages:
                return 1, '', 'Failed to get unit file state for docker.service: No such file or directory\n'
            return (0, 'enabled\n', '') if self.docker_enabled else (1, 'disabled\n', '')
        if argv[:2] == ['systemctl', 'enable']:
            self.docker_enabled = True
            return 0, '', 'Created symlink ...\n'
        raise AssertionError('unexpected command %r' % (argv,))

    def _apt(self, argv):
        assert argv[1:3] == ['-o', 'DPkg::Lock::Timeout=30'], argv
        if self.apt_error:
            return 100, '', self.apt_error
        if 'update' in argv:
            return 0, 'Reading package lists...\n', ''
        pkgs = argv[argv.index('install') + 1:]
        self.packages.update(pkgs)
        if 'nodejs' in pkgs:
            self.node = self.candidate_node.split('-')[0].split('+')[0]
        if 'docker.io' in pkgs:  # the package's postinst starts and enables it
            self.docker_running = self.docker_enabled = True
        return 0, 'Setting up %s ...\n' % pkgs[-1], ''

    def installs(self):
        return [c for c in self.calls if 'apt-get' in c and 'install' in c]
