# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""repo-not-cloned: the app repository is cloned at ``repo_dest``.

An existing directory is never overwritten: a clone of another remote, a clone
with local changes to tracked files (the ones a checkout could lose; listed in the
row), or a non-empty directory that is not a clone, is MANUAL. A new clone is made
in a temporary sibling directory and renamed into place, so a failed clone (a full
disk, a read-only file system) leaves nothing behind. Host keys are pinned
(StrictHostKeyChecking=yes); a deploy key given as content is written 0600 to a
private temp dir and removed afterwards, also when the clone times out
(repo_timeout). A token in an https repo_url is used for the clone only (never
written to .git/config) and redacted from every message.

A scan promises a clone only when the fix could make it: the directory that would
hold it is writable by the user the module runs as (the one the clone runs as), and
the remote answers a read-only ``git ls-remote`` (the clone's key, host keys and
token; a short timeout) and has the repo_version branch or tag. Otherwise the scan
is FAILED with the reason the fix would fail with.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import pwd
import shutil
from shlex import quote
import stat
import tempfile

from ansible_collections.factiii.infra.plugins.module_utils.fix import (
    Fix, PlatformError, failed, manual, needs_fix, ok,
)
from ansible_collections.factiii.infra.plugins.module_utils.git import (
    DEFAULT_TIMEOUT, clone_problem, credential_problem, local_changes, origin_url, redact_url, ref_problem,
    remote_problem, shown, split_credentials, transfer_env,
)
from ansible_collections.factiii.infra.plugins.module_utils.options import setting, variable


def os_reason(exc):
    """'Read-only file system (EROFS)': the error's text and its errno name."""
    name = errno.errorcode.get(exc.errno)
    return '%s (%s)' % (exc.strerror, name) if name else str(exc)


def unwritable(path):
    """None when this process could create a directory in ``path`` (or, for a path that does
    not exist yet, in its nearest existing ancestor, as makedirs would), else
    (the directory, the reason as os_reason words it)."""
    while not os.path.lexists(path):
        path = os.path.dirname(path)
    if not os.path.isdir(path):
        return path, os_reason(OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)))
    if os.access(path, os.W_OK | os.X_OK):
        return None
    readonly = os.statvfs(path).f_flag & os.ST_RDONLY
    code = errno.EROFS if readonly else errno.EACCES
    return path, os_reason(OSError(code, os.strerror(code)))


def user_name():
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return 'uid %d' % os.geteuid()


class RepoNotCloned(Fix):
    name = 'repo-not-cloned'
    requires = ('git-missing',)
    rank = 40
    stages = ('staging', 'prod')  # a developer's clone is their own
    options = {
        'repo_url': {
            'description': [
                'URL of the app repository (SSH, HTTPS or a local path).',
                'A user and token in an HTTPS URL (C(https://x-access-token:TOKEN@host/owner/app.git)) are used for'
                ' the clone only, as an HTTP header in git\'s environment (git 2.31 or newer). The clone\'s'
                ' C(.git/config) gets the URL without them, and messages and results show C(https://***@host/...).'],
            'type': 'str',
        },
        'repo_dest': {
            'description': ['Where the app repository is cloned. An existing directory is never overwritten.'],
            'type': 'path',
        },
        'repo_version': {
            'description': [
                'Branch, tag or commit checked out after a fresh clone. Defaults to the remote\'s default branch.',
                'Letters, digits and C(. _ / -), not starting with C(-) or C(.), no C(..) (never an option to git).',
                'An existing clone is left at its version (deploying a ref is a separate step).'],
            'type': 'str',
        },
        'repo_key_file': {
            'description': ['Path on the host of a private deploy key (mode 0600) for an SSH O(repo_url).'],
            'type': 'path',
        },
        'repo_key': {
            'description': [
                'Content of a private deploy key; written 0600 to a private temporary directory for the'
                ' clone and removed afterwards. Never logged.'],
            'type': 'str',
            'no_log': True,
        },
        'repo_known_hosts': {
            'description': [
                'Pinned C(known_hosts) lines for the git server. Host keys are always checked'
                ' (C(StrictHostKeyChecking=yes)); without this, the user\'s C(known_hosts) is used.'],
            'type': 'list',
            'elements': 'str',
            'default': [],
        },
        'repo_timeout': {
            'description': [
                'Seconds a clone (or a deploy\'s fetch) may take; then it is stopped, reported as timed out, and'
                ' the deploy key removed. A transfer that stalls (under 1000 bytes/s for 60 s, or an SSH server'
                ' that stops answering for a minute) is abandoned sooner.',
                'Enforced with C(timeout) from coreutils; where there is none (macOS), only the stall limits apply.',
                'A scan asks the remote with C(git ls-remote) for at most 20 seconds (or this, when shorter).'],
            'type': 'int',
            'default': 300,
        },
    }
    mutually_exclusive = (('repo_key', 'repo_key_file'),)
    uses = ('which',)  # and the platform's runner and check_mode

    @property
    def url(self):
        """repo_url as given, credentials included: for git's transfer only, never printed."""
        return self.params.get('repo_url')

    @property
    def clean_url(self):
        """repo_url without user and token: what .git/config holds and messages show."""
        return split_credentials(self.url)[0]

    def variable(self, option):
        return variable(self.params.get('stage'), option)

    @property
    def dest(self):
        return self.params.get('repo_dest')

    @property
    def parent(self):
        """The directory the clone is made in (a temporary sibling) and renamed from."""
        return os.path.dirname(os.path.abspath(self.dest)) or '/'

    def input_problem(self):
        if not self.url or not self.dest:
            return failed('%s and %s must be set for repo-not-cloned' % (
                self.variable('repo_url'), self.variable('repo_dest')))
        problem = clone_problem(self.params)
        if problem:
            return failed(problem)
        if self.params.get('repo_version'):
            problem = ref_problem(self.params['repo_version'], 'repo_version')
            if problem:
                return failed(problem)
        key_file = self.params.get('repo_key_file')
        if key_file:
            if not os.path.isfile(key_file):
                return failed('deploy key file %s does not exist' % key_file)
            mode = stat.S_IMODE(os.stat(key_file).st_mode)
            if mode & 0o077:
                return failed('deploy key file %s is readable by others (mode %04o): chmod 600 %s'
                              % (key_file, mode, key_file))
        return None

    def scan(self):
        problem = self.input_problem()
        if problem:
            return problem
        dest = self.dest
        if os.path.isdir(os.path.join(dest, '.git')):
            return self._existing_clone()
        if os.path.exists(dest) and (not os.path.isdir(dest) or os.listdir(dest)):
            return manual('%s exists and is not a git clone; factiii will not overwrite it' % dest, [
                'mv %s %s  # move it aside, then re-run the stage' % (quote(dest), quote(dest + '.old')),
                'or %s, then re-run the stage' % setting(self.params.get('stage'), 'repo_dest', dest + '.new')])
        blocked = unwritable(self.parent)
        if blocked:
            # the fix's words (apply), and who it would run as
            return failed('cannot clone into %s: cannot create a directory in %s: %s (running as %s)'
                          % (dest, blocked[0], blocked[1], user_name()))
        git = self.platform.which('git')
        if git and self.platform.check_mode:
            # a fix run's clone is its own check (and reports git's reason)
            problem = remote_problem(self.platform.runner, git, self.params)
            if problem:
                return failed(problem)
        # without git (git-missing installs it first) the remote cannot be asked: the row says so
        version = self.params.get('repo_version')
        return needs_fix('would clone %s%s into %s%s' % (
            redact_url(self.clean_url), ' at %s' % version if version else '', dest,
            '' if git or not self.platform.check_mode else ' (remote not checked: git is not installed yet)'))

    def _existing_clone(self):
        git = self.platform.which('git')
        if not git:
            return ok('%s is a git clone (git is not installed to check its remote)' % self.dest)
        origin, error = origin_url(self.platform.runner, git, self.dest)
        if error:
            return failed('cannot read the clone at %s: %s' % (self.dest, error))
        if origin != self.clean_url:
            return manual('%s is a clone of %s, not of %s' % (
                self.dest, redact_url(origin) or 'no remote', redact_url(self.clean_url)), [
                'git -C %s remote -v  # which repository it holds; factiii never replaces a clone' % quote(self.dest),
                'mv %s %s  # to clone the configured one instead, then re-run the stage'
                % (quote(self.dest), quote(self.dest + '.old'))])
        # The same test as the deploy's (deploy_checkout)
        changes, error = local_changes(self.platform.runner, git, self.dest)
        if error:
            return failed('cannot read the state of the clone at %s: %s' % (self.dest, error))
        if changes:
            return manual('%s has local changes to %d file%s (%s); factiii leaves the clone as it is' % (
                self.dest, len(changes), '' if len(changes) == 1 else 's', shown(changes)), [
                    'git -C %s status && git -C %s diff  # see them' % (quote(self.dest), quote(self.dest)),
                    'git -C %s stash  # keep them aside (or commit and push them), then re-run the stage'
                    % quote(self.dest),
                    'git -C %s checkout -- .  # or drop them instead, then re-run the stage' % quote(self.dest)],
                changes=changes)
        head = self.platform.runner.run([git, '-C', self.dest, 'rev-parse', '--short', 'HEAD']).out.strip()
        return ok('%s is cloned from %s (HEAD %s)' % (self.dest, redact_url(self.clean_url), head or 'unknown'),
                  head=head)

    def apply(self):
        git = self.platform.which('git')
        if not git:
            return failed('git is not installed')
        problem = credential_problem(self.platform.runner, git, self.url)
        if problem:
            return failed(problem)
        parent = self.parent
        try:
            secrets_dir = tempfile.mkdtemp(prefix='factiii-ssh-')
        except OSError as exc:
            return failed('cannot create a private temporary directory in %s: %s'
                          % (tempfile.gettempdir(), os_reason(exc)))
        try:
            if not os.path.isdir(parent):
                os.makedirs(parent)
            work = tempfile.mkdtemp(prefix='.factiii-clone-', dir=parent)
        except OSError as exc:
            shutil.rmtree(secrets_dir, ignore_errors=True)
            return failed('cannot clone into %s: cannot create a directory in %s: %s'
                          % (self.dest, parent, os_reason(exc)))
        try:
            p = self.params
            env = transfer_env(self.url, secrets_dir, p.get('repo_key'), p.get('repo_key_file'),
                               p.get('repo_known_hosts'))
            clone = os.path.join(work, 'repo')
            # The clean URL: it is what .git/config keeps; the credential is in env only.
            self._git([git, 'clone', '--quiet', '--end-of-options', self.clean_url, clone], env, 'git clone',
                      timeout=p.get('repo_timeout') or DEFAULT_TIMEOUT)
            version = p.get('repo_version')
            if version:
                # validated (never an option); '--': never a path either (git 2.39's checkout
                # mistakes --end-of-options for a ref)
                self._git([git, '-C', clone, 'checkout', '--quiet', version, '--'], env,
                          'git checkout %s' % version)
            if os.path.isdir(self.dest):
                os.rmdir(self.dest)  # empty (scan checked): replaced by the clone
            os.rename(clone, self.dest)
        except PlatformError as exc:
            return exc.result
        except OSError as exc:
            return failed('cannot place the clone at %s: %s' % (self.dest, os_reason(exc)))
        finally:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(secrets_dir, ignore_errors=True)
        return None

    def _git(self, argv, env, what, timeout=None):
        res = self.platform.runner.run(argv, env=env, timeout=timeout)
        if not res.ok:
            raise PlatformError(failed(redact_url('%s failed: %s' % (what, res.reason()))))
