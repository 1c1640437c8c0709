"""Bad input stops the whole stage before any fix runs (issue 8): run_fixes with stub fixes
and the real repo-not-cloned input check."""
import pytest

from ansible_collections.factiii.infra.plugins.module_utils.fix import Fix, PackageFix, needs_fix, ok
from ansible_collections.factiii.infra.plugins.module_utils.fixes.repo_not_cloned import RepoNotCloned
from ansible_collections.factiii.infra.plugins.module_utils.batch import run_fixes


class Platform:
    """Records what the stage asked of it."""

    def __init__(self):
        self.installed = []
        self.applied = []

    def install_packages(self, packages):
        self.installed.append(list(packages))

    def admin_problem(self):
        return None

    def tool_version(self, tool):
        return None

    def package_names(self, tool):
        return [tool]

    def which(self, name):
        return None


class GitMissing(PackageFix):
    name = 'git-missing'
    tool = 'git'


class DockerRunning(Fix):
    name = 'docker-not-running'

    def scan(self):
        return ok('running') if self.platform.applied else needs_fix('would start docker')

    def apply(self):
        self.platform.applied.append(self.name)


def params(**extra):
    base = {'repo_url': 'file:///srv/origin.git', 'repo_dest': '/nonexistent/app', 'repo_version': None,
            'repo_key': None, 'repo_key_file': None, 'repo_known_hosts': []}
    base.update(extra)
    return base


def stage(p, check_mode=False):
    platform = Platform()
    fixes = [GitMissing(platform, p), RepoNotCloned(platform, p), DockerRunning(platform, p)]
    return platform, run_fixes(fixes, 'staging', check_mode)


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_missing_deploy_key_file_runs_no_fix_at_all(tmp_path, check_mode):
    platform, rows = stage(params(repo_key_file=str(tmp_path / 'nope')), check_mode)
    assert [(r['fix_id'], r['status']) for r in rows] == [('staging-repo-not-cloned', 'failed')]
    assert rows[0]['msg'] == 'deploy key file %s does not exist' % (tmp_path / 'nope')
    assert platform.installed == [] and platform.applied == []


def test_a_world_readable_deploy_key_file_runs_no_fix_at_all(tmp_path):
    key = tmp_path / 'key'
    key.write_text('k\n')
    key.chmod(0o644)
    platform, rows = stage(params(repo_key_file=str(key)))
    assert [(r['fix_id'], r['status']) for r in rows] == [('staging-repo-not-cloned', 'failed')]
    assert 'readable by others (mode 0644)' in rows[0]['msg']
    assert platform.installed == [] and platform.applied == []


def test_good_input_runs_every_fix(tmp_path):
    key = tmp_path / 'key'
    key.write_text('k\n')
    key.chmod(0o600)
    platform, rows = stage(params(repo_key_file=str(key)))
    assert [r['fix_id'] for r in rows] == ['staging-git-missing', 'staging-repo-not-cloned',
                                           'staging-docker-not-running']
    assert platform.installed == [['git']]
    assert platform.applied == ['docker-not-running']
