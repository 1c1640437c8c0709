# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""github_api: what the factiii CLI and the secrets stage share about GitHub's REST API."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils

import pytest

from ansible_collections.factiii.infra.plugins.plugin_utils import github_api as ga


@pytest.mark.parametrize('repo', ['acme/app', 'a/b', 'Acme-Corp/app.js', 'o/.github', 'user_emu/r_1', 'o/' + 'r' * 100,
                                  'a' * 39 + '/r'])
def test_repository_names_github_allows(repo):
    assert ga.repo_problem(repo, 'GITHUB_REPOSITORY') is None


@pytest.mark.parametrize('repo, why', [
    ('acme/..', "X 'acme/..': the name '..' is not a GitHub repository name"),
    ('../..', "X '../..': the owner '..' is not"),
    ('acme/.', "X 'acme/.': the name '.' is not"),
    ('acme', "X 'acme' is not OWNER/NAME"),
    ('acme/app/x', "X 'acme/app/x' is not OWNER/NAME"),
    ('/app', "X '/app': the owner '' is not"),
    ('acme/', "X 'acme/': the name '' is not"),
    ('-acme/app', "X '-acme/app': the owner '-acme' is not"),
    ('a' * 40 + '/r', "X '%s/r': the owner" % ('a' * 40)),
    ('o/' + 'r' * 101, "X 'o/%s': the name" % ('r' * 101)),
    ('acme/a pp', "X 'acme/a pp': the name 'a pp' is not"),
    ('acme/app%2f..', "X 'acme/app%2f..': the name"),
])
def test_repository_names_github_refuses_name_the_setting(repo, why):
    assert ga.repo_problem(repo, 'X').startswith(why)


def test_every_request_gets_the_same_headers():
    assert ga.headers() == {'Accept': 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28'}
    assert ga.headers('t0k')['Authorization'] == 'Bearer t0k'


def test_api_url_order():
    env = {'FACTIII_GITHUB_API_URL': 'https://a.example/', 'GITHUB_API_URL': 'https://b.example/api/v3'}
    explicit = ('https://c.example', 'secrets_github_api_url')
    assert ga.api_url(explicit, env) == explicit
    assert ga.api_url(None, env) == ('https://a.example', 'FACTIII_GITHUB_API_URL')
    only = {'GITHUB_API_URL': 'https://b.example/api/v3'}
    assert ga.api_url(None, only) == ('https://b.example/api/v3', 'GITHUB_API_URL')
    assert ga.api_url(None, {'FACTIII_GITHUB_API_URL': ' '}) == ('https://api.github.com', 'the default')
    for bad in ('api.github.com', 'ftp://x', 'https://', 'https://x/?a=1'):
        with pytest.raises(ValueError):
            ga.api_url(None, {'GITHUB_API_URL': bad})


def test_rate_limit_wait():
    now = 1000000.0
    assert ga.rate_limit_wait(429, {'Retry-After': '7'}, now) == 7
    assert ga.rate_limit_wait(403, {'retry-after': '3'}, now) == 3
    later = email.utils.formatdate(now + 30, usegmt=True)
    assert ga.rate_limit_wait(429, {'Retry-After': later}, now) == pytest.approx(30, abs=1)
    assert ga.rate_limit_wait(403, {'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': str(int(now) + 5)}, now) == 6
    assert ga.rate_limit_wait(429, {}, now) == 60
    # a 403 that is no rate limit (a permission) is not waited for, nor another status
    assert ga.rate_limit_wait(403, {'X-RateLimit-Remaining': '4999'}, now) is None
    assert ga.rate_limit_wait(500, {'Retry-After': '1'}, now) is None


def test_the_ca_file_adds_to_the_usual_cas(tmp_path):
    extra = tmp_path / 'corp.pem'
    extra.write_text('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
    assert ga.trust_file({}) is None
    combined = ga.trust_file({'FACTIII_GITHUB_CA_BUNDLE': str(extra)})
    with open(combined) as handle:
        text = handle.read()
    assert text.endswith(extra.read_text())
    assert text.count('BEGIN CERTIFICATE') > 1, 'the usual CAs are kept'
    with pytest.raises(ValueError) as caught:
        ga.trust_file({'FACTIII_GITHUB_CA_BUNDLE': str(tmp_path / 'missing.pem')})
    assert str(caught.value).startswith('FACTIII_GITHUB_CA_BUNDLE: cannot read %s' % (tmp_path / 'missing.pem'))
    (tmp_path / 'empty.pem').write_text('not a certificate')
    with pytest.raises(ValueError) as caught:
        ga.trust_file({'FACTIII_GITHUB_CA_BUNDLE': str(tmp_path / 'empty.pem')})
    assert 'holds no PEM certificate' in str(caught.value)


def test_a_certificate_failure_is_named_so():
    text = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)"
    assert ga.certificate_problem(text)
    assert not ga.certificate_problem('[Errno 111] Connection refused')
    assert ga.certificate_message('https://ghe.example/api/v3', text) == (
        'the TLS certificate of the GitHub API at https://ghe.example/api/v3 is not trusted (self-signed certificate): '
        'if it is a GitHub Enterprise Server or a proxy with its own CA, set FACTIII_GITHUB_CA_BUNDLE to a PEM file '
        'of that CA')
