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


def staging_inventory(hosts, url, health_retries):
    """The staging group of ``hosts``: the app cloned from ``url``, started and health-checked."""
    return hosts.inventory({'staging': hosts.names}, {'staging': {
        'staging_repo_url': url,
        'staging_repo_dest': DEST,
        'staging_fixes': ['git-missing', 'repo-not-cloned'],
        'deploy_start_command': START,
        'deploy_health_url': HEALTH,
        'deploy_health_retries': health_retries,
        'deploy_health_delay': 1,
    }})


@pytest.fixture(scope='module')
def app(test_host_image, ansible_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('deploy')
    bare, good, bad = make_app(tmp)
    with TestHosts('deploy', 1, tmp, base_port=23100) as hosts:
        host = hosts[0]
        subprocess.run(['docker', 'cp', str(bare), '%s:%s' % (host.name, ORIGIN)], check=True, capture_output=True)
        inventory = staging_inventory(hosts, 'file://' + ORIGIN, health_retries=4)
        deploy = Deploy(hosts, inventory, ansible_env, tmp)
        deploy.good, deploy.bad = good, bad
        yield deploy


def last_fatal(proc):
    """The failure that ended the deploy (a failure a rescue handled is printed before it; the
    report play's own failure, which only sets the exit code, after it)."""
    lines = [line for line in proc.stdout.splitlines()
             if line.startswith('fatal:') and 'see RESULTS BY STAGE' not in line]
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
    assert re.search(r'TASK \[factiii\.infra\.deploy : Fetch and check out good\] \**\nchanged:', proc.stdout), proc.report


def test_deploy_bad_rolls_back_to_good(app):
    assert app.head() == app.good
    proc = app.run('-l', 'staging', '-e', 'deploy_ref=bad')
    assert proc.returncode != 0, proc.report
    fatal = last_fatal(proc)
    assert ('deploy of bad (%s) failed: staging-deploy-health: not healthy after 5 checks: %s: Status code was 404'
            % (app.bad[:12], HEALTH)) in fatal, proc.report
    assert 'restored %s and restarted it, healthy' % app.good[:12] in fatal, proc.report
    assert app.head() == app.good
    assert app.health() == '200 ok'


def test_a_clone_with_local_changes_is_refused_and_left_alone(app):
    assert app.head() == app.good
    app.host.exec('echo edited on the server >> %s/public/index.html; echo draft > %s/notes.txt' % (DEST, DEST))
    before = app.host.exec('cat %s/public/index.html %s/notes.txt; git -C %s status --porcelain' % (DEST, DEST, DEST)).stdout
    proc = app.run('-l', 'staging', '-e', 'deploy_ref=bad')
    assert proc.returncode != 0, proc.report
    # the stage's repo-not-cloned says so (Manual), and the deploy stops before its checkout
    assert re.search(r'^   Manual: staging-repo-not-cloned: %s has local changes to 1 file \(M public/index.html\)'
                     % DEST, proc.stdout, re.M), proc.report
    assert ('deploy of bad failed: staging-deploy-start: not started: staging-repo-not-cloned is manual; '
            'nothing was checked out') in last_fatal(proc), proc.report
    assert 'TASK [factiii.infra.deploy : Fetch and check out bad]' not in proc.stdout, proc.report
    assert 'TASK [factiii.infra.deploy : Start the app]' not in proc.stdout, proc.report
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
    # fetched and resolved: it would be checked out
    assert re.search(r'TASK \[factiii\.infra\.deploy : Fetch and check out bad\] \**\nchanged:', proc.stdout), proc.report
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
    assert ('"msg": "deploy of bad (%s) failed: prod-deploy-start: start command failed (rc 3): no health page; '
            'restored %s and restarted it"' % (app.bad[:12], app.good[:12])) in last_fatal(proc), proc.report
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


# --- Trust boundaries (issue 12): server-only files, a token in repo_url, a server that never answers.
# Their own host (prefix t12repo), so they run alone: pytest tests/molecule/test_deploy.py -k guarded

TOKEN = 'ghp_t12repoSECRETtoken0123456789'
SERVER_ENV = 'DATABASE_PASSWORD=only-on-this-server\n'
HTTP_PORT = 8081
SILENT_PORT = 2222
# A dumb-http git server with basic auth: git's clone and fetch work over it, and every request
# is logged with whether it carried the right Authorization header.
GIT_HTTP = r'''
import base64, http.server, sys
want = 'Basic ' + base64.b64encode(sys.argv[1].encode()).decode()
class H(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        ok = self.headers.get('Authorization') == want
        with open('/root/githttp.log', 'a') as log:
            log.write('%s %s\n' % ('auth' if ok else 'noauth', self.path))
        if not ok:
            self.send_response(401)
            self.send_header('WWW-Authenticate', 'Basic realm="git"')
            self.end_headers()
            return
        super().do_GET()
http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[2])), lambda *a: H(*a, directory='/srv/http')).serve_forever()
'''
# Accepts TCP connections and never says a word (an ssh server that hangs before its banner).
SILENT = r'''
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(16)
held = []
while True:
    held.append(s.accept()[0])
'''


def make_guarded_app(tmp):
    """A bare repo (dumb-http ready): main ignores .env and logs/; tag tracks-env tracks .env
    (and removes the health page); tag adds-logs tracks logs/app.txt (and removes the health page)."""
    src = tmp / 'gapp'
    src.mkdir()
    git(src, 'init', '-q', '-b', 'main')
    write(src / '.gitignore', '.env\nlogs/\n')
    write(src / 'public' / 'index.html', 'tiny app\n')
    write(src / 'public' / 'health', 'ok\n')
    git(src, 'add', '-A')
    git(src, 'commit', '-q', '-m', 'first')
    main = git(src, 'rev-parse', 'HEAD')
    for tag, path in (('tracks-env', '.env'), ('adds-logs', 'logs/app.txt')):
        git(src, 'checkout', '-q', '--detach', main)
        write(src / path, 'FROM_GIT=1\n')
        git(src, 'add', '-f', path)
        git(src, 'rm', '-q', 'public/health')
        git(src, 'commit', '-q', '-m', 'track %s' % path)
        git(src, 'tag', tag)
    git(src, 'checkout', '-q', 'main')
    bare = tmp / 'gapp.git'
    subprocess.run(['git', 'clone', '-q', '--bare', str(src), str(bare)], env=GIT_ENV, check=True, capture_output=True)
    git(bare, 'update-server-info')
    return bare, main


@pytest.fixture(scope='module')
def guarded(test_host_image, ansible_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('t12repo')
    bare, main = make_guarded_app(tmp)
    with TestHosts('t12repo', 1, tmp, base_port=23620) as hosts:
        host = hosts[0]
        host.exec('mkdir -p /srv/http')
        subprocess.run(['docker', 'cp', str(bare), '%s:/srv/http/app.git' % host.name], check=True, capture_output=True)
        for name, text in (('githttp.py', GIT_HTTP), ('silent.py', SILENT)):
            subprocess.run(['docker', 'exec', '-i', host.name, 'sh', '-c', 'cat > /root/%s' % name], input=text,
                           text=True, check=True, capture_output=True)
        host.exec('systemd-run --unit githttp python3 /root/githttp.py x-access-token:%s %d' % (TOKEN, HTTP_PORT))
        host.exec('systemd-run --unit silent python3 /root/silent.py %d' % SILENT_PORT)
        url = 'http://x-access-token:%s@127.0.0.1:%d/app.git' % (TOKEN, HTTP_PORT)
        inventory = staging_inventory(hosts, url, health_retries=2)
        deploy = Deploy(hosts, inventory, ansible_env, tmp)
        deploy.main = main
        deploy.url = url
        yield deploy


def test_guarded_a_token_in_repo_url_is_used_but_never_shown_nor_kept(guarded):
    results = guarded.tmp / 'results-token.json'
    guarded.env = dict(guarded.env, FACTIII_RESULTS_JSON=str(results))
    try:
        proc = guarded.run('-l', 'staging', '-e', 'deploy_ref=main', '-v')
    finally:
        guarded.env.pop('FACTIII_RESULTS_JSON')
    assert proc.returncode == 0, proc.report
    assert guarded.head() == guarded.main
    assert guarded.health() == '200 ok'
    # the token is in no output, result or file of the clone ...
    assert TOKEN not in proc.stdout + proc.stderr, proc.report
    assert results.exists() and TOKEN not in results.read_text()
    assert guarded.host.exec('grep -rl %s %s/.git || true' % (TOKEN, DEST)).stdout == ''
    assert guarded.host.exec('git -C %s config --get remote.origin.url' % DEST).stdout.strip() == \
        'http://127.0.0.1:%d/app.git' % HTTP_PORT
    # ... yet it reached the git server, on every request (clone by the stage, fetch by the deploy)
    log = guarded.host.exec('cat /root/githttp.log').stdout
    assert 'auth /app.git/info/refs' in log and 'noauth' not in log, log


def test_guarded_a_server_only_env_is_never_overwritten_nor_deleted(guarded):
    host = guarded.host
    assert guarded.head() == guarded.main
    host.exec("printf '%s' > %s/.env && chmod 600 %s/.env" % (SERVER_ENV, DEST, DEST))
    before = host.exec('sha256sum %s/.env; stat -c %%a %s/.env' % (DEST, DEST)).stdout
    assert host.exec('git -C %s status --porcelain --ignored' % DEST).stdout == '!! .env\n'
    # tracks-env tracks .env, and its start command fails (git would overwrite .env, the rollback delete it)
    proc = guarded.run('-l', 'staging', '-e', 'deploy_ref=tracks-env')
    assert proc.returncode != 0, proc.report
    fatal = last_fatal(proc)
    target = git(guarded.tmp / 'gapp', 'rev-parse', 'tracks-env^{commit}')
    assert ('refusing to deploy tracks-env: %s has files git does not track where %s tracks files (.env): '
            'the checkout would overwrite them and a rollback delete them' % (DEST, target[:12])) in fatal, proc.report
    assert re.search(r'TASK \[factiii\.infra\.deploy : Start the app\] \**\nskipping:', proc.stdout), proc.report
    assert host.exec('sha256sum %s/.env; stat -c %%a %s/.env' % (DEST, DEST)).stdout == before
    assert host.exec('cat %s/.env' % DEST).stdout == SERVER_ENV
    assert guarded.head() == guarded.main
    assert guarded.health() == '200 ok'


def test_guarded_a_rollback_never_removes_a_server_only_file(guarded):
    host = guarded.host
    assert guarded.head() == guarded.main
    # ignored files beside the path adds-logs tracks: the deploy may go on, its rollback removes git's file only
    host.exec('mkdir -p %s/logs && echo server log > %s/logs/server.log' % (DEST, DEST))
    proc = guarded.run('-l', 'staging', '-e', 'deploy_ref=adds-logs')
    assert proc.returncode != 0, proc.report
    assert 'deploy of adds-logs' in last_fatal(proc) and 'restored %s and restarted it, healthy' % guarded.main[:12] \
        in last_fatal(proc), proc.report
    assert guarded.head() == guarded.main
    assert host.exec('cat %s/logs/server.log %s/.env' % (DEST, DEST)).stdout == 'server log\n' + SERVER_ENV
    assert host.exec('test ! -e %s/logs/app.txt' % DEST, check=False).returncode == 0
    # the app writes a file where the previous commit tracks one: the rollback keeps it and says so
    start = 'echo crashed > public/health; exit 3'
    proc = guarded.run('-l', 'staging', '-e', 'deploy_ref=adds-logs', '-e', json.dumps({'deploy_start_command': start}))
    assert proc.returncode != 0, proc.report
    assert ('could NOT restore %s: %s has files git does not track where %s tracks files (public/health)'
            % (guarded.main[:12], DEST, guarded.main[:12])) in last_fatal(proc), proc.report
    assert host.exec('cat %s/public/health' % DEST).stdout == 'crashed\n'
    assert host.exec('cat %s/logs/server.log %s/.env' % (DEST, DEST)).stdout == 'server log\n' + SERVER_ENV
    host.exec('rm %s/public/health && git -C %s checkout -q --detach %s' % (DEST, DEST, guarded.main))


def test_guarded_a_git_server_that_never_answers_times_out_and_the_key_goes(guarded):
    key = guarded.tmp / 'silent_key'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(key)], check=True, capture_output=True)
    inventory = guarded.hosts.inventory({'prod': guarded.hosts.names}, {'prod': {
        'prod_repo_url': 'ssh://root@127.0.0.1:%d/srv/app.git' % SILENT_PORT,
        'prod_repo_dest': '/srv/app-silent',
        'prod_repo_key': key.read_text(),
        'prod_repo_known_hosts': ['[127.0.0.1]:%d ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'
                                  % SILENT_PORT],
        'prod_repo_timeout': 5,
        'prod_fixes': ['git-missing', 'repo-not-cloned'],
    }}, name='inventory-silent.yml')
    results = guarded.tmp / 'results-silent.json'
    env = dict(guarded.env, FACTIII_RESULTS_JSON=str(results),
               ANSIBLE_SSH_CONTROL_PATH_DIR=str(guarded.tmp / 'cp-silent'))
    proc = run_reported([tool('ansible-playbook'), '-i', inventory, 'playbooks/fix.yml', '-l', 'prod'], env, 120)
    assert proc.returncode != 0, proc.report
    assert proc.seconds < 60, proc.report
    rows = json.loads(results.read_text())['stages']['prod']['hosts'][guarded.host.name]['results']
    row = [r for r in rows if r['fix_id'] == 'prod-repo-not-cloned'][0]
    assert row['status'] == 'failed' and row['msg'] == 'git clone failed: timed out after 5 s (no answer, or too slow)', row
    assert guarded.host.exec('ls -d /tmp/factiii-ssh-* /srv/.factiii-clone-* /srv/app-silent 2>/dev/null || true').stdout == ''
    assert guarded.host.exec('pgrep -x git || pgrep -x ssh || true').stdout == ''
