"""Issue 17, point 4 on a real host: checks declared by users, run in the stage's batch.

One Debian test host (tests/testhost.py, prefix t17c, loopback ports 24080-24119). A playbook runs
factiii.infra.stage for stage staging with the built-in git-missing and these checks:

  app-enabled, app-port, env-file-mode
                the three examples of the module's documentation, as they are written there:
                a systemd unit enabled (`systemctl is-enabled`, fixed by `enable --now`), a port
                answering (curl, which joins the stage's apt transaction), a file with the right
                mode (a shell check, fixed by chmod)
  hangs         a shell check that hangs (and starts a child): timeout 2, a failed row in ~2 s,
                its child killed with it, and the stage goes on
  fix-fails     a fix that fails: systemctl enable of a unit that does not exist
  by-hand       no fix: Manual, with its steps
  jq            packages: jq joins git's apt transaction too (one transaction)
  marker        a fix that leaves a marker and counts its runs: a scan runs only checks
  key-line, token  output that holds a no_log value (a line of repo_key, the token in repo_url)

Scan (--check), fix, fix again: the scan changes nothing, each run is one SSH authentication, the
second fix changes nothing, and no secret shows in a row, the output or the log.
"""
import json
import subprocess
import time

import yaml

from ansible_collections.factiii.infra.plugins.modules import stage as stage_module
from support import run_reported, tool
from testhost import TestHosts

PORT = 24080  # this file's loopback ports: 24080-24119
DOCUMENTED = next(task['factiii.infra.stage']['checks'] for task in yaml.safe_load(stage_module.EXAMPLES)
                  if 'checks' in task.get('factiii.infra.stage', {}))
UNIT = 'app.service'
SERVE = ('[Unit]\nDescription=the app of the documented examples\n[Service]\n'
         'ExecStart=/usr/bin/python3 -m http.server 8080 --bind 127.0.0.1 --directory /srv/www\n'
         '[Install]\nWantedBy=multi-user.target\n')
TOKEN = 'ghp_t17cSecretToken0123456789abcdef'
TRANSACTIONS = "cat /var/log/apt/history.log 2>/dev/null | grep -c '^Start-Date:' || true"
PLAYBOOK = [{
    'name': 'Stage staging with user checks',
    'hosts': 'staging',
    'gather_facts': False,
    'tasks': [{
        'name': 'Scan or fix stage staging',
        'factiii.infra.stage': {
            'stage': 'staging',
            'fixes': ['git-missing'],
            'repo_url': 'https://factiii:%s@example.invalid/app.git' % TOKEN,
            'repo_key': '{{ test_repo_key }}',
            'checks': '{{ test_checks }}',
        },
    }],
}]
ORDER = ['git-missing', 'app-enabled', 'app-port', 'env-file-mode', 'hangs', 'fix-fails', 'by-hand', 'jq', 'marker',
         'key-line', 'token']


def checks(tmp_marker):
    return DOCUMENTED + [
        {'name': 'hangs', 'check': '(sleep 4; touch %s) & sleep 60' % tmp_marker, 'shell': True, 'timeout': 2},
        {'name': 'fix-fails', 'check': ['systemctl', 'is-enabled', 'factiii-nosuch.service'],
         'fix': ['systemctl', 'enable', 'factiii-nosuch.service']},
        {'name': 'by-hand', 'check': ['test', '-e', '/etc/factiii-by-hand'],
         'manual': ['touch /etc/factiii-by-hand  # once the team has looked']},
        {'name': 'jq', 'check': ['jq', '--version'], 'packages': ['jq']},
        {'name': 'marker', 'check': ['test', '-e', '/root/marker'],
         'fix': 'echo run >> /root/fix-runs; touch /root/marker', 'shell': True},
        {'name': 'key-line', 'check': 'sed -n 2p /root/key-copy; exit 1', 'shell': True, 'fix': ['true']},
        {'name': 'token', 'check': ['sed', 's/^/token=/', '/root/token-copy']},
    ]


def prepare(host, key):
    host.exec("printf '%%s' '%s' > /etc/systemd/system/%s && systemctl daemon-reload" % (SERVE, UNIT))
    host.exec('mkdir -p /srv/www /srv/app && echo ok > /srv/www/health && echo SETTING=1 > /srv/app/.env && '
              'chmod 0644 /srv/app/.env')
    subprocess.run(['docker', 'exec', '-i', host.name, 'sh', '-c', 'cat > /root/key-copy'], input=key, text=True,
                   check=True, capture_output=True)
    host.exec('echo %s > /root/token-copy' % TOKEN)


def run(ansible_env, hosts, tmp_path, name, key, marker, *extra):
    """The playbook over the one host: (proc, {check name: row}, log text)."""
    inventory = hosts.inventory({'staging': hosts.names}, {'staging': {
        'test_repo_key': key, 'test_checks': checks(marker)}}, name='%s.yml' % name)
    playbook = tmp_path / 'user_checks.yml'
    playbook.write_text(yaml.safe_dump(PLAYBOOK, sort_keys=False))
    results, log = tmp_path / ('%s.json' % name), tmp_path / ('%s.log' % name)
    env = dict(ansible_env, FACTIII_RESULTS_JSON=str(results), ANSIBLE_LOG_PATH=str(log),
               ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp_path / ('cp-%s' % name)))
    proc = run_reported([tool('ansible-playbook'), '-i', inventory, str(playbook)] + list(extra), env, 900)
    for stream in (proc.stdout, proc.stderr):
        assert 'Traceback (most recent call last)' not in stream, proc.report
    assert results.exists(), proc.report
    data = json.loads(results.read_text())
    rows = dict((r['fix_id'][len('staging-'):], r)
                for r in data['stages']['staging']['hosts'][hosts[0].name]['results'])
    for row in rows.values():
        assert '\n' not in row['msg'], (row, proc.report)
    return proc, rows, log.read_text() + results.read_text()


def statuses(rows):
    return dict((name, row['status']) for name, row in rows.items())


def count(host, command):
    return int(host.exec(command).stdout.strip() or 0)


def test_user_checks_scan_fix_and_fix_again_on_a_real_host(test_host_image, ansible_env, tmp_path):
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'deploy', '-f', str(tmp_path / 'deploy')],
                   check=True, capture_output=True)
    key = (tmp_path / 'deploy').read_text()
    secrets = [line for line in key.splitlines()[1:-1] if line.strip()] + [TOKEN]
    assert [c['name'] for c in DOCUMENTED] == ['app-enabled', 'app-port', 'env-file-mode']
    with TestHosts('t17c', 1, tmp_path, base_port=PORT) as hosts:
        host = hosts[0]
        prepare(host, key)
        marker = '/root/hang-child'

        logins, transactions = host.ssh_logins(), count(host, TRANSACTIONS)
        proc, scan, log = run(ansible_env, hosts, tmp_path, 'scan', key, marker, '--check')
        assert proc.returncode != 0, proc.report  # the hung check is a failed row
        assert host.ssh_logins() - logins == 1, proc.report
        assert list(scan) == ORDER, proc.report
        assert statuses(scan) == {
            'git-missing': 'fixed', 'app-enabled': 'fixed', 'app-port': 'fixed', 'env-file-mode': 'fixed',
            'hangs': 'failed', 'fix-fails': 'fixed', 'by-hand': 'manual', 'jq': 'fixed', 'marker': 'fixed',
            'key-line': 'fixed', 'token': 'ok'}, proc.report
        assert scan['app-enabled']['msg'] == 'would run: systemctl enable --now app.service (check: disabled)'
        assert scan['app-port']['msg'] == 'would install curl (check: curl: command not found)', proc.report
        assert scan['env-file-mode']['msg'] == 'would run: chmod 0600 /srv/app/.env (check: exit code 1)'
        assert scan['hangs']['msg'] == ('(sleep 4; touch %s) & sleep 60 timed out after 2 s '
                                        '(no answer, or too slow)' % marker), proc.report
        assert (scan['by-hand']['msg'], scan['by-hand']['steps']) == (
            'check failed: exit code 1', ['touch /etc/factiii-by-hand  # once the team has looked']), proc.report
        assert scan['jq']['msg'] == 'would install jq (check: jq: command not found)', proc.report
        assert scan['key-line']['msg'] == 'would run: true (check: ********)', proc.report
        assert scan['token']['msg'] == 'token=********', proc.report
        # a scan runs only check commands: nothing changed
        assert host.exec('test -e /root/marker || test -e /root/fix-runs', check=False).returncode == 1
        assert host.exec('systemctl is-enabled %s' % UNIT, check=False).stdout.strip() == 'disabled'
        assert host.exec('stat -c %a /srv/app/.env').stdout.strip() == '644'
        assert count(host, TRANSACTIONS) == transactions
        assert host.exec('command -v jq || command -v curl || command -v git', check=False).returncode != 0
        time.sleep(3)  # the hung check's child would have touched its file by now
        assert host.exec('test -e %s' % marker, check=False).returncode == 1, 'the hung check left a child'
        scan_seconds = proc.seconds

        logins = host.ssh_logins()
        proc, fix, fix_log = run(ansible_env, hosts, tmp_path, 'fix', key, marker)
        log += fix_log
        assert proc.returncode != 0, proc.report
        assert host.ssh_logins() - logins == 1, proc.report
        assert statuses(fix) == {
            'git-missing': 'fixed', 'app-enabled': 'fixed', 'app-port': 'fixed', 'env-file-mode': 'fixed',
            'hangs': 'failed', 'fix-fails': 'failed', 'by-hand': 'manual', 'jq': 'fixed', 'marker': 'fixed',
            'key-line': 'failed', 'token': 'ok'}, proc.report
        assert fix['app-enabled']['msg'] == 'done: run: systemctl enable --now app.service (check: disabled)'
        assert fix['app-port']['msg'] == 'done: install curl (check: curl: command not found)', proc.report
        assert fix['fix-fails']['msg'] == ('fix systemctl enable factiii-nosuch.service failed: Failed to enable '
                                           'unit: Unit file factiii-nosuch.service does not exist.'), proc.report
        assert fix['key-line']['msg'] == 'still not right after the fix: ********', proc.report
        # curl and jq joined git's one transaction
        assert count(host, TRANSACTIONS) == transactions + 1, proc.report
        last = host.exec("grep '^Commandline:' /var/log/apt/history.log | tail -1").stdout
        assert last.split()[-3:] == ['git', 'curl', 'jq'], last
        assert host.exec('systemctl is-enabled %s' % UNIT).stdout.strip() == 'enabled'
        assert host.exec('stat -c %a /srv/app/.env').stdout.strip() == '600'
        assert host.exec('cat /root/fix-runs').stdout.split() == ['run']

        logins = host.ssh_logins()
        proc, again, again_log = run(ansible_env, hosts, tmp_path, 'again', key, marker)
        log += again_log
        assert host.ssh_logins() - logins == 1, proc.report
        assert statuses(again) == {
            'git-missing': 'ok', 'app-enabled': 'ok', 'app-port': 'ok', 'env-file-mode': 'ok', 'hangs': 'failed',
            'fix-fails': 'failed', 'by-hand': 'manual', 'jq': 'ok', 'marker': 'ok', 'key-line': 'failed',
            'token': 'ok'}, proc.report
        assert (again['app-enabled']['msg'], again['app-port']['msg'], again['env-file-mode']['msg']) == (
            'enabled', 'check passed', 'check passed'), proc.report
        assert count(host, TRANSACTIONS) == transactions + 1
        assert host.exec('cat /root/fix-runs').stdout.split() == ['run']  # the fix did not run again

        # no secret in a row, the output, Ansible's log, or the host's journal
        journal = host.exec('journalctl --no-pager -o cat').stdout
        for secret in secrets:
            for name, text in (('output', proc.stdout + proc.stderr), ('log and results', log),
                               ('journal', journal)):
                assert secret not in text, '%s shows a secret line' % name
    print('scan with a check hanging 60 s under timeout 2: %.1f s' % scan_seconds)
