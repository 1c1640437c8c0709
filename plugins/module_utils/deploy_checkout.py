# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy role's git steps (module factiii.infra.deploy_checkout).

Fetch a ref into the stage's clone and check it out, or put the previous commit
back, refusing - before anything changes - when the checkout would overwrite, or
the way back delete, a file git does not track (the server's ignored .env).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.factiii.infra.plugins.module_utils.git import (
    DEFAULT_TIMEOUT, clone_problem, credential_problem, local_changes, origin_url, redact_url, ref_problem, shown,
    split_credentials, transfer_env, untracked_in_the_way,
)
from ansible_collections.factiii.infra.plugins.module_utils.module import mask_url_credentials
from ansible_collections.factiii.infra.plugins.module_utils.fixes.repo_not_cloned import RepoNotCloned
from ansible_collections.factiii.infra.plugins.module_utils.options import argument_spec
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner

_REPO_OPTIONS = ('repo_url', 'repo_key', 'repo_key_file', 'repo_known_hosts', 'repo_timeout')
ARGUMENT_SPEC = dict(
    [(key, spec) for key, spec in argument_spec(RepoNotCloned.options).items() if key in _REPO_OPTIONS],
    repo_dest={'type': 'path', 'required': True},
    ref={'type': 'str'},
    restore={'type': 'str'},
)


class Refused(Exception):
    """One line saying why nothing was checked out."""


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           mutually_exclusive=[['ref', 'restore'], ['repo_key', 'repo_key_file']],
                           required_one_of=[['ref', 'restore']], required_by={'ref': 'repo_url'})
    mask_url_credentials(module)
    try:
        result = run(Runner(module), module.params, module.check_mode)
    except Refused as exc:
        module.fail_json(msg=redact_url('%s' % exc))
    module.exit_json(**result)


def run(runner, params, check_mode):
    """{changed, previous, commit, msg}, or raises Refused."""
    dest = params['repo_dest']
    ref = params['ref'] or params['restore']
    deploy = bool(params['ref'])
    prefix = 'refusing to deploy %s: ' % ref if deploy else ''
    problem = ref_problem(ref, 'ref' if deploy else 'restore') or clone_problem(params)
    if problem:
        raise Refused(prefix + problem)
    git = runner.which('git')
    if not git:
        raise Refused(prefix + 'git is not installed')
    previous = _commit(runner, git, dest, 'HEAD', prefix + '%s is not a git clone with a commit' % dest)
    if deploy:
        _check_clone(runner, git, dest, params['repo_url'], prefix)
        _fetch(runner, git, params, prefix)
        target = _commit(runner, git, dest, 'FETCH_HEAD', prefix + 'cannot resolve the fetched ref')
    else:
        target = _commit(runner, git, dest, ref, 'no commit %s in %s' % (ref, dest))
    try:
        in_the_way = untracked_in_the_way(runner, git, dest, previous, target)
    except ValueError as exc:
        raise Refused('%scannot compare %s with %s: %s' % (prefix, previous[:12], target[:12], exc))
    if in_the_way:
        raise Refused(
            '%s%s has files git does not track where %s tracks files (%s): the checkout would overwrite '
            'them%s; move them out of the clone%s, then %s again' % (
                prefix, dest, target[:12], shown(in_the_way),
                ' and a rollback delete them' if deploy else '',
                ' (or stop tracking them in the app repository)' if deploy else '',
                'deploy' if deploy else 'check out %s' % target[:12]))
    changed = target != previous
    if changed and not check_mode:
        # --no-overwrite-ignore: git itself refuses too, should anything be missed above
        res = runner.run([git, '-C', dest, 'checkout', '--quiet', '--no-overwrite-ignore', '--detach', target])
        if not res.ok:
            raise Refused('%sgit checkout %s failed: %s' % (prefix, target[:12], res.reason()))
    verb = ('would check out' if check_mode else 'checked out') if changed else 'already at'
    return {'changed': changed, 'previous': previous, 'commit': target,
            'msg': '%s %s %s in %s' % (verb, ref, target[:12], dest) if deploy else
                   '%s %s in %s' % (verb, target[:12], dest)}


def _commit(runner, git, dest, rev, error):
    res = runner.run([git, '-C', dest, 'rev-parse', '--verify', '--quiet', rev + '^{commit}'])
    if not res.ok or not res.out.strip():
        raise Refused('%s%s' % (error, ': %s' % res.reason() if res.err.strip() else ''))
    return res.out.strip()


def _check_clone(runner, git, dest, url, prefix):
    """The clone is of repo_url (compared without credentials) and has no local changes."""
    origin, error = origin_url(runner, git, dest)
    if error:
        raise Refused('%scannot read the clone at %s: %s' % (prefix, dest, error))
    clean = split_credentials(url)[0]
    if origin != clean:
        raise Refused('%s%s is a clone of %s, not of %s' % (prefix, dest, origin or 'no remote', clean))
    changes, error = local_changes(runner, git, dest)
    if error:
        raise Refused('%scannot read the state of the clone at %s: %s' % (prefix, dest, error))
    if changes:
        raise Refused('%s%s has local changes (%s); commit, stash or remove them, then deploy again'
                      % (prefix, dest, shown(changes)))


def _fetch(runner, git, params, prefix):
    """Fetch the ref from origin; the deploy key and host keys live in a private directory
    removed afterwards, also when the fetch fails or times out."""
    problem = credential_problem(runner, git, params['repo_url'])
    if problem:
        raise Refused(prefix + problem)
    try:
        secrets_dir = tempfile.mkdtemp(prefix='factiii-ssh-')
    except OSError as exc:
        raise Refused('%scannot create a private temporary directory: %s' % (prefix, exc))
    try:
        env = transfer_env(params['repo_url'], secrets_dir, params.get('repo_key'), params.get('repo_key_file'),
                           params.get('repo_known_hosts'))
        res = runner.run([git, '-C', params['repo_dest'], 'fetch', '--quiet', '--no-tags', 'origin',
                          '--end-of-options', params['ref']],
                         env=env, timeout=params.get('repo_timeout') or DEFAULT_TIMEOUT)
    except OSError as exc:
        raise Refused('%scannot write the deploy key or host keys: %s' % (prefix, exc))
    finally:
        shutil.rmtree(secrets_dir, ignore_errors=True)
    if not res.ok:
        raise Refused('%sgit fetch from %s failed: %s' % (
            prefix, split_credentials(params['repo_url'])[0], res.reason()))
