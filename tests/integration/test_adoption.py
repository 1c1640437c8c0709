"""The adoption path, as an ops team takes it (issue 13): from an empty app repository
outside this checkout, with a fresh venv holding only what the built wheel installs.

`factiii init` writes the files; the team fills the inventory for a real throwaway Debian
server; scan (report printed, nothing changed on the host), fix (host right), a second fix
(nothing changed). The same repository without its ansible.cfg keeps the guarantees that do
not depend on a config file: the report, the JSON, a non-zero exit with one error line on a
broken inventory and on a stage with no host, host key checking on. actionlint passes on
the workflows init wrote.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from scenario import host_state
from support import run_reported, tool
from testhost import TestHosts

pytestmark = pytest.mark.skipif(os.environ.get('FACTIII_INTEGRATION') != '1',
                                reason='real hosts: set FACTIII_INTEGRATION=1 (scripts/test does)')

PORT = 23860  # this file's loopback ports: 23860-23869
ORIGIN = '/opt/git/app.git'
FIXES = ['git-missing', 'repo-not-cloned']
ERROR = re.compile(r'^(\[ERROR\]|ERROR!|factiii: error:)', re.M)


def _user_env(home):
    """What a user's shell has: the system PATH (not the venv's), no Ansible or factiii settings."""
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith(('ANSIBLE_', 'FACTIII_', 'VIRTUAL_ENV', 'PYTHON')))
    env.update(PATH='/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME=str(home),
               ANSIBLE_NOCOLOR='1', LANG='C.UTF-8')
    return env


def _run(argv, env, cwd, timeout=900):
    proc = run_reported([str(a) for a in argv], env, timeout, cwd=str(cwd))
    for stream in (proc.stdout, proc.stderr):
        assert 'Traceback (most recent call last)' not in stream, proc.report
    return proc


def _tree(root):
    """sha256 of every file under ``root`` except .git: what init wrote."""
    found = {}
    for base, dirs, files in os.walk(str(root)):
        dirs[:] = [d for d in dirs if d != '.git']
        for name in files:
            path = os.path.join(base, name)
            with open(path, 'rb') as handle:
                found[os.path.relpath(path, str(root))] = hashlib.sha256(handle.read()).hexdigest()
    return found


def _origin(host, tmp_path):
    """A bare repository with one commit, copied into the host: the clone needs no network."""
    env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@example.com',
               GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@example.com')
    work = tmp_path / 'origin-work'
    subprocess.run(['git', 'init', '-q', '-b', 'main', str(work)], check=True, env=env)
    (work / 'README').write_text('app\n')
    subprocess.run(['git', '-C', str(work), 'add', 'README'], check=True, env=env)
    subprocess.run(['git', '-C', str(work), 'commit', '-q', '-m', 'one'], check=True, env=env)
    subprocess.run(['git', 'clone', '-q', '--bare', str(work), str(tmp_path / 'app.git')], check=True, env=env)
    host.exec('mkdir -p /opt/git')
    subprocess.run(['docker', 'cp', str(tmp_path / 'app.git'), '%s:%s' % (host.name, ORIGIN)], check=True)


def _fill_inventory(app, hosts):
    """What the team does after init: its staging server in factiii/hosts.yml, its settings in
    factiii/group_vars/staging.yml; prod stays without a host."""
    path = app / 'factiii' / 'hosts.yml'
    inventory = yaml.safe_load(path.read_text())
    children = inventory['all']['children']
    assert set(children) >= {'dev', 'secrets', 'staging', 'prod'}, inventory
    children['staging'] = {'hosts': {hosts[0].name: hosts.ssh_vars(hosts[0])}}
    children['prod'] = {'hosts': {}}
    path.write_text(yaml.safe_dump(inventory))
    staging = app / 'factiii' / 'group_vars' / 'staging.yml'
    settings = yaml.safe_load(staging.read_text()) or {}
    settings.update(staging_repo_url='file://' + ORIGIN, staging_repo_dest='/srv/app', staging_fixes=FIXES)
    staging.write_text(yaml.safe_dump(settings))


def _report(proc):
    """The RESULTS BY STAGE text of a run: printed exactly once."""
    assert len(re.findall(r'^RESULTS BY STAGE$', proc.stdout, re.M)) == 1, proc.report
    return proc.stdout[re.search(r'^RESULTS BY STAGE$', proc.stdout, re.M).start():]


def _one_error(proc, *words):
    assert proc.returncode != 0, proc.report
    errors = ERROR.findall(proc.stdout + '\n' + proc.stderr)
    assert len(errors) == 1, proc.report
    line = [ln for ln in (proc.stdout + '\n' + proc.stderr).splitlines() if ERROR.match(ln)][0]
    for word in words:
        assert word in line, proc.report
    return line


def test_an_app_repository_adopts_factiii(dist_venv, test_host_image, tmp_path):
    venv = dist_venv[0]
    bin_dir = os.path.join(str(venv), 'bin')
    home = tmp_path / 'home'
    home.mkdir()
    env = _user_env(home)
    app = tmp_path / 'app'
    subprocess.run(['git', 'init', '-q', str(app)], check=True)

    # init: everything a team needs, and a second run changes nothing
    init = _run([os.path.join(bin_dir, 'factiii'), 'init'], env, app)
    assert init.returncode == 0, init.report
    written = _tree(app)
    for path in ('ansible.cfg', 'factiii/hosts.yml', 'factiii/group_vars/staging.yml',
                 '.github/workflows/factiii-scan.yml', '.github/workflows/factiii-fix-staging.yml',
                 '.github/workflows/factiii-deploy.yml', '.github/workflows/factiii-dev-sync.yml'):
        assert path in written, sorted(written)
    again = _run([os.path.join(bin_dir, 'factiii'), 'init'], env, app)
    assert again.returncode == 0, again.report
    assert _tree(app) == written, again.report
    lint = _run([tool('actionlint')] + sorted(str(p) for p in (app / '.github' / 'workflows').glob('*.yml')),
                dict(os.environ), app)
    assert lint.returncode == 0, lint.report

    playbook = os.path.join(bin_dir, 'ansible-playbook')
    (tmp_path / 'hosts').mkdir()
    with TestHosts('t13ad', 1, tmp_path / 'hosts', base_port=PORT) as hosts:
        host = hosts[0]
        _origin(host, tmp_path)
        _fill_inventory(app, hosts)
        env['ANSIBLE_SSH_CONTROL_PATH_DIR'] = str(tmp_path / 'cp')

        # init again: the team's inventory is theirs, never overwritten
        filled = (app / 'factiii' / 'hosts.yml').read_text()
        kept = _run([os.path.join(bin_dir, 'factiii'), 'init'], env, app)
        assert (app / 'factiii' / 'hosts.yml').read_text() == filled, kept.report
        assert 'factiii/hosts.yml' in kept.stdout + kept.stderr, kept.report
        # a filled-in inventory is the team's, not drift from the templates
        check = _run([os.path.join(bin_dir, 'factiii'), 'init', '--check'], env, app)
        assert check.returncode == 0 and 'factiii/hosts.yml' in check.stdout, check.report

        # scan: the report, the JSON, nothing changed on the host
        before = host_state(host.name)
        results = tmp_path / 'scan.json'
        scan = _run([playbook, 'factiii.infra.scan', '-l', 'staging'],
                    dict(env, FACTIII_RESULTS_JSON=str(results)), app)
        assert scan.returncode == 0, scan.report
        assert 'STAGING:' in _report(scan) and 'staging-git-missing' in _report(scan), scan.report
        assert 'TOTAL: Would fix: 2, Manual: 0, Failed: 0' in _report(scan), scan.report
        assert json.loads(results.read_text())['total']['fixed'] == 2, scan.report
        assert host_state(host.name) == before, scan.report

        # fix, then a second fix that changes nothing
        fix = _run([playbook, 'factiii.infra.fix', '-l', 'staging'], env, app)
        assert fix.returncode == 0, fix.report
        assert 'TOTAL: Fixed: 2, Manual: 0, Failed: 0' in _report(fix), fix.report
        host.exec('git --version && test -d /srv/app/.git')
        second = _run([playbook, 'factiii.infra.fix', '-l', 'staging'], env, app)
        assert 'TOTAL: Fixed: 0, Manual: 0, Failed: 0' in _report(second), second.report
        assert re.search(r'changed=0\b', second.stdout), second.report

        # the same repository without ansible.cfg
        (tmp_path / 'away').mkdir()
        shutil.move(str(app / 'ansible.cfg'), str(tmp_path / 'away' / 'ansible.cfg'))
        results = tmp_path / 'bare.json'
        bare = _run([playbook, '-i', 'factiii/hosts.yml', 'factiii.infra.scan', '-l', 'staging'],
                    dict(env, FACTIII_RESULTS_JSON=str(results)), app)
        assert bare.returncode == 0, bare.report
        assert 'TOTAL: Would fix: 0, Manual: 0, Failed: 0' in _report(bare), bare.report
        assert json.loads(results.read_text())['stages']['staging'], bare.report
        refused = _run([playbook, '-i', 'factiii/hosts.yml', 'factiii.infra.scan', '-l', 'staging',
                        '-e', 'ansible_host_key_checking=false'], env, app)
        assert refused.returncode != 0 and 'host_key_checking' in refused.stdout + refused.stderr, refused.report

        (app / 'factiii' / 'broken.yml').write_text('all:\n  children:\n    staging:\n      hosts: [\n')
        for cfg in (None, tmp_path / 'away' / 'ansible.cfg'):
            run_env = dict(env, ANSIBLE_CONFIG=str(cfg)) if cfg else env
            broken = _run([playbook, '-i', 'factiii/broken.yml', 'factiii.infra.scan', '-l', 'staging'], run_env, app)
            _one_error(broken)
            empty = _run([playbook, '-i', 'factiii/hosts.yml', 'factiii.infra.scan', '-l', 'prod'], run_env, app)
            _one_error(empty)

    # the CLI from anywhere: the venv is not on PATH, the inventory path is relative
    (app / 'factiii' / 'dev.yml').write_text(yaml.safe_dump({'all': {'children': {'dev': {'hosts': {'localhost': {
        'ansible_connection': 'local', 'ansible_python_interpreter': os.path.join(bin_dir, 'python')}}}}}}))
    cli = _run([os.path.join(bin_dir, 'factiii'), 'scan', '--dev', '--inventory', 'factiii/dev.yml'], env, app)
    assert cli.returncode in (0, 1), cli.report
    assert 'DEV:' in _report(cli), cli.report
