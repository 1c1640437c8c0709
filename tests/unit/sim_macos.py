"""A simulated Mac answering run_command like brew, colima, docker and launchctl do.

State changes only through the commands a fix runs (brew install, npm -g,
colima start, launchctl bootstrap), so a test proves a fix by its effect.

Everything under /opt/homebrew belongs to jon, the brew owner, as on a real Mac: SimRunner
asks the sim who owns a program, and the sim fails a test that runs one of jon's programs
as root (issue 12, finding 7).
"""
import json

from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner

BREW = '/opt/homebrew/bin/brew'
OWNER_SUDO = ['/usr/bin/sudo', '-u', 'jon', '-H', '/usr/bin/env']
PREFIX = '/opt/homebrew/'
FORMULA_BINS = {
    'git': ['git'], 'node': ['node', 'npm'], 'colima': ['colima'], 'docker': ['docker'],
}


class SimMac:
    def __init__(self, formulae=(), node_stable='23.3.0', colima_running=False, daemon_loaded=False):
        self.formulae = set(formulae)
        self.node_stable = node_stable
        self.colima_running = colima_running
        self.daemon_loaded = daemon_loaded
        self.pnpm = None
        self.calls = []
        self.check_mode = False

    def program_owner(self, path):
        return 'jon' if PREFIX in path else None  # also the sim's pnpm, at a path that does not exist

    def candidates(self, name):
        found = self.get_bin_path(name)
        return [found] if found else []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        bins = {'brew': BREW}
        for formula in self.formulae:
            for tool in FORMULA_BINS.get(formula, []):
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
        if argv[:5] == OWNER_SUDO:  # brew, npm and colima must run as the prefix owner
            argv = [a for a in argv[5:] if '=' not in a or a.startswith('-')]
            return self._as_owner(argv)
        assert PREFIX not in argv[0], 'ran a program of the brew owner as root: %r' % argv
        return self._system(argv)

    def _system(self, argv):
        """Apple's tools as root, and any program run as jon that is not brew, npm or colima."""
        tool = argv[0].rsplit('/', 1)[-1]
        if tool == 'stat':
            return 0, 'jon\n', ''
        if argv[1:] == ['--version']:
            return 0, {'git': 'git version 2.47.1', 'node': 'v23.3.0', 'pnpm': self.pnpm or '',
                       'docker': 'Docker version 27.4.0, build bde2b89'}[tool] + '\n', ''
        if tool == 'docker':
            # Docker CLI 27.4.0 with the daemon down: the error on stderr, an empty line, exit 0
            # (docker/cli#5900; cli/command/system/info.go runInfo at v27.4.0 prints the error and
            # goes on formatting an empty server part; fixed in 28.1.0 by docker/cli#5918)
            return (0, '27.4.0\n', '') if self.colima_running else (
                0, '\n', 'Cannot connect to the Docker daemon at unix:///Users/jon/.colima/default/docker.sock. '
                'Is the docker daemon running?\n')
        if tool == 'launchctl':
            if argv[1] == 'print':
                return (0, 'state = running\n', '') if self.daemon_loaded else (113, '', 'Could not find service\n')
            if argv[1] == 'bootstrap':
                self.daemon_loaded = self.colima_running = True
                return 0, '', ''
            if argv[1] == 'kickstart':
                return 0, '', ''
        raise AssertionError('unexpected command %r' % (argv,))

    def _as_owner(self, argv):
        tool = argv[0].rsplit('/', 1)[-1]
        if tool == 'brew' and argv[1] == 'info':
            formula = argv[-1]
            stable = formula.split('@')[1] + '.0.0' if '@' in formula else self.node_stable
            return 0, json.dumps({'formulae': [{'versions': {'stable': stable}}]}), ''
        if tool == 'brew' and argv[1] == 'install':
            self.formulae.update(argv[2:])
            return 0, '', ''
        if tool == 'npm':
            self.pnpm = argv[-1].split('@', 1)[1] + '.0.0'
            return 0, '', ''
        if tool == 'colima' and argv[1] == 'start':
            self.colima_running = True
            return 0, '', ''
        return self._system(argv)

    def installs(self):
        return [c for c in self.calls if BREW in c and 'install' in c]


class SimRunner(Runner):
    """A Runner as root on the simulated Mac: the sim says who owns a program."""
    euid = 0

    def program_owner(self, path):
        return self.module.program_owner(path)

    def candidates(self, name, dirs):
        return self.module.candidates(name)
