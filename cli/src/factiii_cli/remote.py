"""Stages run by the app repository's GitHub workflows (staging and prod).

A developer's machine holds no server SSH key: the CLI starts the stage's
workflow through the GitHub REST API (PyGithub), finds the run it started,
follows it until it ends and downloads the run's results artifact.

Finding the run this CLI started (not an older one, not someone else's):

* The dispatch asks for the run's details (``return_run_details``, which GitHub
  answers with 200 and the run id); that id is used as it is.
* Where the server answers 204 without details (GitHub Enterprise Server
  before that feature; one that rejects the parameter with 400/422 gets the
  dispatch again without it), the run is looked for among the workflow's runs
  with event ``workflow_dispatch`` on the dispatched ref, created at or after
  the time the server reported (its ``Date`` header) just before the dispatch
  (GitHub's clock, so the local clock's skew does not matter), and not among
  the runs that existed before the dispatch. The oldest such run is taken. Two
  dispatches of the same workflow on the same ref within the same seconds could
  still be mixed up; nothing else can.

What must be the same in the secrets stage (the API version header, the
repository-name rules, the API URL's variables and their order, the extra CA
certificates, how long a rate limit is waited out, what a TLS failure is
called) comes from the collection's plugin_utils/github_api.py, passed in as
``gh`` (Collection.github_api).
"""
import contextlib
import email.utils
import logging
import os
import re
import shutil
import subprocess
import time
import zipfile
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import RateLimitExceededException, RateLimitExceededExceedsMaxWait, UnknownObjectException

from factiii_cli.errors import CliError
from factiii_cli.progress import duration
from factiii_cli.report import reports_in_zip

RESULTS_ARTIFACT_PREFIX = 'factiii-results'
TOKEN_NAMES = ('GITHUB_TOKEN', 'GH_TOKEN')

# A run not listed this long after its dispatch is reported, not waited for.
FIND_RUN_TIMEOUT = 120
# While a run is followed, GitHub unreachable this long in a row ends the command
# (a laptop's network may drop for a moment; the run goes on meanwhile).
NETWORK_GRACE = 60
REQUEST_TIMEOUT = 30
MAX_ARTIFACT_BYTES = 64 * 1024 * 1024

REMOTE_URL = re.compile(r'^(?:[a-z+]+://)?(?:[^@/]+@)?[^/:]+(?::\d+)?[/:](?P<repo>[^/]+/[^/]+?)(?:\.git)?/?$')
ERRNO = re.compile(r'\[Errno -?\d+\] ([^\'")]+)')

# PyGithub logs each failed request and each backoff through a stderr handler of its
# own ('Request GET ... failed with 403', 'Setting next backoff to ...'), beside the
# CLI's lines, which already say what happens (waits, retries, errors): silenced.
logging.getLogger('github').setLevel(logging.CRITICAL + 1)


class NoToken(CliError):
    """No token was found (the secrets stage then reports what to set)."""


class NoRepository(CliError):
    """No repository was named (the secrets stage then reports what to set)."""


def api_url(gh):
    """The GitHub REST API base URL, found as the secrets stage finds it (gh.api_url)."""
    try:
        return gh.api_url()[0]
    except ValueError as exc:
        raise CliError('%s' % exc) from None


def _web_host(api):
    host = urlparse(api).hostname or 'github.com'
    return 'github.com' if host == 'api.github.com' else host


def token(api):
    """GITHUB_TOKEN, GH_TOKEN, else `gh auth token` when the GitHub CLI is installed."""
    for name in TOKEN_NAMES:
        value = os.environ.get(name, '').strip()
        if value:
            return value
    gh = shutil.which('gh')
    if gh:
        try:
            proc = subprocess.run([gh, 'auth', 'token', '--hostname', _web_host(api)],
                                  capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            proc = None
        if proc is not None and proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    raise NoToken('no GitHub token: set GITHUB_TOKEN to a token with "Actions: read and write" on the app '
                  'repository, or log in with `gh auth login`')


def parse_remote(url, gh):
    """OWNER/NAME of a git remote URL (scp-like, ssh:// or https://), else None."""
    match = REMOTE_URL.match((url or '').strip())
    return match.group('repo') if match and gh.repo_problem(match.group('repo'), 'origin') is None else None


def git(*args, cwd=None):
    """A git command's output, or None when git or the repository is not there."""
    try:
        proc = subprocess.run(['git'] + list(args), capture_output=True, text=True, timeout=30, check=False, cwd=cwd)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def repository(gh, arg=None):
    """--repo, else GITHUB_REPOSITORY, else the GitHub repository of this clone's origin remote;
    checked by GitHub's rules before any request (the error names the setting used)."""
    for value, where in ((arg, '--repo'), (os.environ.get('GITHUB_REPOSITORY'), 'GITHUB_REPOSITORY')):
        if value:
            problem = gh.repo_problem(value, where)
            if problem:
                raise CliError(problem)
            return value
    origin = git('remote', 'get-url', 'origin')
    found = parse_remote(origin, gh)
    if found:
        return found
    raise NoRepository('no repository: pass --repo OWNER/NAME, set GITHUB_REPOSITORY, or run inside a clone of '
                       'the app repository (its origin remote%s)' % (
                           ' %s is not a GitHub URL' % origin if origin else ' is not set'))


def _server_time(headers):
    value = (headers or {}).get('date') or (headers or {}).get('Date')
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(timezone.utc) if value else None
    except (TypeError, ValueError):
        return None


def _message(exc):
    data = exc.data if isinstance(exc.data, dict) else {}
    text = data.get('message') or exc.message or (exc.data if isinstance(exc.data, str) else '') or 'no message'
    return ' '.join(str(text).split())


def _reason(exc):
    """The innermost cause of a requests/urllib3 error, in a few words."""
    match = ERRNO.search(str(exc))
    if match:
        return match.group(1).strip()
    for dummy in range(8):
        inner = getattr(exc, 'reason', None)
        if not isinstance(inner, BaseException):
            inner = exc.args[-1] if exc.args and isinstance(exc.args[-1], BaseException) else None
        if inner is None:
            break
        exc = inner
    return ' '.join(str(exc).split()) or exc.__class__.__name__


class _Retry(GithubRetry):
    """PyGithub's retry (it knows GitHub's rate-limit answers), bounded and visible.

    * a rate-limited request (403 with X-RateLimit-Remaining 0 and its reset,
      secondary limits, 429 with Retry-After) waits and is retried, at most
      RATE_LIMIT_RETRIES times and MAX_RATE_LIMIT_WAIT seconds per wait; a longer
      wait is not waited for (RateLimitExceededExceedsMaxWait);
    * a POST (the dispatch) is never retried after a 5xx, which could start a
      second run; a refused connection is retried twice;
    * each wait is announced on the progress output.
    """

    def __init__(self, notify=None, **kwargs):
        self.notify = notify
        super().__init__(**kwargs)

    def new(self, **kw):
        retry = super().new(**kw)
        retry.notify = self.notify
        return retry

    def is_retry(self, method, status_code, has_retry_after=False):
        if method == 'POST' and status_code not in (403, 429):
            return False
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is not None and response.status in (403, 429) and 'Retry-After' in response.headers:
            wait = self.parse_retry_after(response.headers['Retry-After'])
            if wait > self.max_rate_limit_wait:
                raise RateLimitExceededExceedsMaxWait(
                    response.status, self.get_content(response, url), dict(response.headers), wait=wait)
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep(self, response=None):
        if self.notify is not None and response is not None:
            wait = self.get_retry_after(response) if 'Retry-After' in response.headers else self.get_backoff_time()
            what = 'GitHub rate limit' if response.status in (403, 429) else 'GitHub answered'
            self.notify('%s (HTTP %s): waiting %s before retrying' % (what, response.status, duration(wait + 0.999)))
        super().sleep(response)


class NetworkError(CliError):
    """GitHub could not be reached (perhaps only for a moment)."""


class Outcome:
    """A finished workflow run: its conclusion, where to see it, and its results reports."""

    def __init__(self, run, reports, problems, missing):
        self.run = run
        self.conclusion = run.conclusion
        self.url = run.html_url
        self.reports = reports      # [(artifact/file name, its bytes)], not checked yet
        self.problems = problems    # what could not be read (an expired artifact, a bad zip)
        self.missing = missing      # why there are no results, when there are none


class Workflows:
    """The GitHub side: one repository, one token."""

    def __init__(self, repo_name, token_value, progress, gh, api=None, poll_interval=5.0, timeout=3600.0):
        self.gh = gh
        self.api = (api or api_url(gh)).rstrip('/')
        self.repo_name = repo_name
        self.progress = progress
        self.poll_interval = poll_interval
        self.timeout = timeout
        try:
            # True (requests' own CAs), or one file of those plus FACTIII_GITHUB_CA_BUNDLE's
            self._verify = gh.trust_file() or True
        except ValueError as exc:
            raise CliError('%s' % exc) from None
        # other=0: a TLS failure is not retried (it is not the network: it does not pass)
        retry = _Retry(notify=progress.line, total=gh.RATE_LIMIT_RETRIES, connect=2, read=0, other=0,
                       backoff_factor=0.5, max_rate_limit_wait=gh.MAX_RATE_LIMIT_WAIT,
                       secondary_rate_wait=gh.MAX_RATE_LIMIT_WAIT, raise_on_status=False)
        self._retry = retry
        self._token = token_value
        # Requests are made one at a time, the polls --poll-interval apart: PyGithub's own
        # 0.25 s spacing of reads adds nothing; its 1 s between writes (GitHub's advice) stays.
        self.github = Github(base_url=self.api, auth=Auth.Token(token_value), retry=retry, timeout=REQUEST_TIMEOUT,
                             user_agent='factiii-cli', seconds_between_requests=None, api_version=gh.API_VERSION,
                             verify=self._verify)
        self._repo = None
        self._outage = None

    # -- errors ---------------------------------------------------------------

    @contextlib.contextmanager
    def _api(self, doing, not_found=None):
        """Turn what the API call raises into one line saying what failed and what to do."""
        try:
            yield
        except GithubException as exc:
            raise self._refused(exc, doing, not_found) from None
        except requests.exceptions.RetryError as exc:
            raise CliError('GitHub kept refusing while %s (%s); try again later' % (doing, exc)) from None
        except requests.exceptions.SSLError as exc:
            raise CliError('%s (while %s)' % (self.gh.certificate_message(self.api, exc), doing)) from None
        except requests.exceptions.Timeout:
            raise NetworkError('the GitHub API at %s did not answer within %ds while %s' % (
                self.api, REQUEST_TIMEOUT, doing)) from None
        except requests.exceptions.ConnectionError as exc:
            if self.gh.certificate_problem(exc):  # a TLS failure urllib3 reported as a connection error
                raise CliError('%s (while %s)' % (self.gh.certificate_message(self.api, exc), doing)) from None
            raise NetworkError('cannot reach the GitHub API at %s while %s (%s): is the network down?' % (
                self.api, doing, _reason(exc))) from None
        except requests.exceptions.RequestException as exc:
            raise CliError('GitHub API request failed while %s: %s' % (doing, _reason(exc))) from None

    def _refused(self, exc, doing, not_found):
        """The CliError for an error answer of the API."""
        if exc.status == 401:
            return CliError('GitHub rejected the token (HTTP 401 %s) while %s: set GITHUB_TOKEN to a valid token, '
                            'or log in again with `gh auth login`' % (_message(exc), doing))
        if isinstance(exc, RateLimitExceededExceedsMaxWait):
            return CliError('GitHub rate limit while %s: the limit resets in %s, longer than the %ds this command '
                            'waits; try again later' % (doing, duration(exc.wait or 0), self.gh.MAX_RATE_LIMIT_WAIT))
        if isinstance(exc, RateLimitExceededException) or exc.status == 429:
            return CliError('GitHub rate limit while %s (HTTP %s: %s), still after %d retries; try again later' % (
                doing, exc.status, _message(exc), self.gh.RATE_LIMIT_RETRIES))
        if isinstance(exc, UnknownObjectException) or exc.status == 404:
            return CliError(not_found or 'GitHub answered 404 Not Found while %s (%s)' % (doing, _message(exc)))
        hint = ''
        if exc.status == 403:
            hint = ': the token needs "Actions: read and write" and "Contents: read" on %s' % self.repo_name
        return CliError('GitHub refused %s (HTTP %s: %s)%s' % (doing, exc.status, _message(exc), hint))

    # -- the calls --------------------------------------------------------------

    @property
    def repo(self):
        if self._repo is None:
            with self._api('reading the repository %s' % self.repo_name,
                           not_found='repository %s not found on %s (or the token cannot see it): check --repo, '
                                     'GITHUB_REPOSITORY or the origin remote' % (self.repo_name, self.api)):
                self._repo = self.github.get_repo(self.repo_name)
        return self._repo

    def default_branch(self):
        return self.repo.default_branch

    def run(self, workflow_file, ref=None, inputs=None, label=None):
        """Dispatch ``workflow_file`` on ``ref``, follow the run, return its Outcome.

        Raises CliError when the run cannot be started or found, was cancelled,
        timed out, or could not be followed to its end.
        """
        label = label or workflow_file
        start = time.monotonic()
        ref = ref or self.default_branch()
        missing = ('workflow %s not found in %s: copy it from the collection\'s workflow-templates/ into '
                   '.github/workflows/ on %s' % (workflow_file, self.repo_name, ref))
        with self._api('reading the workflow %s' % workflow_file, not_found=missing):
            workflow = self.repo.get_workflow(workflow_file)
        if workflow.state != 'active':
            raise CliError('workflow %s in %s is %s: enable it (Actions > %s > Enable workflow)' % (
                workflow_file, self.repo_name, workflow.state, workflow.name))
        since = _server_time(workflow.raw_headers) or datetime.now(timezone.utc) - timedelta(seconds=60)
        since = since.replace(microsecond=0)
        with self._api('listing the runs of %s' % workflow_file):
            before = set(r.id for r in workflow.get_runs(branch=ref, event='workflow_dispatch').get_page(0))

        run_id = self._dispatch(workflow, workflow_file, ref, inputs, missing)
        self.progress.line('%s: started %s on %s in %s%s' % (
            label, workflow_file, ref, self.repo_name,
            ' with %s' % ', '.join('%s=%s' % kv for kv in sorted((inputs or {}).items())) if inputs else ''))
        if run_id is None:
            run_id = self._find(workflow, workflow_file, ref, since, before, label, start)
        run = self._follow(run_id, workflow_file, label, start)
        return Outcome(run, *self._results(run, label))

    def _dispatch(self, workflow, workflow_file, ref, inputs, missing):
        doing = 'starting %s on %s' % (workflow_file, ref)
        with self._api(doing, not_found=missing):
            try:
                started = workflow.create_dispatch(ref, inputs or {}, throw=True, return_run_details=True)
            except GithubException as exc:
                if exc.status not in (400, 422) or 'return_run_details' not in _message(exc):
                    raise
                # A server without run details (GitHub Enterprise Server without the feature): plain dispatch.
                started = workflow.create_dispatch(ref, inputs or {}, throw=True)
        return getattr(started, 'id', None)

    def _find(self, workflow, workflow_file, ref, since, before, label, start):
        created = since.strftime('>=%Y-%m-%dT%H:%M:%SZ')
        deadline = time.monotonic() + min(FIND_RUN_TIMEOUT, self.timeout)

        def look():
            runs = workflow.get_runs(branch=ref, event='workflow_dispatch', created=created).get_page(0)
            return [r for r in runs if r.id not in before and r.event == 'workflow_dispatch' and r.head_branch == ref
                    and r.created_at >= since]

        while True:
            mine = self._poll('looking for the run of %s' % workflow_file, look, label, start)
            if mine is None:
                continue
            if mine:
                return min(mine, key=lambda r: (r.created_at, r.id)).id
            if time.monotonic() >= deadline:
                raise CliError('the run of %s on %s did not show up within %s of its dispatch: see %s' % (
                    workflow_file, ref, duration(time.monotonic() - start), self._actions_url(workflow_file)))
            self.progress.status('%s: waiting for the run to show up' % label)
            time.sleep(self.poll_interval)

    def _poll(self, doing, look, label, start):
        """look() through _api; None after a network error that may pass (the caller looks again)."""
        try:
            with self._api(doing):
                found = look()
        except NetworkError as exc:
            now = time.monotonic()
            self._outage = self._outage or now
            if now - self._outage >= NETWORK_GRACE or now - start >= self.timeout:
                raise
            self.progress.status('%s: GitHub unreachable, trying again (%s)' % (label, exc))
            time.sleep(self.poll_interval)
            return None
        self._outage = None
        return found

    def _actions_url(self, workflow_file):
        host = _web_host(self.api)
        return 'https://%s/%s/actions/workflows/%s' % (host, self.repo_name, workflow_file)

    def _follow(self, run_id, workflow_file, label, start):
        def look():
            run = self.repo.get_workflow_run(run_id)
            return run, run.status, self._current_step(run) if run.status == 'in_progress' else ''

        while True:
            seen = self._poll('following run %s of %s' % (run_id, workflow_file), look, label, start)
            if seen is None:
                continue
            run, status, detail = seen
            if status == 'completed':
                break
            elapsed = time.monotonic() - start
            if elapsed >= self.timeout:
                raise CliError('run #%s of %s is still %s after %s (--timeout); it was not cancelled: %s' % (
                    run.run_number, workflow_file, status, duration(elapsed), run.html_url))
            self.progress.status('%s: run #%s %s%s' % (label, run.run_number, status.replace('_', ' '), detail))
            time.sleep(self.poll_interval)
        self.progress.line('%s: run #%s completed: %s after %s (%s)' % (
            label, run.run_number, run.conclusion, duration(time.monotonic() - start), run.html_url))
        if run.conclusion == 'cancelled':
            raise CliError('run #%s of %s was cancelled: %s' % (run.run_number, workflow_file, run.html_url))
        if run.conclusion == 'timed_out':
            raise CliError('run #%s of %s timed out on GitHub (the job\'s timeout-minutes): %s' % (
                run.run_number, workflow_file, run.html_url))
        if run.conclusion in ('startup_failure', 'action_required', 'stale'):
            raise CliError('run #%s of %s ended with %s before running the stage: %s' % (
                run.run_number, workflow_file, run.conclusion, run.html_url))
        return run

    def _current_step(self, run):
        """': job > step' of the step running now, or ''."""
        for job in run.jobs().get_page(0):
            if job.status != 'in_progress':
                continue
            steps = [s for s in (job.steps or []) if s.status == 'in_progress']
            return ': %s > %s' % (job.name, steps[0].name) if steps else ': %s' % job.name
        return ''

    def _results(self, run, label):
        """([(name, bytes)], [problems], None), or ([], [problems], why there are none)."""
        with self._api('listing the artifacts of run %s' % run.id):
            artifacts = [a for a in run.get_artifacts() if a.name.startswith(RESULTS_ARTIFACT_PREFIX)]
        if not artifacts:
            return [], [], 'run #%s uploaded no %s* artifact' % (run.run_number, RESULTS_ARTIFACT_PREFIX)
        found, problems = [], []
        for artifact in artifacts:
            if artifact.expired:
                problems.append('artifact %s has expired' % artifact.name)
                continue
            with self._api('downloading the artifact %s' % artifact.name):
                blob = self._download(artifact.archive_download_url)
            try:
                members, bad = reports_in_zip(blob)
            except (zipfile.BadZipFile, ValueError, RuntimeError, OSError, EOFError) as exc:
                problems.append('artifact %s is not a readable zip (%s)' % (artifact.name, exc))
                continue
            found.extend(('%s/%s' % (artifact.name, name), text) for name, text in members)
            problems.extend('artifact %s: %s' % (artifact.name, why) for why in bad)
        self.progress.line('%s: downloaded %s (%d results file%s)' % (
            label, ', '.join(a.name for a in artifacts), len(found), '' if len(found) == 1 else 's'))
        if not found:
            return [], problems, '; '.join(problems) or 'the %s artifact holds no results JSON' % RESULTS_ARTIFACT_PREFIX
        return found, problems, None

    def _download(self, url):
        """The artifact's zip. Not through PyGithub: its requester follows the 302 only to
        hosts under github.com / githubusercontent.com, and GitHub sends artifact downloads
        to its storage service elsewhere. The token goes to the API host only; the storage
        URL (signed, valid one minute) is fetched without it."""
        if urlparse(url).netloc != urlparse(self.api).netloc:
            raise CliError('refusing to send the token to %s (not the GitHub API at %s)' % (url, self.api))
        session = requests.Session()
        session.mount(url.split('://', 1)[0] + '://', HTTPAdapter(max_retries=self._retry))
        answer = session.get(url, allow_redirects=False, timeout=REQUEST_TIMEOUT, verify=self._verify,
                             headers=dict(self.gh.headers(self._token), **{'User-Agent': 'factiii-cli'}))
        if answer.status_code in (301, 302, 303, 307, 308) and answer.headers.get('Location'):
            location = requests.compat.urljoin(url, answer.headers['Location'])
            answer = requests.get(location, timeout=REQUEST_TIMEOUT, stream=True, verify=self._verify,
                                  headers={'User-Agent': 'factiii-cli'})
        if answer.status_code == 410:
            raise CliError('the results artifact at %s has expired (HTTP 410)' % url)
        if answer.status_code != 200:
            try:
                data = answer.json()
            except ValueError:
                data = {'message': answer.reason}
            raise GithubException(answer.status_code, data, dict(answer.headers))
        parts, total = [], 0
        for chunk in answer.iter_content(chunk_size=65536):
            total += len(chunk)
            if total > MAX_ARTIFACT_BYTES:
                raise CliError('the results artifact at %s is larger than %d MiB' % (url, MAX_ARTIFACT_BYTES // 2 ** 20))
            parts.append(chunk)
        return b''.join(parts)
