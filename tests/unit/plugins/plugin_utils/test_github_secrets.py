# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""github_secrets against a real HTTP server on 127.0.0.1 speaking GitHub's shapes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import threading
import time
import urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.factiii.infra.plugins.plugin_utils import github_secrets as gs, reasons

TOKEN = 'ghp_TESTtoken0123456789abcdefSECRET'
PATH = '/repos/o/r/actions/secrets'
STAGING = '/repos/o/r/environments/staging/secrets'
PROD = '/repos/o/r/environments/prod/secrets'


def secret(name):
    return {'name': name, 'created_at': '2024-01-01T00:00:00Z', 'updated_at': '2024-02-01T00:00:00Z'}


class FakeGitHub:
    """Serves canned answers per (path, page); records every request it got."""

    def __init__(self):
        self.routes = {}
        self.limits = {}
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                fake.requests.append({'path': url.path, 'query': query, 'headers': dict(self.headers)})
                page = int(query.get('page', ['1'])[0])
                status, payload, headers = fake.limits.pop(url.path, None) or fake.routes.get(
                    (url.path, page), (404, {'message': 'Not Found'}, {}))
                body = json.dumps(payload).encode('utf-8')
                self.send_response(status)
                self.send_header('Content-Type', 'application/json; charset=utf-8')
                self.send_header('Content-Length', str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value.replace('{base}', fake.url))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()

    def limit(self, path, status, payload, headers):
        """The next request on ``path`` gets this answer (a rate limit), then the route's."""
        self.limits[path] = (status, payload, dict(headers))

    def route(self, status, payload, page=1, headers=None, path=PATH):
        self.routes[(path, page)] = (status, payload, dict(headers or {}))

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def github():
    fake = FakeGitHub()
    yield fake
    fake.close()


def check(github, names=('STAGING_SSH', 'PROD_SSH'), repo='o/r', token=TOKEN):
    results = gs.check_secrets(list(names), repo, token, api_url=github.url, timeout=5)
    assert TOKEN not in json.dumps(results)
    return results


def by_id(results):
    return dict((r['fix_id'], r) for r in results)


def secrets_at(github, path, names):
    github.route(200, {'total_count': len(names), 'secrets': [secret(n) for n in names]}, path=path)


def test_environment_of():
    assert gs.environment_of('STAGING_SSH') == 'staging'
    assert gs.environment_of('prod_ssh') == 'prod'
    assert gs.environment_of('FACTIII_SECRETS_TOKEN') is None
    assert gs.environment_of('_SSH') is None


def test_fix_id():
    assert gs.fix_id('STAGING_SSH') == 'secrets-staging-ssh-missing'
    assert gs.fix_id('PROD_SSH') == 'secrets-prod-ssh-missing'


def test_keys_in_their_environments_and_other_names_in_the_repository(github):
    secrets_at(github, PATH, ['OTHER'])
    secrets_at(github, STAGING, ['STAGING_SSH'])
    secrets_at(github, PROD, ['SOMETHING_ELSE'])
    results = check(github, names=['STAGING_SSH', 'PROD_SSH', 'OTHER', 'ABSENT'])

    assert [r['fix_id'] for r in results] == ['secrets-staging-ssh-missing', 'secrets-prod-ssh-missing',
                                              'secrets-other-missing', 'secrets-absent-missing']
    staging, prod, other, absent = results
    assert staging['status'] == 'ok' and staging['steps'] == []
    assert staging['msg'] == 'STAGING_SSH is a secret of environment staging in o/r'
    assert staging['details']['environment'] == 'staging'
    # missing from its environment: set it there, never as a repository secret
    assert prod['status'] == 'manual'
    assert prod['msg'] == 'PROD_SSH is not set in environment prod of o/r'
    assert prod['steps'][0] == 'gh secret set PROD_SSH --env prod --repo o/r < path/to/private_key'
    assert 'private SSH key' in prod['steps'][1] and 'prod server' in prod['steps'][1]
    # a name that is no stage's key is a repository secret, as before
    assert other['status'] == 'ok'
    assert absent['status'] == 'manual'
    assert absent['steps'][0] == 'gh secret set ABSENT --repo o/r < path/to/private_key'

    # the repository once, each environment once
    assert sorted(r['path'] for r in github.requests) == sorted([PATH, STAGING, PROD])
    for req in github.requests:
        assert req['query']['per_page'] == ['100']
        headers = dict((k.lower(), v) for k, v in req['headers'].items())
        assert headers['authorization'] == 'Bearer %s' % TOKEN
        assert headers['accept'] == 'application/vnd.github+json'
        assert headers['x-github-api-version'] == '2022-11-28'


def test_a_key_that_is_only_a_repository_secret_fails(github):
    """Issue 12, finding 3: a repository secret is readable by any workflow of any branch."""
    secrets_at(github, PATH, ['PROD_SSH'])
    secrets_at(github, STAGING, ['STAGING_SSH'])
    secrets_at(github, PROD, [])
    staging, prod = check(github)

    assert staging['status'] == 'ok'
    assert prod['status'] == 'failed'
    assert 'PROD_SSH is a repository secret of o/r' in prod['msg']
    assert 'not a secret of environment prod' in prod['msg']
    assert prod['steps'] == ['gh secret set PROD_SSH --env prod --repo o/r < path/to/private_key',
                             'gh secret delete PROD_SSH --repo o/r']
    # the report prints the steps of manual rows only: the failure's message carries them
    for step in prod['steps']:
        assert step in prod['msg']
    assert '\n' not in prod['msg']


def test_a_key_that_is_also_a_repository_secret_fails(github):
    secrets_at(github, PATH, ['STAGING_SSH'])
    secrets_at(github, STAGING, ['STAGING_SSH'])
    secrets_at(github, PROD, ['PROD_SSH'])
    staging, prod = check(github)

    assert prod['status'] == 'ok'
    assert staging['status'] == 'failed'
    assert 'also a repository secret of o/r' in staging['msg']
    assert staging['steps'] == ['gh secret delete STAGING_SSH --repo o/r']
    assert staging['steps'][0] in staging['msg']


def test_an_environment_that_does_not_exist(github):
    """GitHub answers 404 for the secrets of an environment the repository does not have."""
    secrets_at(github, PATH, ['STAGING_SSH'])
    staging, prod = check(github)

    assert prod['status'] == 'manual'
    assert prod['msg'] == 'PROD_SSH is not set: o/r has no environment prod (or the token cannot see it)'
    assert prod['steps'][0] == 'create the environment prod: gh api -X PUT repos/o/r/environments/prod'
    assert 'Deployment branches' in prod['steps'][1] and 'Required reviewers' in prod['steps'][1]
    assert prod['steps'][2] == 'gh secret set PROD_SSH --env prod --repo o/r < path/to/private_key'

    assert staging['status'] == 'failed'
    assert staging['steps'][0] == 'create the environment staging: gh api -X PUT repos/o/r/environments/staging'
    assert 'Required reviewers' not in staging['steps'][1]
    assert staging['steps'][-2:] == ['gh secret set STAGING_SSH --env staging --repo o/r < path/to/private_key',
                                     'gh secret delete STAGING_SSH --repo o/r']


def test_an_environment_the_token_may_not_read_fails_only_its_keys(github):
    secrets_at(github, PATH, [])
    secrets_at(github, STAGING, ['STAGING_SSH'])
    github.route(403, {'message': 'Resource not accessible by personal access token'}, path=PROD)
    staging, prod = check(github)

    assert staging['status'] == 'ok'
    assert prod['status'] == 'failed'
    assert 'environment prod of o/r (HTTP 403)' in prod['msg']
    assert '"Environments: read"' in prod['msg']


def test_names_compare_case_insensitively(github):
    secrets_at(github, STAGING, ['STAGING_SSH'])
    secrets_at(github, PATH, [])
    assert check(github, names=['staging_ssh'])[0]['status'] == 'ok'


def test_pagination_follows_link_next(github):
    link = '<{base}%s?per_page=100&page=%d>; rel="%s"'
    github.route(200, {'total_count': 3, 'secrets': [secret('A')]}, page=1, headers={
        'Link': ', '.join([link % (PATH, 2, 'next'), link % (PATH, 3, 'last')])})
    github.route(200, {'total_count': 3, 'secrets': [secret('B')]}, page=2, headers={
        'Link': ', '.join([link % (PATH, 1, 'prev'), link % (PATH, 3, 'next')])})
    github.route(200, {'total_count': 3, 'secrets': [secret('PROD_SSH')]}, page=3, headers={
        'Link': link % (PATH, 1, 'first')})

    results = by_id(check(github, names=['A', 'C', 'PROD_SSH']))

    assert results['secrets-a-missing']['status'] == 'ok'
    assert results['secrets-c-missing']['status'] == 'manual'
    # found on the last page: a repository secret, where a stage's key must not be
    assert results['secrets-prod-ssh-missing']['status'] == 'failed'
    github.requests = [r for r in github.requests if r['path'] == PATH]
    assert [r['query'].get('page', ['1'])[0] for r in github.requests] == ['1', '2', '3']
    for req in github.requests:
        assert req['headers'].get('Authorization') == 'Bearer %s' % TOKEN


def test_next_link_to_another_host_is_not_followed(github):
    github.route(200, {'total_count': 2, 'secrets': [secret('A')]}, headers={
        'Link': '<http://evil.example%s?page=2>; rel="next"' % PATH})
    results = check(github, names=['A'])
    assert results[0]['status'] == 'failed'
    assert 'points away' in results[0]['msg']
    assert len(github.requests) == 1


def test_401_fails_with_github_message(github):
    github.route(401, {'message': 'Bad credentials', 'documentation_url': 'https://docs.github.com/rest'})
    results = check(github)
    assert [r['status'] for r in results] == ['failed', 'failed']
    msg = results[0]['msg']
    assert '401' in msg and 'Bad credentials' in msg and 'token' in msg
    assert '\n' not in msg


def test_403_fails_with_permission_hint(github):
    github.route(403, {'message': 'Resource not accessible by integration'})
    msg = check(github)[0]['msg']
    assert '403' in msg and 'Resource not accessible by integration' in msg
    assert 'Secrets: read' in msg
    assert '\n' not in msg


def test_403_rate_limit(github):
    github.route(403, {'message': 'API rate limit exceeded'}, headers={'X-RateLimit-Remaining': '0'})
    assert 'rate limit' in check(github)[0]['msg']


def test_404(github):
    github.route(404, {'message': 'Not Found'})
    results = check(github)
    assert results[0]['status'] == 'failed'
    assert 'repository o/r not found or token cannot see it' in results[0]['msg']


def test_redirect_is_not_followed_with_the_token(github):
    github.route(301, {'message': 'Moved Permanently'}, headers={'Location': '{base}/repos/o/r2/actions/secrets'})
    github.route(200, {'total_count': 1, 'secrets': [secret('STAGING_SSH')]}, path='/repos/o/r2/actions/secrets')
    results = check(github, names=['STAGING_SSH'])
    assert results[0]['status'] == 'failed'
    assert 'github_repo' in results[0]['msg']
    assert len(github.requests) == 1


def test_token_echoed_by_server_is_scrubbed(github):
    github.route(403, {'message': 'token %s lacks permission' % TOKEN})
    results = check(github)
    assert reasons.MASK in results[0]['msg']


def test_network_error():
    fake = FakeGitHub()
    url = fake.url
    fake.close()
    results = gs.check_secrets(['STAGING_SSH'], 'o/r', TOKEN, api_url=url, timeout=2)
    assert results[0]['status'] == 'failed'
    assert 'cannot reach the GitHub API' in results[0]['msg']
    assert TOKEN not in json.dumps(results)


def test_not_json(github):
    github.route(200, ['not', 'a', 'dict'])
    assert 'unexpected payload' in check(github)[0]['msg']


def test_bad_repo_name_makes_no_request(github):
    results = check(github, repo='not-a-repo')
    assert results[0]['status'] == 'failed'
    assert "secrets_github_repo 'not-a-repo' is not OWNER/NAME" in results[0]['msg']
    assert github.requests == []


@pytest.mark.parametrize('github_repo, environ, said', [
    ('owner/..', {}, "secrets_github_repo 'owner/..': the name '..' is not a GitHub repository name"),
    (None, {'GITHUB_REPOSITORY': '../..'}, "GITHUB_REPOSITORY '../..': the owner '..' is not a GitHub user"),
    (None, {'GITHUB_REPOSITORY': 'owner/.'}, "GITHUB_REPOSITORY 'owner/.': the name '.' is not"),
    (None, {'GITHUB_REPOSITORY': '-owner/app'}, "GITHUB_REPOSITORY '-owner/app': the owner '-owner' is not"),
    (None, {'GITHUB_REPOSITORY': 'o/%s' % ('a' * 101)}, "GITHUB_REPOSITORY 'o/aaaa"),
    (None, {'GITHUB_REPOSITORY': 'o/r/actions'}, "GITHUB_REPOSITORY 'o/r/actions' is not OWNER/NAME"),
])
def test_a_repository_name_against_githubs_rules_names_the_setting_used(github, github_repo, environ, said):
    """The name is refused before any request, by the setting the operator actually used."""
    results = check(github, repo=gs.find_repo(github_repo, environ))
    assert [r['status'] for r in results] == ['failed', 'failed']
    assert results[0]['msg'].startswith('cannot check STAGING_SSH: ' + said), results[0]['msg']
    assert github.requests == []


def test_every_request_sends_the_api_version(github):
    github.route(200, {'total_count': 0, 'secrets': []})
    github.route(200, {'total_count': 0, 'secrets': []}, path=STAGING)
    github.route(200, {'total_count': 0, 'secrets': []}, path=PROD)
    check(github)
    assert len(github.requests) == 3
    # header names are case-insensitive (urllib sends 'X-github-api-version')
    versions = [dict((k.lower(), v) for k, v in r['headers'].items()).get('x-github-api-version')
                for r in github.requests]
    assert versions == ['2022-11-28'] * 3


def test_a_429_with_retry_after_is_waited_out(github):
    """A secondary rate limit (429, Retry-After) is waited out and asked again, as the CLI does."""
    github.route(200, {'total_count': 1, 'secrets': [secret('STAGING_SSH')]}, path=STAGING)
    github.route(200, {'total_count': 0, 'secrets': []}, path=PROD)
    github.route(200, {'total_count': 0, 'secrets': []})
    github.limit(PATH, 429, {'message': 'You have exceeded a secondary rate limit'}, {'Retry-After': '2'})
    started = time.monotonic()
    results = check(github)
    assert time.monotonic() - started >= 2
    assert [r['status'] for r in results] == ['ok', 'manual'], results
    assert [r['path'] for r in github.requests].count(PATH) == 2


def test_a_rate_limit_longer_than_a_minute_is_one_line(github):
    github.limit(PATH, 403, {'message': 'API rate limit exceeded'},
                 {'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': str(int(time.time()) + 3600)})
    started = time.monotonic()
    results = check(github)
    assert time.monotonic() - started < 5
    assert results[0]['status'] == 'failed'
    assert 'GitHub API rate limit (HTTP 403) (GitHub: API rate limit exceeded): it resets in 36' in results[0]['msg']
    assert 'run the stage again later' in results[0]['msg']


@pytest.mark.parametrize('setting, environ, used', [
    (None, {}, 'https://api.github.com'),
    (None, {'GITHUB_API_URL': 'https://ghe.example/api/v3'}, 'https://ghe.example/api/v3'),
    (None, {'GITHUB_API_URL': 'https://ghe.example/api/v3', 'FACTIII_GITHUB_API_URL': 'https://proxy.example/'},
     'https://proxy.example'),
    ('https://role.example/api', {'FACTIII_GITHUB_API_URL': 'https://proxy.example/'}, 'https://role.example/api'),
])
def test_the_api_url_comes_from_the_documented_order(monkeypatch, setting, environ, used):
    calls = []

    def fake_open_url(url, **kwargs):
        calls.append(url)
        raise urllib.error.URLError('no network in this test')

    monkeypatch.setattr(gs, 'open_url', fake_open_url)
    results = gs.check_secrets(['STAGING_SSH'], 'o/r', TOKEN, api_url=setting, environ=environ)
    assert calls == [used + '/repos/o/r/actions/secrets?per_page=100']
    assert results[0]['msg'].startswith('cannot check STAGING_SSH: cannot reach the GitHub API at ' + used)


def test_an_api_url_that_is_not_one_is_one_line_and_no_request(monkeypatch):
    monkeypatch.setattr(gs, 'open_url', lambda *a, **k: pytest.fail('no request'))
    results = gs.check_secrets(['STAGING_SSH'], 'o/r', TOKEN, environ={'FACTIII_GITHUB_API_URL': 'ghe.example'})
    assert results[0]['status'] == 'failed'
    assert results[0]['msg'] == "cannot check STAGING_SSH: FACTIII_GITHUB_API_URL 'ghe.example' is not the " \
                                "http(s) URL of a GitHub API"


def test_no_token_is_manual_and_makes_no_request(github):
    results = check(github, token=None)
    assert [r['status'] for r in results] == ['manual', 'manual']
    steps = results[0]['steps']
    assert 'export GITHUB_TOKEN=$(gh auth token)' in steps
    assert any('Secrets: read' in s and 'fine-grained PAT' in s for s in steps)
    assert any('secrets.GITHUB_TOKEN' in s for s in steps)
    assert github.requests == []


def test_no_repo_is_manual(github):
    results = check(github, repo=None)
    assert [r['status'] for r in results] == ['manual', 'manual']
    assert 'set secrets_github_repo or GITHUB_REPOSITORY' in results[0]['msg']
    assert github.requests == []


def test_no_names_no_request(github):
    assert check(github, names=[]) == []
    assert github.requests == []


def test_find_token_and_repo():
    assert gs.find_token({'GITHUB_TOKEN': 'a', 'GH_TOKEN': 'b'}) == 'a'
    assert gs.find_token({'GITHUB_TOKEN': '', 'GH_TOKEN': 'b'}) == 'b'
    assert gs.find_token({}) is None
    assert gs.find_repo('x/y', {'GITHUB_REPOSITORY': 'o/r'}) == 'x/y'
    assert gs.find_repo(None, {'GITHUB_REPOSITORY': 'o/r'}) == 'o/r'
    assert gs.find_repo(None, {}) is None


def test_scrub_nested():
    value = {'msg': 'x %s y' % TOKEN, 'steps': [TOKEN], 'details': {'k': TOKEN, 'n': 1}}
    assert TOKEN not in json.dumps(gs.scrub(value, TOKEN))


def test_the_ca_file_reaches_the_request_and_is_removed_after(monkeypatch, tmp_path):
    """FACTIII_GITHUB_CA_BUNDLE's CAs (plus the usual ones) are the trust of every request; the combined
    file is removed when the check ends (the action runs in a forked worker, where atexit does not run)."""
    extra = tmp_path / 'corp.pem'
    extra.write_text('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
    seen = []

    def fake_open_url(url, **kwargs):
        with open(kwargs['ca_path']) as handle:
            seen.append((kwargs['ca_path'], handle.read()))
        raise urllib.error.URLError('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: '
                                    'unable to get local issuer certificate (_ssl.c:1006)')

    monkeypatch.setattr(gs, 'open_url', fake_open_url)
    results = gs.check_secrets(['STAGING_SSH'], 'o/r', TOKEN, environ={'FACTIII_GITHUB_CA_BUNDLE': str(extra)})
    assert len(seen) == 1 and seen[0][1].endswith(extra.read_text())
    assert not os.path.exists(seen[0][0])
    assert results[0]['msg'] == (
        'cannot check STAGING_SSH: the TLS certificate of the GitHub API at https://api.github.com is not trusted '
        '(unable to get local issuer certificate): if it is a GitHub Enterprise Server or a proxy with its own CA, '
        'set FACTIII_GITHUB_CA_BUNDLE to a PEM file of that CA')
