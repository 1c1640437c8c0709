"""repo-not-cloned against real git and real directories (tmp_path), no network."""
import errno
import os
import stat
import subprocess
import tempfile

import pytest

from ansible_collections.factiii.infra.plugins.module_utils.fixes import repo_not_cloned
from ansible_collections.factiii.infra.plugins.module_utils.fixes.repo_not_cloned import RepoNotCloned
from ansible_collections.factiii.infra.plugins.module_utils.git import SCAN_TIMEOUT
from ansible_collections.factiii.infra.plugins.module_utils.platforms.debian import Debian
from ansible_collections.factiii.infra.plugins.module_utils.runner import TIMEOUT_BINS, Runner
from ansible_collections.factiii.infra.plugins.module_utils.batch import run_fixes

from fake import FakeModule, RealModule


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
    return run_fixes([RepoNotCloned(platform, base)], 'prod', check_mode)[0]


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


def test_dirty_clone_is_manual_listing_the_changes_and_never_touched(origin, tmp_path):
    dest = tmp_path / 'app'
    run(repo_url=origin, repo_dest=str(dest))
    head = git('rev-parse', 'HEAD', cwd=dest)
    (dest / 'app.txt').write_text('local change\n')
    (dest / 'notes.txt').write_text('untracked: no change a checkout could lose\n')
    for check_mode in (True, False):
        res = run(check_mode=check_mode, repo_url=origin, repo_dest=str(dest), repo_version='v1')
        assert res['status'] == 'manual', res
        assert res['msg'] == ('%s has local changes to 1 file (M app.txt); factiii leaves the clone as it is' % dest)
        assert res['steps'] == [
            'git -C %s status && git -C %s diff  # see them' % (dest, dest),
            'git -C %s stash  # keep them aside (or commit and push them), then re-run the stage' % dest,
            'git -C %s checkout -- .  # or drop them instead, then re-run the stage' % dest]
        assert res['details']['changes'] == ['M app.txt']
    assert (dest / 'app.txt').read_text() == 'local change\n'
    assert (dest / 'notes.txt').exists()
    assert git('rev-parse', 'HEAD', cwd=dest) == head


def test_reading_the_clone_never_writes_its_index(origin, tmp_path):
    # On a full disk git status fails when it tries to refresh the index ("sha1 file
    # '.git/index.lock' write error. Out of diskspace"); the fix reads without writing.
    dest = tmp_path / 'app'
    run(repo_url=origin, repo_dest=str(dest))
    os.utime(str(dest / 'app.txt'), (1, 1))  # same content, new stat: git status would refresh the index
    index = dest / '.git' / 'index'
    before = (index.read_bytes(), os.stat(str(index)).st_mtime_ns)
    assert run(repo_url=origin, repo_dest=str(dest))['status'] == 'ok'
    assert (index.read_bytes(), os.stat(str(index)).st_mtime_ns) == before
    git('status', '--porcelain', cwd=dest)  # the premise: a plain git status does rewrite it
    assert index.read_bytes() != before[0]


def test_dirty_clone_lists_the_first_five_changes(origin, tmp_path):
    dest = tmp_path / 'app'
    run(repo_url=origin, repo_dest=str(dest))
    for name in ('a', 'b', 'c', 'd', 'e', 'f'):
        (dest / name).write_text(name)
    git('add', 'a', 'b', 'c', 'd', 'e', 'f', cwd=dest)
    (dest / 'app.txt').unlink()
    res = run(repo_url=origin, repo_dest=str(dest))
    assert res['status'] == 'manual'
    assert res['msg'] == ('%s has local changes to 7 files (A  a, D app.txt, A  b, A  c, A  d, ...); '
                          'factiii leaves the clone as it is' % dest)
    assert len(res['details']['changes']) == 7


def test_clean_clone_with_untracked_files_stays_ok(origin, tmp_path):
    dest = tmp_path / 'app'
    run(repo_url=origin, repo_dest=str(dest))
    (dest / 'notes.txt').write_text('draft\n')
    res = run(repo_url=origin, repo_dest=str(dest))
    assert res['status'] == 'ok', res
    assert res['msg'].startswith('%s is cloned from %s (HEAD ' % (dest, origin))


def test_a_clone_git_cannot_read_is_failed_with_gits_reason(origin, tmp_path, monkeypatch):
    dest = tmp_path / 'app'
    run(repo_url=origin, repo_dest=str(dest))

    class Dubious(RealModule):
        """git's safe.directory refusal, as when the clone belongs to another user than the one running."""

        def run_command(self, argv, environ_update=None, **kw):
            self.calls.append(list(argv))
            return 128, '', ("fatal: detected dubious ownership in repository at '%s'\n"
                             "To add an exception for this directory, call:\n" % dest)
    base = {'repo_url': origin, 'repo_dest': str(dest), 'repo_version': None, 'repo_key': None,
            'repo_key_file': None, 'repo_known_hosts': []}
    platform = Debian(Runner(Dubious()), options=base)
    monkeypatch.setattr(platform, 'which', lambda tool: '/usr/bin/git')
    res = run_fixes([RepoNotCloned(platform, base)], 'prod', True)[0]
    assert res['status'] == 'failed'
    assert res['msg'] == ("cannot read the clone at %s: fatal: detected dubious ownership in repository at '%s'"
                          % (dest, dest))


def spy_git(tmp_path, monkeypatch, answers):
    """A platform whose git commands get canned answers ((rc, out, err) per subcommand)."""
    class Spy(RealModule):
        def run_command(self, argv, environ_update=None, **kw):
            self.calls.append(list(argv))
            for sub, answer in answers.items():
                if sub in argv:
                    return answer
            raise AssertionError('unexpected %r' % (argv,))
    base = {'repo_url': 'file:///srv/git/app.git', 'repo_dest': str(tmp_path / 'srv' / 'app'), 'repo_version': None,
            'repo_key': None, 'repo_key_file': None, 'repo_known_hosts': []}
    platform = Debian(Runner(Spy()), options=base)
    monkeypatch.setattr(platform, 'which', lambda tool: '/usr/bin/git')
    return platform, base


def test_git_status_failing_is_failed_not_ok(tmp_path, monkeypatch):
    platform, base = spy_git(tmp_path, monkeypatch, {
        'config': (0, 'file:///srv/git/app.git\n', ''),
        'status': (128, '', 'fatal: unknown index entry format 0x60000000\n')})
    os.makedirs(os.path.join(base['repo_dest'], '.git'))
    res = run_fixes([RepoNotCloned(platform, base)], 'prod', True)[0]
    assert res == dict(res, status='failed', msg='cannot read the state of the clone at %s: '
                       'fatal: unknown index entry format 0x60000000' % base['repo_dest'])


def test_full_disk_during_the_clone_is_failed_with_the_reason_and_leaves_nothing(tmp_path, monkeypatch):
    # what git 2.39 prints when the file system of repo_dest is full (seen on a test host)
    platform, base = spy_git(tmp_path, monkeypatch, {'clone': (128, '', (
        'error: copy-fd: write returned: No space left on device\n'
        "fatal: cannot copy '/usr/share/git-core/templates/description' to "
        "'/srv/.factiii-clone-x/repo/.git/description': No space left on device\n"))})
    os.makedirs(str(tmp_path / 'srv'))
    res = run_fixes([RepoNotCloned(platform, base)], 'prod', False)[0]
    assert res == dict(res, status='failed', msg=(
        "git clone failed: fatal: cannot copy '/usr/share/git-core/templates/description' to "
        "'/srv/.factiii-clone-x/repo/.git/description': No space left on device"))
    assert os.listdir(str(tmp_path / 'srv')) == []


def test_git_error_line_naming_the_file_system_wins_over_a_generic_fatal(tmp_path, monkeypatch):
    platform, base = spy_git(tmp_path, monkeypatch, {'clone': (128, '', (
        'error: unable to write file .git/objects/pack/tmp_pack_x: Read-only file system\n'
        'fatal: index-pack failed\n'))})
    os.makedirs(str(tmp_path / 'srv'))
    res = run_fixes([RepoNotCloned(platform, base)], 'prod', False)[0]
    assert res['msg'] == 'git clone failed: error: unable to write file .git/objects/pack/tmp_pack_x: Read-only file system'


@pytest.mark.parametrize('code, reason', [
    (errno.EROFS, 'Read-only file system (EROFS)'), (errno.ENOSPC, 'No space left on device (ENOSPC)')])
def test_unwritable_parent_is_failed_with_the_errno_and_nothing_created(origin, tmp_path, monkeypatch, code, reason):
    parent = tmp_path / 'srv'
    parent.mkdir()
    real = tempfile.mkdtemp

    def mkdtemp(prefix=None, dir=None, **kw):
        if dir == str(parent):
            raise OSError(code, os.strerror(code), os.path.join(dir, prefix + 'x'))
        return real(prefix=prefix, dir=dir, **kw)
    monkeypatch.setattr(tempfile, 'mkdtemp', mkdtemp)
    res = run(repo_url=origin, repo_dest=str(parent / 'app'))
    assert res == dict(res, status='failed', msg='cannot clone into %s: cannot create a directory in %s: %s'
                       % (parent / 'app', parent, reason))
    assert os.listdir(str(parent)) == []


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
    assert res['steps'] == ['mv %s %s.old  # move it aside, then re-run the stage' % (dest, dest),
                            # a single-fix module's option is set on its task
                            'or set repo_dest: %s.new on the task, then re-run the stage' % dest]
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
    res = run_fixes([RepoNotCloned(platform, base)], 'prod', False)[0]
    assert res['status'] == 'failed'
    assert seen['mode'] == 0o600 and seen['content'] == 'PRIVATE-KEY-MATERIAL\n'
    assert seen['known'] == 'git.example.invalid ssh-ed25519 AAAA\n'
    assert 'StrictHostKeyChecking=yes' in seen['command'] and 'IdentitiesOnly=yes' in seen['command']
    assert not os.path.exists(seen['key'])
    assert 'PRIVATE-KEY-MATERIAL' not in repr(res)


def test_repo_version_that_is_an_option_is_refused_before_git_runs(origin, tmp_path):
    dest = tmp_path / 'app'
    for check_mode in (True, False):
        res = run(check_mode=check_mode, repo_url=origin, repo_dest=str(dest),
                  repo_version='--pathspec-from-file=/etc/shadow')
        assert res['status'] == 'failed'
        assert res['msg'].startswith("repo_version '--pathspec-from-file=/etc/shadow' is not a branch, tag or commit id")
        assert not dest.exists()


@pytest.mark.parametrize('options, why', [
    ({'repo_dest': 'app'}, "repo_dest 'app' is not an absolute path"),
    ({'repo_timeout': 0}, 'repo_timeout must be a number of seconds above 0, not 0'),
    ({'repo_timeout': -1}, 'repo_timeout must be a number of seconds above 0, not -1'),
])
def test_a_relative_repo_dest_or_a_timeout_below_one_second_is_refused_before_git_runs(
        origin, tmp_path, options, why, monkeypatch):
    cwd = tmp_path / 'cwd'
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for check_mode in (True, False):
        res = run(check_mode=check_mode, **dict({'repo_url': origin, 'repo_dest': str(tmp_path / 'app')}, **options))
        assert (res['status'], res['msg']) == ('failed', why)
        assert os.listdir(str(cwd)) == [] and not (tmp_path / 'app').exists()


def test_a_token_in_repo_url_is_in_no_message_and_an_existing_clone_matches_without_it(origin, tmp_path):
    token = 'ghp_0123456789abcdefSECRET'
    url = 'https://x-access-token:%s@git.example.invalid/o/a.git' % token
    dest = tmp_path / 'app'
    scan = run(check_mode=True, repo_url=url, repo_dest=str(dest))
    # the scan asks the remote (which does not resolve): its reason names the URL, never the token
    assert scan['status'] == 'failed' and token not in str(scan), scan
    assert scan['msg'].startswith('git ls-remote https://git.example.invalid/o/a.git failed: fatal:'), scan
    run(repo_url=origin, repo_dest=str(dest))
    git('remote', 'set-url', 'origin', 'https://git.example.invalid/o/a.git', cwd=dest)
    res = run(repo_url=url, repo_dest=str(dest))
    assert res['status'] == 'ok' and token not in str(res), res
    git('remote', 'set-url', 'origin', 'https://git.example.invalid/other.git', cwd=dest)
    res = run(repo_url=url, repo_dest=str(dest))
    assert res['status'] == 'manual' and token not in str(res), res
    assert res['msg'] == '%s is a clone of https://git.example.invalid/other.git, not of ' \
                         'https://git.example.invalid/o/a.git' % dest
    # a failing clone (nothing answers there): git's error names the URL, never the token
    res = run(repo_url='https://u:%s@127.0.0.1:9/o/a.git' % token, repo_dest=str(tmp_path / 'other'))
    assert res['status'] == 'failed' and token not in str(res), res


# -- a scan promises a clone only when the fix could make it (issue 14 point 7) --
TIMEOUT = next(path for path in TIMEOUT_BINS if os.access(path, os.X_OK))


def scan_with(module, monkeypatch, **params):
    base = {'repo_url': 'git@git.example.invalid:o/app.git', 'repo_dest': '/nonexistent-factiii/srv/app',
            'repo_version': None, 'repo_key': None, 'repo_key_file': None, 'repo_known_hosts': [],
            'repo_timeout': 300}
    base.update(params)
    platform = Debian(Runner(module), check_mode=True, options=base)
    monkeypatch.setattr(platform, 'which', lambda tool: '/usr/bin/git')
    monkeypatch.setattr(repo_not_cloned, 'unwritable', lambda path: None)
    return run_fixes([RepoNotCloned(platform, base)], 'staging', True)[0]


def ls_remote(url, pattern='HEAD', timeout=SCAN_TIMEOUT):
    return [TIMEOUT, '--kill-after=10', str(timeout), '/usr/bin/git', 'ls-remote', '--end-of-options', url, pattern]


def test_a_scan_of_a_repository_that_does_not_exist_is_failed_with_gits_reason(tmp_path):
    dest = tmp_path / 'srv' / 'app'
    res = run(check_mode=True, repo_url='file://%s/missing.git' % tmp_path, repo_dest=str(dest))
    assert res['status'] == 'failed', res
    assert res['msg'].startswith("git ls-remote file://%s/missing.git failed: fatal: '%s/missing.git' does not appear"
                                 % (tmp_path, tmp_path)), res['msg']
    assert not dest.exists() and not (tmp_path / 'srv').exists()


@pytest.mark.parametrize('version', ['no-such-ref', 'two'])
def test_a_scan_of_a_ref_the_remote_does_not_have_is_failed(origin, tmp_path, version):
    # 'two': only the tail of the branch feature/two (ls-remote's pattern matches it; checkout would not)
    git('branch', 'feature/two', 'main', cwd=origin[len('file://'):])
    res = run(check_mode=True, repo_url=origin, repo_dest=str(tmp_path / 'app'), repo_version=version)
    assert (res['status'], res['msg']) == ('failed', '%s has no branch or tag %s (git ls-remote)' % (origin, version))


@pytest.mark.parametrize('version', [None, 'main', 'v1', 'origin/main', 'refs/tags/v1'])
def test_a_scan_of_a_ref_the_remote_has_would_clone(origin, tmp_path, version):
    res = run(check_mode=True, repo_url=origin, repo_dest=str(tmp_path / 'app'), repo_version=version)
    assert (res['status'], res['msg']) == ('fixed', 'would clone %s%s into %s' % (
        origin, ' at %s' % version if version else '', tmp_path / 'app'))
    assert not (tmp_path / 'app').exists()


def test_a_commit_id_is_taken_as_it_is(origin, tmp_path):
    # a commit that is no ref's tip cannot be seen without fetching: not refused
    first = git('rev-list', '--max-parents=0', 'HEAD', cwd=origin[len('file://'):])
    res = run(check_mode=True, repo_url=origin, repo_dest=str(tmp_path / 'app'), repo_version=first[:12])
    assert res['status'] == 'fixed', res


def test_the_scan_asks_with_the_clones_transfer_env_and_a_short_timeout(monkeypatch, tmp_path):
    key = tmp_path / 'key'
    key.write_text('k\n')
    key.chmod(0o600)
    url = 'git@git.example.invalid:o/app.git'
    module = FakeModule([(ls_remote(url, 'main'), 0, 'abc\trefs/heads/main\n', '')])
    res = scan_with(module, monkeypatch, repo_key_file=str(key), repo_version='main',
                    repo_known_hosts=['git.example.invalid ssh-ed25519 AAAA'])
    module.assert_done()
    assert res['status'] == 'fixed' and res['msg'] == 'would clone %s at main into /nonexistent-factiii/srv/app' % url
    ssh = module.envs[0]['GIT_SSH_COMMAND']
    assert 'BatchMode=yes' in ssh and 'StrictHostKeyChecking=yes' in ssh and '-i %s' % key in ssh
    known = [p for p in ssh.split() if p.startswith('UserKnownHostsFile=')][0].split('=', 1)[1]
    assert not os.path.exists(known)  # the private dir is removed after the scan


def test_a_token_goes_in_the_env_never_in_argv_or_the_row(monkeypatch):
    token = 'ghp_SECRETSECRETSECRET'
    module = FakeModule([(['/usr/bin/git', 'version'], 0, 'git version 2.39.5\n'),
                         (ls_remote('https://git.example.invalid/o/app.git'), 128, '',
                          "remote: Repository not found.\nfatal: repository 'https://git.example.invalid/o/app.git/' "
                          "not found\n")])
    res = scan_with(module, monkeypatch, repo_url='https://x:%s@git.example.invalid/o/app.git' % token)
    module.assert_done()
    assert token not in repr(module.calls) and token not in repr(res)
    assert module.envs[1]['GIT_CONFIG_KEY_0'] == 'http.https://git.example.invalid/o/app.git.extraHeader'
    assert res['status'] == 'failed'
    assert res['msg'] == ("git ls-remote https://git.example.invalid/o/app.git failed: fatal: repository "
                          "'https://git.example.invalid/o/app.git/' not found")


@pytest.mark.parametrize('repo_timeout, used', [(300, SCAN_TIMEOUT), (5, 5)])
def test_a_remote_that_does_not_answer_is_failed_within_the_short_timeout(monkeypatch, repo_timeout, used):
    url = 'git@git.example.invalid:o/app.git'
    module = FakeModule([(ls_remote(url, timeout=used), 124, '', '')])
    res = scan_with(module, monkeypatch, repo_timeout=repo_timeout)
    module.assert_done()
    assert (res['status'], res['msg']) == (
        'failed', 'git ls-remote %s failed: timed out after %d s (no answer, or too slow)' % (url, used))


def test_without_git_the_scan_says_the_remote_was_not_checked(tmp_path, monkeypatch):
    base = {'repo_url': 'file:///srv/git/app.git', 'repo_dest': str(tmp_path / 'app'), 'repo_version': None,
            'repo_key': None, 'repo_key_file': None, 'repo_known_hosts': []}
    platform = Debian(Runner(FakeModule()), check_mode=True, options=base)
    monkeypatch.setattr(platform, 'which', lambda tool: None)
    res = run_fixes([RepoNotCloned(platform, base)], 'staging', True)[0]
    assert res['msg'] == 'would clone file:///srv/git/app.git into %s (remote not checked: git is not installed yet)' \
        % (tmp_path / 'app')


@pytest.mark.parametrize('check_mode', [True, False])
def test_an_unwritable_parent_is_failed_naming_the_directory_and_the_user(origin, tmp_path, monkeypatch, check_mode):
    # root may write anywhere: the answer a non-root user gets, for the nearest existing directory
    real = os.access
    monkeypatch.setattr(os, 'access', lambda path, mode: False if path == str(tmp_path) else real(path, mode))
    dest = tmp_path / 'srv' / 'app'
    res = run(check_mode=check_mode, repo_url=origin, repo_dest=str(dest))
    assert res['status'] == 'failed', res
    assert res['msg'] == ('cannot clone into %s: cannot create a directory in %s: Permission denied (EACCES) '
                          '(running as %s)' % (dest, tmp_path, repo_not_cloned.user_name()))
    assert sorted(os.listdir(str(tmp_path))) == ['origin.git', 'work']  # nothing created
