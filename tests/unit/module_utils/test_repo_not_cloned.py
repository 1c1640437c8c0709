"""repo-not-cloned against real git and real directories (tmp_path), no network."""
import os
import stat
import subprocess

import pytest

from ansible_collections.factiii.infra.plugins.module_utils.fixes.repo_not_cloned import RepoNotCloned
from ansible_collections.factiii.infra.plugins.module_utils.platforms.debian import Debian
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner
from ansible_collections.factiii.infra.plugins.module_utils.stage import run_one

from fake import RealModule


def git(*args, cwd=None):
    return subprocess.run(['git'] + list(args), cwd=cwd, check=True, capture_output=True, text=True,
                          env=dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@example.com',
                                   GIT_COMMITTER_NAME='t', GIT_COMMITTER_EMAIL='t@example.com')).stdout.strip()


@pytest.fixture
def origin(tmp_path):
    """A bare repo with two commits on main and a tag v1 on the first."""
    work = tmp_path / 'work'
    work.mkdir()
    git('init', '-q', '-b', 'main', cwd=work)
    (work / 'app.txt').write_text('one\n')
    git('add', '.', cwd=work)
    git('commit', '-q', '-m', 'one', cwd=work)
    git('tag', 'v1', cwd=work)
    (work / 'app.txt').write_text('two\n')
    git('commit', '-q', '-am', 'two', cwd=work)
    bare = tmp_path / 'origin.git'
    git('clone', '-q', '--bare', str(work), str(bare))
    return 'file://%s' % bare


def run(check_mode=False, **params):
    base = {'repo_url': None, 'repo_dest': None, 'repo_version': None, 'repo_key': None,
            'repo_key_file': None, 'repo_known_hosts': []}
    base.update(params)
    platform = Debian(Runner(RealModule()), check_mode=check_mode, options=base)
    return run_one(RepoNotCloned(platform, base), 'prod', check_mode)


def test_clone_at_a_tag_then_idempotent(origin, tmp_path):
    dest = tmp_path / 'srv' / 'app'
    scan = run(check_mode=True, repo_url=origin, repo_dest=str(dest), repo_version='v1')
    assert scan['status'] == 'fixed' and scan['msg'].startswith('would clone')
    assert not dest.exists()
    done = run(repo_url=origin, repo_dest=str(dest), repo_version='v1')
    assert done['status'] == 'fixed', done
    assert (dest / 'app.txt').read_text() == 'one\n'
    assert git('rev-parse', 'HEAD', cwd=dest) == git('rev-parse', 'v1^{commit}', cwd=dest)
    assert [p for p in os.listdir(tmp_path / 'srv') if p != 'app'] == []  # no temp dir left
    again = run(repo_url=origin, repo_dest=str(dest), repo_version='v1')
    assert again['status'] == 'ok'


def test_default_branch_when_no_version(origin, tmp_path):
    dest = tmp_path / 'app'
    assert run(repo_url=origin, repo_dest=str(dest))['status'] == 'fixed'
    assert (dest / 'app.txt').read_text() == 'two\n'


def test_dirty_clone_is_never_touched(origin, tmp_path):
    dest = tmp_path / 'app'
    run(repo_url=origin, repo_dest=str(dest))
    (dest / 'app.txt').write_text('local change\n')
    res = run(repo_url=origin, repo_dest=str(dest), repo_version='v1')
    assert res['status'] == 'ok'
    assert (dest / 'app.txt').read_text() == 'local change\n'


def test_clone_of_another_remote_is_manual(origin, tmp_path):
    dest = tmp_path / 'app'
    run(repo_url=origin, repo_dest=str(dest))
    res = run(repo_url='file:///elsewhere.git', repo_dest=str(dest))
    assert res['status'] == 'manual'
    assert res['msg'] == '%s is a clone of %s, not of file:///elsewhere.git' % (dest, origin)


def test_non_empty_directory_is_manual_and_kept(origin, tmp_path):
    dest = tmp_path / 'app'
    dest.mkdir()
    (dest / 'precious.txt').write_text('keep me\n')
    res = run(repo_url=origin, repo_dest=str(dest))
    assert res['status'] == 'manual'
    assert res['steps'][0] == 'Move it aside: mv %s %s.old' % (dest, dest)
    assert (dest / 'precious.txt').read_text() == 'keep me\n'


def test_empty_directory_is_replaced_by_the_clone(origin, tmp_path):
    dest = tmp_path / 'app'
    dest.mkdir()
    assert run(repo_url=origin, repo_dest=str(dest))['status'] == 'fixed'
    assert (dest / '.git').is_dir()


def test_unreachable_url_fails_with_gits_reason_and_leaves_nothing(tmp_path):
    dest = tmp_path / 'app'
    res = run(repo_url='file://%s/missing.git' % tmp_path, repo_dest=str(dest))
    assert res['status'] == 'failed'
    assert res['msg'].startswith('git clone failed: fatal:'), res['msg']
    assert os.listdir(tmp_path) == []


def test_unknown_version_fails_and_leaves_nothing(origin, tmp_path):
    dest = tmp_path / 'srv'
    res = run(repo_url=origin, repo_dest=str(dest / 'app'), repo_version='no-such-ref')
    assert res['status'] == 'failed'
    assert res['msg'].startswith('git checkout no-such-ref failed:')
    assert os.listdir(dest) == []


def test_missing_inputs_fail_in_one_line():
    res = run(check_mode=True)
    assert res == dict(res, status='failed', msg='repo_url and repo_dest must be set for repo-not-cloned')


def test_world_readable_key_file_is_refused(tmp_path, origin):
    key = tmp_path / 'key'
    key.write_text('not really a key\n')
    key.chmod(0o644)
    res = run(check_mode=True, repo_url=origin, repo_dest=str(tmp_path / 'app'), repo_key_file=str(key))
    assert res['status'] == 'failed'
    assert res['msg'] == 'deploy key file %s is readable by others (mode 0644): chmod 600 %s' % (key, key)


def test_missing_key_file_is_refused(tmp_path, origin):
    res = run(check_mode=True, repo_url=origin, repo_dest=str(tmp_path / 'app'),
              repo_key_file=str(tmp_path / 'nope'))
    assert res['msg'] == 'deploy key file %s does not exist' % (tmp_path / 'nope')


def test_key_content_is_written_0600_for_ssh_and_removed(tmp_path, monkeypatch):
    seen = {}

    class Spy(RealModule):
        def run_command(self, argv, environ_update=None, **kw):
            command = (environ_update or {}).get('GIT_SSH_COMMAND', '')
            if command:
                parts = command.split()
                key = parts[parts.index('-i') + 1]
                known = [p for p in parts if p.startswith('UserKnownHostsFile=')][0].split('=', 1)[1]
                seen.update(key=key, mode=stat.S_IMODE(os.stat(key).st_mode),
                            content=open(key).read(), known=open(known).read(), command=command)
            return 128, '', 'fatal: Could not read from remote repository.\n'

    base = {'repo_url': 'git@git.example.invalid:app.git', 'repo_dest': str(tmp_path / 'app'),
            'repo_version': None, 'repo_key': 'PRIVATE-KEY-MATERIAL', 'repo_key_file': None,
            'repo_known_hosts': ['git.example.invalid ssh-ed25519 AAAA']}
    platform = Debian(Runner(Spy()), options=base)
    monkeypatch.setattr(platform, 'which', lambda tool: '/usr/bin/git')
    res = run_one(RepoNotCloned(platform, base), 'prod', False)
    assert res['status'] == 'failed'
    assert seen['mode'] == 0o600 and seen['content'] == 'PRIVATE-KEY-MATERIAL\n'
    assert seen['known'] == 'git.example.invalid ssh-ed25519 AAAA\n'
    assert 'StrictHostKeyChecking=yes' in seen['command'] and 'IdentitiesOnly=yes' in seen['command']
    assert not os.path.exists(seen['key'])
    assert 'PRIVATE-KEY-MATERIAL' not in repr(res)
