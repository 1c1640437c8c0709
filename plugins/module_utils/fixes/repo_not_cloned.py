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
private temp dir and removed afterwards.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import shlex
import shutil
import stat
import tempfile

from ansible_collections.factiii.infra.plugins.module_utils.fix import (
    Fix, PlatformError, failed, manual, needs_fix, ok,
)
from ansible_collections.factiii.infra.plugins.module_utils.options import REPO


SHOWN_CHANGES = 5  # changed files named in the row; the rest are counted


def is_ssh_url(url):
    return not url.startswith(('http://', 'https://', 'file://', '/', 'git://'))


def os_reason(exc):
    """'Read-only file system (EROFS)': the error's text and its errno name."""
    name = errno.errorcode.get(exc.errno)
    return '%s (%s)' % (exc.strerror, name) if name else str(exc)


class RepoNotCloned(Fix):
    name = 'repo-not-cloned'
    requires = ('git-missing',)
    option_groups = (REPO,)

    @property
    def url(self):
        return self.params.get('repo_url')

    @property
    def dest(self):
        return self.params.get('repo_dest')

    def input_problem(self):
        if not self.url or not self.dest:
            return failed('repo_url and repo_dest must be set for repo-not-cloned')
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
                'Move it aside: mv %s %s.old' % (dest, dest),
                'or set repo_dest to another path, then re-run the stage'])
        return needs_fix('would clone %s%s into %s' % (
            self.url, ' at %s' % self.params['repo_version'] if self.params.get('repo_version') else '', dest))

    def _existing_clone(self):
        git = self.platform.which('git')
        if not git:
            return ok('%s is a git clone (git is not installed to check its remote)' % self.dest)
        res = self.platform.runner.run([git, '-C', self.dest, 'config', '--get', 'remote.origin.url'])
        if res.rc not in (0, 1):  # 1: no such key, the clone has no origin
            return failed('cannot read the clone at %s: %s' % (self.dest, res.reason()))
        origin = res.out.strip()
        if origin != self.url:
            return manual('%s is a clone of %s, not of %s' % (self.dest, origin or 'no remote', self.url), [
                'Check which repository %s should hold; factiii never replaces a clone.' % self.dest,
                'To use the configured one: mv %s %s.old and re-run the stage' % (self.dest, self.dest)])
        # The same test as the deploy role's: untracked files are no change a checkout could lose.
        # --no-optional-locks: status must not write the clone's index, which on a full disk is
        # "fatal: sha1 file '.git/index.lock' write error. Out of diskspace".
        res = self.platform.runner.run([git, '--no-optional-locks', '-C', self.dest, 'status', '--porcelain',
                                        '--untracked-files=no'])
        if not res.ok:
            return failed('cannot read the state of the clone at %s: %s' % (self.dest, res.reason()))
        changes = [line.strip() for line in res.out.splitlines() if line.strip()]
        if changes:
            return manual('%s has local changes to %d file%s (%s%s); factiii leaves the clone as it is' % (
                self.dest, len(changes), '' if len(changes) == 1 else 's', ', '.join(changes[:SHOWN_CHANGES]),
                ', ...' if len(changes) > SHOWN_CHANGES else ''), [
                    'See them: git -C %s status; git -C %s diff' % (self.dest, self.dest),
                    'Keep them (commit and push, or git -C %s stash) or drop them '
                    '(git -C %s checkout -- .), then re-run the stage' % (self.dest, self.dest)],
                changes=changes)
        head = self.platform.runner.run([git, '-C', self.dest, 'rev-parse', '--short', 'HEAD']).out.strip()
        return ok('%s is cloned from %s (HEAD %s)' % (self.dest, self.url, head or 'unknown'),
                  head=head)

    def apply(self):
        git = self.platform.which('git')
        if not git:
            return failed('git is not installed')
        parent = os.path.dirname(os.path.abspath(self.dest)) or '/'
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
            env = self._git_env(secrets_dir)
            clone = os.path.join(work, 'repo')
            self._git([git, 'clone', '--quiet', self.url, clone], env, 'git clone')
            version = self.params.get('repo_version')
            if version:
                self._git([git, '-C', clone, 'checkout', '--quiet', version], env,
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

    def _git(self, argv, env, what):
        res = self.platform.runner.run(argv, env=env)
        if not res.ok:
            raise PlatformError(failed('%s failed: %s' % (what, res.reason())))

    def _git_env(self, secrets_dir):
        env = {'GIT_TERMINAL_PROMPT': '0'}
        if not is_ssh_url(self.url):
            return env
        ssh = ['ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes']
        key_file = self.params.get('repo_key_file')
        if self.params.get('repo_key'):
            key_file = os.path.join(secrets_dir, 'deploy_key')
            self._write_private(key_file, self.params['repo_key'].strip() + '\n')
        if key_file:
            ssh += ['-i', key_file, '-o', 'IdentitiesOnly=yes']
        if self.params.get('repo_known_hosts'):
            known = os.path.join(secrets_dir, 'known_hosts')
            self._write_private(known, '\n'.join(self.params['repo_known_hosts']) + '\n')
            ssh += ['-o', 'UserKnownHostsFile=%s' % known]
        env['GIT_SSH_COMMAND'] = ' '.join(shlex.quote(arg) for arg in ssh)
        return env

    @staticmethod
    def _write_private(path, content):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as handle:
            handle.write(content)
