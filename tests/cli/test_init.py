"""`factiii init`: what it writes into an app repository, and what it never overwrites.

The CLI runs as a user runs it, in a subprocess: laid out as the wheel installs it (the
factiii_cli package with the collection tarball in its _bundle/), the tarball being this tree
built (tests/conftest.py's built_collection) or a newer one built from a copy of it; and once
as the editable install of this checkout (build/ of scripts/setup). Every written file is
compared with its template in the collection; the written workflows pass actionlint and the
written inventory parses with ansible-inventory, through the written ansible.cfg.
"""
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

from support import ROOT, run_reported, tool

HERE_FILES = ['ansible.cfg', 'factiii/hosts.yml', 'factiii/group_vars/all.yml', 'factiii/group_vars/prod.yml',
              'factiii/group_vars/staging.yml']
WORKFLOWS = ['factiii-deploy.yml', 'factiii-dev-sync.yml', 'factiii-fix-prod.yml', 'factiii-fix-staging.yml', 'factiii-fleet.yml',
             'factiii-requirements.txt', 'factiii-scan.yml']


def galaxy_version(root=ROOT):
    with open(os.path.join(root, 'galaxy.yml')) as handle:
        return yaml.safe_load(handle)['version']


def expected_files(version=None):
    """{path in the app repository: the template it is written from (a path in this tree)}."""
    files = dict((rel, os.path.join(ROOT, 'app-template', rel)) for rel in HERE_FILES)
    files.update(('.github/workflows/%s' % name, os.path.join(ROOT, 'workflow-templates', name)) for name in WORKFLOWS)
    files['factiii/collection/factiii-infra-%s.tar.gz' % (version or galaxy_version())] = None
    return files


def tree(path):
    """{relative path: bytes} of every file below ``path`` (symlinks: 'link -> target')."""
    found = {}
    for top, dirs, names in os.walk(str(path)):
        for name in names + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
            full = os.path.join(top, name)
            rel = os.path.relpath(full, str(path))
            if os.path.islink(full):
                found[rel] = 'link -> %s' % os.readlink(full)
            else:
                with open(full, 'rb') as handle:
                    found[rel] = handle.read()
    return found


def wheel_layout(tarball, where):
    """factiii_cli as the wheel installs it, carrying ``tarball``: the directory for PYTHONPATH."""
    site = where / 'site'
    shutil.copytree(os.path.join(ROOT, 'cli', 'src', 'factiii_cli'), str(site / 'factiii_cli'),
                    ignore=shutil.ignore_patterns('__pycache__'))
    (site / 'factiii_cli' / '_bundle').mkdir()
    shutil.copy(tarball, str(site / 'factiii_cli' / '_bundle'))
    return site


@pytest.fixture
def init(tmp_path, built_collection):
    """Run `factiii init ARGS` (the wheel's layout carrying this tree's tarball) in an empty app repository.

    ``init.app`` is the repository, ``init.tarball`` the carried tarball; ``init.carry(tarball)``
    makes the next runs carry another one.
    """
    app = tmp_path / 'app'
    app.mkdir()
    env = dict(os.environ)
    for name in ('ANSIBLE_CONFIG', 'ANSIBLE_INVENTORY', 'PYTHONPATH'):
        env.pop(name, None)

    def run(*args, cwd=None):
        return run_reported([sys.executable, '-m', 'factiii_cli', 'init'] + list(args), env, 120, cwd=cwd or app)

    def carry(tarball):
        site = wheel_layout(tarball, tmp_path / ('carry%d' % len(os.listdir(str(tmp_path)))))
        env['PYTHONPATH'] = str(site)
        run.tarball = tarball
        found = subprocess.run([sys.executable, '-c', 'from factiii_cli import init; print(init.bundled_tarball())'],
                               env=env, capture_output=True, text=True, check=True).stdout.strip()
        assert found == str(site / 'factiii_cli' / '_bundle' / os.path.basename(tarball)), 'not the wheel layout'

    run.app, run.env, run.carry = app, env, carry
    carry(built_collection[0])
    return run


@pytest.fixture(scope='module')
def newer_collection(tmp_path_factory):
    """This tree as version 1.0.99 whose ansible.cfg and scan workflow templates changed: its tarball."""
    base = tmp_path_factory.mktemp('newer')
    src = base / 'src'
    shutil.copytree(ROOT, str(src), ignore=shutil.ignore_patterns(
        '.git', '.venv', '.collections', '.pytest-collections', 'build', 'tests', 'bench', '.cache', '__pycache__',
        '.pytest_cache', '.ansible', 'cli'))
    galaxy = src / 'galaxy.yml'
    galaxy.write_text(galaxy.read_text().replace('version: %s' % galaxy_version(), 'version: 1.0.99'))
    for rel in ('app-template/ansible.cfg', 'workflow-templates/factiii-scan.yml'):
        with open(str(src / rel), 'a') as handle:
            handle.write('# a line the newer template has\n')
    subprocess.run([tool('ansible-galaxy'), 'collection', 'build', '--output-path', str(base), str(src)],
                   check=True, capture_output=True, text=True)
    return str(base / 'factiii-infra-1.0.99.tar.gz')


def test_a_fresh_repository_gets_every_file_from_the_collections_templates(init, built_collection):
    proc = init()
    assert proc.returncode == 0, proc.report
    written = tree(init.app)
    manifest = json.loads(written.pop('factiii/.init.json'))
    expected = expected_files()
    assert sorted(written) == sorted(expected)
    for rel, template in expected.items():
        if template is None:
            with open(built_collection[0], 'rb') as handle:
                assert written[rel] == handle.read(), 'the vendored tarball is the one the CLI carries'
        else:
            with open(template, 'rb') as handle:
                assert written[rel] == handle.read(), rel
        assert 'created  %s (missing)' % rel in proc.stdout, proc.report
        assert manifest['files'][rel] == hashlib.sha256(written[rel]).hexdigest()
    assert manifest['version'] == galaxy_version()


def test_a_second_run_changes_nothing_and_says_up_to_date(init):
    assert init().returncode == 0
    before = tree(init.app)
    stamps = dict((rel, os.stat(str(init.app / rel)).st_mtime_ns) for rel in before)
    proc = init()
    assert proc.returncode == 0, proc.report
    assert proc.stdout == 'up to date: factiii.infra %s into %s\n' % (galaxy_version(), init.app), proc.report
    assert tree(init.app) == before
    assert dict((rel, os.stat(str(init.app / rel)).st_mtime_ns) for rel in before) == stamps
    check = init('--check')
    assert check.returncode == 0, check.report
    assert check.stdout.startswith('up to date'), check.report


@pytest.mark.parametrize('rel', ['ansible.cfg', 'factiii/group_vars/prod.yml', '.github/workflows/factiii-scan.yml'])
def test_a_file_the_user_changed_is_kept_and_the_difference_shown(init, rel):
    assert init().returncode == 0
    path = init.app / rel
    mine = path.read_text().replace('\n', '\n# mine\n', 1)
    path.write_text(mine)
    (init.app / 'factiii' / 'hosts.yml').unlink()  # and one file to write again
    proc = init()
    assert proc.returncode == 0, proc.report
    assert path.read_text() == mine, 'a file the user changed was overwritten'
    assert 'kept     %s: changed by you: kept; the template differs:\n--- a/%s (yours)\n+++ b/%s (template)\n' % (
        rel, rel, rel) in proc.stdout, proc.report
    assert '\n-# mine\n' in proc.stdout, proc.report
    assert 'created  factiii/hosts.yml (missing)' in proc.stdout, proc.report
    assert (init.app / 'factiii' / 'hosts.yml').read_bytes() == open(
        os.path.join(ROOT, 'app-template', 'factiii', 'hosts.yml'), 'rb').read()
    assert proc.stdout.endswith('kept 1 file(s) you changed: %s (to take a template, remove the file and run init '
                                'again)\n' % rel), proc.report
    again = init()
    assert again.returncode == 0 and path.read_text() == mine, again.report


def test_a_file_that_was_there_before_init_is_kept(init):
    (init.app / 'ansible.cfg').write_text('[defaults]\nforks = 3\n')
    proc = init()
    assert proc.returncode == 0, proc.report
    assert (init.app / 'ansible.cfg').read_text() == '[defaults]\nforks = 3\n'
    assert 'kept     ansible.cfg: changed by you' in proc.stdout, proc.report
    assert '-forks = 3\n' in proc.stdout and '+callbacks_enabled = factiii.infra.results_by_stage\n' in proc.stdout


def test_check_reports_drift_and_writes_nothing(init):
    proc = init('--check')
    assert proc.returncode == 1, proc.report
    assert tree(init.app) == {}, 'init --check wrote something'
    for rel in expected_files():
        assert 'would create %s (missing)' % rel in proc.stdout, proc.report
    assert proc.stdout.endswith('%d file(s) differ from the templates of factiii.infra %s: `factiii init` writes '
                                '%d\n' % (len(expected_files()), galaxy_version(), len(expected_files()))), proc.report
    assert init().returncode == 0
    # a filled-in inventory is the user's, not drift: its template has not changed since init wrote it
    (init.app / 'factiii' / 'group_vars' / 'all.yml').write_text('---\n')
    before = tree(init.app)
    proc = init('--check')
    assert proc.returncode == 0, proc.report
    assert proc.stdout == 'up to date: factiii.infra %s into %s (changed by you, from templates that have not ' \
                          'changed: factiii/group_vars/all.yml)\n' % (galaxy_version(), init.app), proc.report
    # a file that was there before init (no record of what init wrote) differs from the template: drift
    (init.app / 'factiii' / '.init.json').write_text(json.dumps({'files': {}}))
    proc = init('--check')
    assert proc.returncode == 1, proc.report
    assert 'kept     factiii/group_vars/all.yml: changed by you' in proc.stdout, proc.report
    assert proc.stdout.endswith('1 file(s) differ from the templates of factiii.infra %s; 1 changed by you (init '
                                'keeps them)\n' % galaxy_version()), proc.report
    assert tree(init.app) == dict(before, **{'factiii/.init.json': tree(init.app)['factiii/.init.json']})


def test_a_newer_collection_updates_the_untouched_files_and_keeps_the_changed_ones(init, newer_collection):
    assert init().returncode == 0
    scan = init.app / '.github' / 'workflows' / 'factiii-scan.yml'
    mine = scan.read_text() + '# mine\n'
    scan.write_text(mine)
    old_tarball = 'factiii/collection/factiii-infra-%s.tar.gz' % galaxy_version()
    init.carry(newer_collection)

    check = init('--check')
    assert check.returncode == 1, check.report
    assert 'would update ansible.cfg (the template is newer; unchanged since init wrote it)' in check.stdout
    assert 'would create factiii/collection/factiii-infra-1.0.99.tar.gz (missing)' in check.stdout, check.report
    assert 'would remove %s (written by an earlier init, no longer part of the templates)' % old_tarball \
        in check.stdout, check.report

    proc = init()
    assert proc.returncode == 0, proc.report
    assert (init.app / 'ansible.cfg').read_text().endswith('# a line the newer template has\n')
    assert 'updated  ansible.cfg (the template is newer; unchanged since init wrote it)' in proc.stdout
    assert scan.read_text() == mine, 'a workflow the user changed was overwritten'
    assert '+# a line the newer template has\n' in proc.stdout, proc.report
    assert not (init.app / old_tarball).exists()
    with open(newer_collection, 'rb') as handle:
        assert (init.app / 'factiii' / 'collection' / 'factiii-infra-1.0.99.tar.gz').read_bytes() == handle.read()
    assert json.loads((init.app / 'factiii' / '.init.json').read_text())['version'] == '1.0.99'
    # the files whose template did not change are as they were
    assert (init.app / 'factiii' / 'hosts.yml').read_bytes() == open(
        os.path.join(ROOT, 'app-template', 'factiii', 'hosts.yml'), 'rb').read()


def test_a_manifest_entry_outside_what_init_writes_is_never_removed(init, newer_collection):
    """The manifest is a file of the repository (anyone who can push may edit it): init removes
    only files under the paths it writes, whatever the manifest lists."""
    assert init().returncode == 0
    (init.app / 'src').mkdir()
    (init.app / 'src' / 'main.js').write_text('app code\n')
    manifest = json.loads((init.app / 'factiii' / '.init.json').read_text())
    manifest['files']['src/main.js'] = hashlib.sha256(b'app code\n').hexdigest()
    (init.app / 'factiii' / '.init.json').write_text(json.dumps(manifest))
    init.carry(newer_collection)
    proc = init()
    assert proc.returncode == 0, proc.report
    assert (init.app / 'src' / 'main.js').read_text() == 'app code\n'


def test_an_old_tarball_the_user_changed_is_not_removed(init, newer_collection):
    assert init().returncode == 0
    old = init.app / 'factiii' / 'collection' / ('factiii-infra-%s.tar.gz' % galaxy_version())
    old.write_bytes(b'my own build')
    init.carry(newer_collection)
    proc = init()
    assert proc.returncode == 0, proc.report
    assert old.read_bytes() == b'my own build'


@pytest.mark.parametrize('link', ['factiii', '.github/workflows', 'ansible.cfg', 'factiii/.init.json'])
def test_a_symlink_on_the_way_is_refused_and_nothing_is_written(init, tmp_path, link):
    outside = tmp_path / 'outside'
    outside.mkdir()
    target = outside / 'target'
    if link in ('factiii', '.github/workflows'):
        target.mkdir()
    else:
        target.write_text('outside\n')
    path = init.app / link
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    before, outside_before = tree(init.app), tree(outside)
    proc = init()
    assert proc.returncode == 2, proc.report
    assert proc.stdout == ''
    assert proc.stderr.startswith('factiii: error: refusing to write '), proc.report
    assert '%s is a symlink' % link in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.report
    assert tree(init.app) == before and tree(outside) == outside_before


@pytest.mark.parametrize('manifest', ['{', '[]', '{"files": {"ansible.cfg": 1}}', '\xff'])
def test_a_manifest_that_is_not_one_is_a_one_line_error(init, manifest):
    assert init().returncode == 0
    (init.app / 'factiii' / '.init.json').write_bytes(manifest.encode('latin-1'))
    proc = init()
    assert proc.returncode == 2, proc.report
    assert proc.stderr.startswith('factiii: error: factiii/.init.json is not the manifest factiii init writes'), \
        proc.report
    assert len(proc.stderr.splitlines()) == 1 and 'Traceback' not in proc.stderr, proc.report


def test_dir_names_the_repository_and_a_missing_one_is_a_one_line_error(init, tmp_path):
    proc = init('--dir', str(init.app), cwd=str(tmp_path))
    assert proc.returncode == 0, proc.report
    assert (init.app / 'ansible.cfg').is_file()
    proc = init('--dir', str(tmp_path / 'nowhere'))
    assert proc.returncode == 2, proc.report
    assert proc.stderr == 'factiii: error: --dir %s is not a directory\n' % (tmp_path / 'nowhere'), proc.report


def test_actionlint_passes_on_the_written_workflows(init):
    assert init().returncode == 0
    files = sorted(glob.glob(str(init.app / '.github' / 'workflows' / '*.yml')))
    assert len(files) == len([name for name in WORKFLOWS if name.endswith('.yml')])
    argv = [tool('actionlint'), '-no-color']
    if shutil.which('shellcheck'):
        argv.append('-shellcheck=%s' % shutil.which('shellcheck'))
    proc = subprocess.run(argv + files, capture_output=True, text=True, check=False, cwd=str(init.app))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_written_inventory_parses_through_the_written_ansible_cfg(init):
    """ansible-inventory run in the repository with no other configuration reads the written
    ansible.cfg, and so factiii/hosts.yml and its group_vars: the four stage groups, the
    addresses from the environment, host keys checked."""
    assert init().returncode == 0
    env = dict(init.env, STAGING_HOST='staging.example', STAGING_USER='deploy', PROD_HOST='prod.example',
               PROD_USER='admin', APP_REPO_URL='git@github.com:acme/app.git', ANSIBLE_NOCOLOR='1')
    proc = run_reported([tool('ansible-inventory'), '--list', '--export'], env, 120, cwd=init.app)
    assert proc.returncode == 0, proc.report
    assert 'ansible.cfg' not in proc.stderr, proc.report  # no "ignoring the config file" warning
    data = json.loads(proc.stdout)
    assert sorted(data['all']['children']) == ['dev', 'prod', 'secrets', 'staging', 'ungrouped']
    for group, host in (('dev', 'localhost'), ('secrets', 'controller'), ('staging', 'staging-server'),
                        ('prod', 'prod-server')):
        assert data[group]['hosts'] == [host]
    host = run_reported([tool('ansible-inventory'), '--host', 'prod-server'], env, 120, cwd=init.app)
    assert host.returncode == 0, host.report
    values = json.loads(host.stdout)
    assert values['ansible_host_key_checking'] is True
    assert '-o StrictHostKeyChecking=yes' in values['ansible_ssh_common_args']
    assert values['prod_repo_dest'] == '/srv/app'


def test_the_written_ansible_cfg_has_the_settings_the_collection_relies_on(init):
    """Read by Ansible itself in the repository: the report, the inventory, failing on an
    inventory that does not parse, host keys checked, one SSH connection per host."""
    assert init().returncode == 0
    proc = run_reported([tool('ansible-config'), 'dump', '--only-changed', '-t', 'all'], init.env, 120, cwd=init.app)
    assert proc.returncode == 0, proc.report
    cfg = '(%s)' % (init.app / 'ansible.cfg')
    lines = [' '.join(line.split()) for line in proc.stdout.splitlines()]
    for setting in ("CALLBACKS_ENABLED%s = ['factiii.infra.results_by_stage']" % cfg,
                    "DEFAULT_HOST_LIST%s = ['%s']" % (cfg, init.app / 'factiii' / 'hosts.yml'),
                    'HOST_KEY_CHECKING%s = True' % cfg, 'INVENTORY_UNPARSED_IS_FAILED%s = True' % cfg,
                    'INVENTORY_ANY_UNPARSED_IS_FAILED%s = True' % cfg, 'INTERPRETER_PYTHON%s = auto_silent' % cfg,
                    'pipelining%s = True' % cfg, 'ssh_args%s = -o ControlMaster=auto -o ControlPersist=60s' % cfg):
        assert setting in lines, '%s\n%s' % (setting, proc.report)


def test_a_broken_written_inventory_is_an_error_through_the_written_ansible_cfg(init):
    assert init().returncode == 0
    (init.app / 'factiii' / 'hosts.yml').write_text('all: [unclosed\n')
    proc = run_reported([tool('ansible-inventory'), '--list'], init.env, 120, cwd=init.app)
    assert proc.returncode != 0, proc.report


def test_the_editable_install_vendors_the_tarball_scripts_setup_built(tmp_path):
    """`factiii` installed with pip install -e ./cli carries no _bundle/: init takes
    build/factiii-infra-<version>.tar.gz of the checkout."""
    built = os.path.join(ROOT, 'build', 'factiii-infra-%s.tar.gz' % galaxy_version())
    if not os.path.isfile(built):
        pytest.fail('%s is missing: run scripts/setup' % built)
    with tarfile.open(built) as tar:
        if 'app-template/ansible.cfg' not in tar.getnames():
            pytest.fail('%s is older than app-template/: run scripts/setup again' % built)
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    proc = run_reported([tool('factiii'), 'init'], env, 120, cwd=tmp_path)
    assert proc.returncode == 0, proc.report
    with open(built, 'rb') as handle:
        assert (tmp_path / 'factiii' / 'collection' / os.path.basename(built)).read_bytes() == handle.read()


def test_from_a_subdirectory_of_the_clone_it_writes_at_the_top(init):
    """GitHub reads workflows only at the top of the repository."""
    subprocess.run(['git', 'init', '-q', str(init.app)], check=True)
    deep = init.app / 'src' / 'deep'
    deep.mkdir(parents=True)
    proc = init(cwd=str(deep))
    assert proc.returncode == 0, proc.report
    assert (init.app / '.github' / 'workflows' / 'factiii-scan.yml').is_file(), proc.report
    assert sorted(os.listdir(str(deep))) == [], 'init wrote into the subdirectory'
    assert proc.stdout.startswith('init factiii.infra %s into %s\n' % (galaxy_version(), init.app)), proc.report
