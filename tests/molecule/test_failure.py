"""Scenario `failure`: a fix that cannot succeed, and a staging host that cannot be reached.

factiii-fail is a bare container reached over SSH whose app repository is on a git
host that does not resolve; factiii-fail-unreachable is an inventory host only (no
container, nothing listening on its loopback port). The fix run must fail loudly and
cleanly: both problems are failed rows of STAGING with their reasons, git (the other
fix) is installed anyway, nothing half-cloned is left behind, no traceback. A scan
afterwards never promises the clone (issue 14): it asks the remote (git ls-remote) and says
Failed with the same reason as the fix, beside the unreachable host.
"""
import re
import socket

import pytest

from scenario import docker_exec, results, rows, scenario_fixture

failure = scenario_fixture('failure')

HOST, GONE = 'factiii-fail', 'factiii-fail-unreachable'
GONE_PORT = 22222
REPO_URL = 'root@factiii-nowhere:/srv/git/app.git'
ITEM = re.compile(r'^   (Fixed|Would fix|Manual|Failed): (\S+) \[(\S+)\]: (.*)$')
LABELS = {'Fixed': 'fixed', 'Would fix': 'fixed', 'Manual': 'manual', 'Failed': 'failed'}
COUNTS = r'(?:Fixed|Would fix): \d+, Manual: \d+, Failed: \d+$'
REPORT_LINES = ('RESULTS BY STAGE$', '$', '[A-Z]+:$', '   ' + COUNTS, r'      \S+: ' + COUNTS, 'TOTAL: ' + COUNTS)


def report_block(stdout):
    """The RESULTS BY STAGE block of a run's output, from its title to the TOTAL line."""
    match = re.search(r'^RESULTS BY STAGE\n.*?^TOTAL: [^\n]*$', stdout, re.M | re.S)
    assert match, 'no RESULTS BY STAGE in the output:\n%s' % stdout[-5000:]
    return match.group(0)


def report_items(block):
    """{(fix_id, host): (status, msg)} of the listed items; every line must be a whole line of the
    report (a message that went on over several lines would leave a line matching none)."""
    items = {}
    for line in block.splitlines():
        match = ITEM.match(line)
        if match:
            label, fix_id, host, msg = match.groups()
            items[(fix_id, host)] = (LABELS[label], msg)
        else:
            assert any(re.match(pattern, line) for pattern in REPORT_LINES), 'not a line of the report: %r' % line
    return items


def assert_json_matches_text(data, block):
    """The JSON file holds the same counts and the same listed fixes as the printed report
    (a scan's "fixed" counts and rows say Would fix)."""
    fixed = 'Would fix' if data['check_mode'] else 'Fixed'
    staging = data['stages']['staging']
    counts = '%s: %d, Manual: %d, Failed: %d' % (fixed, staging['fixed'], staging['manual'], staging['failed'])
    assert 'STAGING:\n   %s\n' % counts in block, (counts, block)
    for host in (HOST, GONE):
        entry = staging['hosts'][host]
        assert '      %s: %s: %d, Manual: %d, Failed: %d' % (
            host, fixed, entry['fixed'], entry['manual'], entry['failed']) in block, (host, block)
    total = data['total']
    assert block.endswith('TOTAL: %s: %d, Manual: %d, Failed: %d' % (
        fixed, total['fixed'], total['manual'], total['failed']))
    assert not re.search(r'^ *%s: ' % ('Fixed' if data['check_mode'] else 'Would fix'), block, re.M), block
    listed = dict(((r['fix_id'], host), (r['status'], r['msg']))
                  for host, entry in staging['hosts'].items()
                  for r in entry['results'] if r['status'] != 'ok')
    assert report_items(block) == listed


def assert_no_traceback(proc):
    for stream in (proc.stdout, proc.stderr):
        assert 'Traceback (most recent call last)' not in stream, proc.report


def recap(stdout, host):
    match = re.search(r'^%s\s+: (.*)$' % re.escape(host), stdout, re.M)
    assert match, 'no recap line for %s' % host
    return dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', match.group(1)))


def test_nothing_listens_on_the_unreachable_hosts_port():
    # The premise of the scenario: if something answered there, the test would prove nothing.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        assert sock.connect_ex(('127.0.0.1', GONE_PORT)) != 0, 'something listens on 127.0.0.1:%d' % GONE_PORT


def test_fix_fails_with_each_reason_and_still_installs_git(failure, tmp_path):
    proc = failure.run('converge', results=tmp_path / 'fix.json', check=False)
    assert proc.returncode != 0, proc.report
    assert_no_traceback(proc)
    block = report_block(proc.stdout)
    data = results(tmp_path / 'fix.json')
    assert data['check_mode'] is False

    assert block.startswith('RESULTS BY STAGE\n\nSTAGING:\n   Fixed: 1, Manual: 0, Failed: 2\n'), block
    assert data['stages']['staging']['failed'] >= 2
    assert list(data['stages']) == ['staging']
    assert_json_matches_text(data, block)

    # git, the other fix, is installed although the clone then fails
    fail = rows(data, 'staging', HOST)
    assert {k: r['status'] for k, r in fail.items()} == {
        'staging-git-missing': 'fixed', 'staging-repo-not-cloned': 'failed'}
    assert docker_exec(HOST, 'git --version').stdout.startswith('git version ')

    # the clone's failure: one line, with the reason git gave
    reason = re.search(r'^   Failed: staging-repo-not-cloned \[%s\]: git clone failed: (.+)$' % HOST, block, re.M)
    assert reason, block
    assert fail['staging-repo-not-cloned']['msg'] == 'git clone failed: ' + reason.group(1)
    # ssh's line says why, not git's generic 'fatal: Could not read from remote repository.'
    assert 'Could not resolve hostname factiii-nowhere' in reason.group(1), reason.group(1)
    # and it is one of the lines the same clone, by hand, prints
    by_hand = docker_exec(HOST, 'work=$(mktemp -d) && GIT_SSH_COMMAND="ssh -o BatchMode=yes" '
                                'git clone -q %s "$work/probe" 2>&1; rc=$?; rm -rf "$work"; exit $rc' % REPO_URL)
    assert by_hand.returncode != 0
    assert reason.group(1) in [line.strip() for line in by_hand.stdout.splitlines()], (reason.group(1), by_hand.stdout)

    # the host that cannot be reached: a failed row of its stage, with ssh's reason
    gone = rows(data, 'staging', GONE)
    assert list(gone) == ['staging-host-unreachable']
    assert gone['staging-host-unreachable']['status'] == 'failed'
    assert re.search(r'^   Failed: staging-host-unreachable \[%s\]: .*port %d: Connection refused$' % (GONE, GONE_PORT),
                     block, re.M), block
    assert recap(proc.stdout, GONE)['unreachable'] == 1
    assert recap(proc.stdout, HOST)['failed'] == 1


@pytest.mark.usefixtures('failure')
def test_a_failed_clone_leaves_nothing_behind():
    # neither repo_dest nor the temporary clone beside it (both in /srv), nor the deploy key
    proc = docker_exec(HOST, 'ls -A /srv')
    assert proc.returncode == 0 and proc.stdout.strip() == '', 'left in /srv by the failed clone:\n' + proc.stdout
    proc = docker_exec(HOST, 'ls -d /tmp/factiii-ssh-* /root/.ansible/tmp/factiii-ssh-* 2>/dev/null; '
                             'grep -rl "OPENSSH PRIVATE KEY" /tmp /srv /root 2>/dev/null | grep -v "^/root/.ssh/" || true')
    assert proc.stdout.strip() == '', 'left behind by the failed clone:\n' + proc.stdout


def test_scan_says_the_clone_fails_as_the_fix_did_and_the_host_unreachable(failure, tmp_path):
    # molecule's own `check` command would destroy and re-create the hosts first
    proc = failure.run('converge', '--', '--check', results=tmp_path / 'scan.json', check=False)
    assert proc.returncode != 0, proc.report
    assert_no_traceback(proc)
    block = report_block(proc.stdout)
    data = results(tmp_path / 'scan.json')
    assert data['check_mode'] is True
    assert_json_matches_text(data, block)

    fail = rows(data, 'staging', HOST)
    assert {k: r['status'] for k, r in fail.items()} == {
        'staging-git-missing': 'ok', 'staging-repo-not-cloned': 'failed'}
    # git is there now: the scan asks the remote, read-only, and gets ssh's reason, as the clone did
    reason = re.search(r'^   Failed: staging-repo-not-cloned \[%s\]: git ls-remote %s failed: (.+)$'
                       % (HOST, re.escape(REPO_URL)), block, re.M)
    assert reason, block
    assert 'Could not resolve hostname factiii-nowhere' in reason.group(1), reason.group(1)
    assert 'would clone' not in block
    assert data['total']['failed'] == 2
    assert list(rows(data, 'staging', GONE)) == ['staging-host-unreachable']
    assert recap(proc.stdout, GONE)['unreachable'] == 1
    assert docker_exec(HOST, 'ls -A /srv').stdout.strip() == ''
