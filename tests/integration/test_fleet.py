"""Issue 18: a stage's hosts fanned out over parallel jobs (workflow-templates/factiii-fleet.yml),
on real SSH test hosts.

The workflow's own step scripts run here as its jobs would: the plan job's split with the real
`ansible`, each slice job's run as a separate ansible-playbook process (all at once, through the
real bin/factiii-ssh-run, host keys pinned), and the summary job's merge (factiii-summary
--slices). The merged RESULTS BY STAGE must be the one-job report of the same scan: the same
rows, the same totals, the same text.
"""
import json
import os
import subprocess
import time

import pytest
import yaml

from support import tool
from testhost import TestHosts

pytestmark = pytest.mark.skipif(os.environ.get('FACTIII_INTEGRATION') != '1',
                                reason='real hosts: set FACTIII_INTEGRATION=1 (scripts/test does)')

PREFIX, BASE_PORT, COUNT = 'fo18', 24280, 4
TEMPLATE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        'workflow-templates', 'factiii-fleet.yml')
SLICE_STEP = 'Run the stage on this slice (one SSH connection per host)'


@pytest.fixture(scope='module')
def fleet(test_host_image, tmp_path_factory):
    workdir = tmp_path_factory.mktemp('fleet')
    with TestHosts(PREFIX, COUNT, workdir, base_port=BASE_PORT) as hosts:
        # as an app repository's inventory: the address only; key and host keys come from
        # factiii-ssh-run (STAGING_SSH, STAGING_KNOWN_HOSTS)
        inventory = workdir / 'hosts.yml'
        inventory.write_text(yaml.safe_dump({'all': {'children': {'staging': {
            'hosts': dict((h.name, {'ansible_host': '127.0.0.1', 'ansible_port': h.port, 'ansible_user': 'root',
                                    'ansible_python_interpreter': '/usr/bin/python3'}) for h in hosts.hosts),
            'vars': {'staging_repo_url': 'root@factiii-nowhere:/srv/git/app.git', 'staging_repo_dest': '/srv/app'},
        }}}}))
        with open(hosts.key) as handle:
            key = handle.read()
        with open(hosts.known_hosts) as handle:
            known = handle.read()
        yield {'hosts': hosts, 'inventory': str(inventory), 'key': key, 'known': known}


def _step(job, name):
    with open(TEMPLATE) as handle:
        workflow = yaml.safe_load(handle)
    step, = [s for s in workflow['jobs'][job]['steps'] if s.get('name') == name]
    return workflow, step


def _env(workflow, built_collection, temp, **extra):
    """The runner's environment for a step: the workflow's env, the installed collection's bin/ and
    ansible on PATH (what the install step puts in GITHUB_PATH / GITHUB_ENV)."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_') and k != 'FACTIII_RESULTS_JSON')
    env.update({k: v for k, v in workflow['env'].items() if '${{' not in v})
    collections = str(built_collection[1])
    env.update(ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               RUNNER_TEMP=str(temp), FACTIII_RESULTS=str(temp / 'factiii-results'),
               GITHUB_OUTPUT=str(temp / 'output'), GITHUB_STEP_SUMMARY=str(temp / 'summary'),
               PATH=os.pathsep.join([os.path.join(collections, 'ansible_collections', 'factiii', 'infra', 'bin'),
                                     os.path.dirname(tool('ansible-playbook')), os.environ['PATH']]))
    env.update(extra)
    return env


def _start(step, env, cwd):
    return subprocess.Popen(['bash', '-e', '-c', step['run']], env=env, cwd=str(cwd), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc, timeout=900):
    out, err = proc.communicate(timeout=timeout)
    proc.report = 'rc=%s\n--- stdout\n%s\n--- stderr\n%s' % (proc.returncode, out[-20000:], err[-5000:])
    proc.out = out
    return proc


def test_a_scan_in_two_slices_merges_into_the_one_job_report(fleet, built_collection, tmp_path):
    from ansible_collections.factiii.infra.plugins.plugin_utils import results as cb
    temp = tmp_path / 'runner'
    (temp / 'factiii-results').mkdir(parents=True)
    (temp / 'output').write_text('')
    (temp / 'summary').write_text('')
    app = tmp_path / 'app'  # the checkout: no ansible.cfg, as an app repository may have none
    app.mkdir()

    # the plan job
    workflow, plan = _step('plan', "Split the stage's hosts into slices")
    proc = _finish(_start(plan, _env(workflow, built_collection, temp, STAGE='staging', SLICES='2',
                                     ANSIBLE_INVENTORY=fleet['inventory']), app))
    assert proc.returncode == 0, proc.report
    outputs = dict(line.split('=', 1) for line in (temp / 'output').read_text().splitlines())
    matrix = json.loads(outputs['matrix'])['include']
    assert [m['limit'] for m in matrix] == ['staging[0:1]', 'staging[2:3]'] and outputs['count'] == '2'

    # the slice jobs: separate ansible-playbook processes at the same time, each on its own runner
    dummy, slice_step = _step('slice', SLICE_STEP)
    logins = [h.ssh_logins() for h in fleet['hosts'].hosts]
    secrets = dict.fromkeys(('STAGING_HOST', 'STAGING_USER', 'PROD_SSH', 'PROD_KNOWN_HOSTS', 'PROD_HOST',
                             'PROD_USER', 'APP_REPO_URL'), '')
    running = []
    start = time.monotonic()
    for item in matrix:
        runner = tmp_path / ('runner-%d' % item['slice'])
        (runner / 'factiii-results').mkdir(parents=True)
        env = _env(workflow, built_collection, runner, STAGE='staging', RUN='scan', LIMIT=item['limit'],
                   SLICE=str(item['slice']), STAGING_SSH=fleet['key'], STAGING_KNOWN_HOSTS=fleet['known'],
                   ANSIBLE_INVENTORY=fleet['inventory'], **secrets)
        running.append((runner, _start(slice_step, env, app)))
    finished = [(runner, _finish(proc)) for runner, proc in running]
    fanned = time.monotonic() - start
    for runner, proc in finished:
        assert proc.returncode == 0, proc.report
        assert proc.out.splitlines().count('RESULTS BY STAGE') == 1, proc.report
    # each host scanned once (one SSH login), by exactly one slice
    assert [h.ssh_logins() - n for h, n in zip(fleet['hosts'].hosts, logins)] == [1] * COUNT
    slices = []
    for index, (runner, dummy) in enumerate(finished):
        path = runner / 'factiii-results' / ('slice-%d.json' % (index + 1))
        slices.append(json.loads(path.read_text()))
        # the artifacts, downloaded by the summary job into one directory
        (temp / 'factiii-results' / path.name).write_bytes(path.read_bytes())
    names = fleet['hosts'].names
    assert [sorted(s['stages']['staging']['hosts']) for s in slices] == [names[:2], names[2:]]

    # the summary job's merge
    dummy, merge = _step('summary', 'Merge the slices into one RESULTS BY STAGE')
    proc = _finish(_start(merge, _env(workflow, built_collection, temp, COUNT=outputs['count']), app))
    assert proc.returncode == 0, proc.report
    merged_markdown = (temp / 'summary').read_text()
    assert proc.out == merged_markdown, 'printed in the log and written to the job summary'

    # the same scan as one job
    one = tmp_path / 'one'
    (one / 'factiii-results').mkdir(parents=True)
    env = _env(workflow, built_collection, one, FACTIII_RESULTS_JSON=str(one / 'whole.json'),
               STAGING_SSH=fleet['key'], STAGING_KNOWN_HOSTS=fleet['known'], ANSIBLE_INVENTORY=fleet['inventory'])
    start = time.monotonic()
    proc = _finish(_start({'run': 'factiii-ssh-run staging -- ansible-playbook factiii.infra.scan -l staging'}, env,
                          app))
    whole_seconds = time.monotonic() - start
    assert proc.returncode == 0, proc.report
    whole = json.loads((one / 'whole.json').read_text())

    merged = cb.new_report()
    for data in slices:
        cb.add_slice(merged, data)
    assert cb.ordered(merged) == whole, 'the same rows and totals as one job'
    assert whole['check_mode'] is True and sorted(whole['stages']['staging']['hosts']) == names
    assert sum(whole['total'].values()) >= COUNT * 5, whole['total']  # a real scan, rows on every host
    summary = subprocess.run([os.path.join(str(built_collection[1]), 'ansible_collections', 'factiii', 'infra', 'bin',
                                           'factiii-summary'), str(one / 'whole.json')],
                             capture_output=True, text=True, check=True)
    assert merged_markdown == summary.stdout, 'the merged job summary is the one-job summary'
    print('2 slices at once: %.1f s; one job: %.1f s' % (fanned, whole_seconds))

    # a slice whose artifact is missing is no success
    (temp / 'factiii-results' / 'slice-2.json').unlink()
    (temp / 'summary').write_text('')
    proc = _finish(_start(merge, _env(workflow, built_collection, temp, COUNT=outputs['count']), app))
    assert proc.returncode == 1, proc.report
    assert 'slice-2.json**: no results' in proc.out
