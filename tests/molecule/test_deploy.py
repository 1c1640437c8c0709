"""playbooks/deploy.yml on a real host over SSH, with a tiny app this test makes.

The app is a git repository (bare, copied into the host, cloned by the stage's
repo-not-cloned fix over file://, after its git-missing fix installed git) whose
start command serves public/ on 127.0.0.1:8080 from a transient systemd unit.
Ref `good` has public/health; tag `bad` removes it.

Staging: deploying good makes the app healthy at good's commit; deploying bad
fails with one line naming bad and the commit restored, the clone is back at
good and the app healthy again; a clone with local changes is refused and left
as it was (untracked files are kept through a deploy); no -l, or an option given
as the ref: no deploy; check mode fetches and resolves the ref, changes nothing.

Prod, on the same host: its clone over SSH (the host's own sshd) with a deploy
key given as content and pinned host keys, deployed by commit id without a
health URL; the key is gone afterwards and never printed; a start command that
fails puts the previous commit back; a wrong pinned host key stops the fetch.
"""
import json
import os
import re
import subprocess

import pytest

from support import run_reported, tool
from testhost import TestHosts

DEST = '/srv/app'
ORIGIN = '/srv/app-origin.git'
HEALTH = 'http://127.0.0.1:8080/health'
START = ('systemctl stop app 2>/dev/null || true; '
         'systemd-run --unit app --collect python3 -m http.server 8080 --bind 127.0.0.1 --directory %s/public' % DEST)
GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME='factiii test', GIT_AUTHOR_EMAIL='test@factiii.invalid',
               GIT_COMMITTER_NAME='factiii test', GIT_COMMITTER_EMAIL='test@factiii.invalid',
               GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM='1')


def git(repo, *args):
    return subprocess.run(['git', '-C', str(repo)] + list(args), env=GIT_ENV, capture_output=True,
                          text=True, check=True).stdout.strip()


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def make_app(tmp):
    """A bare repo: main (no health page), branch good (health page), tag bad (removes it)."""
    src = tmp / 'app'
    src.mkdir()
    git(src, 'init', '-q', '-b', 'main')
    write(src / 'public' / 'index.html', 'tiny app\n')
    git(src, 'add', '-A')
    git(src, 'commit', '-q', '-m', 'first')
    git(src, 'switch', '-q', '-c', 'good')
    write(src / 'public' / 'health', 'ok\n')
    git(src, 'add', '-A')
    git(src, 'commit', '-q', '-m', 'health page')
    good = git(src, 'rev-parse', 'HEAD')
    git(src, 'rm', '-q', 'public/health')
    git(src, 'commit', '-q', '-m', 'health page gone')
    git(src, 'tag', '-a', '-m', 'a broken release', 'bad')
    bad = git(src, 'rev-parse', 'bad^{commit}')
    git(src, 'reset', '-q', '--hard', good)  # branch good stays at the good commit
    git(src, 'switch', '-q', 'main')
    bare = tmp / 'app.git'
    subprocess.run(['git', 'clone', '-q', '--bare', str(src), str(bare)], env=GIT_ENV, check=True,
                   capture_output=True)
    return bare, good, bad


class Deploy:
    def __init__(self, hosts, inventory, env, tmp):
        self.hosts = hosts
        self.host = hosts[0]
        self.inventory = inventory
        self.env = env
        self.tmp = tmp
        self.runs = 0

    def run(self, *args):
        env = dict(self.env)
        self.runs += 1  # a fresh ControlPersist socket dir per run
        env['ANSIBLE_SSH_CONTROL_PATH_DIR'] = str(self.tmp / ('cp%d' % self.runs))
        if '-i' not in args:
            args = ('-i', self.inventory, 'playbooks/deploy.yml') + args
        argv = [tool('ansible-playbook')] + list(args)
        return run_reported(argv, env, 900)

    def head(self):
        return self.host.exec('git -C %s rev-parse HEAD' % DEST).stdout.strip()

    def health(self):
        """The health page's body and status, asked from the host itself."""
        return self.host.exec(
            'python3 -c "import sys, urllib.request, urllib.error\n'
            'try:\n    r = urllib.request.urlopen(sys.argv[1], timeout=5); print(r.status, r.read().decode().strip())\n'
            'except urllib.error.HTTPError as e:\n    print(e.code)" %s' % HEALTH).stdout.strip()


@pytest.fixture(scope='module')
def app(test_host_image, ansible_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('deploy')
    bare, good, bad = make_app(tmp)
    with TestHosts('deploy', 1, tmp, base_port=23100) as hosts:
        host = hosts[0]
        subprocess.run(['docker', 'cp', str(bare), '%s:%s' % (host.name, ORIGIN)], check=True, capture_output=True)
        inventory = hosts.inventory({'staging': hosts.names}, {'staging': {
            'staging_repo_url': 'file://' + ORIGIN,
            'staging_repo_dest': DEST,
            'staging_fixes': ['git-missing', 'repo-not-cloned'],
            'deploy_start_command': START,
            'deploy_health_url': HEALTH,
            'deploy_health_retries': 4,
            'deploy_health_delay': 1,
        }})
        deploy = Deploy(hosts, inventory, ansible_env, tmp)
        deploy.good, deploy.bad = good, bad
        yield deploy


def last_fatal(proc):
    """The failure that ended the play (a failure a rescue handled is printed before it)."""
    lines = [line for line in proc.stdout.splitlines() if line.startswith('fatal:')]
    assert lines, proc.report
    return lines[-1]


def test_deploy_good_makes_the_app_healthy_at_its_commit(app):
    assert app.host.exec('command -v git', check=False).returncode != 0, 'git must come from the stage'
    proc = app.run('-l', 'staging', '-e', 'deploy_ref=good')
    assert proc.returncode == 0, proc.report
    assert app.head() == app.good
    assert app.health() == '200 ok'
    # the clone was made by the stage at main, then moved to good
    assert 'Run the fix batch of the stage' in proc.stdout, proc.report
    assert re.search(r'TASK \[factiii\.infra\.deploy : Check out the fetched commit\] \**\nchanged:', proc.stdout), proc.report


def test_deploy_bad_rolls_back_to_good(app):
    assert app.head() == app.good
    proc = app.run('-l', 'staging', '-e', 'deploy_ref=bad')
    assert proc.returncode != 0, proc.report
    fatal = last_fatal(proc)
    assert 'deploy of bad (%s) failed: Check the health URL: Status code was 404' % app.bad[:12] in fatal, proc.report
    assert 'restored %s and restarted it, healthy' % app.good[:12] in fatal, proc.report
    assert app.head() == app.good
    assert app.health() == '200 ok'


def test_a_clone_with_local_changes_is_refused_and_left_alone(app):
    assert app.head() == app.good
    app.host.exec('echo edited on the server >> %s/public/index.html; echo draft > %s/notes.txt' % (DEST, DEST))
    before = app.host.exec('cat %s/public/index.html %s/notes.txt; git -C %s status --porcelain' % (DEST, DEST, DEST)).stdout
    proc = app.run('-l', 'staging', '-e', 'deploy_ref=bad')
    assert proc.returncode != 0, proc.report
    fatal = last_fatal(proc)
    assert ('refusing to deploy bad: %s has local changes (M public/index.html); '
            'commit, stash or remove them, then deploy again' % DEST) in fatal, proc.report
    assert 'Start the app' not in proc.stdout, proc.report
    after = app.host.exec('cat %s/public/index.html %s/notes.txt; git -C %s status --porcelain' % (DEST, DEST, DEST)).stdout
    assert after == before
    assert 'edited on the server' in after
    assert app.head() == app.good
    app.host.exec('git -C %s checkout -- public/index.html' % DEST)
    # untracked files are no local change: kept through a deploy
    proc = app.run('-l', 'staging', '-e', 'deploy_ref=good')
    assert proc.returncode == 0, proc.report
    assert app.host.exec('cat %s/notes.txt' % DEST).stdout == 'draft\n'
    app.host.exec('rm %s/notes.txt' % DEST)


def test_no_stage_chosen_or_an_option_as_ref_no_deploy(app):
    proc = app.run('-e', 'deploy_ref=good')
    assert proc.returncode != 0, proc.report
    assert 'choose the stage to deploy to: -l staging or -l prod' in proc.stdout, proc.report
    proc = app.run('-l', 'staging', '-e', '{"deploy_ref": "--upload-pack=touch /tmp/pwned"}')
    assert proc.returncode != 0, proc.report
    assert "deploy_ref '--upload-pack=touch /tmp/pwned' is not a branch, tag or commit id" in last_fatal(proc), proc.report
    assert 'Scan and fix stage' not in proc.stdout, proc.report
    assert app.host.exec('test ! -e /tmp/pwned', check=False).returncode == 0
    assert app.head() == app.good


def test_check_mode_fetches_but_changes_nothing(app):
    proc = app.run('-l', 'staging', '-e', 'deploy_ref=bad', '--check')
    assert proc.returncode == 0, proc.report
    assert re.search(r'TASK \[factiii\.infra\.deploy : Resolve the fetched commit\] \**\nok:', proc.stdout), proc.report
    assert re.search(r'TASK \[factiii\.infra\.deploy : Start the app\] \**\nskipping:', proc.stdout), proc.report
    assert app.head() == app.good
    assert app.health() == '200 ok'


def test_prod_over_ssh_with_a_deploy_key_by_commit_id(app):
    key = app.tmp / 'deploy_key'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'factiii-deploy-key', '-f', str(key)],
                   check=True, capture_output=True)
    app.host.exec('cat >> /root/.ssh/authorized_keys <<EOF\n%s\nEOF' % (key.parent / 'deploy_key.pub').read_text().strip())
    host_key = app.host.exec('ssh-keyscan -t ed25519 127.0.0.1 2>/dev/null').stdout.strip()
    assert host_key, 'no host key from the host\'s sshd'
    private = key.read_text()
    inventory = app.hosts.inventory({'prod': app.hosts.names}, {'prod': {
        'prod_repo_url': 'root@127.0.0.1:%s' % ORIGIN,
        'prod_repo_dest': '/srv/app-prod',
        'prod_repo_key': private,
        'prod_repo_known_hosts': [host_key],
        'prod_fixes': ['git-missing', 'repo-not-cloned'],
        'deploy_start_command': 'echo started > started.txt',
    }}, name='inventory-prod.yml')
    argv = ['-i', inventory, 'playbooks/deploy.yml', '-l', 'prod', '-e', 'deploy_ref=%s' % app.good]
    proc = app.run(*argv)
    assert proc.returncode == 0, proc.report
    assert app.host.exec('git -C /srv/app-prod rev-parse HEAD').stdout.strip() == app.good
    assert app.host.exec('cat /srv/app-prod/started.txt').stdout.strip() == 'started'
    assert re.search(r'TASK \[factiii\.infra\.deploy : Check the health URL\] \**\nskipping:', proc.stdout), proc.report
    secret = ''.join(private.strip().splitlines()[1:-1])
    assert secret[:40] not in proc.stdout + proc.stderr
    assert app.host.exec('ls -d /tmp/factiii-ssh-* 2>/dev/null || true').stdout.strip() == ''
    # a start command that fails at bad: good is put back and started again
    start = 'test -e public/health || { echo no health page >&2; exit 3; }; echo started > started.txt'
    proc = app.run('-i', inventory, 'playbooks/deploy.yml', '-l', 'prod', '-e', 'deploy_ref=bad',
                   '-e', json.dumps({'deploy_start_command': start}))
    assert proc.returncode != 0, proc.report
    assert last_fatal(proc).endswith(
        '"msg": "deploy of bad (%s) failed: Start the app: non-zero return code (rc 3): no health page; '
        'restored %s and restarted it"}' % (app.bad[:12], app.good[:12])), proc.report
    assert app.host.exec('git -C /srv/app-prod rev-parse HEAD').stdout.strip() == app.good
    # a wrong pinned host key: the fetch fails, nothing is checked out
    other = app.tmp / 'other_host_key'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(other)], check=True, capture_output=True)
    wrong = '127.0.0.1 ' + ' '.join((app.tmp / 'other_host_key.pub').read_text().split()[:2])
    inventory = app.hosts.inventory({'prod': app.hosts.names}, {'prod': {
        'prod_repo_url': 'root@127.0.0.1:%s' % ORIGIN, 'prod_repo_dest': '/srv/app-prod', 'prod_repo_key': private,
        'prod_repo_known_hosts': [wrong], 'prod_fixes': ['repo-not-cloned'],
        'deploy_start_command': 'echo started again > started.txt',
    }}, name='inventory-prod-wrong.yml')
    proc = app.run('-i', inventory, 'playbooks/deploy.yml', '-l', 'prod', '-e', 'deploy_ref=bad')
    assert proc.returncode != 0, proc.report
    assert 'Host key verification failed' in last_fatal(proc), proc.report
    assert app.host.exec('git -C /srv/app-prod rev-parse HEAD').stdout.strip() == app.good
    assert app.host.exec('cat /srv/app-prod/started.txt').stdout.strip() == 'started'
    assert app.host.exec('ls -d /tmp/factiii-ssh-* 2>/dev/null || true').stdout.strip() == ''
