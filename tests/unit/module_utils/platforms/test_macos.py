# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The macOS backend against recorded brew / launchctl / stat / colima / docker output."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import plistlib
import signal
import stat
import subprocess
import time

import pytest

from ansible_collections.factiii.infra.plugins.module_utils.fix import (
    FAILED, MANUAL, NEEDS_FIX, OK, PlatformError,
)
from ansible_collections.factiii.infra.plugins.module_utils.platforms.macos import COLIMA_SUPERVISOR, MacOS
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner
from ansible_collections.factiii.infra.plugins.module_utils.registry import FIXES
from ansible_collections.factiii.infra.plugins.module_utils.batch import run_fixes
from ansible_collections.factiii.infra.tests.unit.fake import FakeModule
from sim_macos import APR_2023, BREW as SIM_BREW, NOV_2024, SimMac, SimRunner, unavailable

ROOT, JON, ALICE = 0, 501, 502
USERS = {ROOT: 'root', JON: 'jon', ALICE: 'alice'}

BREW = '/opt/homebrew/bin/brew'
BINS = {'brew': BREW}
COLIMA_BINS = {'brew': BREW, 'docker': '/opt/homebrew/bin/docker', 'colima': '/opt/homebrew/bin/colima'}
STAT_JON = (['/usr/bin/stat', '-f', '%Su', '/opt/homebrew'], 0, 'jon\n')
AS_JON = ['/usr/bin/sudo', '-u', 'jon', '-H', '/usr/bin/env']
BREW_ENV = ['HOMEBREW_NO_AUTO_UPDATE=1', 'HOMEBREW_NO_INSTALL_CLEANUP=1']
SUDO_BREW = AS_JON + BREW_ENV + [BREW]
PATH = 'PATH=/opt/homebrew/bin:/opt/homebrew/sbin:/usr/bin:/bin:/usr/sbin:/sbin'
DOCKER_INFO = ['/opt/homebrew/bin/docker', 'info', '--format', '{{.ServerVersion}}']
SOCKET = 'unix:///Users/jon/.colima/default/docker.sock'
COLIMA = '/opt/homebrew/bin/colima'
COLIMA_STATUS = AS_JON + [PATH, COLIMA, 'status', '--json']


def root_docker_info(socket=SOCKET):
    # root runs jon's docker as jon (runner.py), pointed at the socket colima names
    return (AS_JON + ['DOCKER_HOST=' + socket, 'LANG=C', 'LC_ALL=C', 'LC_MESSAGES=C',
                      'PATH=/opt/homebrew/bin:/usr/bin:/bin:/usr/sbin:/sbin'] + DOCKER_INFO)


ROOT_DOCKER_INFO = root_docker_info()
PRINT = ['/bin/launchctl', 'print', 'system/com.factiii.colima']
PRINT_DISABLED = ['/bin/launchctl', 'print-disabled', 'system']
LABEL = 'com.factiii.colima'
DEFAULTS = ['/usr/bin/defaults', 'read', '/Library/Preferences/com.apple.loginwindow', 'autoLoginUser']
SW_VERS = ['/usr/bin/sw_vers', '-productVersion']
SETTINGS = '/Users/jon/Library/Group Containers/group.com.docker/'

# `brew info --json=v2 node` while homebrew-core's node was 23.3.0 (Node.js release of 2024-11-20):
# the fields of Formula#to_hash (Homebrew/brew formula.rb); the versioned formulae were the
# LTS lines below it, node@22/20/18 (a node@N appears only once node N+1 is stable). The
# alias list is not verified against that day's tap.
NODE_INFO = json.dumps({
    'formulae': [{
        'name': 'node', 'full_name': 'node', 'tap': 'homebrew/core', 'oldnames': [],
        'aliases': ['node@23'], 'versioned_formulae': ['node@22', 'node@20', 'node@18'],
        'desc': 'Platform built on V8 to build network applications', 'license': 'MIT',
        'homepage': 'https://nodejs.org/',
        'versions': {'stable': '23.3.0', 'head': 'HEAD', 'bottle': True},
        'revision': 0, 'version_scheme': 0, 'keg_only': False, 'installed': [],
        'linked_keg': None, 'pinned': False, 'outdated': False, 'deprecated': False,
    }],
    'casks': [],
})

# Homebrew 5.1 (downloads in a queue, the default since 5.0: Homebrew/brew PR #20975), as
# recorded in Homebrew/brew PR #21818 for `brew fetch -s hello`; `brew install` downloads
# through the same DownloadQueue (download_queue.rb, exceptions.rb DownloadError).
BREW_DOWNLOAD_FAILED = (
    '\u2718 Formula hello (2.12.2)\n'
    'Error: Failed to download resource "hello (2.12.2)"\n'
    'Download failed: https://example.com/nonexistent\n'
    'curl: (56) The requested URL returned error: 404 \n')

UPDATE = (SUDO_BREW + ['update'], 0, 'Already up-to-date.\n')  # cmd/update.sh, nothing new
# `brew update` offline: Homebrew/brew issue #13504 (3.5) and msitarzewski/brew-browser
# issue #39 (Homebrew 5.1.14) print these lines, exit 1 (cmd/update.sh, update-report.rb)
UPDATE_FAILED = (SUDO_BREW + ['update'], 1, '',
                 'Error: Fetching /opt/homebrew failed!\n'
                 'Fetching /opt/homebrew/Library/Taps/homebrew/homebrew-core failed!\n')


# Only launchctl print's exit status is used; the text is the shape of launchctl(1) print.
LAUNCHCTL_PRINT = """system/com.factiii.colima = {
\tactive count = 1
\tpath = /Library/LaunchDaemons/com.factiii.colima.plist
\ttype = LaunchDaemon
\tstate = running

\tprogram = /bin/sh
\tusername = jon
\tpid = 812
}
"""
# launchctl print/kickstart of a label not loaded: the wording of NixOS/nix#9978 (exit 113)
LAUNCHCTL_MISSING = 'Could not find service "com.factiii.colima" in domain for system\n'


def print_disabled(value=None):
    """`launchctl print-disabled system`: one `"label" => disabled|enabled` line per label that was
    ever enabled or disabled (macOS 11+; `=> true|false` before), as parsed by nexu-io/nexu#836 and
    openclaw/openclaw#849. Not verified on a real Mac by this project."""
    lines = ['\t"com.apple.ftp-proxy" => disabled']
    if value:
        lines.append('\t"com.factiii.colima" => %s' % value)
    return 'disabled services = {\n%s\n}\n' % '\n'.join(lines)


# As root, bootstrap of a disabled label (DeterminateSystems/nix-installer#530, macOS 13)
BOOTSTRAP_DISABLED = (119, '', '/Library/LaunchDaemons/com.factiii.colima.plist: Service is disabled\n'
                               'Bootstrap failed: 119: Service is disabled\n')

DEFAULTS_MISSING = (
    '\n2024-11-25 10:02:11.512 defaults[4242:56789] \n'
    'The domain/default pair of (/Library/Preferences/com.apple.loginwindow, autoLoginUser) '
    'does not exist\n')

# colima logs through logrus, text format without a TTY (`level=fatal msg=...`): cmd/root/root.go
COLIMA_FATAL = (
    'time="2024-11-25T10:00:00+01:00" level=info msg="starting colima"\n'
    'time="2024-11-25T10:00:00+01:00" level=info msg="runtime: docker"\n'
    'time="2024-11-25T10:00:01+01:00" level=info msg="starting ..." context=vm\n'
    'time="2024-11-25T10:00:04+01:00" level=fatal msg="error starting vm: error at \'starting\': '
    'exit status 1"\n')
# `colima status` when the VM is down: exit 1, "colima is not running" (colima v0.10.3 app/app.go
# getStatus; Homebrew's colima formula test asserts the text and the exit status 1)
COLIMA_NOT_RUNNING = 'time="2026-11-30T08:00:00Z" level=fatal msg="colima is not running"\n'


def colima_status(home='/Users/jon/.colima'):
    """`colima status --json` of colima v0.10.3: app/app.go statusInfo through json.NewEncoder
    (one line, fields in this order); the socket is <colima home>/<profile>/docker.sock
    (environment/container/docker/context.go). Values are this test's Mac (vz on Apple Silicon)."""
    return json.dumps({
        'display_name': 'colima', 'driver': 'macOS Virtualization.Framework', 'arch': 'aarch64',
        'runtime': 'docker', 'mount_type': 'virtiofs',
        'docker_socket': 'unix://%s/default/docker.sock' % home,
        'containerd_socket': 'unix://%s/default/containerd.sock' % home,
        'kubernetes': False, 'cpu': 2, 'memory': 2147483648, 'disk': 107374182400,
    }, separators=(',', ':')) + '\n'


DOCKER_DOWN = ('Cannot connect to the Docker daemon at unix:///Users/jon/.colima/default/docker.sock. '
               'Is the docker daemon running?\n')
# Docker CLI 23.0 to 28.0.x exit 0 when the daemon is down: an empty line on stdout, the error on
# stderr (docker/cli#5900, 28.0.1); 28.1+ and 20.10 exit 1.
DOCKER_DOWN_27 = (0, '\n', DOCKER_DOWN)


class FakeRunner(Runner):
    """As on a Mac: everything under /opt/homebrew is jon's (the brew owner's), the rest root's."""

    def __init__(self, module, euid):
        super(FakeRunner, self).__init__(module)
        self._euid = euid

    @property
    def euid(self):
        return self._euid

    def program_owner(self, path):
        return 'jon' if path.startswith('/opt/homebrew/') else None

    def candidates(self, name, dirs):
        found = self.module.get_bin_path(name)
        return [found] if found else []


class FakeMac(MacOS):
    """Fakes the filesystem and the user database; commands go to FakeModule."""

    def __init__(self, runner, options=None, files=(), texts=None, check_mode=False):
        super(FakeMac, self).__init__(runner, check_mode=check_mode, options=options)
        self.files = set(files)
        self.texts = dict(texts or {})
        self.now = 0.0
        self.slept = []
        self.clock = lambda: self.now
        self.sleep = self._sleep

    def _sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds

    def exists(self, path):
        return path in self.files or (path.startswith(self.launchd_dir) and os.path.exists(path))

    def read_text(self, path):
        return self.texts.get(path)

    def user_name(self, uid):
        return USERS[uid]

    def user_home(self, user):
        return '/Users/' + user


def make(commands=(), bins=None, euid=ROOT, tmp_path=None, **kw):
    module = FakeModule(commands, bins=BINS if bins is None else bins)
    mac = FakeMac(FakeRunner(module, euid), **kw)
    if tmp_path is not None:
        mac.launchd_dir = str(tmp_path)
    return mac, module


def raised(func, *args):
    with pytest.raises(PlatformError) as exc:
        func(*args)
    return exc.value.result


def assert_no_load_unload(module):
    for argv in module.calls:
        assert 'load' not in argv and 'unload' not in argv


# -- brew runs as the prefix's owner ---------------------------------------

def test_install_as_root_runs_one_brew_install_as_owner():
    mac, module = make([STAT_JON, UPDATE, (SUDO_BREW + ['install', 'git', 'colima', 'docker'], 0, '')])
    mac.install_packages(['git', 'colima', 'docker'])
    module.assert_done()
    assert sum(1 for argv in module.calls if 'install' in argv) == 1


def test_install_as_owner_runs_brew_directly_with_env():
    mac, module = make([STAT_JON, ([BREW, 'update'], 0, ''), ([BREW, 'install', 'git'], 0, '')], euid=JON)
    mac.install_packages(['git'])
    module.assert_done()
    env = module.envs[-1]
    assert env['HOMEBREW_NO_AUTO_UPDATE'] == '1' and env['HOMEBREW_NO_INSTALL_CLEANUP'] == '1'
    assert env['LANG'] == 'C'


def test_install_as_other_user_is_manual_with_exact_command():
    mac, module = make([STAT_JON], euid=ALICE)
    res = raised(mac.install_packages, ['git', 'node'])
    module.assert_done()
    assert res.status == MANUAL
    assert 'jon' in res.msg and 'alice' in res.msg
    assert res.steps[0] == ('/usr/bin/sudo -u jon -H /usr/bin/env '
                            'HOMEBREW_NO_AUTO_UPDATE=1 HOMEBREW_NO_INSTALL_CLEANUP=1 '
                            '/opt/homebrew/bin/brew install git node  # as an admin')
    assert 'become: true' in res.steps[1]


def test_install_failure_reports_brews_error_line():
    mac, module = make([STAT_JON, UPDATE, (SUDO_BREW + ['install', 'hello'], 1, '==> Fetching downloads for: hello\n',
                                           BREW_DOWNLOAD_FAILED)])
    res = raised(mac.install_packages, ['hello'])
    assert res.status == FAILED
    assert res.msg == ('brew install hello failed: Error: Failed to download resource "hello (2.12.2)" '
                       '(curl: (56) The requested URL returned error: 404)')


def test_install_nothing_runs_nothing():
    mac, module = make([])
    mac.install_packages([])
    assert module.calls == []


def test_intel_prefix_owner_is_read_from_the_homebrew_repository():
    brew = '/usr/local/bin/brew'
    mac, module = make([(['/usr/bin/stat', '-f', '%Su', '/usr/local/Homebrew'], 0, 'jon\n'),
                        (AS_JON + BREW_ENV + [brew, 'update'], 0, ''),
                        (AS_JON + BREW_ENV + [brew, 'install', 'git'], 0, '')], bins={'brew': brew})
    mac.install_packages(['git'])
    module.assert_done()


def test_no_homebrew_is_manual_with_install_steps():
    mac, module = make([], bins={})
    for res in (raised(mac.install_packages, ['git']), mac.admin_problem()):
        assert res.status == MANUAL
        assert res.steps[0].startswith('/bin/bash -c "$(curl -fsSL '
                                       'https://raw.githubusercontent.com/Homebrew/install/HEAD/install.sh)"')
        assert 'eval "$(/opt/homebrew/bin/brew shellenv)"' in res.steps[1]
    assert module.calls == []


def test_prefix_owned_by_root_is_manual():
    mac, module = make([(STAT_JON[0], 0, 'root\n')])
    res = mac.admin_problem()
    assert res.status == MANUAL and res.steps == [
        'sudo chown -R "$(whoami)" /opt/homebrew  # as the admin user who is to own Homebrew']


def test_stat_failure_is_failed():
    # root is never refused by stat; what fails is a path gone (FreeBSD/Apple stat.c: warn("%s: stat"))
    mac, module = make([(STAT_JON[0], 1, '', 'stat: /opt/homebrew: stat: No such file or directory\n')])
    res = raised(mac.install_packages, ['git'])
    assert res.status == FAILED and res.msg == ('cannot tell who owns /opt/homebrew: '
                                                'stat: /opt/homebrew: stat: No such file or directory')


@pytest.mark.parametrize('euid, problem', [(ROOT, False), (JON, False), (ALICE, True)])
def test_admin_problem(euid, problem):
    mac, module = make([STAT_JON], euid=euid)
    res = mac.admin_problem()
    if problem:
        assert res.status == MANUAL and 'become: true' in res.steps[0]
    else:
        assert res is None


# -- packages and versions -------------------------------------------------

def test_candidate_version_reads_brew_info_json():
    mac, module = make([STAT_JON, (SUDO_BREW + ['info', '--json=v2', 'node'], 0, NODE_INFO)], check_mode=True)
    assert mac.candidate_version('node') == '23.3.0'
    assert mac.candidate_version('node') == '23.3.0'
    module.assert_done()  # asked once


def test_candidate_version_unknown_is_none_never_raises():
    mac, module = make([STAT_JON, (SUDO_BREW + ['info', '--json=v2', 'nod'], 1, '', unavailable('nod'))],
                       check_mode=True)
    assert mac.candidate_version('nod') is None
    other = make([STAT_JON], euid=ALICE)[0]
    assert other.candidate_version('node') is None


def test_a_fix_run_refreshes_the_formula_data_once_before_asking_brew():
    mac, module = make([STAT_JON, UPDATE, (SUDO_BREW + ['info', '--json=v2', 'node'], 0, NODE_INFO),
                        (SUDO_BREW + ['install', 'node'], 0, '')])
    assert mac.candidate_version('node') == '23.3.0'
    mac.install_packages(['node'])
    module.assert_done()


def test_a_scan_never_refreshes_the_formula_data():
    mac, module = make([STAT_JON, (SUDO_BREW + ['info', '--json=v2', 'node'], 0, NODE_INFO)], check_mode=True)
    assert mac.candidate_version('node') == '23.3.0'
    module.assert_done()
    assert [c for c in module.calls if 'update' in c] == []


def test_a_failed_refresh_fails_the_install_with_brews_reason():
    mac, module = make([STAT_JON, UPDATE_FAILED, (SUDO_BREW + ['info', '--json=v2', 'node'], 0, NODE_INFO)])
    assert mac.candidate_version('node') == '23.3.0'  # a scan row still gets an answer
    res = raised(mac.install_packages, ['node'])
    module.assert_done()  # tried once, and no install from stale data
    assert res.status == FAILED and res.msg == 'brew update failed: Error: Fetching /opt/homebrew failed!'


def test_an_unknown_formula_is_brews_warning_line():
    mac, module = make([STAT_JON, UPDATE, (SUDO_BREW + ['install', 'node@24'], 1,
                                           '==> Searching for similarly named formulae and casks...\n',
                                           unavailable('node@24', 'Warning'))])
    res = raised(mac.install_packages, ['node@24'])
    assert res.msg == 'brew install node@24 failed: Warning: No available formula or cask with the name "node@24".'


def test_package_names_without_node_min_major_run_nothing():
    mac, module = make([])
    assert mac.package_names('git') == ['git']
    assert mac.package_names('node') == ['node']
    assert mac.package_names('npm') == ['node']
    assert mac.docker_packages() == ['colima', 'docker']
    assert module.calls == []


def test_node_min_major_at_or_below_stable_is_node():
    mac, module = make([STAT_JON, (SUDO_BREW + ['info', '--json=v2', 'node'], 0, NODE_INFO)],
                       options={'node_min_major': 22}, check_mode=True)
    assert mac.package_names('node') == ['node']
    module.assert_done()


def test_node_min_major_above_stable_is_never_a_formula_brew_lacks():
    # Homebrew never offers node@24 while its node is 23.3.0: node@N exists only below node's major
    mac, module = make([STAT_JON, (SUDO_BREW + ['info', '--json=v2', 'node'], 0, NODE_INFO),
                        (SUDO_BREW + ['info', '--json=v2', 'node@24'], 1, '', unavailable('node@24'))],
                       options={'node_min_major': 24}, check_mode=True)
    assert mac.package_names('node') == ['node']
    module.assert_done()


def node_at_info(name, stable, disabled=False):
    """`brew info --json=v2` of a versioned node as a tap may carry it: keg-only (node@24.rb)."""
    return json.dumps({'formulae': [{
        'name': name, 'full_name': name, 'versions': {'stable': stable, 'head': None, 'bottle': True},
        'keg_only': True, 'keg_only_reason': {'reason': ':versioned_formula', 'explanation': ''},
        'deprecated': disabled, 'disabled': disabled}], 'casks': []})


@pytest.mark.parametrize('info, names', [
    (node_at_info('node@24', '24.11.1'), ['node@24']),
    (node_at_info('node@24', '24.11.1', disabled=True), ['node']),  # brew install refuses it
    (node_at_info('node@24', '23.0.0'), ['node']),  # not new enough either
])
def test_node_min_major_above_stable_takes_a_node_at_brew_has(info, names):
    mac, module = make([STAT_JON, (SUDO_BREW + ['info', '--json=v2', 'node'], 0, NODE_INFO),
                        (SUDO_BREW + ['info', '--json=v2', 'node@24'], 0, info)],
                       options={'node_min_major': 24}, check_mode=True)
    assert mac.package_names('node') == names


def test_docker_desktop_needs_no_packages():
    mac, module = make([], files=['/Applications/Docker.app'])
    assert mac.docker_packages() == []


def test_versioned_node_is_linked_after_the_one_install():
    mac, module = make([STAT_JON, UPDATE, (SUDO_BREW + ['install', 'git', 'node@24'], 0, ''),
                        (SUDO_BREW + ['link', '--overwrite', '--force', 'node@24'], 0, '')])
    mac.install_packages(['git', 'node@24'])
    module.assert_done()


def test_node_upgrade_steps_of_a_scan_refresh_first_then_offer_what_works():
    mac, module = make([STAT_JON, (SUDO_BREW + ['info', '--json=v2', 'node'], 0, NODE_INFO)],
                       options={'stage': 'staging'}, check_mode=True)
    assert mac.node_upgrade_steps(24) == [
        "/usr/bin/sudo -u jon -H /usr/bin/env HOMEBREW_NO_AUTO_UPDATE=1 HOMEBREW_NO_INSTALL_CLEANUP=1 "
        "/opt/homebrew/bin/brew update  # Homebrew's formula data may be old; then re-run the stage",
        'Or set staging_node_min_major: 23 in the inventory (node 23 is the newest Homebrew offers)',
        'Or wait until `brew info node` shows a stable 24.x or later, then re-run the stage',
    ]


def test_node_upgrade_steps_after_a_refresh_never_offer_it_again():
    mac, module = make([STAT_JON, UPDATE, (SUDO_BREW + ['info', '--json=v2', 'node'], 0, NODE_INFO)],
                       options={'stage': 'staging'})
    mac.candidate_version('node')
    steps = mac.node_upgrade_steps(24)
    assert steps[0] == 'set staging_node_min_major: 23 in the inventory (node 23 is the newest Homebrew offers)'
    assert not [s for s in steps if 'node@' in s or 'update' in s]


def test_node_upgrade_steps_without_homebrew_start_with_installing_it():
    mac, module = make([], bins={})
    steps = mac.node_upgrade_steps(22)
    assert 'install.sh' in steps[0]
    assert steps[-2:] == ['brew install node', 'node --version  # must print v22 or later']


# -- npm -------------------------------------------------------------------

def test_npm_install_global_as_root_runs_as_owner_with_ca_bundle():
    npm = '/opt/homebrew/bin/npm'
    mac, module = make([STAT_JON, (AS_JON + [PATH, 'NODE_EXTRA_CA_CERTS=/etc/ca.pem',
                                             'npm_config_cafile=/etc/ca.pem', npm, 'install', '-g',
                                             '--ignore-scripts', '--no-fund', '--no-audit', 'pnpm@10'], 0, 'added 1 package in 2s\n')],
                       bins={'brew': BREW, 'npm': npm})
    mac.npm_install_global('pnpm@10', ca_bundle='/etc/ca.pem')
    module.assert_done()


def test_npm_install_global_as_owner_passes_env():
    npm = '/opt/homebrew/bin/npm'
    mac, module = make([STAT_JON, ([npm, 'install', '-g', '--ignore-scripts', '--no-fund', '--no-audit', 'pnpm@10'], 0, '')],
                       bins={'brew': BREW, 'npm': npm}, euid=JON)
    mac.npm_install_global('pnpm@10', ca_bundle='/etc/ca.pem')
    env = module.envs[-1]
    assert env['NODE_EXTRA_CA_CERTS'] == env['npm_config_cafile'] == '/etc/ca.pem'
    assert env['PATH'].startswith('/opt/homebrew/bin:')


def test_npm_install_global_failure():
    npm = '/opt/homebrew/bin/npm'
    argv = AS_JON + [PATH, npm, 'install', '-g', '--ignore-scripts', '--no-fund', '--no-audit', 'pnpm@99']
    error = 'npm error code ETARGET\nnpm error notarget No matching version found for pnpm@99.\n'
    mac, module = make([STAT_JON, (argv, 1, '', error)], bins={'brew': BREW, 'npm': npm})
    res = raised(mac.npm_install_global, 'pnpm@99')
    assert res.status == FAILED and res.msg.endswith('No matching version found for pnpm@99.')


# -- docker ----------------------------------------------------------------

def answers(version='27.3.1', socket=SOCKET, home='/Users/jon/.colima'):
    """One docker_running() as root on a colima Mac: colima names its socket, docker answers."""
    return [(COLIMA_STATUS, 0, colima_status(home)), (root_docker_info(socket), 0, version + '\n')]


def vm_down():
    return [(COLIMA_STATUS, 1, '', COLIMA_NOT_RUNNING)]


def test_docker_installed():
    assert make(files=['/Applications/Docker.app'], bins={})[0].docker_installed()
    assert make(bins=COLIMA_BINS)[0].docker_installed()
    assert not make(bins={'docker': '/opt/homebrew/bin/docker'})[0].docker_installed()


def test_docker_found_in_docker_desktop_when_not_on_path():
    cli = '/Applications/Docker.app/Contents/Resources/bin/docker'
    mac, module = make(bins={}, files=['/Applications/Docker.app', cli])
    assert mac.which('docker') == cli


def test_docker_running_as_root_uses_the_socket_colima_names():
    mac, module = make([STAT_JON] + answers(), bins=COLIMA_BINS)
    assert mac.docker_running()
    module.assert_done()
    assert module.envs[-1]['DOCKER_HOST'] == SOCKET


def test_docker_running_finds_colima_under_dot_config():
    # issue 16 point 3: without ~/.colima, colima's home is ~/.config/colima (config/files.go)
    socket = 'unix:///Users/jon/.config/colima/default/docker.sock'
    mac, module = make([STAT_JON] + answers(socket=socket, home='/Users/jon/.config/colima'),
                       bins=COLIMA_BINS)
    assert mac.docker_running()
    module.assert_done()


def test_docker_27_exits_0_when_the_daemon_is_down_and_that_is_not_running():
    # issue 16 point 1 on a Mac: an empty server version is no answer
    mac, module = make([STAT_JON, (COLIMA_STATUS, 0, colima_status()), (ROOT_DOCKER_INFO,) + DOCKER_DOWN_27],
                       bins=COLIMA_BINS)
    assert mac.docker_state() == (None, DOCKER_DOWN.strip())
    module.assert_done()


def test_a_socket_colima_names_that_is_not_local_is_refused():
    status = colima_status().replace('unix:///Users/jon/.colima/default/docker.sock', 'ssh://evil.example')
    mac, module = make([STAT_JON, (COLIMA_STATUS, 0, status)], bins=COLIMA_BINS)
    assert mac.docker_state() == (
        None, "colima names a docker socket that is not a local unix socket: 'ssh://evil.example'")
    module.assert_done()


def test_colima_not_running_is_not_running_without_asking_docker():
    mac, module = make([STAT_JON] + vm_down(), bins=COLIMA_BINS)
    assert mac.docker_state() == (None, 'colima is not running')
    module.assert_done()


def test_docker_running_as_owner_asks_colima_for_the_socket_too():
    mac, module = make([STAT_JON, ([COLIMA, 'status', '--json'], 0, colima_status()),
                        (DOCKER_INFO, 0, '27.3.1\n')], bins=COLIMA_BINS, euid=JON)
    assert mac.docker_running()
    module.assert_done()
    assert module.envs[-1]['DOCKER_HOST'] == SOCKET


DESKTOP_CLI = '/usr/local/bin/docker'
DESKTOP_INFO = [DESKTOP_CLI, 'info', '--format', '{{.ServerVersion}}']


@pytest.mark.parametrize('has_socket', [True, False])
def test_docker_desktop_as_root_uses_the_users_socket_when_there(has_socket):
    # Docker Desktop's socket is ~/.docker/run/docker.sock; /var/run/docker.sock (docker's default)
    # exists only with "Allow the default Docker socket" (docker/for-mac#6529, bcicen/ctop#337)
    socket = '/Users/jon/.docker/run/docker.sock'
    files = ['/Applications/Docker.app'] + ([socket] if has_socket else [])
    mac, module = make([STAT_JON, (DESKTOP_INFO, 0, '27.3.1\n')],
                       bins={'brew': BREW, 'docker': DESKTOP_CLI}, files=files)
    assert mac.docker_running()
    assert module.envs[-1].get('DOCKER_HOST') == ('unix://' + socket if has_socket else None)


def test_start_colima_as_owner_then_polls():
    mac, module = make([(PRINT, 113, '', LAUNCHCTL_MISSING), STAT_JON,
                        (AS_JON + [PATH, COLIMA, 'start'], 0, '',
                         'time="2024-11-25T10:00:30+01:00" level=info msg="done"\n')]
                       + vm_down() + [(COLIMA_STATUS, 0, colima_status()), (ROOT_DOCKER_INFO,) + DOCKER_DOWN_27]
                       + answers(), bins=COLIMA_BINS)
    mac.start_docker()
    module.assert_done()
    assert mac.slept == [1.0, 1.0]
    assert module.envs[-1]['DOCKER_HOST'] == SOCKET


def test_start_colima_failure_reports_colimas_reason_without_waiting():
    mac, module = make([(PRINT, 113, '', LAUNCHCTL_MISSING), STAT_JON,
                        (AS_JON + [PATH, COLIMA, 'start'], 1, '', COLIMA_FATAL)] + vm_down(),
                       bins=COLIMA_BINS)
    res = raised(mac.start_docker)
    module.assert_done()
    assert res.status == FAILED
    assert res.msg == ("docker did not answer after starting colima: "
                       "error starting vm: error at 'starting': exit status 1")
    assert mac.slept == []


def test_start_colima_times_out_with_option():
    mac, module = make([(PRINT, 113, '', LAUNCHCTL_MISSING), STAT_JON,
                        (AS_JON + [PATH, COLIMA, 'start'], 0, '')] + vm_down() * 5,
                       bins=COLIMA_BINS, options={'docker_start_timeout': 3})
    res = raised(mac.start_docker)
    module.assert_done()
    assert res.status == FAILED and sum(mac.slept) == 3
    assert res.msg == 'docker did not answer after starting colima: colima is not running'


KICKSTART_K = ['/bin/launchctl', 'kickstart', '-k', 'system/' + LABEL]


def test_start_colima_through_our_launchdaemon_restarts_it():
    # issue 16 point 2: a plain kickstart does nothing to a running job (launchctl(1)), so a
    # supervisor whose VM died would stay as it is; -k restarts it
    mac, module = make([(PRINT, 0, LAUNCHCTL_PRINT), (KICKSTART_K, 0, ''), STAT_JON] + vm_down() + answers(),
                       bins=COLIMA_BINS)
    mac.start_docker()
    module.assert_done()


def test_start_colima_through_our_launchdaemon_that_does_not_come_back(tmp_path):
    mac, module = make([(PRINT, 0, LAUNCHCTL_PRINT), (KICKSTART_K, 0, ''), STAT_JON] + vm_down() * 3,
                       bins=COLIMA_BINS, options={'docker_start_timeout': 1})
    res = raised(mac.start_docker)
    assert res.msg == ('docker did not answer within 1s of restarting LaunchDaemon com.factiii.colima: '
                       'colima is not running (colima logs to /Library/Logs/factiii-colima.log)')


def test_start_docker_desktop_as_root_is_manual():
    mac, module = make([], bins={}, files=['/Applications/Docker.app'])
    res = raised(mac.start_docker)
    assert res.status == MANUAL
    assert res.steps == ["Log in to the Mac's desktop and start Docker Desktop"]
    assert module.calls == []


def test_start_docker_desktop_in_gui_session():
    mac, module = make([(['/usr/bin/open', '-a', 'Docker'], 0, ''), (DESKTOP_INFO, 0, '27.3.1\n')],
                       bins={'docker': DESKTOP_CLI}, files=['/Applications/Docker.app'], euid=JON)
    mac.start_docker()
    module.assert_done()


# `open` since Big Sur, with no window server session to talk to (sallar/mac-local-rtmp-server#34,
# comment of 2021-05-22, macOS 11); before Big Sur it said "LSOpenURLsWithRole() failed with error -10810"
OPEN_NO_SESSION = ('The application cannot be opened for an unexpected reason, error=Error '
                   'Domain=NSOSStatusErrorDomain Code=-10822 "kLSServerCommunicationErr: The server process '
                   '(registration and recent items) is not available" UserInfo={_LSLine=3665, '
                   '_LSFunction=_LSOpenStuffCallLocal}\n')


def test_start_docker_desktop_without_gui_session_is_manual():
    mac, module = make([(['/usr/bin/open', '-a', 'Docker'], 1, '', OPEN_NO_SESSION)],
                       bins={}, files=['/Applications/Docker.app'], euid=JON)
    res = raised(mac.start_docker)
    assert res.status == MANUAL
    assert res.msg == ('cannot start Docker Desktop: The application cannot be opened for an unexpected '
                       'reason, error=Error Domain=NSOSStatusErrorDomain Code=-10822 "kLSServerCommunicationErr: '
                       'The server process (registration and recent items) is not available"')


# -- docker at boot ----------------------------------------------------------

def want_plist(colima=COLIMA):
    return {
        'Label': LABEL,
        'ProgramArguments': ['/bin/sh', '-c', COLIMA_SUPERVISOR, LABEL, colima, '30'],
        'UserName': 'jon',
        'RunAtLoad': True,
        'KeepAlive': {'SuccessfulExit': False},
        'ExitTimeOut': 120,
        'ProcessType': 'Interactive',
        'EnvironmentVariables': {'PATH': PATH[len('PATH='):], 'HOME': '/Users/jon'},
        'StandardOutPath': '/Library/Logs/factiii-colima.log',
        'StandardErrorPath': '/Library/Logs/factiii-colima.log',
    }


def write_plist(tmp_path, plist):
    (tmp_path / (LABEL + '.plist')).write_bytes(plistlib.dumps(plist))
    return str(tmp_path / (LABEL + '.plist'))


def test_colima_boot_without_plist_needs_fix(tmp_path):
    mac, module = make([STAT_JON], bins=COLIMA_BINS, tmp_path=tmp_path)
    res = mac.docker_boot()
    assert res.status == NEEDS_FIX
    assert res.msg == 'would install LaunchDaemon com.factiii.colima running colima as jon'


def test_colima_boot_ok_when_loaded_enabled_and_docker_answers(tmp_path):
    write_plist(tmp_path, want_plist())
    mac, module = make([STAT_JON, (PRINT_DISABLED, 0, print_disabled('enabled')), (PRINT, 0, LAUNCHCTL_PRINT)]
                       + answers(), bins=COLIMA_BINS, tmp_path=tmp_path)
    res = mac.docker_boot()
    module.assert_done()
    assert res.status == OK
    assert res.msg == ('colima starts at boot: LaunchDaemon com.factiii.colima running colima as jon; '
                       'docker 27.3.1 answers')


def test_colima_boot_loaded_but_docker_not_answering_needs_a_restart(tmp_path):
    # issue 16 point 2: `launchctl print` exiting 0 says nothing about the VM
    write_plist(tmp_path, want_plist())
    mac, module = make([STAT_JON, (PRINT_DISABLED, 0, print_disabled()), (PRINT, 0, LAUNCHCTL_PRINT)]
                       + vm_down(), bins=COLIMA_BINS, tmp_path=tmp_path)
    res = mac.docker_boot()
    module.assert_done()
    assert res.status == NEEDS_FIX
    assert res.msg == ('would restart LaunchDaemon com.factiii.colima running colima as jon (launchctl '
                       'kickstart -k): loaded, but docker does not answer through it: colima is not running')


@pytest.mark.parametrize('value', ['disabled', 'true'])
def test_colima_boot_disabled_label_needs_enabling(tmp_path, value):
    write_plist(tmp_path, want_plist())
    mac, module = make([STAT_JON, (PRINT_DISABLED, 0, print_disabled(value))], bins=COLIMA_BINS,
                       tmp_path=tmp_path)
    res = mac.docker_boot()
    module.assert_done()
    assert res.msg == ('would enable and load LaunchDaemon com.factiii.colima running colima as jon '
                       '(launchd has it disabled: it never loads)')


def test_colima_boot_stale_or_unloaded_plist_needs_fix(tmp_path):
    write_plist(tmp_path, want_plist('/usr/local/bin/colima'))
    mac, module = make([STAT_JON], bins=COLIMA_BINS, tmp_path=tmp_path)
    assert mac.docker_boot().msg.startswith('would update LaunchDaemon')
    write_plist(tmp_path, want_plist())
    mac, module = make([STAT_JON, (PRINT_DISABLED, 0, print_disabled()), (PRINT, 113, '', LAUNCHCTL_MISSING)],
                       bins=COLIMA_BINS, tmp_path=tmp_path)
    assert mac.docker_boot().msg.startswith('would load LaunchDaemon')


def test_the_old_foreground_plist_is_replaced(tmp_path):
    old = dict(want_plist(), ProgramArguments=[COLIMA, 'start', '--foreground'], KeepAlive=True)
    for key in ('ExitTimeOut', 'ProcessType'):
        del old[key]
    write_plist(tmp_path, old)
    mac, module = make([STAT_JON], bins=COLIMA_BINS, tmp_path=tmp_path)
    assert mac.docker_boot().msg == 'would update LaunchDaemon com.factiii.colima running colima as jon'


def test_no_docker_yet_would_boot_the_colima_it_installs():
    res = make(bins={})[0].docker_boot()
    assert res.status == NEEDS_FIX and 'LaunchDaemon com.factiii.colima' in res.msg


DESKTOP = ['/Applications/Docker.app']
AUTOLOGIN_STEP = ('System Settings > Users & Groups > Automatically log in as jon '
                  '(only offered when FileVault is off)')
AUTOSTART_STEP = 'Docker Desktop > Settings > General > Start Docker Desktop when you sign in (as jon)'
COLIMA_STEP = ('Or install colima (sudo -u jon -H brew install colima docker) so factiii can run it '
               'as a LaunchDaemon at boot')


def test_desktop_boot_lists_both_missing_settings():
    mac, module = make([STAT_JON, (DEFAULTS, 1, '', DEFAULTS_MISSING), (SW_VERS, 0, '14.6.1\n')],
                       files=DESKTOP)
    res = mac.docker_boot()
    module.assert_done()
    assert res.status == MANUAL
    assert 'not at boot' in res.msg
    assert res.steps == [AUTOLOGIN_STEP, AUTOSTART_STEP, COLIMA_STEP]


def test_desktop_boot_only_autologin_missing_on_monterey():
    mac, module = make([STAT_JON, (DEFAULTS, 1, '', DEFAULTS_MISSING), (SW_VERS, 0, '12.7.6\n')],
                       files=DESKTOP,
                       texts={SETTINGS + 'settings-store.json': '{"AutoStart": true, "SettingsVersion": 40}'})
    res = mac.docker_boot()
    assert res.steps == ['System Preferences > Users & Groups > Login Options > Automatic login: jon '
                         '(only offered when FileVault is off)', COLIMA_STEP]


def test_desktop_boot_only_autostart_missing_old_settings_json():
    mac, module = make([STAT_JON, (DEFAULTS, 0, 'jon\n')], files=DESKTOP,
                       texts={SETTINGS + 'settings.json': '{"autoStart": false, "cpus": 4}'})
    res = mac.docker_boot()
    assert res.status == MANUAL and res.steps == [AUTOSTART_STEP, COLIMA_STEP]


def test_desktop_boot_ok_after_autologin():
    mac, module = make([STAT_JON, (DEFAULTS, 0, 'jon\n')], files=DESKTOP,
                       texts={SETTINGS + 'settings-store.json': '{"AutoStart": true}'})
    res = mac.docker_boot()
    assert res.status == OK and 'auto-login of jon' in res.msg


# -- installing the LaunchDaemon ----------------------------------------------

BOOTSTRAP = ['/bin/launchctl', 'bootstrap', 'system']
BOOTOUT = ['/bin/launchctl', 'bootout', 'system/' + LABEL]
ENABLE = ['/bin/launchctl', 'enable', 'system/' + LABEL]
LOADED = (PRINT, 0, LAUNCHCTL_PRINT)
NOT_LOADED = (PRINT, 113, '', LAUNCHCTL_MISSING)


def test_enable_writes_plist_enables_bootstraps_and_waits_for_docker(tmp_path):
    path = str(tmp_path / (LABEL + '.plist'))
    mac, module = make([STAT_JON, NOT_LOADED, (ENABLE, 0, ''), (BOOTSTRAP + [path], 0, '')]
                       + vm_down() + answers(), bins=COLIMA_BINS, tmp_path=tmp_path)
    mac.enable_docker_at_boot()
    module.assert_done()
    assert_no_load_unload(module)
    with open(path, 'rb') as f:
        assert plistlib.load(f) == want_plist()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert os.listdir(str(tmp_path)) == [LABEL + '.plist']  # no temp file left behind
    assert mac.slept == [1.0]


def test_enable_changed_plist_boots_out_and_waits_until_it_is_gone(tmp_path):
    path = write_plist(tmp_path, want_plist('/usr/local/bin/colima'))
    mac, module = make([STAT_JON, LOADED, (BOOTOUT, 0, ''), LOADED, LOADED, NOT_LOADED,
                        (ENABLE, 0, ''), (BOOTSTRAP + [path], 0, '')] + answers(),
                       bins=COLIMA_BINS, tmp_path=tmp_path)
    mac.enable_docker_at_boot()
    module.assert_done()
    assert_no_load_unload(module)
    with open(path, 'rb') as f:
        assert plistlib.load(f) == want_plist()


def test_enable_bootout_that_never_finishes_is_failed(tmp_path):
    write_plist(tmp_path, want_plist('/usr/local/bin/colima'))
    mac, module = make([STAT_JON, LOADED, (BOOTOUT, 0, '')] + [LOADED] * 131,
                       bins=COLIMA_BINS, tmp_path=tmp_path)
    res = raised(mac.enable_docker_at_boot)
    module.assert_done()
    assert res.msg == 'launchctl bootout: system/com.factiii.colima was still loaded after 130s'


def test_enable_loaded_job_whose_docker_is_down_is_restarted_with_k(tmp_path):
    write_plist(tmp_path, want_plist())
    mac, module = make([STAT_JON, LOADED, (ENABLE, 0, '')] + vm_down() + [(KICKSTART_K, 0, '')]
                       + vm_down() + answers(), bins=COLIMA_BINS, tmp_path=tmp_path)
    mac.enable_docker_at_boot()
    module.assert_done()


def test_enable_loaded_job_whose_docker_answers_is_left_running(tmp_path):
    write_plist(tmp_path, want_plist())
    mac, module = make([STAT_JON, LOADED, (ENABLE, 0, '')] + answers() + answers(),
                       bins=COLIMA_BINS, tmp_path=tmp_path)
    mac.enable_docker_at_boot()
    module.assert_done()
    assert not [c for c in module.calls if 'kickstart' in c]


@pytest.mark.parametrize('answer, msg', [
    ((5, '', 'Bootstrap failed: 5: Input/output error\n'), 'Bootstrap failed: 5: Input/output error'),
    (BOOTSTRAP_DISABLED, 'Bootstrap failed: 119: Service is disabled'),
])
def test_enable_bootstrap_failure_is_failed(tmp_path, answer, msg):
    path = str(tmp_path / (LABEL + '.plist'))
    mac, module = make([STAT_JON, NOT_LOADED, (ENABLE, 0, ''), (BOOTSTRAP + [path],) + answer],
                       bins=COLIMA_BINS, tmp_path=tmp_path)
    res = raised(mac.enable_docker_at_boot)
    assert res.msg == 'launchctl bootstrap failed: ' + msg


def test_enable_docker_that_never_answers_is_failed_naming_the_log(tmp_path):
    path = str(tmp_path / (LABEL + '.plist'))
    mac, module = make([STAT_JON, NOT_LOADED, (ENABLE, 0, ''), (BOOTSTRAP + [path], 0, '')] + vm_down() * 4,
                       bins=COLIMA_BINS, tmp_path=tmp_path, options={'docker_start_timeout': 2})
    res = raised(mac.enable_docker_at_boot)
    module.assert_done()
    assert res.status == FAILED
    assert res.msg == ('LaunchDaemon com.factiii.colima is loaded, but docker did not answer within 2s: '
                       'colima is not running (colima logs to /Library/Logs/factiii-colima.log)')


def test_enable_not_root_is_manual_with_sudo_commands(tmp_path):
    path = str(tmp_path / (LABEL + '.plist'))
    mac, module = make([STAT_JON, LOADED], bins=COLIMA_BINS, euid=JON, tmp_path=tmp_path)
    res = raised(mac.enable_docker_at_boot)
    assert res.status == MANUAL
    assert res.steps[1:] == ['sudo chown root:wheel ' + path, 'sudo chmod 0644 ' + path,
                             'sudo launchctl bootout system/' + LABEL,
                             'while sudo launchctl print system/%s >/dev/null 2>&1; do sleep 1; done' % LABEL,
                             'sudo launchctl enable system/' + LABEL,
                             'sudo launchctl bootstrap system ' + path]
    head, body = res.steps[0].split('\n', 1)
    assert head == "sudo tee %s >/dev/null <<'EOF'" % path
    assert body.endswith('EOF') and plistlib.loads(body[:-3].encode()) == want_plist()
    assert not os.path.exists(path)


def test_enable_with_docker_desktop_only_is_manual():
    mac, module = make([STAT_JON, (DEFAULTS, 1, '', DEFAULTS_MISSING), (SW_VERS, 0, '15.1\n')],
                       files=DESKTOP)
    res = raised(mac.enable_docker_at_boot)
    assert res.status == MANUAL and res.steps[-1] == COLIMA_STEP


# -- the supervisor the LaunchDaemon runs, run for real with a stand-in colima -------------

FAKE_COLIMA = '''#!/bin/sh
# A stand-in colima: logs each call; `status` answers from the file "vm" (up/down)
echo "$*" >> "$0.calls"
case "$1" in
start) [ -f "$0.start-fails" ] || [ -f "$0.stale" ] && exit 1; echo up > "$0.vm"; exit 0 ;;
stop) [ "$2" = --force ] && rm -f "$0.stale"; echo down > "$0.vm"; exit 0 ;;
status) [ "$(cat "$0.vm" 2>/dev/null)" = up ] ;;
esac
'''


# macOS's /bin/sh is bash in POSIX mode; this machine's may be dash: run it under both
SHELLS = [argv for argv in (['/bin/sh'], ['/bin/bash', '--posix']) if os.path.exists(argv[0])]


def supervise(tmp_path, shell, vm=None, start_fails=False):
    colima = tmp_path / 'colima'
    colima.write_text(FAKE_COLIMA)
    colima.chmod(0o755)
    if vm:
        (tmp_path / 'colima.vm').write_text(vm + '\n')
    if start_fails:
        (tmp_path / 'colima.start-fails').write_text('')
    argv = shell + ['-c', COLIMA_SUPERVISOR, LABEL, str(colima), '0.05']
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE), tmp_path / 'colima.calls'


def calls(path):
    return path.read_text().splitlines() if path.exists() else []


def wait_for(predicate, seconds=5.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize('shell', SHELLS)
def test_supervisor_adopts_a_colima_already_running_and_stays(tmp_path, shell):
    # `colima start` exits 0 on "already running": KeepAlive must not respawn it every 10 s
    proc, log = supervise(tmp_path, shell, vm='up')
    try:
        assert wait_for(lambda: calls(log).count('status') >= 3)
        assert proc.poll() is None and calls(log)[0] == 'start'
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.mark.parametrize('shell', SHELLS)
def test_supervisor_exits_1_when_the_vm_dies(tmp_path, shell):
    proc, log = supervise(tmp_path, shell)
    assert wait_for(lambda: 'status' in calls(log))
    (tmp_path / 'colima.vm').write_text('down\n')
    assert proc.wait(5) == 1  # KeepAlive SuccessfulExit=false: launchd starts it again
    assert b"colima's VM is not running" in proc.stderr.read()


@pytest.mark.parametrize('shell', SHELLS)
def test_supervisor_stops_the_vm_on_sigterm_and_exits_0(tmp_path, shell):
    proc, log = supervise(tmp_path, shell)
    assert wait_for(lambda: 'status' in calls(log))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0
    assert calls(log)[-1] == 'stop' and (tmp_path / 'colima.vm').read_text() == 'down\n'


@pytest.mark.parametrize('shell', SHELLS)
def test_supervisor_whose_start_fails_exits_1(tmp_path, shell):
    proc, log = supervise(tmp_path, shell, start_fails=True)
    assert proc.wait(5) == 1 and calls(log) == ['start', 'stop --force', 'start']


@pytest.mark.parametrize('shell', SHELLS)
def test_supervisor_clears_stale_vz_state_with_a_forced_stop(tmp_path, shell):
    (tmp_path / 'colima.stale').write_text('')
    proc, log = supervise(tmp_path, shell)
    try:
        assert wait_for(lambda: 'status' in calls(log))
        assert calls(log)[:3] == ['start', 'stop --force', 'start'] and proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(5)


# -- programs of the brew owner (issue 12, finding 7) -------------------------------------

@pytest.mark.parametrize('tool, out', [('node', 'v23.3.0'), ('pnpm', '9.15.0'), ('docker', 'Docker version 27.4.0')])
def test_root_runs_the_brew_owners_programs_as_the_owner(tool, out):
    path = '/opt/homebrew/bin/' + tool
    mac, module = make([(AS_JON + ['LANG=C', 'LC_ALL=C', 'LC_MESSAGES=C', 'PATH=/opt/homebrew/bin:/usr/bin:/bin:'
                                   '/usr/sbin:/sbin', path, '--version'], 0, out + '\n')], bins={tool: path})
    assert mac.tool_version(tool) == out
    module.assert_done()


def test_the_owner_runs_its_own_programs_directly():
    mac, module = make([(['/opt/homebrew/bin/node', '--version'], 0, 'v23.3.0\n')],
                       bins={'node': '/opt/homebrew/bin/node'}, euid=JON)
    assert mac.tool_version('node') == 'v23.3.0'
    module.assert_done()


def test_root_prefers_a_program_only_root_controls():
    mac, module = make([(['/usr/bin/git', '--version'], 0, 'git version 2.39.5 (Apple Git-154)\n')],
                       bins={'git': '/opt/homebrew/bin/git'})
    mac.runner.candidates = lambda name, dirs: ['/opt/homebrew/bin/git', '/usr/bin/git']
    assert mac.which('git') == '/usr/bin/git'
    assert mac.tool_version('git') == 'git version 2.39.5 (Apple Git-154)'
    module.assert_done()


def test_npm_install_global_keeps_brews_npm_over_a_root_owned_one():
    # brew's npm writes the brew prefix as its owner; a root-owned npm (nodejs.org's installer)
    # run as the owner could not write /usr/local
    npm = '/opt/homebrew/bin/npm'
    install = AS_JON + [PATH, npm, 'install', '-g', '--ignore-scripts', '--no-fund', '--no-audit', 'pnpm@10']
    mac, module = make([STAT_JON, (install, 0, '')], bins={'brew': BREW, 'npm': npm})
    mac.runner.candidates = lambda name, dirs: [npm, '/usr/local/bin/npm']
    mac.npm_install_global('pnpm@10')
    module.assert_done()


# -- Homebrew's node, through the stage, on the simulated Mac (issue 16 point 4) -------------

def sim_rows(sim, check_mode, node_min_major, names=('node-missing', 'pnpm-missing')):
    params = {'node_min_major': node_min_major, 'pnpm_version': '10', 'stage': 'staging'}
    platform = MacOS(SimRunner(sim), check_mode=check_mode, options=params)
    platform.user_name = lambda uid: 'root'
    fixes = [FIXES[n](platform, dict(params)) for n in names]
    return dict((r['fix_id'], r) for r in run_fixes(fixes, 'staging', check_mode))


@pytest.mark.parametrize('check_mode', [True, False])
def test_homebrew_without_the_node_asked_is_manual_never_a_node_at_it_lacks(check_mode):
    sim = SimMac(['git'])  # Homebrew's node is 23.3.0: there is no node@24
    rows = sim_rows(sim, check_mode, 24)
    node = rows['staging-node-missing']
    assert node['status'] == 'manual', node
    assert node['msg'] == 'node 24 is required; the package manager offers 23.3.0'
    lower = 'set staging_node_min_major: 23 in the inventory (node 23 is the newest Homebrew offers)'
    assert node['steps'][1 if check_mode else 0] == ('Or ' if check_mode else '') + lower
    assert not [s for s in node['steps'] if 'node@' in s]
    assert rows['staging-pnpm-missing']['status'] == 'manual'
    assert sim.installs() == []
    # a scan reads brew's data as it is and offers the refresh; a fix run has refreshed once
    assert len(sim.updates()) == (0 if check_mode else 1)
    assert ('brew update  # ' in node['steps'][0]) == check_mode


def test_stale_formula_data_is_refreshed_once_before_choosing_and_installing():
    # brew's data is from April 2023 (node 20.0.0, no node@22); today's node is 23.3.0
    sim = SimMac(['git'], known=APR_2023, updated=NOV_2024)
    scan = sim_rows(sim, True, 22)['staging-node-missing']
    assert scan['status'] == 'manual' and scan['msg'] == 'node 22 is required; the package manager offers 20.0.0'
    assert scan['steps'][0].startswith('/usr/bin/sudo -u jon -H /usr/bin/env HOMEBREW_NO_AUTO_UPDATE=1 '
                                       'HOMEBREW_NO_INSTALL_CLEANUP=1 /opt/homebrew/bin/brew update  # ')
    assert sim.updates() == [] and sim.installs() == []
    sim.calls = []
    rows = sim_rows(sim, False, 22)
    assert rows['staging-node-missing']['status'] == 'fixed', rows
    assert rows['staging-pnpm-missing']['status'] == 'fixed', rows
    brew_calls = [c[c.index(SIM_BREW) + 1:] for c in sim.calls if SIM_BREW in c]
    assert brew_calls[0] == ['update'] and len(sim.updates()) == 1
    assert ['install', 'node'] in brew_calls
    assert sim.node_version() == '23.3.0'


def test_a_node_at_brew_has_is_installed_and_linked_onto_path():
    # a tap that carries node@24 while Homebrew's node is 23.3.0: keg-only until `brew link`
    sim = SimMac(['git'], known=dict(NOV_2024, **{'node@24': '24.11.1'}))
    rows = sim_rows(sim, False, 24)
    assert rows['staging-node-missing']['status'] == 'fixed', rows
    assert sim.node_version() == '24.11.1' and 'node@24' in sim.linked


def test_a_failed_refresh_is_the_installs_reason_and_nothing_installs():
    sim = SimMac()
    answer = sim._brew

    def offline(command, args):
        if command == 'update':  # Homebrew/brew issue #13504, brew-browser issue #39 (Homebrew 5.1.14)
            return 1, '', 'Error: Fetching /opt/homebrew failed!\n'
        return answer(command, args)
    sim._brew = offline
    rows = sim_rows(sim, False, 20, names=('git-missing', 'node-missing'))
    for row in rows.values():
        assert row['status'] == 'failed' and row['msg'] == 'brew update failed: Error: Fetching /opt/homebrew failed!'
    assert sim.installs() == [] and len(sim.updates()) == 1
