# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of factiii.infra.stage: one task, one stage, one remote run.

Arguments are validated on the controller so a typo fails before anything is
sent to a host. The ``secrets`` stage asks the GitHub API and never touches a
host; every other stage is exactly one run of the factiii.infra.stage module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.factiii.infra.plugins.module_utils.options import (
    REPO_MUTUALLY_EXCLUSIVE, stage_argument_spec,
)
from ansible_collections.factiii.infra.plugins.module_utils.fix import failed
from ansible_collections.factiii.infra.plugins.module_utils.fixes.pnpm_missing import pnpm_version_problem
from ansible_collections.factiii.infra.plugins.module_utils.stage import DEFAULT_FIXES, FIX_ORDER, stage_return
from ansible_collections.factiii.infra.plugins.plugin_utils import reasons
from ansible_collections.factiii.infra.plugins.plugin_utils.host_keys import host_key_problem

display = Display()

MODULE = 'factiii.infra.stage'
MASK = '********'
# Lines of a secret shorter than this are not masked on their own: a short line
# ('-----END ...' is longer) would garble unrelated words of a message.
MIN_SECRET_LINE = 8


def _one_line(text):
    return ' '.join(line.strip() for line in str(text).splitlines() if line.strip())


def _strings(value):
    """Every string inside ``value`` (nested lists and dicts), and its str() and repr()."""
    found = []
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(_strings(key) + _strings(item))
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            found.extend(_strings(item))
    if value is not None and not isinstance(value, (bool, int, float)):
        try:
            found.extend([str(value), repr(value)])
        except Exception:  # pylint: disable=broad-exception-caught
            pass  # an object that cannot even print itself cannot be quoted in a message either
    return found


def _culprit(spec, args):
    """'value of OPTION: ' for the first option whose value alone breaks Ansible's validator, else ''."""
    for key in sorted(k for k in args if isinstance(k, str) and k in spec):
        try:
            ArgumentSpecValidator({key: spec[key]}).validate({key: args[key]})
        except Exception:  # pylint: disable=broad-exception-caught
            return 'value of %s: ' % key
    return ''


def secret_strings(args, spec):
    """What must never appear in a message: each no_log value, whole and line by line, longest first."""
    secrets = set()
    for key, value in (args or {}).items():
        if not isinstance(key, str) or not spec.get(key, {}).get('no_log'):
            continue
        for text in _strings(value):
            text = text.strip()
            if text:
                secrets.add(text)
                secrets.update(line.strip() for line in text.splitlines() if len(line.strip()) >= MIN_SECRET_LINE)
                secrets.add(_one_line(text))
    return sorted((s for s in secrets if s), key=len, reverse=True)


def scrub(msg, secrets):
    for secret in secrets:
        msg = msg.replace(secret, MASK)
    return msg


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp

        try:
            args = self._validated_args()
            if args['stage'] == 'secrets':
                result.update(self._run_secrets(args))
            else:
                result.update(self._run_module(args, task_vars))
        except AnsibleActionFail as exc:
            result.update(failed=True, changed=False, msg=self._scrub_no_log(exc))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _validated_args(self):
        spec = stage_argument_spec()
        # Unknown fix names get the message below, which names the stage, not
        # the generic "value of fixes must be one or more of" from choices.
        spec.get('fixes', {}).pop('choices', None)
        if not isinstance(self._task.args, dict):
            raise AnsibleActionFail('the arguments of factiii.infra.stage must be a mapping of option: value')
        try:
            dummy, args = self.validate_argument_spec(
                argument_spec=spec, mutually_exclusive=REPO_MUTUALLY_EXCLUSIVE)
        except AnsibleActionFail:
            raise
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # Ansible's validator itself can break on odd values (a list of
            # huge numbers for an int raises OverflowError in ansible-core
            # 2.19): still one line, never a traceback.
            raise AnsibleActionFail('invalid arguments for factiii.infra.stage: %s%s: %s' % (
                _culprit(spec, self._task.args), type(exc).__name__, exc))
        # A boolean is an int to Python and to Ansible's validator: node_min_major: true
        # would quietly be 1. A number option given true/false is a mistake.
        flags = sorted(key for key, value in self._task.args.items()
                       if isinstance(value, bool) and spec.get(key, {}).get('type') == 'int')
        if flags:
            raise AnsibleActionFail('argument %s is %s, not a whole number' % (
                flags[0], str(self._task.args[flags[0]]).lower()))
        unknown = [name for name in args.get('fixes') or [] if name not in FIX_ORDER]
        if unknown:
            raise AnsibleActionFail('unknown fix%s %s for stage %s (known: %s)' % (
                'es' if len(unknown) > 1 else '', ', '.join("'%s'" % name for name in unknown),
                args['stage'], ', '.join(FIX_ORDER)))
        self._check_repo_args(args)
        self._check_pnpm_version(args)
        return args

    @staticmethod
    def _host_fixes(args):
        """The fixes the stage runs on its host: none for secrets (see _run_secrets)."""
        if args['stage'] == 'secrets':
            return []
        return args.get('fixes') if args.get('fixes') is not None else DEFAULT_FIXES.get(args['stage'], [])

    def _check_pnpm_version(self, args):
        """pnpm_version reaches `npm install -g` as root: an exact version, a major or latest."""
        if 'pnpm-missing' not in self._host_fixes(args):
            return
        problem = pnpm_version_problem(args.get('pnpm_version') or 'latest')
        if problem:
            raise AnsibleActionFail('%s-pnpm-missing: %s; nothing was run' % (args['stage'], problem))

    def _check_repo_args(self, args):
        """The clone needs a URL and a place: an empty one is bad input, stopped before
        anything runs (the module would still run the stage's other fixes)."""
        stage = args['stage']
        if 'repo-not-cloned' not in self._host_fixes(args):
            return
        empty = [key for key in ('repo_url', 'repo_dest') if not (args.get(key) or '').strip()]
        if empty:
            raise AnsibleActionFail(
                '%s-repo-not-cloned needs %s, and %s empty (in the roles: %s); nothing was run' % (
                    stage, ' and '.join(empty), 'they are' if len(empty) > 1 else 'it is',
                    ', '.join('%s_%s' % (stage, key) for key in empty)))

    def _scrub_no_log(self, msg):
        # validate_argument_spec may quote a bad value back, and repo_key is a
        # private key: mask it (whole and line by line) before the message is
        # folded into one line, which would hide a multi-line key from a mask.
        args = self._task.args if isinstance(self._task.args, dict) else {}
        secrets = secret_strings(args, stage_argument_spec())
        return scrub(_one_line(scrub('%s' % msg, secrets)), secrets)

    def _run_module(self, args, task_vars):
        """The stage's one module run; a become that fails is the stage's Failed row."""
        problem = host_key_problem(self._connection, task_vars.get('inventory_hostname', 'the host'))
        if problem:
            raise AnsibleActionFail('%s; nothing was run' % problem)
        try:
            return self._execute_module(module_name=MODULE, module_args=self._module_args(args), task_vars=task_vars)
        except AnsibleConnectionFailure:
            raise  # unreachable: Ansible's own accounting, one row in the report
        except AnsibleError as exc:
            reason = reasons.become_reason('%s' % exc, self._get_remote_user())
            if reason is None:
                raise
            row = failed(reason).as_dict('%s-become-failed' % args['stage'])
            return stage_return(args['stage'], [row], self._task.check_mode)

    @staticmethod
    def _module_args(args):
        # The module validates again with the same mutually_exclusive, which
        # counts keys, not values: the None defaults filled in here would make
        # repo_key and repo_key_file clash. Leaving them out means the same.
        return dict((key, value) for key, value in args.items() if value is not None)

    def _run_secrets(self, args):
        # Imported here: only the secrets stage (on the controller) needs the
        # HTTP client, and every forked worker of every other stage would pay
        # its imports (about 5 MB each; bench/README.md).
        from ansible_collections.factiii.infra.plugins.plugin_utils import github_secrets  # pylint: disable=import-outside-toplevel

        if args.get('fixes'):
            display.warning('factiii.infra.stage: fixes are ignored for stage secrets; '
                            'it checks the names in secrets')
        # The controller's environment, on purpose: task `environment:` is for
        # the remote side, and this stage never goes there.
        results = github_secrets.check_secrets(
            args['secrets'],
            github_secrets.find_repo(args.get('github_repo'), os.environ),
            github_secrets.find_token(os.environ),
            api_url=args['github_api_url'],
            ca_path=args.get('ca_bundle'),
        )
        return stage_return('secrets', results, self._task.check_mode)
