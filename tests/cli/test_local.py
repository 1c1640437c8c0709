"""The factiii CLI's local stages, for real on this machine (through ansible-runner).

`factiii scan --dev` is a scan: it must change nothing, so it runs everywhere
(unlike tests/integration's fix of the dev stage). What it reports is compared
with what `ansible-playbook playbooks/scan.yml -l dev` reports on this machine
at the same time: on a converged dev host both say Fixed 0.
"""
import json
import os
import signal
import subprocess
import time

import pytest

from support import ROOT, tool


def machine_state():
    """What a scan must not change: installed packages, pnpm and docker on PATH, dockerd running."""
    packages = subprocess.run(['dpkg-query', '-W'], capture_output=True, text=True, check=False).stdout
    found = dict((name, subprocess.run(['sh', '-c', 'command -v %s' % name], capture_output=True, text=True,
                                       check=False).stdout.strip()) for name in ('git', 'node', 'pnpm', 'docker'))
    dockerd = False
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/%s/comm' % pid) as comm:
                dockerd = dockerd or comm.read().strip() == 'dockerd'
        except OSError:
            pass
    return {'packages': packages.splitlines(), 'commands': found, 'dockerd': dockerd}


def reference_scan(ansible_env, tmp_path):
    """The dev stage's results as ansible-playbook reports them (the README's own command)."""
    results = tmp_path / 'reference.json'
    env = dict(ansible_env, FACTIII_RESULTS_JSON=str(results))
    proc = subprocess.run([tool('ansible-playbook'), 'playbooks/scan.yml', '-l', 'dev'], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert 'RESULTS BY STAGE' in proc.stdout, proc.stdout + proc.stderr
    with open(results) as handle:
        return json.load(handle)


def statuses(report, stage):
    return sorted((r['fix_id'], r['status']) for h in report['stages'][stage]['hosts'].values() for r in h['results'])


def test_scan_dev_runs_here_and_changes_nothing(ansible_env, cli_env, factiii, tmp_path):
    expected = reference_scan(ansible_env, tmp_path)
    before = machine_state()
    out = tmp_path / 'cli.json'

    proc = factiii('scan', '--dev', '--json', str(out), env=cli_env)

    failed = expected['total']['failed']
    assert proc.returncode == (1 if failed else 0), proc.report
    assert 'Traceback' not in proc.stdout + proc.stderr, proc.report
    assert proc.stdout.startswith('RESULTS BY STAGE\n\nDEV:\n'), proc.report
    assert 'TOTAL: Would fix: %d, Manual: %d, Failed: %d' % (
        expected['total']['fixed'], expected['total']['manual'], failed) in proc.stdout, proc.report
    with open(out) as handle:
        data = json.load(handle)
    assert data['check_mode'] is True
    assert list(data['stages']) == ['dev']
    assert statuses(data, 'dev') == statuses(expected, 'dev')
    # a progress line for each fix, as the stage's result came in
    for fix_id, status in statuses(data, 'dev'):
        assert '[dev] localhost: %s ' % fix_id in proc.stderr, proc.report
    assert machine_state() == before, 'the scan changed this machine'


def test_scan_dev_and_staging_is_one_merged_table(ansible_env, cli_env, factiii, fake, cb, tmp_path):
    expected_dev = reference_scan(ansible_env, tmp_path)
    staging = cb.new_report()
    cb.add_results(staging, 'staging', 'mac-mini', [
        {'fix_id': 'staging-docker-autostart', 'status': 'manual', 'msg': 'Docker Desktop starts at login, not at boot',
         'steps': ['System Settings > Users & Groups > Automatically log in as admin']},
        {'fix_id': 'staging-git-missing', 'status': 'ok', 'msg': 'git is installed', 'steps': []}], check_mode=True)
    fake.plan('factiii-scan.yml', artifacts={'factiii-results-scan': {'scan-staging.json': cb.ordered(staging)}})
    out = tmp_path / 'cli.json'

    proc = factiii('scan', '--dev', '--staging', '--repo', 'acme/app', '--poll-interval', '0.1', '--json', str(out),
                   env=cli_env)

    data = json.load(open(out))
    assert list(data['stages']) == ['dev', 'staging'], proc.report
    assert statuses(data, 'dev') == statuses(expected_dev, 'dev')
    assert data['stages']['staging']['manual'] == 1
    failed = expected_dev['total']['failed']
    assert proc.returncode == (1 if failed else 0), proc.report
    text = proc.stdout
    assert text.count('RESULTS BY STAGE') == 1, text
    assert text.index('DEV:') < text.index('STAGING:') < text.index('TOTAL:'), text
    assert '   Manual: staging-docker-autostart: Docker Desktop starts at login, not at boot\n' \
           '      - System Settings > Users & Groups > Automatically log in as admin' in text
    assert 'TOTAL: Would fix: %d, Manual: %d, Failed: %d' % (
        expected_dev['total']['fixed'], expected_dev['total']['manual'] + 1, failed) in text
    # the text is the callback's own, for the merged report
    assert text == cb.format_report(data) + '\n'
    assert [d['workflow'] for d in fake.dispatches] == ['factiii-scan.yml']


def test_broken_inventory_is_one_line(cli_env, factiii, tmp_path):
    inventory = tmp_path / 'broken.yml'
    inventory.write_text('all:\n  children:\n    dev:\n      hosts: [oops\n')

    proc = factiii('scan', '--dev', '--inventory', str(inventory), env=cli_env)

    assert proc.returncode == 2, proc.report
    assert 'Traceback' not in proc.stderr, proc.report
    last = proc.stderr.rstrip('\n').splitlines()[-1]
    assert last.startswith('factiii: error: the local run of dev (factiii.infra.scan) failed before reporting a failed '
                           'fix: '), proc.report
    assert str(inventory) in last, proc.report


def test_scan_staging_on_server_runs_here(cli_env, factiii, tmp_path):
    """--on-server: the staging stage on this machine with a local connection, no GitHub involved."""
    app = tmp_path / 'srv' / 'app'
    env = dict(cli_env, APP_REPO_URL='https://git.example.invalid/acme/app.git', APP_DIR=str(app))
    env.pop('GITHUB_TOKEN')
    out = tmp_path / 'cli.json'
    before = machine_state()

    proc = factiii('scan', '--staging', '--on-server', '--json', str(out), env=env)

    with open(out) as handle:
        data = json.load(handle)
    assert list(data['stages']) == ['staging'], proc.report
    assert list(data['stages']['staging']['hosts']) == ['staging-local']
    assert proc.returncode == (1 if data['total']['failed'] else 0), proc.report
    rows = dict(statuses(data, 'staging'))
    # the scan asks the remote (git is here) and .invalid never answers: Failed, as the clone would be
    assert rows['staging-repo-not-cloned'] == 'failed', proc.report
    assert 'Failed: staging-repo-not-cloned: git ls-remote https://git.example.invalid/acme/app.git failed: ' \
        in proc.stdout, proc.report
    assert '[staging] staging-local: staging-repo-not-cloned FAILED: git ls-remote ' in proc.stderr, proc.report
    assert not app.parent.exists(), 'the scan created the app directory'
    assert machine_state() == before, 'the scan changed this machine'


def test_on_server_stage_without_its_settings_is_a_failed_row_naming_it(cli_env, factiii):
    env = dict(cli_env)
    for name in ('APP_REPO_URL', 'APP_DIR'):
        env.pop(name, None)

    proc = factiii('scan', '--prod', '--on-server', env=env)

    assert proc.returncode == 1, proc.report
    assert 'Traceback' not in proc.stdout + proc.stderr, proc.report
    assert '   Failed: prod-task-failed: Set APP_REPO_URL to the app repository, e.g. git@github.com:OWNER/APP.git' \
        in proc.stdout.splitlines(), proc.report


def _descendants(pid):
    """The processes started (directly or not) by ``pid``: ansible-runner's child sits in its own session."""
    children = {}
    for entry in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/stat' % entry) as handle:
                ppid = int(handle.read().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _files_holding(root, secret):
    found = []
    for base, dirs, files in os.walk(str(root)):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(base, d))]:
            path = os.path.join(base, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, 'rb') as handle:
                if secret.encode() in handle.read():
                    found.append(path)
    return found


def test_a_killed_local_run_leaves_no_token_on_disk(cli_env, fake, tmp_path):
    """ansible-runner writes the environment it starts to artifacts/<ident>/command; kill -9 the CLI
    while the secrets stage waits for GitHub, then look at every file left: the token is in none."""
    tmp, home = tmp_path / 'tmp', tmp_path / 'home'
    tmp.mkdir()
    home.mkdir()
    token = 'ghp_' + 'k1LL3d' * 6  # the CLI's token, also in GH_TOKEN of the shell
    fake.token = token
    env = dict(cli_env, TMPDIR=str(tmp), HOME=str(home), GITHUB_TOKEN=token, GH_TOKEN=token, GITHUB_REPOSITORY='acme/app')
    held = fake.hold(r'/actions/secrets$')
    proc = subprocess.Popen([tool('factiii'), 'scan', '--secrets'], env=env, cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert held['seen'].wait(240), 'the secrets stage never asked GitHub'
        killed = [proc.pid] + _descendants(proc.pid)
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
    finally:
        fake.release()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (out, err)
    # the token reached the secrets stage (through its terminal, not a file)...
    assert held['requests'][0]['authorization'] in ('token %s' % token, 'Bearer %s' % token), held['requests']
    # ...the run was caught in the middle: ansible-runner's directory and its command file are there...
    commands = [os.path.join(base, 'command') for base, dirs, files in os.walk(str(tmp)) if 'command' in files]
    assert len(commands) == 1, os.listdir(str(tmp))
    # ...and no file anywhere under it, the temporary directory or HOME holds the token
    assert _files_holding(tmp_path, token) == []
    with open(commands[0]) as handle:
        started = json.load(handle)
    assert 'factiii.infra.scan' in started['command']
    assert (started['env']['GITHUB_TOKEN'], started['env']['GH_TOKEN']) == ('', '')


@pytest.mark.parametrize('command', ['scan', 'fix'])
@pytest.mark.parametrize('number', [signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
def test_a_stopped_local_run_stops_ansible_and_removes_its_directory(cli_env, fake, tmp_path, number, command):
    """A closed terminal (SIGHUP), kill or Ctrl-C while the secrets stage waits for GitHub: the signal goes on to
    ansible-playbook, whose report (the secrets stage interrupted) the CLI prints before it exits 130;
    ansible-playbook is stopped, ansible-runner's directory (the environment of this shell is in its command
    file) removed."""
    tmp = tmp_path / 'tmp'
    tmp.mkdir()
    env = dict(cli_env, TMPDIR=str(tmp), GITHUB_REPOSITORY='acme/app')
    held = fake.hold(r'/actions/secrets$')
    json_path = tmp_path / 'all.json'
    proc = subprocess.Popen([tool('factiii'), command, '--secrets', '--json', str(json_path)], env=env,
                            cwd=str(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert held['seen'].wait(240), 'the secrets stage never asked GitHub'
        assert len(os.listdir(str(tmp))) == 1
        playbook = _descendants(proc.pid)
        proc.send_signal(number)
        out, err = proc.communicate(timeout=60)  # GitHub still has not answered
    finally:
        fake.release()
    assert proc.returncode == 130, (out, err)
    assert err.rstrip('\n').splitlines()[-1].startswith('factiii: interrupted'), err
    # ansible-playbook got SIGINT for SIGINT, SIGTERM for the others
    name = 'SIGINT' if number == signal.SIGINT else 'SIGTERM'
    if command == 'scan':
        why = 'interrupted by %s during the scan of secrets: nothing was changed; run the scan again' % name
    else:
        why = ('interrupted by %s during the fix of secrets: a fix may be half done or still running on this host (a package '
               'install already started there goes on to its end, and a new run waits for it); run the fix of '
               'secrets again' % name)
    fixed = 'Would fix' if command == 'scan' else 'Fixed'
    assert out.splitlines() == ['RESULTS BY STAGE', '', 'SECRETS:', '   %s: 0, Manual: 0, Failed: 1' % fixed,
                                '   Failed: secrets-interrupted: ' + why, '',
                                'TOTAL: %s: 0, Manual: 0, Failed: 1' % fixed], (out, err)
    data = json.loads(json_path.read_text())
    row, = [r for h in data['stages']['secrets']['hosts'].values() for r in h['results']]
    assert (row['fix_id'], row['status'], row['msg']) == ('secrets-interrupted', 'failed', why)
    assert data['check_mode'] is (command == 'scan')
    assert os.listdir(str(tmp)) == []
    # ansible-playbook was killed; a worker of it (in a session of its own) ends with its request
    deadline = time.monotonic() + 30
    alive = playbook
    while alive and time.monotonic() < deadline:
        time.sleep(0.5)
        alive = [pid for pid in alive if os.path.exists('/proc/%d' % pid)
                 and open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()[0] != 'Z']
    assert alive == []


class Lines:
    def __init__(self):
        self.lines = []

    def line(self, text):
        self.lines.append(text)


@pytest.mark.parametrize('action, shown', [('factiii.infra.report', False), ('ansible.builtin.command', True)])
def test_a_failed_report_task_is_no_progress_line_of_its_own(action, shown):
    """The report task fails the run after a failed fix: RESULTS BY STAGE says which, once."""
    from factiii_cli.local import Events
    progress = Lines()
    Events(progress, check_mode=False)({'event': 'runner_on_failed', 'event_data': {
        'host': 'h1', 'play': 'Report', 'resolved_action': action, 'task': 'Report',
        'res': {'failed': True, 'msg': '1 failed fix or unreachable host: see RESULTS BY STAGE'}}})
    assert bool(progress.lines) is shown, progress.lines


def test_stop_sends_the_first_signal_on_then_cancels_at_the_second_or_after_its_grace(monkeypatch):
    """ansible-runner's cancel (SIGKILL to the process group: no report) only when forwarding cannot help."""
    from factiii_cli.local import Stop
    child = subprocess.Popen(['sleep', '60'], start_new_session=True)  # leads its group, as runner's child does
    try:
        stop = Stop()
        stop.started(child.pid)
        stop._handler(signal.SIGHUP, None)  # a closed terminal: SIGTERM to ansible-playbook, which handles it
        assert child.wait(timeout=10) == -signal.SIGTERM
        assert stop() is False  # its report is being written: no cancel yet
        now = time.monotonic()
        monkeypatch.setattr('factiii_cli.local.time.monotonic', lambda: now + Stop.GRACE + 1)
        assert stop() is True  # it did not end within the grace
        monkeypatch.undo()
        stop = Stop()
        stop.started(child.pid)
        stop._handler(signal.SIGINT, None)  # gone already: cancel at once
        assert stop() is True
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    stop = Stop()
    stop._handler(signal.SIGINT, None)  # before ansible-playbook started its playbook: nothing ran, cancel
    assert stop() is True
    other = subprocess.Popen(['sleep', '60'])  # not a group leader: never signalled
    try:
        stop = Stop()
        stop.started(other.pid)
        stop._handler(signal.SIGTERM, None)
        assert stop() is True and other.poll() is None
    finally:
        other.kill()
        other.wait()
    child = subprocess.Popen(['sleep', '60'], start_new_session=True)
    try:
        stop = Stop()
        stop.started(child.pid)
        stop._handler(signal.SIGINT, None)
        assert child.wait(timeout=10) == -signal.SIGINT
        stop._handler(signal.SIGINT, None)  # a second Ctrl-C: stop now
        assert stop() is True
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.mark.parametrize('number', [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_while_a_workflow_is_followed_prints_the_stages_that_ran_then_exits_130(
        cli_env, fake, cb, tmp_path, number):
    """`factiii scan --dev --staging`: dev ran here, staging's workflow is being started when Ctrl-C or kill
    comes: the report of dev is printed (and --json written), then exit 130 (SIGTERM too, not killed by it)."""
    fake.plan('factiii-scan.yml')
    held = fake.hold(r'/dispatches$')
    out_json = tmp_path / 'cli.json'
    proc = subprocess.Popen([tool('factiii'), 'scan', '--dev', '--staging', '--repo', 'acme/app', '--poll-interval',
                             '0.1', '--json', str(out_json)], env=cli_env, cwd=str(tmp_path),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert held['seen'].wait(300), 'the staging workflow was never started'
        proc.send_signal(number)
        out, err = proc.communicate(timeout=60)
    finally:
        fake.release()
    assert proc.returncode == 130, (out, err)
    assert err.rstrip('\n').splitlines()[-1].startswith('factiii: interrupted'), err
    data = json.loads(out_json.read_text())
    assert list(data['stages']) == ['dev'], data
    assert out == cb.format_report(data) + '\n'
