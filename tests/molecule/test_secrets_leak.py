"""Issue 8, secrets: no secret value in any byte a run writes, and deploy keys 0600 and removed.

ONE `ansible-playbook -vvvv playbooks/fix.yml` (every stage of the inventory) with recognisable
secrets, and the collection built from this tree:

* secrets stage, on the controller, against a local fake of the GitHub REST API (the server of
  tests/unit/plugins/plugin_utils), GITHUB_TOKEN a fake token; one repository answers the list of
  secrets, the other answers 401 with the token echoed back in its message.
* staging stage on two throwaway hosts (factiii-badin-leak-0/1, ports 23470-23471), fixes
  git-missing and repo-not-cloned, the deploy key given as content (staging_repo_key):
  - leak-0 clones over SSH from its own sshd with a real deploy key (its lines are the secret);
  - leak-1 has a fake key containing FAKE-DEPLOY-KEY-7f3a9c and a git server that accepts the
    connection and never answers: while the clone hangs, the key file is looked at (0600, in a 0700
    directory, root's), then the server goes away, the clone fails.

Then every byte of stdout, stderr, the results JSON, Ansible's log file and Ansible's local temp
directory is searched for every secret (whole, line by line, and one-lined), and so are the hosts'
journals and file systems; no deploy key file is left on either host.
"""
import json
import os
import re
import subprocess
import threading
import time

import pytest
import yaml

from ansible_collections.factiii.infra.tests.unit.plugins.plugin_utils.test_github_secrets import FakeGitHub, secret
from support import run_reported, tool
from testhost import TestHosts

TOKEN = 'ghp_FAKE-GITHUB-TOKEN-7f3a9c0123456789abcdef'
FAKE_KEY = ('-----BEGIN OPENSSH PRIVATE KEY-----\n'
            'b3BlbnNzaC1rZXktdjEAAAAA-FAKE-DEPLOY-KEY-7f3a9c-line-one-AAAAAAAAAAAAAAAAAAAAAA\n'
            'QyNTUxOQAAACD-FAKE-DEPLOY-KEY-7f3a9c-line-two-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\n'
            '-----END OPENSSH PRIVATE KEY-----\n')
GOOD, HANG = 0, 1
ORIGIN = '/srv/origin.git'
DEST = '/srv/app'
HANG_PORT = 2222
GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME='factiii test', GIT_AUTHOR_EMAIL='test@factiii.invalid',
               GIT_COMMITTER_NAME='factiii test', GIT_COMMITTER_EMAIL='test@factiii.invalid',
               GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM='1')
HANGING_SERVER = ('python3 -c "import socket, time; s = socket.socket(); '
                  's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\'127.0.0.1\', %d)); '
                  's.listen(5); c = s.accept(); time.sleep(900)"' % HANG_PORT)


WINDOW, STEP = 20, 4


def variants(value):
    """A secret as it could show up: whole, each line of it, folded into one line, JSON-escaped,
    and every WINDOW-character piece of it (at STEP offsets: any leaked piece of WINDOW + STEP - 1
    characters or more holds one). Left out: the armor lines and the first line of an OpenSSH key
    body (the format's header, the same in every key), and pieces that are one character repeated."""
    found = {value.strip(), ' '.join(value.split()), json.dumps(value)[1:-1]}
    lines = [line.strip() for line in value.splitlines() if line.strip() and 'PRIVATE KEY-----' not in line]
    if 'OPENSSH PRIVATE KEY' in value:
        lines = lines[1:]
    found.update(lines)
    for line in lines:
        for start in range(0, max(len(line) - WINDOW, 0) + 1, STEP):
            piece = line[start:start + WINDOW]
            if len(piece) == WINDOW and not re.search(r'(.)\1{5}', piece):
                found.add(piece)
    return sorted(found)


def make_origin(tmp):
    src = tmp / 'app'
    src.mkdir()
    (src / 'README').write_text('the app\n')
    for args in (['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'first']):
        subprocess.run(['git', '-C', str(src)] + args, env=GIT_ENV, check=True, capture_output=True)
    bare = tmp / 'origin.git'
    subprocess.run(['git', 'clone', '-q', '--bare', str(src), str(bare)], env=GIT_ENV, check=True, capture_output=True)
    return bare


class KeyWatcher(threading.Thread):
    """On the HANG host: waits for the deploy key file, records its modes, then ends the git server."""

    def __init__(self, host):
        super().__init__(daemon=True)
        self.host = host
        self.seen = None
        self.stop = threading.Event()

    def run(self):
        deadline = time.monotonic() + 300
        while not self.stop.is_set() and time.monotonic() < deadline:
            proc = self.host.exec('for f in /tmp/factiii-ssh-*/deploy_key; do [ -f "$f" ] || continue; '
                                  'stat -c "%a %U %n" "$(dirname "$f")" "$f"; grep -c FAKE-DEPLOY-KEY-7f3a9c "$f"; '
                                  'pgrep -af "[s]sh .*-i $f" >/dev/null && echo ssh-uses-it; done', check=False)
            if 'ssh-uses-it' in proc.stdout:
                self.seen = proc.stdout.split()
                break
            time.sleep(0.2)
        self.host.exec('systemctl stop hanging-git-server', check=False)


@pytest.fixture(scope='module')
def leak(test_host_image, ansible_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('leak')
    bare = make_origin(tmp)
    key = tmp / 'deploy_key'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'deploy', '-f', str(key)],
                   check=True, capture_output=True)
    real_key = key.read_text()
    github = FakeGitHub()
    github.route(200, {'total_count': 0, 'secrets': []})
    # the stage's key in its environment (issue 12); no environment prod (404): PROD_SSH is manual
    github.route(200, {'total_count': 1, 'secrets': [secret('STAGING_SSH')]}, path='/repos/o/r/environments/staging/secrets')
    github.route(401, {'message': 'Bad credentials: %s is not a valid token' % TOKEN},
                 path='/repos/o/echo/actions/secrets')
    with TestHosts('badin-leak', 2, tmp, base_port=23470) as hosts:
        good, hang = hosts[GOOD], hosts[HANG]
        # GOOD: the origin in the host, reachable over its own sshd with the deploy key
        subprocess.run(['docker', 'cp', str(bare), '%s:%s' % (good.name, ORIGIN)], check=True, capture_output=True)
        subprocess.run(['docker', 'exec', '-i', good.name, 'sh', '-c', 'cat >> /root/.ssh/authorized_keys'],
                       input=(tmp / 'deploy_key.pub').read_text(), text=True, check=True, capture_output=True)
        good_known = good.exec('printf "127.0.0.1 %s" "$(cat /etc/ssh/ssh_host_ed25519_key.pub)"').stdout.strip()
        # HANG: a "git server" that accepts and never answers
        hang.exec('systemd-run --unit hanging-git-server --collect %s' % HANGING_SERVER)
        inventory = {'all': {'children': {
            'secrets': {'hosts': dict((name, {
                'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}',
                'secrets_github_repo': repo, 'secrets_github_api_url': github.url,
            }) for name, repo in (('controller', 'o/r'), ('controller-echo', 'o/echo')))},
            'staging': {'hosts': {
                good.name: dict(hosts.ssh_vars(good), staging_repo_key=real_key,
                                staging_repo_url='root@127.0.0.1:%s' % ORIGIN, staging_repo_known_hosts=[good_known]),
                hang.name: dict(hosts.ssh_vars(hang), staging_repo_key=FAKE_KEY,
                                staging_repo_url='ssh://root@127.0.0.1:%d/srv/none.git' % HANG_PORT),
            }, 'vars': {'staging_repo_dest': DEST, 'staging_fixes': ['git-missing', 'repo-not-cloned']}},
        }}}
        inventory_path = tmp / 'inventory.yml'
        inventory_path.write_text(yaml.safe_dump(inventory))
        out = tmp / 'out'
        out.mkdir()
        env = dict(ansible_env, GITHUB_TOKEN=TOKEN, FACTIII_RESULTS_JSON=str(out / 'results.json'),
                   ANSIBLE_LOG_PATH=str(out / 'ansible.log'), ANSIBLE_LOCAL_TEMP=str(out / 'local-tmp'),
                   ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp / 'cp'))
        env.pop('GH_TOKEN', None)
        watcher = KeyWatcher(hang)
        watcher.start()
        argv = [tool('ansible-playbook'), '-vvvv', '-i', str(inventory_path), 'playbooks/fix.yml']
        try:
            proc = run_reported(argv, env, 900, text=False)
        finally:
            watcher.stop.set()
            watcher.join(30)
            github.close()
        secrets = {'token': variants(TOKEN), 'fake key': variants(FAKE_KEY), 'real key': variants(real_key)}
        real_line = [line for line in real_key.splitlines() if 'PRIVATE KEY' not in line][1]
        yield {'real_line': real_line, 'proc': proc, 'out': out, 'hosts': hosts, 'watcher': watcher, 'github': github,
               'secrets': secrets, 'data': json.loads((out / 'results.json').read_text())}


def rows(leak, stage, host):
    return dict((r['fix_id'], r) for r in leak['data']['stages'][stage]['hosts'][host]['results'])


def test_the_run_did_what_the_secrets_are_for(leak):
    """The premise: the token reached the API, the real key cloned, the fake key was tried."""
    proc = leak['proc']
    assert proc.returncode != 0, proc.report  # the clone on HANG fails, and so does the 401
    assert b'Traceback (most recent call last)' not in proc.stdout + proc.stderr, proc.report
    # o/r: its secrets and those of environments staging and prod; o/echo: the 401
    assert [r['headers'].get('Authorization') for r in leak['github'].requests] == ['Bearer %s' % TOKEN] * 4
    controller = rows(leak, 'secrets', 'controller')
    assert controller['secrets-staging-ssh-missing']['status'] == 'ok'
    assert controller['secrets-prod-ssh-missing']['status'] == 'manual'
    echo = rows(leak, 'secrets', 'controller-echo')
    assert echo['secrets-staging-ssh-missing']['status'] == 'failed'
    assert 'GitHub rejected the token (HTTP 401)' in echo['secrets-staging-ssh-missing']['msg']
    assert '********' in echo['secrets-staging-ssh-missing']['msg']  # GitHub's echo of it, masked
    hosts = leak['hosts']
    good = rows(leak, 'staging', hosts[GOOD].name)
    assert good['staging-repo-not-cloned']['status'] == 'fixed', proc.report
    assert hosts[GOOD].exec('cat %s/README' % DEST).stdout == 'the app\n'
    hang = rows(leak, 'staging', hosts[HANG].name)
    assert hang['staging-repo-not-cloned']['status'] == 'failed', proc.report
    assert hang['staging-repo-not-cloned']['msg'].startswith('git clone failed'), hang
    assert b'ESTABLISH SSH CONNECTION' in proc.stdout  # -vvvv really was on


def test_the_deploy_key_file_is_0600_while_used(leak):
    seen = leak['watcher'].seen
    assert seen, leak['proc'].report
    # "<dir mode> <owner> <dir>" "<file mode> <owner> <file>" "<lines with the marker>" ssh-uses-it
    assert seen[0] == '700' and seen[1] == 'root' and seen[2].startswith('/tmp/factiii-ssh-'), seen
    assert seen[3] == '600' and seen[4] == 'root' and seen[5] == seen[2] + '/deploy_key', seen
    assert seen[6] == '2', seen


@pytest.mark.parametrize('index', [GOOD, HANG])
def test_no_deploy_key_file_is_left_on_the_host(leak, index):
    host = leak['hosts'][index]
    left = host.exec('ls -d /tmp/factiii-ssh-* /tmp/tmp* /root/.ansible/tmp/* 2>/dev/null || true').stdout.split()
    assert left == [], left
    found = host.exec('grep -rlsF -e FAKE-DEPLOY-KEY-7f3a9c -e "%s" / --exclude-dir=proc --exclude-dir=sys '
                      '--exclude-dir=dev --exclude-dir=run 2>/dev/null || true'
                      % leak['real_line']).stdout.split()
    assert found == [], found


@pytest.mark.parametrize('index', [GOOD, HANG])
def test_the_hosts_journal_holds_no_secret(leak, index):
    journal = leak['hosts'][index].exec('journalctl --no-pager -o cat').stdout
    assert 'sudo' in journal or 'Accepted publickey' in journal, 'a journal without the run proves nothing'
    hits = [name for name, values in sorted(leak['secrets'].items()) for value in values if value in journal]
    assert hits == []


def test_no_secret_in_any_byte_the_run_wrote(leak):
    proc, out = leak['proc'], leak['out']
    sources = {'stdout': proc.stdout, 'stderr': proc.stderr}
    for base, dummy, files in os.walk(str(out)):
        for name in files:
            with open(os.path.join(base, name), 'rb') as handle:
                sources[os.path.relpath(os.path.join(base, name), str(out))] = handle.read()
    assert 'results.json' in sources and 'ansible.log' in sources, sorted(sources)
    assert len(sources['ansible.log']) > 10000, 'the log must hold the -vvvv run'
    hits = ['%s (%r...) in %s' % (name, value[:12], source)
            for source, data in sorted(sources.items())
            for name, values in sorted(leak['secrets'].items())
            for value in values if data.find(value.encode('utf-8')) >= 0]
    assert hits == []
