"""Issue 14, point 6 on a real host: deploy's own steps are rows of RESULTS BY STAGE.

A Debian test host (tests/testhost.py; prefix t14dp, loopback ports 23960-23969) and the tiny
app of test_deploy.py (whose helpers this file uses): playbooks/deploy.yml -l staging with
FACTIII_RESULTS_JSON set, then the text report and the JSON are read.

1. a good deploy: staging-deploy-checkout (checked out good <sha12>), -start (started),
   -health (healthy) are Fixed rows, rc 0, one SSH authentication;
2. a start command that fails: -start Failed with the command's rc and last stderr line,
   -rollback Fixed (the previous commit restored and restarted), rc non-zero, and the stage's
   counts line says Failed: 1 (not the old `Fixed: 0, Manual: 0, Failed: 0`);
3. the same without the callback enabled: the report play prints the same rows and writes the JSON;
4. node-missing Manual (bookworm's node 18 < the default 20): nothing checked out or started,
   one Failed row `staging-deploy-start: not started: staging-node-missing is manual`;
5. a host nothing listens for: its staging-host-unreachable row (with and without the callback),
   never a clean deploy.
"""
import json
import re
import subprocess
import sys

import pytest
import yaml

from support import molecule_helpers
from testhost import TestHosts


DEPLOY = molecule_helpers('test_deploy')
DEST, HEALTH, ORIGIN = DEPLOY.DEST, DEPLOY.HEALTH, DEPLOY.ORIGIN

PREFIX = 't14dp'
PORT = 23960  # this file's loopback ports: 23960-23969
GONE_PORT = 23969  # nothing listens there
FAILING_START = 'test -e public/health || { echo no health page >&2; exit 3; }; ' + \
    'systemctl stop app 2>/dev/null || true; ' + \
    'systemd-run --unit app --collect python3 -m http.server 8080 --bind 127.0.0.1 --directory %s/public' % DEST


@pytest.fixture(scope='module')
def app(test_host_image, ansible_env, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(PREFIX)
    bare, good, bad = DEPLOY.make_app(tmp)
    with TestHosts(PREFIX, 1, tmp, base_port=PORT) as hosts:
        subprocess.run(['docker', 'cp', str(bare), '%s:%s' % (hosts[0].name, ORIGIN)], check=True, capture_output=True)
        deploy = DEPLOY.Deploy(hosts, DEPLOY.staging_inventory(hosts, 'file://' + ORIGIN, health_retries=2), ansible_env, tmp)
        deploy.good, deploy.bad = good, bad
        yield deploy


def run(app, name, *args, host=None, **env):
    """ansible-playbook playbooks/deploy.yml -l staging ``args``: (proc, JSON, rows of ``host`` by fix id)."""
    results = app.tmp / ('%s.json' % name)
    saved = app.env
    app.env = dict(saved, FACTIII_RESULTS_JSON=str(results), **env)
    try:
        proc = app.run('-l', 'staging', *args)
    finally:
        app.env = saved
    assert results.exists(), proc.report
    data = json.loads(results.read_text())
    rows = dict((r['fix_id'], r) for r in data['stages']['staging']['hosts'][host or app.host.name]['results'])
    return proc, data, rows


def no_callback(app):
    """The project's ansible.cfg without its callbacks_enabled line."""
    cfg = app.tmp / 'no-callback.cfg'
    with open(app.env['ANSIBLE_CONFIG']) as handle:
        cfg.write_text(''.join(line for line in handle if not line.startswith('callbacks_enabled')))
    return str(cfg)


def deploy_rows(rows):
    return dict((k, (v['status'], v['msg'])) for k, v in rows.items() if k.startswith('staging-deploy-'))


def report_count(proc):
    return len(re.findall(r'^RESULTS BY STAGE$', proc.stdout, re.M))


def test_a_good_deploy_is_fixed_rows(app):
    logins = app.host.ssh_logins()
    proc, data, rows = run(app, 'good', '-e', 'deploy_ref=good')
    assert proc.returncode == 0, proc.report
    # the rows are built on the controller: still one SSH authentication for the whole deploy
    assert app.host.ssh_logins() - logins == 1, proc.report
    assert deploy_rows(rows) == {
        'staging-deploy-checkout': ('fixed', 'checked out good %s in %s' % (app.good[:12], DEST)),
        'staging-deploy-start': ('fixed', 'started good %s' % app.good[:12]),
        'staging-deploy-health': ('fixed', 'healthy: %s answered 200' % HEALTH),
    }, proc.report
    assert rows['staging-repo-not-cloned']['status'] == 'fixed'
    assert data['stages']['staging']['failed'] == 0
    assert report_count(proc) == 1, proc.report
    assert re.search(r'^   Fixed: staging-deploy-checkout: checked out good %s in %s$' % (app.good[:12], DEST),
                     proc.stdout, re.M), proc.report
    assert re.search(r'^   Fixed: staging-deploy-health: healthy: ', proc.stdout, re.M), proc.report
    assert '-task-failed' not in proc.stdout, proc.report


def test_a_failed_start_is_a_failed_row_and_the_rollback_a_row(app, summary_script):
    assert app.head() == app.good
    proc, data, rows = run(app, 'bad-start', '-e', 'deploy_ref=bad', '-e', json.dumps({'deploy_start_command': FAILING_START}))
    assert proc.returncode != 0, proc.report
    assert deploy_rows(rows) == {
        'staging-deploy-checkout': ('fixed', 'checked out bad %s in %s' % (app.bad[:12], DEST)),
        'staging-deploy-start': ('failed', 'start command failed (rc 3): no health page'),
        'staging-deploy-rollback': ('fixed', 'restored %s and restarted it, healthy' % app.good[:12]),
    }, proc.report
    assert data['stages']['staging']['failed'] == 1 and data['total']['failed'] == 1, data
    assert re.search(r'^STAGING:\n   Fixed: \d+, Manual: 0, Failed: 1$', proc.stdout, re.M), proc.report
    assert re.search(r'^   Failed: staging-deploy-start: start command failed \(rc 3\): no health page$',
                     proc.stdout, re.M), proc.report
    assert '-task-failed' not in proc.stdout, proc.report
    assert app.head() == app.good
    assert app.health() == '200 ok'
    # the job summary (factiii-summary of the same JSON) has the rows
    summary = subprocess.run([sys.executable, summary_script, str(app.tmp / 'bad-start.json')],
                             capture_output=True, text=True, check=False)
    assert summary.returncode == 0, summary.stdout + summary.stderr
    assert '   Failed: staging-deploy-start: start command failed (rc 3): no health page\n' in summary.stdout, summary.stdout
    assert '| STAGING | 2 | 0 | 1 |' in summary.stdout, summary.stdout


def test_without_the_callback_the_report_play_prints_the_same_rows(app):
    assert app.head() == app.good
    proc, data, rows = run(app, 'bad-health', '-e', 'deploy_ref=bad', ANSIBLE_CONFIG=no_callback(app))
    assert proc.returncode != 0, proc.report
    assert report_count(proc) == 1, proc.report
    status = dict((k, v[0]) for k, v in deploy_rows(rows).items())
    assert status == {'staging-deploy-checkout': 'fixed', 'staging-deploy-start': 'fixed',
                      'staging-deploy-health': 'failed', 'staging-deploy-rollback': 'fixed'}, proc.report
    assert rows['staging-deploy-health']['msg'].startswith('not healthy after 3 checks: %s: Status code was 404' % HEALTH)
    assert re.search(r'^   Failed: staging-deploy-health: not healthy after 3 checks: ', proc.stdout, re.M), proc.report
    assert app.head() == app.good


def test_a_manual_node_means_nothing_checked_out_nor_started(app):
    assert app.head() == app.good
    inventory = app.hosts.inventory({'staging': app.hosts.names}, {'staging': {
        'staging_repo_url': 'file://' + ORIGIN, 'staging_repo_dest': DEST,
        # bookworm offers node 18; the default minimum is 20: Manual, nothing installed
        'staging_fixes': ['git-missing', 'node-missing', 'repo-not-cloned'],
        'deploy_start_command': 'touch /root/started', 'deploy_health_url': HEALTH,
    }}, name='inventory-node.yml')
    proc, data, rows = run(app, 'node-manual', '-i', inventory, 'playbooks/deploy.yml',
                           '-e', 'deploy_ref=bad')
    assert proc.returncode != 0, proc.report
    assert rows['staging-node-missing']['status'] == 'manual', rows
    assert deploy_rows(rows) == {
        'staging-deploy-start': ('failed', 'not started: staging-node-missing is manual; nothing was checked out'),
    }, proc.report
    assert re.search(r'^   Failed: staging-deploy-start: not started: staging-node-missing is manual', proc.stdout, re.M), \
        proc.report
    assert app.head() == app.good
    assert app.host.exec('test ! -e /root/started', check=False).returncode == 0


@pytest.mark.parametrize('callback', [True, False], ids=['callback', 'no-callback'])
def test_an_unreachable_host_is_a_failed_row_never_a_clean_deploy(app, callback):
    gone = 'factiii-%s-gone' % PREFIX
    inventory = app.tmp / 'inventory-gone.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'staging': {
        'hosts': {gone: dict(app.hosts.ssh_vars(app.host), ansible_port=GONE_PORT)},
        'vars': {'staging_repo_url': 'file://' + ORIGIN, 'staging_repo_dest': DEST, 'staging_fixes': ['git-missing'],
                 'deploy_start_command': 'true'}}}}}))
    env = {} if callback else {'ANSIBLE_CONFIG': no_callback(app)}
    proc, data, rows = run(app, 'gone-%s' % callback, '-i', str(inventory), 'playbooks/deploy.yml', '-e', 'deploy_ref=good',
                           host=gone, **env)
    assert proc.returncode != 0, proc.report
    assert report_count(proc) == 1, proc.report
    assert rows['staging-host-unreachable']['status'] == 'failed', rows
    assert re.search(r'^   Failed: staging-host-unreachable: .*port %d: Connection refused$' % GONE_PORT, proc.stdout, re.M), \
        proc.report
    assert all(row['status'] == 'failed' for row in rows.values()), rows
    assert '-task-failed' not in proc.stdout, proc.report
