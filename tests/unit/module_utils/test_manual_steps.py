"""Every Manual step is exact (issue 14, point 8).

Every fix on both platforms is driven through the stage runner on the simulators into each
situation that ends MANUAL, in every stage that runs it, scan and fix alike. Each step must:
- name only variables the stage's role declares (roles/<stage>/meta/argument_specs.yml), in
  the forms `set X`, `X: value` and `X=value`, and never a bare module option (`repo_dest`
  where the operator sets `staging_repo_dest`);
- appear once in the stage (not again under the fix it blocked);
- be a command, never a link to instructions, and never a download piped into a shell.
"""
import os
import re
import subprocess

import pytest
import yaml

from ansible_collections.factiii.infra.plugins.module_utils import batch, options
from ansible_collections.factiii.infra.plugins.module_utils.platforms import debian as debian_mod
from ansible_collections.factiii.infra.plugins.module_utils.platforms.debian import Debian
from ansible_collections.factiii.infra.plugins.module_utils.platforms.macos import MacOS
from ansible_collections.factiii.infra.plugins.module_utils.registry import FIXES
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner
from ansible_collections.factiii.infra.plugins.module_utils.batch import default_fixes, run_fixes
from ansible_collections.factiii.infra.plugins.plugin_utils import github_secrets

from fake import RealModule
from sim_debian import SimDebian
from sim_macos import SimMac, SimRunner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLES = ('dev', 'secrets', 'staging', 'prod')
HOST_STAGES = ('dev', 'staging', 'prod')
PARAMS = {'node_min_major': 20, 'pnpm_version': '10', 'package_lock_timeout': 30,
          'docker_start_timeout': 5, 'repo_known_hosts': [], 'repo_url': 'file:///srv/git/app.git'}
# Ansible's own connection variables a step may name (not a role's)
ANSIBLE_VARIABLES = {'ansible_user'}
# first words of the steps that are shell commands: each must parse (`bash -n`)
COMMANDS = {'sudo', 'curl', 'echo', 'printf', 'git', 'mv', 'node', 'brew', 'gh', 'export'}
# module options (and become) an operator never sets by that name for a role's stage
OPTIONS = sorted(set(n for n in batch.stage_argument_spec() if '_' in n) | {'become'})


def role_variables(role):
    with open(os.path.join(ROOT, 'roles', role, 'meta', 'argument_specs.yml')) as f:
        return set(yaml.safe_load(f)['argument_specs']['main']['options'])


SPECS = dict((role, role_variables(role)) for role in ROLES)


def named(text):
    """Variable names a step or message tells the operator to set."""
    return (set(re.findall(r'\bset ([A-Za-z_]\w*)', text))
            | set(re.findall(r'\b([a-z][a-z0-9]*_[a-z0-9_]+)(?::\s|=)', text)))


def problems(stage, rows):
    """What is wrong with the Manual rows of one stage run on one host."""
    found = []
    seen = {}
    for row in rows:
        if row['status'] != 'manual':
            continue
        if not row['steps'] and 'not attempted' not in row['msg'] and 'steps under' not in row['msg']:
            found.append('%s: manual without steps or a pointer to them' % row['fix_id'])
        for text in [row['msg']] + row['steps']:
            for name in named(text):
                if name not in SPECS[stage] and name not in ANSIBLE_VARIABLES:
                    found.append('%s: %r names %s, not a variable of the %s role' % (row['fix_id'], text, name, stage))
        for step in row['steps']:
            for option in OPTIONS:
                if re.search(r'(?<![\w-])%s(?![\w-])' % option, step):
                    found.append('%s: %r names the option %s, not the %s role\'s variable'
                                 % (row['fix_id'], step, option, stage))
            if re.search(r'(?:instructions|see|docs?)\W*https?://', step, re.I):
                found.append('%s: %r is a link, not a command' % (row['fix_id'], step))
            if re.search(r'\|\s*(?:sudo\s+)?(?:-E\s+)?(?:ba|z)?sh\b', step):
                found.append('%s: %r pipes a download into a shell' % (row['fix_id'], step))
            if step.split(' ', 1)[0] in COMMANDS or step.startswith('/'):
                check = subprocess.run(['bash', '-n', '-c', step], capture_output=True, text=True, check=False)
                if check.returncode:
                    found.append('%s: %r is not a valid shell command: %s' % (row['fix_id'], step, check.stderr.strip()))
            if step in seen:
                found.append('%s: %r repeats a step of %s' % (row['fix_id'], step, seen[step]))
            seen.setdefault(step, row['fix_id'])
    return found


# -- Debian ----------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def debian_host(monkeypatch):
    monkeypatch.setattr(Debian, '_systemd', lambda self: True)
    monkeypatch.setattr(Debian, '_lists_age', lambda self: 10)
    real = debian_mod.os.geteuid
    yield
    debian_mod.os.geteuid = real


def run_debian(host, stage, names, check_mode, module=None, **params):
    params = dict(PARAMS, stage=stage, **params)
    debian_mod.os.geteuid = lambda: host.euid
    platform = Debian(Runner(module or host), check_mode=check_mode, options=params)
    platform.clock, platform.sleep = host.clock, host.sleep
    host.attach(platform)
    return run_fixes([FIXES[n](platform, params) for n in names], stage, check_mode)


@pytest.fixture
def journal(tmp_path, monkeypatch):
    """dpkg's journal left by a killed dpkg: "dpkg was interrupted"."""
    path = tmp_path / 'updates'
    path.mkdir()
    (path / '0004').write_text('Package: factiii-interrupted\nStatus: install ok half-configured\n')
    monkeypatch.setattr(debian_mod, 'DPKG_UPDATES', str(path))
    return str(path)


def git(*args, cwd=None):
    subprocess.run(['git'] + list(args), cwd=cwd, check=True, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@example.com',
                            GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@example.com'))


def clone(tmp_path, name, origin_url, dirty):
    """A real clone at tmp_path/name whose origin is origin_url, with a changed file if dirty."""
    dest = tmp_path / name
    git('init', '-q', '-b', 'main', str(dest))
    (dest / 'app.txt').write_text('one\n')
    git('add', '.', cwd=dest)
    git('commit', '-q', '-m', 'one', cwd=dest)
    git('remote', 'add', 'origin', origin_url, cwd=dest)
    if dirty:
        (dest / 'app.txt').write_text('changed\n')
    return str(dest)


def debian_cases(tmp_path, journal, stage):
    """(what, rows) of every situation that ends MANUAL on Debian, scan and fix."""
    fixes = default_fixes(stage)
    other = tmp_path / ('not-a-clone-%s' % stage)
    other.mkdir(exist_ok=True)
    (other / 'notes.txt').write_text('mine\n')
    for check_mode in (True, False):
        yield 'no root, no sudo', run_debian(SimDebian(euid=1000, sudo=False), stage, fixes, check_mode,
                                             repo_dest=str(tmp_path / 'new'))
        yield 'node too old', run_debian(SimDebian(['git'], candidate_node='18.19.0+dfsg-6~deb12u2'), stage,
                                         ['node-missing', 'pnpm-missing'], check_mode)
        yield 'dpkg interrupted', run_debian(SimDebian(updates_dir=journal), stage,
                                             ['git-missing', 'node-missing', 'pnpm-missing'], check_mode)
        if 'sleep-enabled' in fixes:  # issue 16 point 6
            idle = {'/etc/systemd/logind.conf.d/idle.conf': '[Login]\nIdleAction=suspend\n'}
            yield 'can suspend, no sudo', run_debian(SimDebian(euid=1000, sudo=False, logind=idle), stage,
                                                     ['sleep-enabled'], check_mode)
            yield 'updates reboot', run_debian(SimDebian(['unattended-upgrades'], auto_reboot='true'), stage,
                                               ['updates-restart'], check_mode)
            yield 'deploy user asks a password', run_debian(SimDebian(), stage, ['sudo-needs-password'],
                                                            check_mode, deploy_user='deploy')
        if 'repo-not-cloned' not in fixes:
            continue
        yield 'not a clone', run_debian(SimDebian(['git']), stage, ['repo-not-cloned'], check_mode,
                                        repo_dest=str(other))
        for name, url, dirty in (('another-remote', 'file:///srv/git/other.git', False),
                                 ('dirty', PARAMS['repo_url'], True)):
            dest = clone(tmp_path, '%s-%s-%s' % (name, stage, check_mode), url, dirty)
            yield name, run_debian(SimDebian(['git']), stage, ['repo-not-cloned'], check_mode,
                                   module=RealModule(), repo_dest=dest)


@pytest.mark.parametrize('stage', HOST_STAGES)
def test_every_manual_step_on_debian_is_exact(tmp_path, journal, stage):
    seen_manual = set()
    for what, rows in debian_cases(tmp_path, journal, stage):
        assert any(r['status'] == 'manual' for r in rows), (what, rows)
        seen_manual.update(r['fix_id'] for r in rows if r['status'] == 'manual')
        assert problems(stage, rows) == [], what
    # every fix of the stage was driven into MANUAL at least once (but those that are never MANUAL
    # on Debian: ok "not applicable", or ok because SSH reached the host)
    never = ('autorestart-off', 'filevault-on', 'remote-login-off')
    assert seen_manual == set('%s-%s' % (stage, n) for n in default_fixes(stage) if n not in never)


def test_node_from_nodesource_is_commands_for_the_major_asked():
    rows = run_debian(SimDebian(['git'], candidate_node='18.19.0+dfsg-6~deb12u2'), 'staging',
                      ['node-missing', 'pnpm-missing'], False, node_min_major=22)
    node, pnpm = rows
    assert node['steps'][0] == 'sudo apt-get install -y ca-certificates curl gnupg'
    assert ('https://deb.nodesource.com/node_22.x nodistro main" '
            '| sudo tee /etc/apt/sources.list.d/nodesource.list') in node['steps'][3]
    assert node['steps'][-2:] == ['sudo apt-get install -y nodejs', 'node --version  # must print v22 or later']
    # the pnpm row it blocks points to them instead of repeating them
    assert pnpm['msg'] == 'not attempted: needs staging-node-missing, which is manual' and pnpm['steps'] == []


def test_the_privilege_steps_come_once_per_stage_and_name_the_stages_become():
    rows = run_debian(SimDebian(euid=1000, sudo=False), 'prod', ['git-missing', 'docker-missing'], True)
    assert rows[0]['steps'][0].startswith('set prod_become: true in the inventory')
    assert rows[1]['steps'] == [] and rows[1]['msg'].endswith('(steps under prod-git-missing)')


def test_dpkg_repair_is_offered_only_where_the_stage_has_the_variable(journal):
    steps = dict((stage, run_debian(SimDebian(updates_dir=journal), stage, ['git-missing'], True)[0]['steps'])
                 for stage in HOST_STAGES)
    assert steps['staging'][1] == ('then re-run the stage; or set staging_repair_dpkg: true in the inventory '
                                   'and factiii runs it before installing')
    assert steps['dev'] == ['sudo dpkg --configure -a', 'then re-run the stage']


# -- macOS -----------------------------------------------------------------------------------

class RootPrefixMac(SimMac):
    def _system(self, argv):
        if argv[0].endswith('/stat'):
            return 0, 'root\n', ''
        return SimMac._system(self, argv)


class NoBrewMac(SimMac):
    def get_bin_path(self, name, required=False, opt_dirs=None):
        return None if name == 'brew' else SimMac.get_bin_path(self, name)

    def candidates(self, name):
        return [] if name == 'brew' else SimMac.candidates(self, name)


class AliceRunner(SimRunner):
    euid = 502


class JonRunner(SimRunner):
    """The brew owner, not root."""
    euid = 501


def mac_platform(sim, runner_class, check_mode, stage, tmp_path, desktop=False):
    platform = MacOS(runner_class(sim), check_mode=check_mode, options=dict(PARAMS, stage=stage))
    platform.launchd_dir = str(tmp_path)
    platform.sleep = lambda s: None
    platform.user_home = lambda user: '/Users/' + user
    platform.user_name = lambda uid: {0: 'root', 501: 'jon'}.get(uid, 'alice')
    platform.read_text = lambda path: None
    platform.exists = lambda path: desktop and path == '/Applications/Docker.app'
    return platform


def mac_cases(tmp_path, stage):
    fixes = [n for n in default_fixes(stage) if n != 'repo-not-cloned'] + ['docker-autostart']
    fixes = list(dict.fromkeys(fixes))
    for check_mode in (True, False):
        for what, sim, runner, desktop in (
                ('no Homebrew', NoBrewMac(), SimRunner, False),
                ('prefix owned by root', RootPrefixMac(), SimRunner, False),
                ('not the brew owner', SimMac(), AliceRunner, False),
                ('not the brew owner, everything installed',
                 SimMac(['git', 'node', 'colima', 'docker'], colima_running=True), AliceRunner, False),
                ('the brew owner, not root', SimMac(['git', 'node', 'colima', 'docker'], colima_running=True),
                 JonRunner, False),
                ('docker desktop', SimMac(['git', 'node']), SimRunner, True)):
            platform = mac_platform(sim, runner, check_mode, stage, tmp_path, desktop)
            params = dict(PARAMS, stage=stage)
            yield what, run_fixes([FIXES[n](platform, params) for n in fixes], stage, check_mode)


@pytest.mark.parametrize('stage', HOST_STAGES)
def test_every_manual_step_on_macos_is_exact(tmp_path, stage):
    seen_manual = set()
    for what, rows in mac_cases(tmp_path, stage):
        seen_manual.update(r['fix_id'] for r in rows if r['status'] == 'manual')
        assert problems(stage, rows) == [], what
    assert '%s-docker-autostart' % stage in seen_manual and '%s-git-missing' % stage in seen_manual


@pytest.mark.parametrize('stage', HOST_STAGES)
def test_homebrew_without_the_node_asked_gives_exact_steps(tmp_path, stage):
    # Homebrew's node is 23.3.0 and it has no node@24 (issue 16 point 4)
    for check_mode in (True, False):
        platform = mac_platform(SimMac(['git']), SimRunner, check_mode, stage, tmp_path)
        platform.options['node_min_major'] = 24
        params = dict(PARAMS, stage=stage, node_min_major=24)
        rows = run_fixes([FIXES[n](platform, params) for n in ('node-missing', 'pnpm-missing')], stage, check_mode)
        assert rows[0]['status'] == 'manual' and rows[0]['steps'], rows
        assert not [step for step in rows[0]['steps'] if 'node@' in step]  # brew has none
        assert problems(stage, rows) == []


def test_a_launch_daemon_as_the_brew_owner_names_the_stages_become(tmp_path):
    sim = SimMac(['git', 'node', 'colima', 'docker'], colima_running=True)
    platform = mac_platform(sim, JonRunner, False, 'staging', tmp_path)
    row = run_fixes([FIXES['docker-autostart'](platform, dict(PARAMS, stage='staging'))], 'staging', False)[0]
    assert row['status'] == 'manual'
    assert row['msg'] == ('installing a LaunchDaemon needs root: set staging_become: true in the inventory, '
                          'or run these commands')


# -- secrets (controller side) and the variable table ----------------------------------------

def test_the_secrets_stage_names_its_variable():
    rows = github_secrets.check_secrets(['STAGING_SSH', 'PROD_SSH'], None, None)
    assert problems('secrets', rows) == []
    assert rows[0]['steps'][0].startswith('set secrets_github_repo: owner/name in the inventory')
    assert rows[1]['steps'] == [] and rows[1]['msg'].endswith('(steps under secrets-staging-ssh-missing)')


def test_the_variable_table_is_the_roles_argument_specs():
    for stage in ROLES:
        names = set(options.variable(stage, o) for o in batch.stage_argument_spec() if o not in ('stage',))
        names |= set([options.variable(stage, 'become')])
        assert names - set([None]) == SPECS[stage], stage
    # a single-fix module on a task: the option itself, set on the task
    assert options.setting('local', 'repo_dest', '/srv/x') == 'set repo_dest: /srv/x on the task'
    assert options.setting('dev', 'repair_dpkg', 'true') is None


# -- dev-sync's hint -------------------------------------------------------------------------

def test_dev_sync_hint_works_on_a_bare_debian_and_pins_ansible_core():
    with open(os.path.join(ROOT, 'requirements.txt')) as f:
        pin = re.search(r'^ansible-core==(\S+)$', f.read(), re.M).group(1)
    with open(os.path.join(ROOT, 'playbooks', 'dev_sync.yml')) as f:
        tasks = yaml.safe_load(f)[0]['tasks']
    hint = next(t for t in tasks if t['name'] == 'Require ansible-core on the server')['ansible.builtin.assert']['fail_msg']
    # a bare Debian has no ensurepip: python3-venv first
    assert hint.index('apt-get install -y python3-venv') < hint.index('python3 -m venv /opt/factiii/ansible')
    assert "pip install 'ansible-core==%s'" % pin in hint
    assert 'dev_sync_ansible_bin=/opt/factiii/ansible/bin' in hint
