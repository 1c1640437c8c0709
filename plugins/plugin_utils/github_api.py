# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the factiii CLI and the secrets stage share about GitHub's REST API.

Both talk to the same API from the controller: the CLI (cli/, through PyGithub
and requests) and the secrets stage (github_secrets, through Ansible's
open_url). One place for what must be the same in both: the API version sent
with every request, the repository-name rules, where the API URL and the extra
CA certificates come from, how long a rate limit is waited out, and what a TLS
failure is called. Standard library only: the CLI imports this file from the
installed collection, as it imports the report library (plugin_utils/results.py).

The API URL, first found of:

1. the setting given explicitly (the secrets role's ``secrets_github_api_url``);
2. ``FACTIII_GITHUB_API_URL``;
3. ``GITHUB_API_URL`` (set by GitHub Actions: GitHub Enterprise Server's API in its runs);
4. ``https://api.github.com``.

Extra CA certificates: ``FACTIII_GITHUB_CA_BUNDLE`` names a PEM file whose
certificates are trusted for the GitHub API in addition to the usual ones (a
TLS-inspecting proxy, a GitHub Enterprise Server with its own CA).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import email.utils
import os
import re
import ssl
import tempfile
import time
from urllib.parse import urlsplit

DEFAULT_API_URL = 'https://api.github.com'
# https://docs.github.com/rest/about-the-rest-api/api-versions
API_VERSION = '2022-11-28'
API_VERSION_HEADER = 'X-GitHub-Api-Version'
MEDIA_TYPE = 'application/vnd.github+json'
API_URL_ENV = ('FACTIII_GITHUB_API_URL', 'GITHUB_API_URL')
CA_BUNDLE_ENV = 'FACTIII_GITHUB_CA_BUNDLE'

# Rate limits: wait at most this long for one reset or Retry-After, and retry a
# rate-limited request at most RATE_LIMIT_RETRIES times; then a one-line error.
MAX_RATE_LIMIT_WAIT = 60
RATE_LIMIT_RETRIES = 4

# GitHub's rules: an owner (user or organization login) is 1-39 letters, digits
# and hyphens, not starting with a hyphen (Enterprise Managed Users add "_shortcode");
# a repository name is 1-100 letters, digits, '.', '-' and '_', never '.' or '..'.
_OWNER = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_-]{0,38}$')
_NAME = re.compile(r'^[A-Za-z0-9._-]{1,100}$')


def headers(token=None):
    """The headers every request to the API carries (and the token's, when given)."""
    found = {'Accept': MEDIA_TYPE, API_VERSION_HEADER: API_VERSION}
    if token:
        found['Authorization'] = 'Bearer %s' % token
    return found


def repo_problem(value, setting):
    """None when ``value`` is a repository's OWNER/NAME by GitHub's rules, else why not
    (one line naming ``setting``, where the value came from)."""
    text = value if isinstance(value, str) else '%s' % (value,)
    said = '%s %r' % (setting, text if len(text) <= 120 else text[:117] + '...')
    parts = text.split('/')
    if len(parts) != 2:
        return '%s is not OWNER/NAME' % said
    if not _OWNER.match(parts[0]):
        return '%s: the owner %r is not a GitHub user or organization name (letters, digits and hyphens, ' \
               'at most 39, not starting with a hyphen)' % (said, parts[0][:60])
    if not _NAME.match(parts[1]) or parts[1] in ('.', '..'):
        return '%s: the name %r is not a GitHub repository name (letters, digits, ".", "-" and "_", ' \
               'at most 100, not "." or "..")' % (said, parts[1][:110])
    return None


def api_url(setting=None, environ=None):
    """(the API base URL without a trailing '/', where it came from); ValueError for a value
    that is not an http(s) URL. ``setting``: (value, its name) given explicitly, or None."""
    environ = os.environ if environ is None else environ
    candidates = [setting] if setting else []
    candidates += [(environ.get(name), name) for name in API_URL_ENV]
    for value, where in candidates:
        value = (value or '').strip()
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ('http', 'https') or not parts.hostname or parts.query or parts.fragment:
                raise ValueError('%s %r is not the http(s) URL of a GitHub API' % (where, value[:200]))
            return value.rstrip('/'), where
    return DEFAULT_API_URL, 'the default'


def ca_bundle(environ=None):
    """The file named by FACTIII_GITHUB_CA_BUNDLE, or None; ValueError when it cannot be read."""
    environ = os.environ if environ is None else environ
    path = (environ.get(CA_BUNDLE_ENV) or '').strip()
    if not path:
        return None
    path = os.path.abspath(os.path.expanduser(path))
    try:
        with open(path, 'rb') as handle:
            pem = handle.read()
    except OSError as exc:
        raise ValueError('%s: cannot read %s: %s' % (CA_BUNDLE_ENV, path, exc.strerror or exc))
    if b'-----BEGIN CERTIFICATE-----' not in pem:
        raise ValueError('%s: %s holds no PEM certificate' % (CA_BUNDLE_ENV, path))
    return path


def _usual_cas():
    """The PEM file of the CAs trusted without our setting: certifi's (what requests uses), else the system's."""
    try:
        import certifi  # pylint: disable=import-outside-toplevel
        return certifi.where()
    except ImportError:
        paths = ssl.get_default_verify_paths()
        for path in (paths.cafile, paths.openssl_cafile):
            if path and os.path.isfile(path):
                return path
    return None


def trust_file(environ=None):
    """None (the usual CAs), or a private temporary PEM file of the usual CAs plus those of
    FACTIII_GITHUB_CA_BUNDLE (both clients take one file that replaces their trust store);
    removed when the process ends (a forked worker ends without atexit: discard() it there).
    ValueError as ca_bundle()."""
    extra = ca_bundle(environ)
    if extra is None:
        return None
    parts = []
    for path in (_usual_cas(), extra):
        if path:
            with open(path, 'rb') as handle:
                parts.append(handle.read().rstrip(b'\n') + b'\n')
    fd, combined = tempfile.mkstemp(prefix='factiii-ca.', suffix='.pem')  # 0600
    with os.fdopen(fd, 'wb') as handle:
        handle.write(b''.join(parts))
    atexit.register(discard, combined)
    return combined


def discard(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def certificate_problem(text):
    """True when an error's text says the server's TLS certificate was not trusted."""
    return bool(re.search(r'CERTIFICATE_VERIFY_FAILED|certificate verify failed|self[- ]signed certificate|'
                          r'unable to get local issuer certificate|hostname mismatch', '%s' % text, re.I))


def certificate_message(api, text):
    """One line for a TLS failure: a certificate problem, never 'the network'."""
    match = re.search(r'certificate verify failed: ([^()\]\'"]+)', '%s' % text)
    said = match.group(1).strip() if match else 'certificate verify failed'
    return ('the TLS certificate of the GitHub API at %s is not trusted (%s): if it is a GitHub Enterprise '
            'Server or a proxy with its own CA, set %s to a PEM file of that CA' % (api, said, CA_BUNDLE_ENV))


def rate_limit_wait(status, answer_headers, now=None):
    """Seconds to wait before retrying a rate-limited answer (``Retry-After``, else
    ``X-RateLimit-Reset`` when nothing remains), or None when it is not one."""
    if status not in (403, 429):
        return None
    found = dict((k.lower(), v) for k, v in (answer_headers or {}).items())
    retry_after = (found.get('retry-after') or '').strip()
    if retry_after:
        if retry_after.isdigit():
            return float(retry_after)
        try:
            moment = email.utils.parsedate_to_datetime(retry_after).timestamp()
        except (TypeError, ValueError):
            return None
        return max(0.0, moment - (time.time() if now is None else now))
    reset = (found.get('x-ratelimit-reset') or '').strip()
    if found.get('x-ratelimit-remaining') == '0' and reset.isdigit():
        return max(0.0, int(reset) - (time.time() if now is None else now)) + 1
    if status == 429:
        return 60.0  # a secondary limit without a hint: GitHub's advice is to wait a minute
    return None
