# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks, from the controller, that a repo's GitHub Actions secrets exist.

Only secret names are listed (GitHub never returns values). The token comes
from the controller's environment and must never reach a result, a message
or an exception: everything leaving this module goes through ``scrub()``.

A stage's SSH key (``<STAGE>_SSH``) must be a secret of the GitHub environment
``<stage>`` and not a repository secret: a repository secret is readable by
every workflow of every branch anyone with write access pushes, which the
environment's deployment-branch rules and required reviewers cannot stop.
The workflow templates run each job that uses ``<STAGE>_SSH`` in
``environment: <stage>``.

The API version header, the repository-name rules, the API URL's order
(``secrets_github_api_url``, FACTIII_GITHUB_API_URL, GITHUB_API_URL, GitHub's),
the extra CA certificates (FACTIII_GITHUB_CA_BUNDLE) and the rate-limit waits
are those of plugin_utils/github_api.py, shared with the factiii CLI.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client
import json
import os
import re
import time
import urllib.error
from urllib.parse import quote, urlsplit

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url
from ansible.utils.display import Display

from ansible_collections.factiii.infra.plugins.module_utils.fix import FAILED, Result, failed, manual, ok
from ansible_collections.factiii.infra.plugins.module_utils.options import setting, variable
from ansible_collections.factiii.infra.plugins.module_utils.batch import steps_once
from ansible_collections.factiii.infra.plugins.plugin_utils import github_api
from ansible_collections.factiii.infra.plugins.plugin_utils.reasons import join_lines, scrub

display = Display()

TIMEOUT = 10
PER_PAGE = 100
# GitHub allows 100 secrets per repository; this only stops a server that
# keeps answering rel="next" forever.
MAX_PAGES = 50
TOKEN_ENV = ('GITHUB_TOKEN', 'GH_TOKEN')
REPO_ENV = 'GITHUB_REPOSITORY'
REPO_VARIABLE = variable('secrets', 'github_repo')  # what the operator sets: the role's variable
API_URL_VARIABLE = variable('secrets', 'github_api_url')
HTTP_AGENT = 'factiii.infra-ansible'
# What a fine-grained token needs to list repository and environment secrets.
PERMISSIONS = '"Secrets: read" and "Environments: read"'

_LINK_RE = re.compile(r'<([^>]*)>\s*;([^,]*)')


class GitHubError(Exception):
    """The API could not answer; ``str()`` is one scrubbed line for a report.

    ``status`` is the HTTP status GitHub answered, when it answered one.
    """

    def __init__(self, msg, status=None):
        super(GitHubError, self).__init__(msg)
        self.status = status


def fix_id(name):
    return 'secrets-%s-missing' % name.lower().replace('_', '-')


def environment_of(name):
    """The GitHub environment a secret must live in: STAGING_SSH -> 'staging'.

    None for a name that is not a stage's key (``<STAGE>_SSH``): such a
    secret is checked at repository level.
    """
    upper = name.upper()
    if upper.endswith('_SSH') and len(upper) > 4:
        return upper[:-4].lower()
    return None


def find_token(environ=None):
    environ = os.environ if environ is None else environ
    for var in TOKEN_ENV:
        value = (environ.get(var) or '').strip()
        if value:
            return value
    return None


class RepoName(str):
    """A repository's OWNER/NAME that knows the setting it came from, for the message about a bad one."""

    def __new__(cls, value, setting):
        name = super(RepoName, cls).__new__(cls, value)
        name.setting = setting
        return name


def find_repo(github_repo=None, environ=None):
    """The role's github_repo, else GITHUB_REPOSITORY (a RepoName), else None."""
    environ = os.environ if environ is None else environ
    for value, where in ((github_repo, REPO_VARIABLE), (environ.get(REPO_ENV), REPO_ENV)):
        if (value or '').strip():
            return RepoName(value.strip(), where)
    return None


def _next_link(header):
    for url, params in _LINK_RE.findall(header or ''):
        if re.search(r'rel="?next"?', params):
            return url
    return None


def _origin(url):
    parts = urlsplit(url)
    return (parts.scheme.lower(), parts.netloc.lower())


def _error_body(exc):
    try:
        body = exc.read()
    except (OSError, AttributeError, ValueError, http.client.HTTPException):
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _http_reason(exc, repo, environment=None, wait=None):
    data = _error_body(exc)
    message = join_lines(data.get('message') or exc.reason or '')
    said = ' (GitHub: %s)' % message if message else ''
    headers = exc.headers or {}
    if wait is not None:
        return ('GitHub API rate limit (HTTP %d)%s: it resets in %ds, and this stage waits at most %ds, %d '
                'times; run the stage again later' % (exc.code, said, int(wait + 0.999), github_api.MAX_RATE_LIMIT_WAIT,
                                                      github_api.RATE_LIMIT_RETRIES))
    if exc.code in (403, 429) and headers.get('X-RateLimit-Remaining') == '0':
        return 'GitHub API rate limit exceeded (HTTP %d)%s; retry after the reset time' % (exc.code, said)
    if exc.code == 401:
        return ('GitHub rejected the token (HTTP 401)%s: GITHUB_TOKEN / GH_TOKEN is wrong, '
                'expired or revoked' % said)
    if exc.code == 403:
        where = 'environment %s of %s' % (environment, repo) if environment else repo
        return ('the token may not list the Actions secrets of %s (HTTP 403)%s: it needs the '
                'repository permissions %s (fine-grained PAT); the GITHUB_TOKEN of '
                'GitHub Actions can never list secrets' % (where, said, PERMISSIONS))
    if exc.code == 404:
        if environment:
            return 'environment %s not found in %s' % (environment, repo)
        return 'repository %s not found or token cannot see it' % repo
    if 300 <= exc.code < 400:
        return ('GitHub answered HTTP %d (moved to %s): the repository was renamed or moved, '
                'update %s' % (exc.code, headers.get('Location') or 'an unknown place', REPO_VARIABLE))
    return 'GitHub API answered HTTP %d%s' % (exc.code, said)


def list_secrets(repo, token, api_url=github_api.DEFAULT_API_URL, timeout=TIMEOUT, ca_path=None, environment=None):
    """All Actions secrets of ``repo`` ('owner/name'), or of its ``environment``
    when one is given: {NAME: GitHub's item}.

    Raises GitHubError with a scrubbed one-line reason (``status`` 404 for an
    environment: it does not exist).
    """
    try:
        return _list_secrets(repo, token, api_url, timeout, ca_path, environment)
    except GitHubError as exc:
        raise GitHubError(scrub(str(exc), token), exc.status)


def _list_secrets(repo, token, api_url, timeout, ca_path, environment):
    problem = github_api.repo_problem(repo or '', getattr(repo, 'setting', REPO_VARIABLE))
    if problem:
        raise GitHubError(problem)
    owner, name = repo.split('/', 1)
    base = api_url.rstrip('/')
    url = '%s/repos/%s/%s' % (base, quote(owner, safe=''), quote(name, safe=''))
    if environment:
        # an environment's name may hold a '/': GitHub wants it as %2F
        url += '/environments/%s' % quote(environment, safe='')
    else:
        url += '/actions'
    url += '/secrets?per_page=%d' % PER_PAGE
    headers = github_api.headers(token)
    found = {}
    seen = set()
    while url:
        if url in seen or len(seen) >= MAX_PAGES:
            raise GitHubError('GitHub API pagination does not end (at %s)' % url)
        seen.add(url)
        # The bearer token goes with every page: a rel="next" link to another
        # host would hand it to that host.
        if _origin(url) != _origin(base):
            raise GitHubError('GitHub API pagination points away from %s (to %s)' % (base, url))
        data, link = _get(url, headers, repo, timeout, ca_path, environment)
        for item in data.get('secrets') or []:
            if isinstance(item, dict) and item.get('name'):
                found[item['name'].upper()] = item
        url = _next_link(link)
    return found


def _get(url, headers, repo, timeout, ca_path, environment=None):
    """One page; a rate-limited answer is waited out and asked again, as the CLI does
    (at most github_api.RATE_LIMIT_RETRIES times, github_api.MAX_RATE_LIMIT_WAIT seconds each)."""
    retries = 0
    while True:
        try:
            body, link = _get_once(url, headers, timeout, ca_path)
            break
        except urllib.error.HTTPError as exc:
            wait = github_api.rate_limit_wait(exc.code, exc.headers)
            if wait is not None and wait <= github_api.MAX_RATE_LIMIT_WAIT and retries < github_api.RATE_LIMIT_RETRIES:
                retries += 1
                display.display('factiii.infra.stage secrets: GitHub rate limit (HTTP %d): waiting %ds before '
                                'retrying' % (exc.code, int(wait + 0.999)))
                time.sleep(wait)
                continue
            raise GitHubError(_http_reason(exc, repo, environment, wait), exc.code)
        except urllib.error.URLError as exc:
            raise GitHubError(_unreachable(url, exc.reason))
        except (UrlsConnectionError, OSError, http.client.HTTPException, ValueError) as exc:
            raise GitHubError(_unreachable(url, exc))
    try:
        data = json.loads(body)
    except ValueError:
        raise GitHubError('the GitHub API at %s did not answer JSON' % url)
    if not isinstance(data, dict):
        raise GitHubError('the GitHub API at %s answered an unexpected payload' % url)
    return data, link


def _get_once(url, headers, timeout, ca_path):
    # No netrc: a ~/.netrc entry for the API host would replace our
    # Authorization header. No redirects: urllib would resend the token to
    # wherever a redirect points.
    resp = open_url(url, method='GET', headers=headers, timeout=timeout, ca_path=ca_path,
                    http_agent=HTTP_AGENT, use_netrc=False, follow_redirects='none')
    try:
        return resp.read(), resp.headers.get('Link')
    finally:
        resp.close()


def _unreachable(url, reason):
    text = join_lines(reason) or type(reason).__name__
    if github_api.certificate_problem(text):
        return github_api.certificate_message('%s://%s' % urlsplit(url)[:2], text)
    return 'cannot reach the GitHub API at %s: %s' % (url, text)


def _server(name):
    """'STAGING_SSH' -> 'the staging server': which box the key must open."""
    if name.upper().endswith('_SSH') and len(name) > 4:
        return 'the %s server' % name[:-4].lower()
    return 'the server'


def _token_steps(repo):
    return [
        'export GITHUB_TOKEN=$(gh auth token)',
        'the token must be allowed to read the Actions secrets of %s and of its environments: a '
        'fine-grained PAT with the repository permissions %s, or gh logged in with the repo scope'
        % (repo or 'the repository', PERMISSIONS),
        'in GitHub Actions, secrets.GITHUB_TOKEN cannot list secrets: store a fine-grained PAT with '
        '%s as a secret and pass it to the job as env GITHUB_TOKEN' % PERMISSIONS,
        'run the secrets stage again',
    ]


def check_secrets(names, repo, token, api_url=None, timeout=TIMEOUT, ca_path=None, environ=None):
    """One result dict per name in ``names``, in order, free of the token.

    ``api_url``: the role's setting, else found as github_api.api_url() finds it;
    ``ca_path``: a CA file, else FACTIII_GITHUB_CA_BUNDLE's (plus the usual CAs).
    """
    made = None
    try:
        api_url = github_api.api_url((api_url, API_URL_VARIABLE) if api_url else None, environ)[0]
        if not ca_path:
            ca_path = made = github_api.trust_file(environ)
    except ValueError as exc:
        return steps_once([failed('cannot check %s: %s' % (name, exc), repo=repo).as_dict(fix_id(name))
                           for name in names or []])
    try:
        results = _check(names, repo, token, api_url, timeout, ca_path)
    finally:
        if made:
            github_api.discard(made)  # the action runs in a forked worker: no atexit there
    return steps_once([scrub(res.as_dict(fix_id(name)), token) for name, res in results])


def _check(names, repo, token, api_url, timeout, ca_path):
    names = list(names or [])
    if not names:
        return []
    if not repo or not token:
        steps = []
        missing = []
        if not repo:
            missing.append('no repository: set %s or %s' % (REPO_VARIABLE, REPO_ENV))
            steps.append('%s, or export %s=owner/name' % (setting('secrets', 'github_repo', 'owner/name'), REPO_ENV))
        if not token:
            missing.append('no token in GITHUB_TOKEN or GH_TOKEN')
            steps.extend(_token_steps(repo))
        return [(name, manual('cannot check %s: %s' % (name, '; '.join(missing)), steps,
                              repo=repo)) for name in names]
    try:
        found = list_secrets(repo, token, api_url=api_url, timeout=timeout, ca_path=ca_path)
    except GitHubError as exc:
        return [(name, failed('cannot check %s: %s' % (name, exc), repo=repo)) for name in names]
    # each environment once: {env: {NAME: item}, or None (no such environment), or a GitHubError}
    envs = {}
    for env in [environment_of(name) for name in names]:
        if env and env not in envs:
            try:
                envs[env] = list_secrets(repo, token, api_url=api_url, timeout=timeout, ca_path=ca_path,
                                         environment=env)
            except GitHubError as exc:
                envs[env] = None if exc.status == 404 else exc
    out = []
    for name in names:
        env = environment_of(name)
        in_repo = found.get(name.upper())
        if env is None:
            out.append((name, _repository_secret(name, repo, in_repo)))
        elif isinstance(envs[env], GitHubError):
            out.append((name, failed('cannot check %s: %s' % (name, envs[env]), repo=repo, environment=env)))
        else:
            out.append((name, _environment_secret(name, repo, env, envs[env], in_repo)))
    return out


def _repository_secret(name, repo, item):
    if item is not None:
        return ok('%s is set in %s' % (name, repo), repo=repo, updated_at=item.get('updated_at'))
    return manual('%s is not set in %s' % (name, repo), [
        'gh secret set %s --repo %s < path/to/private_key' % (name, repo),
        _key_step(name),
    ], repo=repo)


def _key_step(name):
    return ('the value is the private SSH key that can log in to %s (its public key is in '
            'the deploy user\'s ~/.ssh/authorized_keys there)' % _server(name))


def _environment_steps(repo, env):
    return [
        'create the environment %s: gh api -X PUT repos/%s/environments/%s' % (env, repo, quote(env, safe='')),
        'in Settings > Environments > %s, limit "Deployment branches and tags" to protected branches '
        '(or the default branch)%s' % (env, ', and add Required reviewers' if env == 'prod' else ''),
    ]


def _environment_secret(name, repo, env, env_secrets, in_repo):
    """A stage's key: a secret of its environment, never a repository secret."""
    details = dict(repo=repo, environment=env)
    in_env = None if env_secrets is None else env_secrets.get(name.upper())
    set_env = 'gh secret set %s --env %s --repo %s < path/to/private_key' % (name, env, repo)
    delete_repo = 'gh secret delete %s --repo %s' % (name, repo)
    if in_repo is not None:
        # Every workflow of every branch can read a repository secret, and in a job of
        # environment `env` it stands in for a missing environment secret: a failure,
        # not a to-do, so the daily scan turns red.
        if in_env is not None:
            return Result(FAILED, '%s is a secret of environment %s and also a repository secret of %s, '
                          'which every workflow of any branch can read: %s' % (name, env, repo, delete_repo),
                          steps=[delete_repo], details=details)
        steps = (_environment_steps(repo, env) if env_secrets is None else []) + [set_env, delete_repo]
        return Result(FAILED, '%s is a repository secret of %s, which every workflow of any branch can read, '
                      'and not a secret of environment %s: %s' % (name, repo, env, '; '.join(steps)),
                      steps=steps, details=details)
    if in_env is not None:
        return ok('%s is a secret of environment %s in %s' % (name, env, repo),
                  updated_at=in_env.get('updated_at'), **details)
    if env_secrets is None:
        # GitHub answers 404 for an environment the repository does not have
        return manual('%s is not set: %s has no environment %s (or the token cannot see it)' % (name, repo, env),
                      _environment_steps(repo, env) + [set_env, _key_step(name)], **details)
    return manual('%s is not set in environment %s of %s' % (name, env, repo), [set_env, _key_step(name)],
                  **details)
