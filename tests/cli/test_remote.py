"""The factiii CLI's remote stages against a local fake of GitHub's REST API.

Each test runs the installed `factiii` command as a user would, with
FACTIII_GITHUB_API_URL pointing at the fake, and checks what it printed, its exit
status, and what it asked of the API.
"""
import json
import re
import subprocess
import time

import pytest

WF_STAGING = 'factiii-fix-staging.yml'
POLL = ('--poll-interval', '0.1')


def stage_report(cb, stage, host, fixes, check_mode=False):
    report = cb.new_report()
    cb.add_results(report, stage, host, fixes, check_mode=check_mode)
    return cb.ordered(report)


def fix(fix_id, status, msg, steps=()):
    return {'fix_id': fix_id, 'status': status, 'msg': msg, 'steps': list(steps)}


STAGING_FIXES = [
    fix('staging-git-missing', 'ok', 'git is installed'),
    fix('staging-docker-not-running', 'fixed', 'started docker'),
    fix('staging-docker-autostart', 'manual', 'Docker Desktop starts at login, not at boot',
        ['System Settings > Users & Groups > Automatically log in as admin']),
]


def one_error(proc):
    """The one-line error of a run that could not do its work (exit 2, no traceback)."""
    assert proc.returncode == 2, proc.report
    assert 'Traceback' not in proc.stderr + proc.stdout, proc.report
    errors = [line for line in proc.stderr.splitlines() if line.startswith('factiii: error: ')]
    assert len(errors) == 1, proc.report
    assert proc.stderr.rstrip('\n').splitlines()[-1] == errors[0], proc.report
    return errors[0]


def test_fix_staging_follows_the_run_it_started(fake, cli_env, factiii, cb, tmp_path):
    report = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES)
    fake.plan(WF_STAGING, artifacts={'factiii-results-fix-staging': {'fix-staging.json': report}})
    merged = tmp_path / 'merged.json'

    proc = factiii('fix', '--staging', '--repo', 'acme/app', '--json', str(merged), *POLL, env=cli_env)

    assert proc.returncode == 0, proc.report
    # stdout is exactly the callback's table of the run's results
    assert proc.stdout == cb.format_report(report) + '\n', proc.report
    with open(merged) as handle:
        assert json.load(handle) == report
    # one dispatch, on the default branch, asking for the run's details
    assert len(fake.dispatches) == 1, fake.dispatches
    dispatch = fake.dispatches[0]
    assert (dispatch['workflow'], dispatch['ref'], dispatch['inputs']) == (WF_STAGING, 'main', {})
    assert dispatch['payload'].get('return_run_details') is True
    # the fake answered 204 without details: the run was found by listing, never an older one
    mine = dispatch['run']
    listing = fake.calls('GET', r'/actions/workflows/[^/]+/runs$')
    assert len(listing) >= 3, 'the new run shows up only on the second look after the dispatch'
    assert listing[-1]['query']['event'] == ['workflow_dispatch']
    assert listing[-1]['query']['branch'] == ['main']
    assert listing[-1]['query']['created'][0].startswith('>=')
    followed = set(int(r['path'].split('/')[-1]) for r in fake.calls('GET', r'/actions/runs/\d+$'))
    assert followed == {mine}
    assert 'OLD-RUN' not in proc.stdout
    # a slow run: queued, then in progress (with the step running), then completed
    assert 'fix staging: run #43 queued' in proc.stderr, proc.report
    assert 'fix staging: run #43 in progress: stage job > Run the stage' in proc.stderr, proc.report
    assert 'fix staging: run #43 completed: success' in proc.stderr, proc.report
    # the artifact came from "storage" through GitHub's 302, without the token
    assert fake.blob_requests, proc.report
    assert all(b['authorization'] is None for b in fake.blob_requests)
    assert all(b['host'].startswith('localhost:') for b in fake.blob_requests)


def test_failed_run_prints_the_table_and_exits_1(fake, cli_env, factiii, cb):
    fixes = [fix('staging-git-missing', 'ok', 'git is installed'),
             fix('staging-repo-not-cloned', 'failed', 'git clone failed: Permission denied (publickey)')]
    report = stage_report(cb, 'staging', 'mac-mini', fixes)
    fake.plan(WF_STAGING, states=[('queued', None), ('in_progress', None), ('completed', 'failure')],
              artifacts={'factiii-results-fix-staging': {'fix-staging.json': report}})

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 1, proc.report
    assert proc.stdout == cb.format_report(report) + '\n', proc.report
    assert 'Failed: staging-repo-not-cloned: git clone failed: Permission denied (publickey)' in proc.stdout
    assert 'completed: failure' in proc.stderr
    assert 'factiii: error' not in proc.stderr


def test_failed_run_without_results_is_a_failed_row(fake, cli_env, factiii):
    fake.plan(WF_STAGING, states=[('in_progress', None), ('completed', 'failure')], artifacts={})

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 1, proc.report
    assert 'STAGING:\n   Fixed: 0, Manual: 0, Failed: 1' in proc.stdout, proc.report
    assert 'Failed: staging-no-results: run concluded failure, but run #43 uploaded no factiii-results* artifact' \
        in proc.stdout, proc.report


def test_cancelled_run_is_one_line(fake, cli_env, factiii):
    fake.plan(WF_STAGING, states=[('queued', None), ('in_progress', None), ('completed', 'cancelled')])

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    error = one_error(proc)
    assert error.startswith('factiii: error: run #43 of factiii-fix-staging.yml was cancelled: https://github.com/acme/app/'
                            'actions/runs/'), error
    assert proc.stdout == ''


def test_run_still_going_at_the_timeout_is_one_line(fake, cli_env, factiii):
    fake.plan(WF_STAGING, states=[('queued', None), ('in_progress', None)])

    started = time.monotonic()
    proc = factiii('fix', '--staging', '--repo', 'acme/app', '--timeout', '2', *POLL, env=cli_env)

    error = one_error(proc)
    assert 'run #43 of factiii-fix-staging.yml is still in_progress after' in error, error
    assert 'it was not cancelled' in error
    assert time.monotonic() - started < 30


def test_waiting_environment_approval_is_shown(fake, cli_env, factiii, cb):
    report = stage_report(cb, 'prod', 'prod-debian', [fix('prod-git-missing', 'ok', 'git is installed')])
    fake.plan('factiii-fix-prod.yml', states=[('waiting', None), ('waiting', None), ('in_progress', None),
                                              ('completed', 'success')],
              artifacts={'factiii-results-fix-prod': {'fix-prod.json': report}})

    proc = factiii('fix', '--prod', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 0, proc.report
    assert 'fix prod: run #43 waiting' in proc.stderr, proc.report
    assert proc.stdout == cb.format_report(report) + '\n'


# what a terminal obeys: C0 but tab and newline, DEL, C1, line/paragraph separators, bidi, surrogates
OBEYED = re.compile('[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]')
OSC52 = '\x1b]52;c;ZWNobyBwd25lZA==\x07'


def test_escapes_from_the_run_and_its_results_are_shown_not_obeyed(fake, cli_env, factiii, cb):
    """A results artifact and the API's names (job, step, conclusion, artifact) are another run's data:
    their terminal controls are shown as \\uXXXX on stdout and stderr, never sent to the terminal."""
    report = stage_report(cb, 'staging', 'mac\x1b[2J\x1b[H', [
        fix('staging-x\x9b2J', 'failed', 'clone failed %s ok\rFixed: 0 \ud800' % OSC52),
        fix('staging-git-missing', 'manual', '\u202egnp.exe', ['\x1bP+q\x1b\\ then', 'step \x1b[31mred'])])
    fake.job_name = 'stage \x1b]0;title\x07 job'
    fake.step_name = 'Run \x1b[2J step'
    fake.plan(WF_STAGING, states=[('queued', None), ('in_progress', None), ('in_progress', None),
                                  ('completed', 'failure\x1b[2J')],
              artifacts={'factiii-results-\x1b]52;c;eA==\x07': {'fix-staging.json': report}})

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 1, proc.report
    assert 'Traceback' not in proc.stderr, proc.report
    assert not OBEYED.search(proc.stdout), repr(proc.stdout)
    assert not OBEYED.search(proc.stderr), repr(proc.stderr)
    assert proc.stdout == cb.format_report(cb.load_results(json.dumps(report))) + '\n'
    assert '   Failed: staging-x\\u009b2J: clone failed \\u001b]52;c;ZWNobyBwd25lZA==\\u0007 ok\\u000dFixed: 0 ' \
           '\\ud800\n' in proc.stdout, proc.report
    assert 'Manual: staging-git-missing: \\u202egnp.exe\n      - \\u001bP+q\\u001b\\ then\n' \
           '      - step \\u001b[31mred' in proc.stdout, proc.report
    assert 'run #43 in progress: stage \\u001b]0;title\\u0007 job > Run \\u001b[2J step' in proc.stderr, proc.report
    assert 'completed: failure\\u001b[2J after' in proc.stderr, proc.report
    assert 'downloaded factiii-results-\\u001b]52;c;eA==\\u0007 (1 results file)' in proc.stderr, proc.report


def test_results_files_that_cannot_be_used_are_failed_rows(fake, cli_env, factiii, cb):
    good = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES)
    fake.plan(WF_STAGING, artifacts={'factiii-results-fix-staging': {
        'fix-staging.json': good,
        'not-json.json': '{"stages": {"staging": ',
        'shape.json': {'stages': {'staging': {'hosts': {'mac-mini': {'results': [{'fix_id': 'x', 'status': 'gone'}]}}}}},
        'counts.json': {'stages': {'staging': {'failed': 'lots', 'hosts': {}}}},
    }})

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 1, proc.report
    assert 'Traceback' not in proc.stderr + proc.stdout, proc.report
    url = 'https://github.com/acme/app/actions/runs/%d' % fake.started()[0]['id']
    rows = [line for line in proc.stdout.splitlines() if 'staging-bad-results' in line]
    assert rows == [
        '   Failed: staging-bad-results [workflow]: the results of the run cannot be used: '
        'factiii-results-fix-staging/counts.json: stage "staging": "failed" is "lots", not a count: %s' % url,
        '   Failed: staging-bad-results [workflow]: the results of the run cannot be used: '
        'factiii-results-fix-staging/not-json.json: not JSON: Expecting value: line 1 column 24 (char 23): %s' % url,
        '   Failed: staging-bad-results [workflow]: the results of the run cannot be used: '
        'factiii-results-fix-staging/shape.json: stage "staging" host "mac-mini" result 1: "status" "gone" is not '
        'one of fixed, manual, failed, ok: %s' % url], proc.report
    # the good file is still shown, as it is
    assert 'Manual: staging-docker-autostart [mac-mini]: Docker Desktop starts at login, not at boot' in proc.stdout
    assert 'TOTAL: Fixed: 1, Manual: 1, Failed: 3' in proc.stdout, proc.report


RATE_LIMITED = {'message': 'API rate limit exceeded for user ID 1001. If you reach out to GitHub Support for help, '
                           'please include the request ID FAKE:1.',
                'documentation_url': 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
                'status': '403'}


def _primary_limit(reset_in):
    return {'X-RateLimit-Limit': '5000', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Used': '5000',
            'X-RateLimit-Reset': str(int(time.time()) + reset_in), 'X-RateLimit-Resource': 'core'}


def test_rate_limit_403_waits_for_the_reset_then_goes_on(fake, cli_env, factiii, cb):
    report = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES)
    fake.plan(WF_STAGING, artifacts={'factiii-results-fix-staging': {'fix-staging.json': report}})
    fake.inject('GET', r'/actions/runs/\d+$', 403, RATE_LIMITED, _primary_limit(2))

    started = time.monotonic()
    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 0, proc.report
    assert 'GitHub rate limit (HTTP 403): waiting' in proc.stderr, proc.report
    assert time.monotonic() - started >= 2
    assert proc.stdout == cb.format_report(report) + '\n'


def test_rate_limit_429_retry_after_on_the_dispatch_starts_one_run(fake, cli_env, factiii, cb):
    report = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES)
    fake.plan(WF_STAGING, artifacts={'factiii-results-fix-staging': {'fix-staging.json': report}})
    fake.inject('POST', r'/dispatches$', 429, {'message': 'Too many requests', 'documentation_url': fake.url},
                {'Retry-After': '1'})

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 0, proc.report
    assert 'GitHub rate limit (HTTP 429): waiting 1s before retrying' in proc.stderr, proc.report
    assert len(fake.calls('POST', r'/dispatches$')) == 2
    assert len(fake.dispatches) == 1
    assert proc.stdout == cb.format_report(report) + '\n'


def test_rate_limit_that_does_not_end_is_one_line_in_bounded_time(fake, cli_env, factiii):
    fake.inject('GET', r'/actions/runs/\d+$', 429, {'message': 'Too many requests'}, {'Retry-After': '1'}, times=100)

    started = time.monotonic()
    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    error = one_error(proc)
    assert 'GitHub rate limit while following run' in error and 'HTTP 429' in error, error
    assert time.monotonic() - started < 40


def test_rate_limit_reset_too_far_away_is_not_waited_for(fake, cli_env, factiii):
    fake.inject('GET', r'^/repos/acme/app$', 403, RATE_LIMITED, _primary_limit(3600))

    started = time.monotonic()
    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    error = one_error(proc)
    assert re.search(r'GitHub rate limit while reading the repository acme/app: the limit resets in (59m5.s|1h00m), '
                     r'longer than the 60s this command waits; try again later$', error), error
    assert time.monotonic() - started < 20
    assert not fake.dispatches


def test_server_error_on_the_dispatch_is_not_retried(fake, cli_env, factiii):
    # GitHub may have started the run before failing to answer: a retry could start a second one
    fake.inject('POST', r'/dispatches$', 502, {'message': 'Server Error'})

    error = one_error(factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env))

    assert error == 'factiii: error: GitHub refused starting factiii-fix-staging.yml on main (HTTP 502: Server Error)'
    assert len(fake.calls('POST', r'/dispatches$')) == 1


def test_token_without_permission_is_one_line(fake, cli_env, factiii):
    denied = {'message': 'Resource not accessible by personal access token', 'documentation_url': fake.url, 'status': '403'}
    fake.inject('POST', r'/dispatches$', 403, denied)

    error = one_error(factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env))

    assert error == ('factiii: error: GitHub refused starting factiii-fix-staging.yml on main (HTTP 403: Resource not '
                     'accessible by personal access token): the token needs "Actions: read and write" and '
                     '"Contents: read" on acme/app')
    assert len(fake.calls('POST', r'/dispatches$')) == 1


def test_wrong_token_is_one_line(fake, cli_env, factiii):
    env = dict(cli_env, GITHUB_TOKEN='ghp_wrong')

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=env)

    error = one_error(proc)
    assert error == ('factiii: error: GitHub rejected the token (HTTP 401 Bad credentials) while reading the repository '
                     'acme/app: set GITHUB_TOKEN to a valid token, or log in again with `gh auth login`')
    assert 'ghp_wrong' not in proc.stderr + proc.stdout
    assert not fake.dispatches


def test_repository_not_found_is_one_line(fake, cli_env, factiii):
    proc = factiii('fix', '--staging', '--repo', 'acme/nope', *POLL, env=cli_env)

    error = one_error(proc)
    assert error.startswith('factiii: error: repository acme/nope not found on %s (or the token cannot see it)' % fake.url)


@pytest.mark.parametrize('where', ['get', 'dispatch'])
def test_workflow_missing_is_one_line(fake, cli_env, factiii, where):
    if where == 'get':
        fake.missing.add('factiii-fix-prod.yml')
    else:
        fake.inject('POST', r'/actions/workflows/[^/]+/dispatches$', 404,
                    {'message': 'Not Found', 'documentation_url': fake.url, 'status': '404'})

    proc = factiii('fix', '--prod', '--repo', 'acme/app', *POLL, env=cli_env)

    error = one_error(proc)
    assert error == ("factiii: error: workflow factiii-fix-prod.yml not found in acme/app: copy it from the "
                     "collection's workflow-templates/ into .github/workflows/ on main")
    assert not fake.dispatches


def test_disabled_workflow_is_one_line(fake, cli_env, factiii):
    fake.disabled.add(WF_STAGING)

    error = one_error(factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env))

    assert 'workflow factiii-fix-staging.yml in acme/app is disabled_manually' in error


def test_network_down_is_one_line(fake, cli_env, factiii):
    fake.stop()

    started = time.monotonic()
    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    error = one_error(proc)
    assert error == ('factiii: error: cannot reach the GitHub API at %s while reading the repository acme/app '
                     '(Connection refused): is the network down?' % fake.url)
    assert time.monotonic() - started < 20


def test_network_dropping_while_following_is_waited_out(fake, cli_env, factiii, cb):
    report = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES)
    fake.plan(WF_STAGING, artifacts={'factiii-results-fix-staging': {'fix-staging.json': report}})
    fake.inject('GET', r'/actions/runs/\d+$', 'drop', times=3)

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 0, proc.report
    assert 'fix staging: GitHub unreachable, trying again (cannot reach the GitHub API' in proc.stderr, proc.report
    assert proc.stdout == cb.format_report(report) + '\n'


def test_no_token_is_one_line(fake, cli_env, factiii):
    env = dict(cli_env)
    del env['GITHUB_TOKEN']

    error = one_error(factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=env))

    assert error.startswith('factiii: error: no GitHub token: set GITHUB_TOKEN')
    assert not fake.requests


def test_token_from_gh_auth_token(fake, cli_env, factiii, cb, tmp_path):
    report = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES)
    fake.plan(WF_STAGING, artifacts={'factiii-results-fix-staging': {'fix-staging.json': report}})
    env = dict(cli_env)
    del env['GITHUB_TOKEN']
    log = tmp_path / 'gh.log'
    gh = tmp_path / 'bin' / 'gh'
    gh.write_text('#!/bin/sh\necho "$@" >> %s\necho %s\n' % (log, fake.token))

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=env)

    assert proc.returncode == 0, proc.report
    assert log.read_text() == 'auth token --hostname 127.0.0.1\n'
    assert len(fake.dispatches) == 1


def test_run_details_from_the_dispatch_are_used(fake, cli_env, factiii, cb):
    report = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES)
    fake.plan(WF_STAGING, artifacts={'factiii-results-fix-staging': {'fix-staging.json': report}})
    fake.return_details = True
    fake.appear_after = 1000  # never listed: only the id from the dispatch can find it

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 0, proc.report
    assert len(fake.calls('GET', r'/runs$')) == 1, 'only the listing before the dispatch'
    assert proc.stdout == cb.format_report(report) + '\n'


def test_server_without_run_details_gets_a_plain_dispatch(fake, cli_env, factiii, cb):
    report = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES)
    fake.plan(WF_STAGING, artifacts={'factiii-results-fix-staging': {'fix-staging.json': report}})
    fake.reject_details = True

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 0, proc.report
    posts = fake.calls('POST', r'/dispatches$')
    assert [json.loads(p['body']).get('return_run_details') for p in posts] == [True, None]
    assert len(fake.dispatches) == 1


def test_scan_of_staging_and_prod_is_one_run_showing_those_stages(fake, cli_env, factiii, cb):
    secrets = stage_report(cb, 'secrets', 'controller', [fix('secrets-missing', 'manual', 'STAGING_SSH is not set')],
                           check_mode=True)
    staging = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES, check_mode=True)
    prod = stage_report(cb, 'prod', 'prod-debian', [fix('prod-git-missing', 'fixed', 'git would be installed')],
                        check_mode=True)
    fake.plan('factiii-scan.yml', artifacts={'factiii-results-scan': {
        'scan-secrets.json': secrets, 'scan-staging.json': staging, 'scan-prod.json': prod}})

    proc = factiii('scan', '--staging', '--prod', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 0, proc.report
    expected = cb.new_report()
    for report in (staging, prod):
        for stage, st in report['stages'].items():
            for host, entry in st['hosts'].items():
                cb.add_results(expected, stage, host, entry['results'], check_mode=True)
    assert proc.stdout == cb.format_report(expected) + '\n', proc.report
    assert 'SECRETS' not in proc.stdout
    assert 'Would fix: prod-git-missing' in proc.stdout
    # the scan's own table: nothing was fixed, each count says what a fix would do
    assert 'PROD:\n   Would fix: 1, Manual: 0, Failed: 0\n' in proc.stdout, proc.report
    assert proc.stdout.endswith('\nTOTAL: Would fix: %d, Manual: %d, Failed: 0\n' % (
        expected['total']['fixed'], expected['total']['manual'])), proc.report
    assert 'Fixed' not in proc.stdout, proc.report
    assert [d['workflow'] for d in fake.dispatches] == ['factiii-scan.yml']


def test_fix_staging_and_prod_run_one_workflow_each_in_order(fake, cli_env, factiii, cb):
    staging = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES)
    prod = stage_report(cb, 'prod', 'prod-debian', [fix('prod-git-missing', 'fixed', 'installed git')])
    fake.plan(WF_STAGING, artifacts={'factiii-results-fix-staging': {'fix-staging.json': staging}})
    fake.plan('factiii-fix-prod.yml', artifacts={'factiii-results-fix-prod': {'fix-prod.json': prod}})

    proc = factiii('fix', '--prod', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 0, proc.report
    assert [d['workflow'] for d in fake.dispatches] == [WF_STAGING, 'factiii-fix-prod.yml']
    out = proc.stdout
    assert out.index('STAGING:') < out.index('PROD:') < out.index('TOTAL: Fixed: 2, Manual: 1, Failed: 0'), out


def test_deploy_prod_dispatches_the_environment_on_the_ref(fake, cli_env, factiii, cb):
    report = stage_report(cb, 'prod', 'prod-debian', [fix('prod-git-missing', 'ok', 'git is installed')])
    fake.plan('factiii-deploy.yml', artifacts={'factiii-results-deploy-prod': {'deploy-prod.json': report}})

    proc = factiii('deploy', '--prod', '--ref', 'v1.2', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 0, proc.report
    assert [(d['workflow'], d['ref'], d['inputs']) for d in fake.dispatches] == [
        ('factiii-deploy.yml', 'v1.2', {'environment': 'prod'})]
    assert proc.stdout == cb.format_report(report) + '\n'


def test_deploy_of_an_unknown_ref_is_one_line(fake, cli_env, factiii):
    error = one_error(factiii('deploy', '--staging', '--ref', 'nope', '--repo', 'acme/app', *POLL, env=cli_env))

    assert error == 'factiii: error: GitHub refused starting factiii-deploy.yml on nope (HTTP 422: No ref found for: nope)'


def test_dev_sync_rollback_from_a_clone(fake, cli_env, factiii, cb, tmp_path):
    report = stage_report(cb, 'staging', 'staging-local', [fix('staging-git-missing', 'ok', 'git is installed')])
    fake.plan('factiii-dev-sync.yml', artifacts={'factiii-results-dev-sync': {'dev-sync-controller.json': report}})
    clone = tmp_path / 'clone'
    clone.mkdir()
    for args in (['init', '-q', '-b', 'v1.2'], ['remote', 'add', 'origin', 'git@github.com:acme/app.git']):
        subprocess.run(['git'] + args, cwd=str(clone), check=True, capture_output=True)

    proc = factiii('dev-sync', '--staging', '--rollback', *POLL, env=cli_env, cwd=clone)

    assert proc.returncode == 0, proc.report
    # the repository from the clone's origin, the ref from its branch
    assert [(d['workflow'], d['ref'], d['inputs']) for d in fake.dispatches] == [
        ('factiii-dev-sync.yml', 'v1.2', {'rollback': 'true'})]
    assert proc.stdout == cb.format_report(report) + '\n'


def test_no_repository_is_one_line(fake, cli_env, factiii):
    error = one_error(factiii('fix', '--staging', *POLL, env=cli_env))

    assert error.startswith('factiii: error: no repository: pass --repo OWNER/NAME, set GITHUB_REPOSITORY')
    assert not fake.requests


def test_on_server_needs_a_stage(cli_env, factiii):
    error = one_error(factiii('fix', '--on-server', env=cli_env))

    assert error == 'factiii: error: --on-server runs the stages of the server you are on: name them (--staging or --prod)'


@pytest.mark.parametrize('url, repo', [
    ('git@github.com:acme/app.git', 'acme/app'),
    ('https://github.com/acme/app.git', 'acme/app'),
    ('https://github.com/acme/app', 'acme/app'),
    ('ssh://git@github.example.com:2222/acme/app.git', 'acme/app'),
    ('https://token@github.com/acme/app/', 'acme/app'),
    ('/srv/git/app.git', None),
    ('', None),
])
def test_parse_remote(url, repo):
    from factiii_cli.remote import parse_remote
    from ansible_collections.factiii.infra.plugins.plugin_utils import github_api
    assert parse_remote(url, github_api) == repo


@pytest.mark.parametrize('conclusion', ['failure', 'success'])
@pytest.mark.parametrize('content, why', [
    # a stage without hosts: the file is well formed, it has no row of staging
    ({'format': 1, 'check_mode': False,
      'stages': {'staging': {'fixed': 0, 'manual': 0, 'failed': 0, 'ok': 0, 'hosts': {}}},
      'total': {'fixed': 0, 'manual': 0, 'failed': 0, 'ok': 0}},
     'staging-no-results: run concluded {c}, but its results have no row of staging'),
    # another stage's file only (a foreign file for this command)
    ('PROD', 'staging-no-results: run concluded {c}, but its results have no row of staging'),
    # a newer collection's file
    ('NEWER', 'staging-bad-results: the results of the run cannot be used: '
              'factiii-results-fix-staging/fix-staging.json: results format 7 is newer than the 1'),
    # another shape altogether
    ({'results': [{'host': 'mac-mini', 'ok': True}]}, 'staging-bad-results: the results of the run '
     'cannot be used: factiii-results-fix-staging/fix-staging.json: not a factiii results file'),
])
def test_a_run_whose_results_cannot_be_used_is_a_failed_row_and_exits_1(
        fake, cli_env, factiii, cb, content, why, conclusion):
    if content == 'PROD':
        content = stage_report(cb, 'prod', 'prod1', [fix('prod-git-missing', 'ok', 'git is installed')])
    elif content == 'NEWER':
        content = dict(stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES), format=7)
    fake.plan(WF_STAGING, states=[('in_progress', None), ('completed', conclusion)],
              artifacts={'factiii-results-fix-staging': {'fix-staging.json': content}})

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 1, proc.report
    assert 'Traceback' not in proc.stderr + proc.stdout, proc.report
    url = 'https://github.com/acme/app/actions/runs/%d' % fake.started()[0]['id']
    rows = [line.strip() for line in proc.stdout.splitlines() if line.strip().startswith('Failed: staging-')]
    assert rows and rows[0].startswith('Failed: ' + why.format(c=conclusion)), proc.report
    assert all(row.endswith(url) for row in rows), proc.report
    assert 'prod1' not in proc.stdout
    assert 'no stage reported any result' not in proc.stderr, proc.report


def test_a_scan_reports_each_stage_asked_for_that_the_run_left_out(fake, cli_env, factiii, cb):
    report = stage_report(cb, 'staging', 'mac-mini', [fix('staging-git-missing', 'ok', 'git is installed')])
    fake.plan('factiii-scan.yml', artifacts={'factiii-results-scan': {'scan.json': report}})

    proc = factiii('scan', '--staging', '--prod', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 1, proc.report
    assert 'Failed: prod-no-results: run concluded success, but its results have no row of prod' \
        in proc.stdout, proc.report
    assert 'Failed: staging-' not in proc.stdout, proc.report
