"""What the factiii CLI and the secrets stage share about GitHub's API (plugins/plugin_utils/github_api.py),
checked through both against the fake of tests/cli/fake_github.py: the repository-name rules, the API URL's
variables and their order, the CA file for a TLS server with its own certificate, and only the CLI's own
lines on stderr. (The X-GitHub-Api-Version header of every request is checked by the ``fake`` fixture.)
"""
import time

import pytest

from fake_github import FakeGitHub, make_certificate
from test_remote import POLL, STAGING_FIXES, WF_STAGING, one_error, stage_report

SECRET_ROWS = ('secrets-staging-ssh-missing', 'secrets-prod-ssh-missing')


@pytest.fixture
def tls_fake(tmp_path):
    """The fake GitHub over HTTPS with a self-signed certificate made here; (server, certificate file)."""
    cert, key = make_certificate(tmp_path)
    server = FakeGitHub(tls=(cert, key))
    yield server, cert
    server.stop()
    assert server.unversioned() == [], server.unversioned()


def _no_ca_env(env):
    """The shell's own CA settings would hide what FACTIII_GITHUB_CA_BUNDLE does."""
    return dict((k, v) for k, v in env.items() if k not in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'SSL_CERT_FILE',
                                                            'SSL_CERT_DIR'))


@pytest.mark.parametrize('args, environ, said', [
    (('--repo', 'acme/..'), {}, "--repo 'acme/..': the name '..' is not a GitHub repository name"),
    ((), {'GITHUB_REPOSITORY': '../..'}, "GITHUB_REPOSITORY '../..': the owner '..' is not a GitHub user or "
                                         "organization name"),
    ((), {'GITHUB_REPOSITORY': 'acme/.'}, "GITHUB_REPOSITORY 'acme/.': the name '.' is not"),
    ((), {'GITHUB_REPOSITORY': 'acme/app/actions'}, "GITHUB_REPOSITORY 'acme/app/actions' is not OWNER/NAME"),
])
def test_a_repository_name_against_githubs_rules_is_refused_before_any_request(fake, cli_env, factiii, args,
                                                                               environ, said):
    proc = factiii('fix', '--staging', *(args + POLL), env=dict(cli_env, **environ))

    assert one_error(proc).startswith('factiii: error: ' + said), proc.report
    assert fake.requests == [], fake.requests


def test_the_cli_uses_github_api_url_when_factiii_github_api_url_is_unset(fake, cli_env, factiii, cb):
    """GitHub Actions sets GITHUB_API_URL (GitHub Enterprise Server's API in its runs)."""
    report = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES)
    fake.plan(WF_STAGING, artifacts={'factiii-results-fix-staging': {'fix-staging.json': report}})
    env = dict(cli_env, GITHUB_API_URL=fake.url)
    del env['FACTIII_GITHUB_API_URL']

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=env)

    assert proc.returncode == 0, proc.report
    assert proc.stdout == cb.format_report(report) + '\n'
    assert len(fake.dispatches) == 1


def test_factiii_github_api_url_comes_before_github_api_url(fake, cli_env, factiii, cb):
    report = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES)
    fake.plan(WF_STAGING, artifacts={'factiii-results-fix-staging': {'fix-staging.json': report}})
    env = dict(cli_env, GITHUB_API_URL='http://127.0.0.1:9/nothing-listens-here')

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=env)

    assert proc.returncode == 0, proc.report
    assert len(fake.dispatches) == 1


def test_an_api_url_that_is_not_one_is_one_line(fake, cli_env, factiii):
    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL,
                   env=dict(cli_env, FACTIII_GITHUB_API_URL='api.github.example'))

    assert one_error(proc) == "factiii: error: FACTIII_GITHUB_API_URL 'api.github.example' is not the http(s) URL " \
                              "of a GitHub API", proc.report
    assert fake.requests == []


def test_a_certificate_the_cli_does_not_trust_is_a_certificate_problem_at_once(tls_fake, cli_env, factiii):
    fake, dummy = tls_fake
    env = dict(_no_ca_env(cli_env), FACTIII_GITHUB_API_URL=fake.url)

    started = time.monotonic()
    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=env)

    error = one_error(proc)
    assert error.startswith('factiii: error: the TLS certificate of the GitHub API at %s is not trusted '
                            '(self-signed certificate): if it is a GitHub Enterprise Server or a proxy with its own '
                            'CA, set FACTIII_GITHUB_CA_BUNDLE to a PEM file of that CA' % fake.url), error
    assert 'network' not in error
    assert time.monotonic() - started < 6, 'a certificate problem is not retried as a network one'


def test_factiii_github_ca_bundle_trusts_a_ca_for_the_cli(tls_fake, cli_env, factiii, cb):
    fake, cert = tls_fake
    report = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES)
    fake.plan(WF_STAGING, artifacts={'factiii-results-fix-staging': {'fix-staging.json': report}})
    env = dict(_no_ca_env(cli_env), FACTIII_GITHUB_API_URL=fake.url, FACTIII_GITHUB_CA_BUNDLE=cert)

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=env)

    assert proc.returncode == 0, proc.report
    assert proc.stdout == cb.format_report(report) + '\n'
    assert fake.blob_requests, 'the artifact came from the storage host, over TLS too'


def test_the_secrets_stage_uses_the_same_api_url_and_ca_variables(tls_fake, cli_env, factiii):
    """`factiii scan --secrets` runs the secrets stage through ansible-playbook with no extra variable: the
    stage itself finds the API in FACTIII_GITHUB_API_URL and trusts FACTIII_GITHUB_CA_BUNDLE's CA."""
    fake, cert = tls_fake
    env = dict(_no_ca_env(cli_env), FACTIII_GITHUB_API_URL=fake.url)

    untrusted = factiii('scan', '--secrets', '--repo', 'acme/app', env=env)
    trusted = factiii('scan', '--secrets', '--repo', 'acme/app', env=dict(env, FACTIII_GITHUB_CA_BUNDLE=cert))

    assert untrusted.returncode == 1, untrusted.report
    for row in SECRET_ROWS:
        assert 'Failed: %s: cannot check %s: the TLS certificate of the GitHub API at %s is not trusted ' \
               '(self-signed certificate)' % (row, row.split('-')[1].upper() + '_SSH', fake.url) \
               in untrusted.stdout, untrusted.report
    assert 'set FACTIII_GITHUB_CA_BUNDLE to a PEM file of that CA' in untrusted.stdout, untrusted.report
    assert trusted.returncode == 0, trusted.report
    assert 'SECRETS:\n   Would fix: 0, Manual: 0, Failed: 0' in trusted.stdout, trusted.report
    listed = [r['path'] for r in fake.requests]
    assert listed.count('/repos/acme/app/actions/secrets') == 1, listed
    assert '/repos/acme/app/environments/staging/secrets' in listed, listed


def test_stderr_holds_only_the_clis_own_lines_through_retries(fake, cli_env, factiii, cb):
    """PyGithub's own log lines ('Request GET ... failed with 403', 'Setting next backoff to ...') are not shown."""
    report = stage_report(cb, 'staging', 'mac-mini', STAGING_FIXES)
    fake.plan(WF_STAGING, artifacts={'factiii-results-fix-staging': {'fix-staging.json': report}})
    limited = {'X-RateLimit-Limit': '5000', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Used': '5000',
               'X-RateLimit-Reset': str(int(time.time()) + 1), 'X-RateLimit-Resource': 'core'}
    fake.inject('GET', r'/actions/runs/\d+$', 403, {'message': 'API rate limit exceeded'}, limited)
    fake.inject('GET', r'/actions/runs/\d+/jobs$', 502, {'message': 'Bad Gateway'})

    proc = factiii('fix', '--staging', '--repo', 'acme/app', *POLL, env=cli_env)

    assert proc.returncode == 0, proc.report
    assert 'GitHub rate limit (HTTP 403): waiting' in proc.stderr, proc.report
    label = ('fix staging: ', 'GitHub rate limit (HTTP 403): waiting', 'GitHub answered (HTTP 502): waiting')
    foreign = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith(label)]
    assert foreign == [], proc.report


def test_the_secrets_stage_waits_out_a_429_as_the_cli_does(fake, cli_env, factiii):
    fake.inject('GET', r'/actions/secrets$', 429, {'message': 'You have exceeded a secondary rate limit.'},
                {'Retry-After': '2'})

    started = time.monotonic()
    proc = factiii('scan', '--secrets', '--repo', 'acme/app', env=cli_env)

    assert proc.returncode == 0, proc.report
    assert 'SECRETS:\n   Would fix: 0, Manual: 0, Failed: 0' in proc.stdout, proc.report
    assert len(fake.calls('GET', r'/repos/acme/app/actions/secrets$')) == 2
    assert time.monotonic() - started >= 2
