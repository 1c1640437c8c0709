# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""git for the clone (repo-not-cloned) and the deploy (deploy_checkout), written once.

- ``ref_problem``: the one rule for a ref given by the inventory or a workflow
  (repo_version, deploy_ref): a ref name or a commit id, never an option.
- ``redact_url`` / ``split_credentials``: a token in an https URL never reaches a
  message, a result or ``.git/config``; git gets it for the transfer only, as an
  Authorization header through its environment (GIT_CONFIG_COUNT: not argv,
  which every local user can read in ps).
- ``transfer_env``: how git reaches the server: no prompt, pinned host keys,
  the deploy key, stall limits (a server that never answers).
- ``local_changes`` / ``untracked_in_the_way``: what a checkout could lose.
- ``remote_problem``: a scan's read-only check (git ls-remote) that the remote
  answers and has the ref, with the clone's own transfer environment.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import re
import shlex
import shutil
import stat
import tempfile

from urllib.parse import unquote, urlsplit, urlunsplit

SHOWN = 5  # paths named in a message; the rest are ', ...'
REDACTED = '***'
# Default seconds one clone or fetch may take (the option repo_timeout).
DEFAULT_TIMEOUT = 300
# A transfer slower than this many bytes/s for STALL_SECONDS is abandoned (curl's low-speed
# limit for http(s); ssh's keepalives below do the same for ssh).
STALL_BYTES = 1000
STALL_SECONDS = 60
# A scan's git ls-remote gets at most this many seconds (or repo_timeout when shorter): a
# remote that does not list its refs in that time is reported, not promised.
SCAN_TIMEOUT = 20
SSH_TIMEOUTS = ['-o', 'ConnectTimeout=30', '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4']

# check-ref-format's rules that matter here, and a narrower alphabet: a branch, a tag or a
# commit id, never an option (-...), a path trick (.., //) or a revision expression (^ ~ @{ :).
_REF = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_./-]*\Z')
# userinfo of an http(s) URL anywhere in a text: everything up to the last @ before the path.
_USERINFO = re.compile(r'(?i)\b(https?://)[^/\s@]*(?:@[^/\s@]*)*@')


def ref_problem(ref, name='ref'):
    """None when ``ref`` is usable as a branch, tag or commit id, else a one-line reason."""
    if isinstance(ref, str) and _REF.match(ref) and '..' not in ref and '//' not in ref \
            and '/.' not in ref and not ref.endswith(('/', '.', '.lock')):
        return None
    # %r: a newline in the value must not start a line of its own in the report
    return "%s %r is not a branch, tag or commit id (letters, digits, . _ / -, not starting with - or .)" % (
        name, ref)


def clone_problem(params):
    """A one-line reason when the clone's options cannot be used as they are, else None."""
    dest = params.get('repo_dest')
    if dest and not os.path.isabs(dest):
        # relative to whatever directory the module runs in (root's home): never meant
        return 'repo_dest %r is not an absolute path' % dest
    timeout = params.get('repo_timeout')
    if timeout is not None and timeout <= 0:
        return 'repo_timeout must be a number of seconds above 0, not %r' % timeout
    return None


def is_ssh_url(url):
    return not url.startswith(('http://', 'https://', 'file://', '/', 'git://'))


def redact_url(text):
    """``text`` with the user and password of every http(s) URL replaced by ***."""
    if not isinstance(text, str):
        return text
    return _USERINFO.sub(lambda m: m.group(1) + REDACTED + '@', text)


def split_credentials(url):
    """(url without userinfo, 'Authorization: Basic ...' header or None) for an http(s) URL;
    any other URL is returned as it is, with None."""
    if not isinstance(url, str) or not url.lower().startswith(('http://', 'https://')):
        return url, None
    parts = urlsplit(url)
    if '@' not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit('@', 1)
    user, dummy, password = userinfo.partition(':')
    token = base64.b64encode(('%s:%s' % (unquote(user), unquote(password))).encode('utf-8')).decode('ascii')
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)), 'Authorization: Basic ' + token


def secret_values(url):
    """What of ``url`` must never be printed (for AnsibleModule.no_log_values)."""
    header = split_credentials(url)[1]
    if not header:
        return []
    userinfo = urlsplit(url).netloc.rsplit('@', 1)[0]
    user, dummy, password = userinfo.partition(':')
    values = [userinfo, unquote(userinfo), header, header.split(' ')[-1]]
    # a token given as the user name (https://TOKEN@host) is the secret; a plain user name
    # next to a password is not, and masking a short word would garble every message
    values += [password, unquote(password)] if password else [user, unquote(user)]
    return [v for v in values if len(v) >= 4]


def transfer_env(url, secrets_dir=None, key=None, key_file=None, known_hosts=None):
    """Environment of a git clone or fetch of ``url``.

    ``key`` (content) and ``known_hosts`` are written 0600 into ``secrets_dir``,
    a private directory the caller removes.
    """
    env = {'GIT_TERMINAL_PROMPT': '0', 'GIT_HTTP_LOW_SPEED_LIMIT': str(STALL_BYTES),
           'GIT_HTTP_LOW_SPEED_TIME': str(STALL_SECONDS)}
    clean, header = split_credentials(url)
    if header:
        # git >= 2.31; the URL as key: the header goes to that repository only.
        env.update({'GIT_CONFIG_COUNT': '1', 'GIT_CONFIG_KEY_0': 'http.%s.extraHeader' % clean,
                    'GIT_CONFIG_VALUE_0': header})
    if not is_ssh_url(url):
        return env
    ssh = ['ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes'] + SSH_TIMEOUTS
    if key:
        key_file = os.path.join(secrets_dir, 'deploy_key')
        write_private(key_file, key.strip() + '\n')
    if key_file:
        ssh += ['-i', key_file, '-o', 'IdentitiesOnly=yes']
    if known_hosts:
        known = os.path.join(secrets_dir, 'known_hosts')
        write_private(known, '\n'.join(known_hosts) + '\n')
        ssh += ['-o', 'UserKnownHostsFile=%s' % known]
    env['GIT_SSH_COMMAND'] = ' '.join(shlex.quote(arg) for arg in ssh)
    return env


def credential_problem(runner, git, url):
    """None, or why git cannot take the credential of ``url`` the safe way: GIT_CONFIG_COUNT
    is git 2.31 or newer, and an older git would ignore it (an authentication error that
    says nothing of the cause)."""
    if not split_credentials(url)[1]:
        return None
    out = runner.run([git, 'version']).out
    match = re.search(r'(\d+)\.(\d+)', out)
    if match and (int(match.group(1)), int(match.group(2))) >= (2, 31):
        return None
    return ('%s is older than 2.31 and cannot take the token of repo_url without writing it to .git/config: '
            'use an SSH deploy key, or git 2.31 or newer' % (out.strip() or 'git'))


def remote_problem(runner, git, params):
    """None, or a one-line reason why a clone of ``repo_url`` at ``repo_version`` would fail:
    the remote does not answer (within SCAN_TIMEOUT), refuses the credentials or host key, or
    has no such branch or tag. Read-only: ``git ls-remote`` with the clone's transfer
    environment (deploy key, pinned host keys, token header), as the user the module runs as
    (the one the clone runs as). A commit id that is no ref's tip cannot be checked without
    fetching: it is taken as it is."""
    url, version = params['repo_url'], params.get('repo_version')
    clean = split_credentials(url)[0]
    problem = credential_problem(runner, git, url)
    if problem:
        return problem
    try:
        secrets_dir = tempfile.mkdtemp(prefix='factiii-ssh-')
    except OSError as exc:
        return 'cannot create a private temporary directory in %s: %s' % (tempfile.gettempdir(), exc.strerror)
    try:
        env = transfer_env(url, secrets_dir, params.get('repo_key'), params.get('repo_key_file'),
                           params.get('repo_known_hosts'))
        timeout = min(params.get('repo_timeout') or DEFAULT_TIMEOUT, SCAN_TIMEOUT)
        # the clean URL, as the clone: the credential is in env only. A pattern (the ref's
        # tail, validated: never an option) keeps the answer short on a repo with many refs.
        name = version[len('origin/'):] if version and version.startswith('origin/') else version
        res = runner.run([git, 'ls-remote', '--end-of-options', clean, name or 'HEAD'], env=env, timeout=timeout)
    except OSError as exc:
        return 'cannot write the deploy key or host keys: %s' % exc.strerror
    finally:
        shutil.rmtree(secrets_dir, ignore_errors=True)
    if not res.ok:
        return redact_url('git ls-remote %s failed: %s' % (clean, res.reason()))
    if not version:
        return None
    refs = set(line.split('\t', 1)[1] for line in res.out.splitlines() if '\t' in line)
    if refs & {name, 'refs/heads/' + name, 'refs/tags/' + name}:
        return None
    if re.match(r'[0-9a-fA-F]{4,40}\Z', version):
        return None
    return redact_url('%s has no branch or tag %s (git ls-remote)' % (clean, version))


def write_private(path, content):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as handle:
        handle.write(content)


def shown(items):
    """'a, b, c, d, e, ...': the first SHOWN items of a list for a one-line message."""
    return ', '.join(items[:SHOWN]) + (', ...' if len(items) > SHOWN else '')


def origin_url(runner, git, dest):
    """(url, error): the clone's origin without credentials ('' when it has none). An older
    clone may hold a token in it: compared this way, it is the same repository."""
    res = runner.run([git, '-C', dest, 'config', '--get', 'remote.origin.url'])
    if res.rc not in (0, 1):  # 1: no such key, the clone has no origin
        return None, res.reason()
    return split_credentials(res.out.strip())[0], None


def local_changes(runner, git, dest):
    """(changes, error): the porcelain lines of changes to tracked files of the clone.

    Untracked files are no change a checkout could lose (untracked_in_the_way
    covers the ones a checkout would touch). --no-optional-locks: status must not
    write the clone's index (on a full disk: "index.lock write error").
    """
    res = runner.run([git, '--no-optional-locks', '-C', dest, 'status', '--porcelain', '--untracked-files=no'])
    if not res.ok:
        return None, res.reason()
    return [line.strip() for line in res.out.splitlines() if line.strip()], None


def tree_files(runner, git, dest, commit):
    """Every path ``commit`` tracks (files, links, submodules), or raises ValueError(reason)."""
    res = runner.run([git, '-C', dest, 'ls-tree', '-r', '-z', '--full-tree', '--name-only', commit])
    if not res.ok:
        raise ValueError(res.reason())
    return set(p for p in res.out.split('\0') if p)


def untracked_in_the_way(runner, git, dest, current, target):
    """Paths where checking out ``target`` over ``current`` would overwrite or delete what git
    does not track (an ignored .env, a local file, a directory holding such files).

    A path ``target`` tracks and ``current`` does not is written by the checkout and removed
    again by the way back (a rollback): if the work tree has something there now, it is the
    server's own. git itself overwrites ignored files on checkout and deletes ignored files in
    a directory it replaces by a file; this sees both before anything changes. Sorted; a
    directory ends with '/'. Raises ValueError(reason) when a tree cannot be read.
    """
    tracked = tree_files(runner, git, dest, current)
    found = []
    for path in sorted(tree_files(runner, git, dest, target) - tracked):
        hit = _in_the_way(dest, path, tracked)
        if hit and hit not in found:
            found.append(hit)
    return found


def _lstat(path):
    try:
        return os.lstat(path)
    except OSError:
        return None


def _in_the_way(dest, path, tracked):
    parts = path.split('/')
    for i in range(1, len(parts)):
        prefix = '/'.join(parts[:i])
        st = _lstat(os.path.join(dest, prefix))
        if st is None:
            return None  # nothing there, nor below
        if not stat.S_ISDIR(st.st_mode):
            # a file (or a link) where the target needs a directory
            return None if prefix in tracked else prefix
    st = _lstat(os.path.join(dest, path))
    if st is None:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return path
    return path + '/' if _holds_untracked(dest, path, tracked) else None


def _holds_untracked(dest, top, tracked):
    """True when the directory ``top`` holds a file or link that ``tracked`` does not list."""
    for root, dirs, files in os.walk(os.path.join(dest, top)):
        rel = os.path.relpath(root, dest)
        links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
        for name in files + links:
            if os.path.join(rel, name) not in tracked:
                return True
    return False
