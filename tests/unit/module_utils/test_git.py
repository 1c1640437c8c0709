"""module_utils/git.py and the deploy_checkout steps, against real git in tmp_path (no network)."""
import os
import subprocess
import time

import pytest

from ansible_collections.factiii.infra.plugins.module_utils import deploy_checkout
from ansible_collections.factiii.infra.plugins.module_utils.git import (
    redact_url, ref_problem, secret_values, split_credentials, transfer_env, untracked_in_the_way,
)
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner
from ansible_collections.factiii.infra.plugins.test.git_ref import git_ref

from fake import FakeModule, RealModule

TOKEN = 'ghp_0123456789abcdefSECRET'
URL = 'https://x-access-token:%s@git.example.invalid/owner/app.git' % TOKEN
ENV = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@example.com', GIT_COMMITTER_NAME='t',
           GIT_COMMITTER_EMAIL='t@example.com', GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM='1')


def git(cwd, *args):
    return subprocess.run(['git', '-C', str(cwd)] + list(args), check=True, capture_output=True, text=True,
                          env=ENV).stdout.strip()


@pytest.mark.parametrize('ref', ['main', 'v1.2.0', 'release/2024-01', 'a' * 40, 'feature_x', '0abc'])
def test_refs_that_are_accepted(ref):
    assert ref_problem(ref) is None
    assert git_ref(ref)


@pytest.mark.parametrize('ref', ['--pathspec-from-file=/etc/shadow', '-b', '--upload-pack=touch /tmp/x', '',
                                 'a..b', '.hidden', 'x/.y', 'x.lock', 'x/', 'x.', 'a//b', 'HEAD~1', 'main^',
                                 'a b', 'x@{1}', 'a:b', '/abs', None, 12])
def test_refs_that_are_refused(ref):
    assert "%r is not a branch, tag or commit id" % (ref,) in ref_problem(ref, 'repo_version')
    assert not git_ref(ref)


def test_a_refused_ref_is_named_on_one_line():
    """A newline in the value must not become a line of the report (a fake TOTAL)."""
    problem = ref_problem('main\nTOTAL: Fixed: 0, Manual: 0, Failed: 0', 'repo_version')
    assert '\n' not in problem and problem.startswith("repo_version 'main\\nTOTAL: Fixed: 0")


def test_redact_url_hides_user_and_token_of_http_urls_only():
    assert redact_url('fatal: cannot clone %s: 403' % URL) == \
        'fatal: cannot clone https://***@git.example.invalid/owner/app.git: 403'
    assert redact_url('http://tok@h/x and https://u:p@ss@h2:8443/y') == 'http://***@h/x and https://***@h2:8443/y'
    # nothing to hide: ssh user names, mail addresses, URLs without userinfo
    for text in ('git@github.com:o/a.git', 'https://h/a.git, mail me@example.com', 'ssh://git@h/a'):
        assert redact_url(text) == text


def test_split_credentials_gives_the_clean_url_and_a_basic_header():
    clean, header = split_credentials(URL)
    assert clean == 'https://git.example.invalid/owner/app.git'
    import base64
    assert base64.b64decode(header.split()[-1]).decode() == 'x-access-token:' + TOKEN
    assert split_credentials('git@h:o/a.git') == ('git@h:o/a.git', None)
    assert split_credentials('https://h/a.git') == ('https://h/a.git', None)
    assert TOKEN in secret_values(URL) and 'x-access-token' not in secret_values(URL)
    assert secret_values('https://%s@h/a.git' % TOKEN)[0] == TOKEN  # a token as the user name
    assert secret_values('https://h/a.git') == []


def test_transfer_env_puts_the_credential_in_env_not_in_argv_and_bounds_a_stall(tmp_path):
    env = transfer_env(URL, str(tmp_path))
    assert env['GIT_CONFIG_KEY_0'] == 'http.https://git.example.invalid/owner/app.git.extraHeader'
    assert env['GIT_CONFIG_VALUE_0'].startswith('Authorization: Basic ')
    assert env['GIT_HTTP_LOW_SPEED_LIMIT'] and env['GIT_HTTP_LOW_SPEED_TIME']
    ssh = transfer_env('git@h:o/a.git', str(tmp_path), key='KEY', known_hosts=['h ssh-ed25519 AAAA'])
    assert 'ServerAliveInterval=15' in ssh['GIT_SSH_COMMAND'] and 'ConnectTimeout=30' in ssh['GIT_SSH_COMMAND']
    assert oct(os.stat(tmp_path / 'deploy_key').st_mode & 0o777) == '0o600'


def test_runner_stops_a_command_at_its_timeout():
    start = time.monotonic()
    res = Runner(RealModule()).run(['sleep', '30'], timeout=1)
    assert time.monotonic() - start < 15
    assert not res.ok and res.timed_out == 1
    assert res.reason() == 'timed out after 1 s (no answer, or too slow)'
    # without a timeout, the argv is exactly the caller's (what the fakes of every other test see)
    module = FakeModule([(['git', 'version'], 0, 'git version 2.39.5\n')])
    assert Runner(module).run(['git', 'version']).out.startswith('git version')


@pytest.fixture
def clone(tmp_path):
    """A clone at `base`, and commits: `env` tracks .env, `data` turns dir data/ into a file,
    `deep` adds logs/app/x, `plain` adds README (nothing in the way), `nodata` removes data/."""
    src = tmp_path / 'src'
    src.mkdir()
    git(src, 'init', '-q', '-b', 'main')
    (src / '.gitignore').write_text('.env\ndata/*.db\nlogs\n')
    (src / 'data').mkdir()
    (src / 'data' / 'keep').write_text('k\n')
    git(src, 'add', '-A')
    git(src, 'commit', '-q', '-m', 'base')
    commits = {'base': git(src, 'rev-parse', 'HEAD')}

    def commit(name, change):
        git(src, 'checkout', '-q', '--detach', commits['base'])
        change()
        git(src, 'add', '-A', '-f')
        git(src, 'commit', '-q', '-m', name)
        commits[name] = git(src, 'rev-parse', 'HEAD')

    commit('env', lambda: (src / '.env').write_text('FROM_GIT=1\n'))

    def data_file():
        git(src, 'rm', '-q', '-r', 'data')
        (src / 'data').write_text('now a file\n')
    commit('data', data_file)

    def deep():
        (src / 'logs' / 'app').mkdir(parents=True)
        (src / 'logs' / 'app' / 'x').write_text('x\n')
    commit('deep', deep)
    commit('plain', lambda: (src / 'README').write_text('hi\n'))
    commit('nodata', lambda: git(src, 'rm', '-q', '-r', 'data'))
    dest = tmp_path / 'dest'
    subprocess.run(['git', 'clone', '-q', str(src), str(dest)], check=True, capture_output=True, env=ENV)
    git(dest, 'checkout', '-q', '--detach', commits['base'])
    return dest, commits


def in_the_way(dest, commits, target, current='base'):
    return untracked_in_the_way(Runner(RealModule()), 'git', str(dest), commits[current], commits[target])


def test_an_ignored_env_where_the_target_tracks_one_is_in_the_way(clone):
    dest, commits = clone
    (dest / '.env').write_text('SECRET=1\n')
    assert in_the_way(dest, commits, 'env') == ['.env']
    assert in_the_way(dest, commits, 'plain') == []


def test_a_directory_with_ignored_files_that_would_become_a_file_is_in_the_way(clone):
    dest, commits = clone
    assert in_the_way(dest, commits, 'data') == []  # only tracked files in it: git's own business
    (dest / 'data' / 'prod.db').write_text('rows\n')
    assert in_the_way(dest, commits, 'data') == ['data/']


def test_a_file_where_the_target_needs_a_directory_is_in_the_way(clone):
    dest, commits = clone
    (dest / 'logs').write_text('server log\n')
    assert in_the_way(dest, commits, 'deep') == ['logs']
    (dest / 'logs').unlink()
    (dest / 'logs').mkdir()
    (dest / 'logs' / 'other.log').write_text('kept\n')
    assert in_the_way(dest, commits, 'deep') == []  # logs/app/x goes beside it; the way back removes only x


def run_checkout(dest, check_mode=False, **params):
    base = {'repo_dest': str(dest), 'repo_url': None, 'repo_key': None, 'repo_key_file': None,
            'repo_known_hosts': [], 'repo_timeout': 300, 'ref': None, 'restore': None}
    base.update(params)
    return deploy_checkout.run(Runner(RealModule()), base, check_mode)


def test_deploy_checkout_refuses_before_anything_changes(clone):
    dest, commits = clone
    origin = git(dest, 'config', '--get', 'remote.origin.url')
    (dest / '.env').write_text('SECRET=1\n')
    with pytest.raises(deploy_checkout.Refused) as exc:
        run_checkout(dest, repo_url=origin, ref=commits['env'])
    assert str(exc.value).startswith('refusing to deploy %s: %s has files git does not track where %s tracks '
                                     'files (.env): ' % (commits['env'], dest, commits['env'][:12]))
    assert (dest / '.env').read_text() == 'SECRET=1\n'
    assert git(dest, 'rev-parse', 'HEAD') == commits['base']
    done = run_checkout(dest, repo_url=origin, ref=commits['plain'])
    assert done['changed'] and done['previous'] == commits['base'] and done['commit'] == commits['plain']
    assert git(dest, 'rev-parse', 'HEAD') == commits['plain']
    assert (dest / '.env').read_text() == 'SECRET=1\n'


def test_restore_refuses_to_overwrite_what_the_app_wrote(clone):
    dest, commits = clone
    git(dest, 'checkout', '-q', '--detach', commits['nodata'])
    (dest / 'data').write_text('written by the app\n')  # where base tracks data/keep
    with pytest.raises(deploy_checkout.Refused) as exc:
        run_checkout(dest, restore=commits['base'])
    assert str(exc.value).startswith('%s has files git does not track where %s tracks files (data): '
                                     % (dest, commits['base'][:12])), exc.value
    assert git(dest, 'rev-parse', 'HEAD') == commits['nodata']
    assert (dest / 'data').read_text() == 'written by the app\n'
    (dest / 'data').unlink()
    assert run_checkout(dest, restore=commits['base'])['commit'] == commits['base']
    assert (dest / 'data' / 'keep').exists()


def test_deploy_checkout_compares_origin_without_credentials_and_never_prints_the_token(clone):
    dest, commits = clone
    git(dest, 'remote', 'set-url', 'origin', 'https://git.example.invalid/owner/app.git')
    (dest / 'README').write_text('local\n')
    git(dest, 'add', 'README')
    with pytest.raises(deploy_checkout.Refused) as exc:  # the same repository: the next check speaks
        run_checkout(dest, repo_url=URL, ref='main')
    assert 'has local changes (A  README)' in str(exc.value)
    git(dest, 'remote', 'set-url', 'origin', 'https://git.example.invalid/other/app.git')
    with pytest.raises(deploy_checkout.Refused) as exc:
        run_checkout(dest, repo_url=URL, ref='main')
    assert str(exc.value) == ('refusing to deploy main: %s is a clone of https://git.example.invalid/other/app.git, '
                              'not of https://git.example.invalid/owner/app.git' % dest)
    with pytest.raises(deploy_checkout.Refused) as exc:
        run_checkout(dest, repo_url=URL, ref='--upload-pack=touch /tmp/x')
    assert "ref '--upload-pack=touch /tmp/x' is not a branch, tag or commit id" in str(exc.value)


@pytest.mark.parametrize('version, refused', [
    ('git version 2.25.1\n', True), ('git version 2.31.0\n', False), ('git version 2.39.5 (Apple Git-154)\n', False)])
def test_a_git_too_old_for_the_credential_in_env_is_named(version, refused):
    from ansible_collections.factiii.infra.plugins.module_utils.git import credential_problem
    module = FakeModule([(['git', 'version'], 0, version)])
    problem = credential_problem(Runner(module), 'git', URL)
    assert (problem is not None) == refused
    if refused:
        assert problem.startswith('git version 2.25.1 is older than 2.31') and TOKEN not in problem
    assert credential_problem(Runner(FakeModule()), 'git', 'git@h:o/a.git') is None  # nothing to pass: no git run
