# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The macOS backend against recorded brew / launchctl / stat / colima / docker output."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import plistlib
import stat

import pytest

from ansible_collections.factiii.infra.plugins.module_utils.fix import (
    FAILED, MANUAL, NEEDS_FIX, OK, PlatformError,
)
from ansible_collections.factiii.infra.plugins.module_utils.platforms.macos import MacOS
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner
from ansible_collections.factiii.infra.tests.unit.fake import FakeModule

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
# root runs jon's docker as jon (runner.py), pointed at jon's colima socket
ROOT_DOCKER_INFO = (AS_JON + ['DOCKER_HOST=' + SOCKET, 'LANG=C', 'LC_ALL=C', 'LC_MESSAGES=C',
                              'PATH=/opt/homebrew/bin:/usr/bin:/bin:/usr/sbin:/sbin'] + DOCKER_INFO)
PRINT = ['/bin/launchctl', 'print', 'system/com.factiii.colima']
LABEL = 'com.factiii.colima'
DEFAULTS = ['/usr/bin/defaults', 'read', '/Library/Preferences/com.apple.loginwindow', 'autoLoginUser']
SW_VERS = ['/usr/bin/sw_vers', '-productVersion']
SETTINGS = '/Users/jon/Library/Group Containers/group.com.docker/'

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

BREW_DOWNLOAD_FAILED = (
    'curl: (6) Could not resolve host: ghcr.io\n'
    'Error: colima: Failed to download resource "colima_bottle_manifest"\n'
    'Download failed: https://ghcr.io/v2/homebrew/core/colima/manifests/0.8.1\n')

LAUNCHCTL_PRINT = """system/com.factiii.colima = {
\tactive count = 1
\tpath = /Library/LaunchDaemons/com.factiii.colima.plist
\ttype = LaunchDaemon
\tstate = running

\tprogram = /opt/homebrew/bin/colima
\targuments = {
\t\t/opt/homebrew/bin/colima
\t\tstart
\t\t--foreground
\t}

\tusername = jon
\tpid = 812
\timmediate reason = inefficient
}
"""
LAUNCHCTL_MISSING = 'Could not find service "com.factiii.colima" in domain for system\n'

DEFAULTS_MISSING = (
    '\n2024-11-25 10:02:11.512 defaults[4242:56789] \n'
    'The domain/default pair of (/Library/Preferences/com.apple.loginwindow, autoLoginUser) '
    'does not exist\n')

COLIMA_FATAL = (
    'time="2024-11-25T10:00:00+01:00" level=info msg="starting colima"\n'
    'time="2024-11-25T10:00:00+01:00" level=info msg="runtime: docker"\n'
    'time="2024-11-25T10:00:01+01:00" level=info msg="starting ..." context=vm\n'
    'time="2024-11-25T10:00:04+01:00" level=fatal msg="error starting vm: error at \'starting\': '
    'exit status 1"\n')

DOCKER_DOWN = ('Cannot connect to the Docker daemon at unix:///Users/jon/.colima/default/docker.sock. '
               'Is the docker daemon running?\n')
# Docker CLI 27.x with the daemon down exits 0 with an empty line (docker/cli#5900;
# cli/command/system/info.go runInfo at v27.4.0); 28.1.0 and later exit 1 (docker/cli#5918)
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

    def __init__(self, runner, options=None, files=(), texts=None):
        super(FakeMac, self).__init__(runner, options=options)
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
    mac, module = make([STAT_JON, (SUDO_BREW + ['install', 'git', 'colima', 'docker'], 0, '')])
    mac.install_packages(['git', 'colima', 'docker'])
    module.assert_done()
    assert sum(1 for argv in module.calls if 'install' in argv) == 1


def test_install_as_owner_runs_brew_directly_with_env():
    mac, module = make([STAT_JON, ([BREW, 'install', 'git'], 0, '')], euid=JON)
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
    mac, module = make([STAT_JON, (SUDO_BREW + ['install', 'colima'], 1, '==> Fetching colima\n',
                                   BREW_DOWNLOAD_FAILED)])
    res = raised(mac.install_packages, ['colima'])
    assert res.status == FAILED
    assert res.msg == ('brew install colima failed: '
                       'Error: colima: Failed to download resource "colima_bottle_manifest"')


def test_install_nothing_runs_nothing():
    mac, module = make([])
    mac.install_packages([])
    assert module.calls == []


def test_intel_prefix_owner_is_read_from_the_homebrew_repository():
    brew = '/usr/local/bin/brew'
    mac, module = make([(['/usr/bin/stat', '-f', '%Su', '/usr/local/Homebrew'], 0, 'jon\n'),
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
    mac, module = make([(STAT_JON[0], 1, '', 'stat: /opt/homebrew: stat: Permission denied\n')])
    res = raised(mac.install_packages, ['git'])
    assert res.status == FAILED and 'Permission denied' in res.msg


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
    mac, module = make([STAT_JON, (SUDO_BREW + ['info', '--json=v2', 'node'], 0, NODE_INFO)])
    assert mac.candidate_version('node') == '23.3.0'


def test_candidate_version_unknown_is_none_never_raises():
    mac, module = make([STAT_JON, (SUDO_BREW + ['info', '--json=v2', 'nod'], 1, '',
                                   'Error: No available formula with the name "nod".\n')])
    assert mac.candidate_version('nod') is None
    other = make([STAT_JON], euid=ALICE)[0]
    assert other.candidate_version('node') is None


def test_package_names_without_node_min_major_run_nothing():
    mac, module = make([])
    assert mac.package_names('git') == ['git']
    assert mac.package_names('node') == ['node']
    assert mac.package_names('npm') == ['node']
    assert mac.docker_packages() == ['colima', 'docker']
    assert module.calls == []


@pytest.mark.parametrize('want, names', [(24, ['node@24']), (20, ['node'])])
def test_node_min_major_picks_versioned_formula(want, names):
    mac, module = make([STAT_JON, (SUDO_BREW + ['info', '--json=v2', 'node'], 0, NODE_INFO)],
                       options={'node_min_major': want})
    assert mac.package_names('node') == names


def test_docker_desktop_needs_no_packages():
    mac, module = make([], files=['/Applications/Docker.app'])
    assert mac.docker_packages() == []


def test_versioned_node_is_linked_after_the_one_install():
    mac, module = make([STAT_JON, (SUDO_BREW + ['install', 'git', 'node@24'], 0, ''),
                        (SUDO_BREW + ['link', '--overwrite', '--force', 'node@24'], 0, '')])
    mac.install_packages(['git', 'node@24'])
    module.assert_done()


def test_node_upgrade_steps_are_exact_brew_commands_as_owner():
    mac, module = make([STAT_JON], euid=ALICE)
    assert mac.node_upgrade_steps(22) == [
        '/usr/bin/sudo -u jon -H /usr/bin/env HOMEBREW_NO_AUTO_UPDATE=1 HOMEBREW_NO_INSTALL_CLEANUP=1 '
        '/opt/homebrew/bin/brew install node@22',
        '/usr/bin/sudo -u jon -H /usr/bin/env HOMEBREW_NO_AUTO_UPDATE=1 HOMEBREW_NO_INSTALL_CLEANUP=1 '
        '/opt/homebrew/bin/brew link --overwrite --force node@22',
    ]


def test_node_upgrade_steps_without_homebrew_start_with_installing_it():
    mac, module = make([], bins={})
    steps = mac.node_upgrade_steps(22)
    assert 'install.sh' in steps[0]
    assert steps[-2:] == ['brew install node@22', 'brew link --overwrite --force node@22']


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

def test_docker_installed():
    assert make(files=['/Applications/Docker.app'], bins={})[0].docker_installed()
    assert make(bins=COLIMA_BINS)[0].docker_installed()
    assert not make(bins={'docker': '/opt/homebrew/bin/docker'})[0].docker_installed()


def test_docker_found_in_docker_desktop_when_not_on_path():
    cli = '/Applications/Docker.app/Contents/Resources/bin/docker'
    mac, module = make(bins={}, files=['/Applications/Docker.app', cli])
    assert mac.which('docker') == cli


def test_docker_running_as_root_uses_colima_socket():
    mac, module = make([STAT_JON, (ROOT_DOCKER_INFO, 0, '27.3.1\n')], bins=COLIMA_BINS)
    assert mac.docker_running()
    assert module.envs[-1]['DOCKER_HOST'] == SOCKET


def test_docker_27_down_exits_0_and_is_not_running():
    mac, module = make([STAT_JON, (ROOT_DOCKER_INFO,) + DOCKER_DOWN_27], bins=COLIMA_BINS)
    assert not mac.docker_running()
    module.assert_done()
    mac, module = make([STAT_JON, (ROOT_DOCKER_INFO,) + DOCKER_DOWN_27], bins=COLIMA_BINS)
    assert mac.docker_state() == (None, DOCKER_DOWN.strip())


def test_docker_running_as_owner_uses_own_context():
    mac, module = make([(DOCKER_INFO, 1, '', DOCKER_DOWN)], bins=COLIMA_BINS, euid=JON)
    assert not mac.docker_running()
    assert 'DOCKER_HOST' not in module.envs[-1]


def test_start_colima_as_owner_then_polls():
    mac, module = make([STAT_JON, (AS_JON + [PATH, '/opt/homebrew/bin/colima', 'start'], 0, '',
                                   'time="2024-11-25T10:00:30+01:00" level=info msg="done"\n'),
                        (ROOT_DOCKER_INFO, 1, '', DOCKER_DOWN), (ROOT_DOCKER_INFO, 1, '', DOCKER_DOWN),
                        (ROOT_DOCKER_INFO, 0, '27.3.1\n')], bins=COLIMA_BINS)
    mac.start_docker()
    module.assert_done()
    assert mac.slept == [1.0, 1.0]
    assert module.envs[-1]['DOCKER_HOST'] == SOCKET


def test_start_colima_failure_reports_colimas_reason_without_waiting():
    mac, module = make([STAT_JON, (AS_JON + [PATH, '/opt/homebrew/bin/colima', 'start'], 1, '',
                                   COLIMA_FATAL), (ROOT_DOCKER_INFO, 1, '', DOCKER_DOWN)],
                       bins=COLIMA_BINS)
    res = raised(mac.start_docker)
    module.assert_done()
    assert res.status == FAILED
    assert res.msg == ("docker did not answer after starting colima: "
                       "error starting vm: error at 'starting': exit status 1")
    assert mac.slept == []


def test_start_colima_times_out_with_option():
    down = (ROOT_DOCKER_INFO, 1, '', DOCKER_DOWN)
    mac, module = make([STAT_JON, (AS_JON + [PATH, '/opt/homebrew/bin/colima', 'start'], 0, '')]
                       + [down] * 4, bins=COLIMA_BINS, options={'docker_start_timeout': 3})
    res = raised(mac.start_docker)
    module.assert_done()
    assert res.status == FAILED and sum(mac.slept) == 3


def test_start_colima_through_our_launchdaemon(tmp_path):
    (tmp_path / (LABEL + '.plist')).write_bytes(b'')
    mac, module = make([(['/bin/launchctl', 'kickstart', 'system/' + LABEL], 0, ''), STAT_JON,
                        (ROOT_DOCKER_INFO, 0, '27.3.1\n')], bins=COLIMA_BINS, tmp_path=tmp_path)
    mac.start_docker()
    module.assert_done()


def test_start_docker_desktop_as_root_is_manual():
    mac, module = make([], bins={}, files=['/Applications/Docker.app'])
    res = raised(mac.start_docker)
    assert res.status == MANUAL
    assert res.steps == ["Log in to the Mac's desktop and start Docker Desktop"]
    assert module.calls == []


def test_start_docker_desktop_in_gui_session():
    cli = '/usr/local/bin/docker'
    mac, module = make([(['/usr/bin/open', '-a', 'Docker'], 0, ''),
                        ([cli, 'info', '--format', '{{.ServerVersion}}'], 0, '27.3.1\n')],
                       bins={'docker': cli}, files=['/Applications/Docker.app'], euid=JON)
    mac.start_docker()
    module.assert_done()


def test_start_docker_desktop_without_gui_session_is_manual():
    mac, module = make([(['/usr/bin/open', '-a', 'Docker'], 1, '',
                         'LSOpenURLsWithRole() failed with error -10810 for the file '
                         '/Applications/Docker.app.\n')],
                       bins={}, files=['/Applications/Docker.app'], euid=JON)
    res = raised(mac.start_docker)
    assert res.status == MANUAL and '-10810' in res.msg


# -- docker at boot ----------------------------------------------------------

def want_plist(colima='/opt/homebrew/bin/colima'):
    return {
        'Label': LABEL,
        'ProgramArguments': [colima, 'start', '--foreground'],
        'UserName': 'jon',
        'RunAtLoad': True,
        'KeepAlive': True,
        'EnvironmentVariables': {'PATH': PATH[len('PATH='):], 'HOME': '/Users/jon'},
        'StandardOutPath': '/Library/Logs/factiii-colima.log',
        'StandardErrorPath': '/Library/Logs/factiii-colima.log',
    }


def test_colima_boot_without_plist_needs_fix(tmp_path):
    mac, module = make([STAT_JON], bins=COLIMA_BINS, tmp_path=tmp_path)
    res = mac.docker_boot()
    assert res.status == NEEDS_FIX
    assert res.msg == ('would install LaunchDaemon com.factiii.colima running '
                       '`colima start --foreground` as jon')


def test_colima_boot_ok_when_plist_matches_and_loaded(tmp_path):
    (tmp_path / (LABEL + '.plist')).write_bytes(plistlib.dumps(want_plist()))
    mac, module = make([STAT_JON, (PRINT, 0, LAUNCHCTL_PRINT)], bins=COLIMA_BINS, tmp_path=tmp_path)
    assert mac.docker_boot().status == OK
    module.assert_done()


def test_colima_boot_stale_or_unloaded_plist_needs_fix(tmp_path):
    (tmp_path / (LABEL + '.plist')).write_bytes(plistlib.dumps(want_plist('/usr/local/bin/colima')))
    mac, module = make([STAT_JON], bins=COLIMA_BINS, tmp_path=tmp_path)
    assert mac.docker_boot().msg.startswith('would update LaunchDaemon')
    (tmp_path / (LABEL + '.plist')).write_bytes(plistlib.dumps(want_plist()))
    mac, module = make([STAT_JON, (PRINT, 113, '', LAUNCHCTL_MISSING)], bins=COLIMA_BINS,
                       tmp_path=tmp_path)
    assert mac.docker_boot().msg.startswith('would load LaunchDaemon')


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
KICKSTART = ['/bin/launchctl', 'kickstart', 'system/' + LABEL]


def test_enable_writes_plist_and_bootstraps(tmp_path):
    path = str(tmp_path / (LABEL + '.plist'))
    mac, module = make([STAT_JON, (PRINT, 113, '', LAUNCHCTL_MISSING), (BOOTSTRAP + [path], 0, ''),
                        (KICKSTART, 0, '')], bins=COLIMA_BINS, tmp_path=tmp_path)
    mac.enable_docker_at_boot()
    module.assert_done()
    assert_no_load_unload(module)
    with open(path, 'rb') as f:
        assert plistlib.load(f) == want_plist()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert os.listdir(str(tmp_path)) == [LABEL + '.plist']  # no temp file left behind


def test_enable_changed_plist_boots_out_first(tmp_path):
    path = str(tmp_path / (LABEL + '.plist'))
    (tmp_path / (LABEL + '.plist')).write_bytes(plistlib.dumps(want_plist('/usr/local/bin/colima')))
    mac, module = make([STAT_JON, (PRINT, 0, LAUNCHCTL_PRINT),
                        (['/bin/launchctl', 'bootout', 'system/' + LABEL], 0, ''),
                        (PRINT, 0, LAUNCHCTL_PRINT), (PRINT, 113, '', LAUNCHCTL_MISSING),
                        (BOOTSTRAP + [path], 0, ''), (KICKSTART, 0, '')],
                       bins=COLIMA_BINS, tmp_path=tmp_path)
    mac.enable_docker_at_boot()
    module.assert_done()
    assert_no_load_unload(module)
    with open(path, 'rb') as f:
        assert plistlib.load(f) == want_plist()


def test_enable_unchanged_plist_not_loaded_bootstraps_without_bootout(tmp_path):
    path = str(tmp_path / (LABEL + '.plist'))
    (tmp_path / (LABEL + '.plist')).write_bytes(plistlib.dumps(want_plist()))
    mac, module = make([STAT_JON, (PRINT, 113, '', LAUNCHCTL_MISSING), (BOOTSTRAP + [path], 0, ''),
                        (KICKSTART, 0, '')], bins=COLIMA_BINS, tmp_path=tmp_path)
    mac.enable_docker_at_boot()
    module.assert_done()


def test_enable_bootstrap_failure_is_failed(tmp_path):
    path = str(tmp_path / (LABEL + '.plist'))
    mac, module = make([STAT_JON, (PRINT, 113, '', LAUNCHCTL_MISSING),
                        (BOOTSTRAP + [path], 5, '', 'Bootstrap failed: 5: Input/output error\n')],
                       bins=COLIMA_BINS, tmp_path=tmp_path)
    res = raised(mac.enable_docker_at_boot)
    assert res.msg == 'launchctl bootstrap failed: Bootstrap failed: 5: Input/output error'


def test_enable_not_root_is_manual_with_sudo_commands(tmp_path):
    path = str(tmp_path / (LABEL + '.plist'))
    mac, module = make([STAT_JON, (PRINT, 113, '', LAUNCHCTL_MISSING)], bins=COLIMA_BINS,
                       euid=JON, tmp_path=tmp_path)
    res = raised(mac.enable_docker_at_boot)
    assert res.status == MANUAL
    assert res.steps[1:] == ['sudo chown root:wheel ' + path, 'sudo chmod 0644 ' + path,
                             'sudo launchctl bootstrap system ' + path,
                             'sudo launchctl kickstart system/' + LABEL]
    head, body = res.steps[0].split('\n', 1)
    assert head == "sudo tee %s >/dev/null <<'EOF'" % path
    assert body.endswith('EOF') and plistlib.loads(body[:-3].encode()) == want_plist()
    assert not os.path.exists(path)


def test_enable_with_docker_desktop_only_is_manual():
    mac, module = make([STAT_JON, (DEFAULTS, 1, '', DEFAULTS_MISSING), (SW_VERS, 0, '15.1\n')],
                       files=DESKTOP)
    res = raised(mac.enable_docker_at_boot)
    assert res.status == MANUAL and res.steps[-1] == COLIMA_STEP


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
