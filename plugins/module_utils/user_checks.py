# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks declared by users (the stage's ``checks`` option), run in the stage's batch.

A user check is a Fix built from one declaration: its scan runs only the read-only
check command, its apply runs the fix command, its packages join the stage's one
package transaction, and the batch verifies it with a fresh scan, as any fix. Commands
are argv lists (a string only with ``shell: true``), each under its own timeout.
The declarations come from the operator's inventory: they are checked (names, order,
command form) before anything runs, and a bad one is a failed row, not a traceback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shlex

from ansible_collections.factiii.infra.plugins.module_utils.fix import Fix, failed, manual, needs_fix, ok
from ansible_collections.factiii.infra.plugins.module_utils.progress import one_line

OPTIONS = {
    'checks': {
        'type': 'list',
        'elements': 'dict',
        'default': [],
        'description': [
            'Checks of your own, run in the same module execution as the built-in fixes (one SSH login, '
            'one round trip for a scan) and reported like them, as C(<stage>-<name>): C(ok), would fix / '
            'C(fixed), C(manual) or C(failed), with the command\'s one-line reason.',
            'A scan runs only the C(check) commands; a fix runs a failing check\'s C(fix) command (after '
            'its C(packages) are installed, in the stage\'s one package transaction), then runs the check '
            'again to verify.',
            'They always run: O(fixes) selects built-in fixes only. They run after the built-in fixes, '
            'and after the checks and fixes they name in C(requires) or C(after).',
            'Commands run as the module\'s user (root with become) without a shell, unless C(shell) is '
            'true. Output that holds a secret given in a C(no_log) option (O(repo_key), a token in '
            'O(repo_url)) is masked.',
            'A bad declaration (a name that clashes, an unknown or circular C(requires), a missing '
            'C(check), a string command without C(shell)) is a C(failed) row, and the stage runs nothing.',
        ],
        'options': {
            'name': {
                'type': 'str',
                'required': True,
                'description': [
                    'Lower-case letters, digits and C(-), starting with a letter or digit; the row is '
                    'C(<stage>-<name>). Must not be the name of a built-in fix or of another check.',
                ],
            },
            'check': {
                'type': 'raw',
                'description': [
                    'Required. The read-only command that tells whether all is right: exit code 0 is '
                    'C(ok) (its first output line is the message), any other is something to fix.',
                    'A list of strings (program and arguments, run without a shell; a bare program name is '
                    'looked up in the system\'s directories), or a string run by C(/bin/sh -c), allowed only '
                    'when C(shell) is true. Commands run from C(/), with C(LANG=C).',
                ],
            },
            'fix': {
                'type': 'raw',
                'description': [
                    'The command that makes it right, in the same form as C(check); run only in a fix, '
                    'only when the check failed. Without C(fix) and C(packages), a failing check is '
                    'C(manual), with the C(manual) steps.',
                ],
            },
            'shell': {
                'type': 'bool',
                'default': False,
                'description': ['Allow C(check) and C(fix) as strings, run by C(/bin/sh -c). A list stays an '
                                'argv, run without a shell.'],
            },
            'packages': {
                'type': 'list',
                'elements': 'str',
                'default': [],
                'description': [
                    'Package names installed when the check fails, in the same single package-manager '
                    'transaction as the built-in fixes\' packages (apt on Debian/Ubuntu, Homebrew on '
                    'macOS). Literal names, not options.',
                ],
            },
            'requires': {
                'type': 'list',
                'elements': 'str',
                'default': [],
                'description': [
                    'Names of built-in fixes of this stage or of other checks that must end C(ok) or '
                    'C(fixed) first: when one is C(manual) or C(failed), this check is not attempted.',
                ],
            },
            'after': {
                'type': 'list',
                'elements': 'str',
                'default': [],
                'description': ['Names of fixes or checks this one runs after, when they run (order only).'],
            },
            'manual': {
                'type': 'list',
                'elements': 'str',
                'default': [],
                'description': ['The steps a human must take, reported when the check fails and there is '
                                'no C(fix) and no C(packages).'],
            },
            'timeout': {
                'type': 'int',
                'default': 30,
                'description': ['Seconds each command (check, fix) may take; then it is killed with its '
                                'child processes, and the row is C(failed).'],
            },
        },
    },
}

NAME = re.compile(r'^[a-z0-9][a-z0-9-]*$')
# A package name, never an option of the package manager (no leading '-'); Homebrew's
# 'node@20' and tap names 'owner/tap/formula' included.
PACKAGE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9+._@/-]*$')
# Rows the stage itself reports besides its fixes: a check must not take their ids.
RESERVED = ('host-busy', 'host-lock', 'become-failed', 'invalid-arguments', 'task-failed',
            'host-unreachable', 'interrupted')
SHELL = '/bin/sh'
CANNOT_RUN = (126, 127)  # the shell's "cannot execute" and "not found"
# Lines of a secret shorter than this are not masked on their own (they would garble words).
MIN_SECRET_LINE = 8


def secret_lines(values):
    """Each line of a multi-line no_log value (a private key): output that shows one line
    of it holds the secret too, though not the whole value AnsibleModule masks."""
    found = set()
    for value in values:
        found.update(line.strip() for line in str(value).splitlines() if len(line.strip()) >= MIN_SECRET_LINE)
    return found


def shown(command):
    """A command as a person would type it (for messages)."""
    if isinstance(command, str):
        return one_line(command)
    return one_line(' '.join(shlex.quote(str(arg)) for arg in command))


def _command_problem(what, command, shell):
    """A list is always an argv; a string is a shell command, taken only when the shell was asked for."""
    if command is None:
        return '%s is missing' % what if what == 'check' else None
    if isinstance(command, str):
        if not shell:
            return '%s is a string: give a list (program and arguments), or set shell: true' % what
        return None if command.strip() else '%s is an empty string' % what
    if not isinstance(command, list) or not command or not all(isinstance(a, str) and a for a in command):
        return '%s must be a list of non-empty strings (program and arguments)' % what
    return None


def _problem(index, decl, names, builtin_names, present):
    """The first thing wrong with the declaration at ``index``, or None."""
    name = decl.get('name')
    if not isinstance(name, str) or not NAME.match(name):
        return 'bad check name %r: use lower-case letters, digits and -' % (name,)
    if name in builtin_names or name in RESERVED:
        return 'check name %s is taken by a built-in %s' % (name, 'fix' if name in builtin_names else 'row')
    if names.index(name) != index:
        return 'check name %s is declared twice' % name
    problem = (_command_problem('check', decl.get('check'), decl.get('shell'))
               or _command_problem('fix', decl.get('fix'), decl.get('shell')))
    if problem:
        return problem
    bad = [p for p in decl.get('packages') or [] if not isinstance(p, str) or not PACKAGE.match(p)]
    if bad:
        return 'bad package name %r (a literal package name)' % (bad[0],)
    for key in ('requires', 'after'):
        for dep in decl.get(key) or []:
            if dep == name:
                return '%s names the check itself' % key
            if dep not in names and dep not in builtin_names:
                return '%s names %s, which is neither a built-in fix nor a check' % (key, dep)
            if key == 'requires' and dep in builtin_names and dep not in present:
                return 'requires %s, which this stage does not run' % dep
    if not (decl.get('timeout') or 0) > 0:
        return 'timeout must be a positive number of seconds'
    return None


def declaration_problems(decls, builtin_names, present):
    """{index: one-line problem} of the declarations in ``decls``; ``builtin_names``: every
    built-in fix, ``present``: those this stage runs. A cycle is the batch's (one fix-order row)."""
    names = [d.get('name') for d in decls]
    problems = dict((i, p) for i, p in ((i, _problem(i, d, names, builtin_names, present))
                                        for i, d in enumerate(decls)) if p)
    return problems


def user_checks(platform, params, builtin_names, present):
    """The UserCheck objects of ``params['checks']``, in declaration order (the batch orders them
    with the built-ins); a declaration with a problem gives a check whose input_problem() stops the stage."""
    decls = [dict(d) for d in params.get('checks') or []]
    problems = declaration_problems(decls, builtin_names, present)
    checks = [(PackageCheck if decl.get('packages') else UserCheck)(platform, params, decl, problems.get(i), i)
              for i, decl in enumerate(decls)]
    return checks


class UserCheck(Fix):
    """One declared check; ``name``, ``requires`` and ``after`` as a built-in fix has them."""

    rank = 10000  # ties of the run order: after every built-in fix, then in declaration order

    def __init__(self, platform, params, decl, problem=None, index=0):
        super(UserCheck, self).__init__(platform, params)
        self.decl = decl
        self.problem = problem
        name = decl.get('name')
        # a bad name is not a row id (its problem quotes it): the check's place in the list is
        self.name = name if isinstance(name, str) and NAME.match(name) else 'check-%d' % (index + 1)
        self.requires = tuple(decl.get('requires') or ())
        self.after = tuple(decl.get('after') or ())
        self.runner = platform.runner

    def input_problem(self):
        return failed('bad check: %s; nothing was run' % self.problem) if self.problem else None

    def _argv(self, command):
        """The argv to run, or None when its program is not there (or cannot be run)."""
        if isinstance(command, str):  # declared with shell: true
            return [SHELL, '-c', command]
        program = command[0]
        if os.path.isabs(program):
            return list(command) if os.path.isfile(program) and os.access(program, os.X_OK) else None
        self.runner.forget(program)  # a package of this stage may have just installed it
        path = self.runner.which(program)
        return [path] + list(command[1:]) if path else None

    def _run(self, what):
        """(CommandResult, None, False) of the ``what`` command (check, fix), or (None, reason,
        missing) when it did not run to its end: its program is missing, it timed out, or it
        could not be executed."""
        command = self.decl[what]
        argv = self._argv(command)
        if argv is None:
            return None, '%s: %s' % (command[0], 'not an executable file' if os.path.isabs(command[0])
                                     else 'command not found'), True
        # from /: the same directory in a scan and in a fix (an async job), whatever the login
        res = self.runner.run(argv, cwd='/', timeout=self.decl.get('timeout') or 30, strict_timeout=True)
        if res.timed_out is not None:
            return None, '%s %s' % (shown(command), res.reason()), False
        if res.rc in CANNOT_RUN:
            return None, 'cannot run %s: %s' % (shown(command), one_line(res.reason())), res.rc == 127
        return res, None, False

    def scan(self):
        res, cannot, missing = self._run('check')
        if res is not None and res.ok:
            lines = [line for line in (res.out + '\n' + res.err).splitlines() if line.strip()]
            return ok(one_line(lines[0]) if lines else 'check passed')
        packages = list(self.decl.get('packages') or [])
        if cannot and not (missing and packages):
            # a timeout, a program that cannot run (and that no package of the check may bring):
            # the check failed to answer, which is not a finding
            return failed(cannot)
        reason = cannot or one_line(res.reason())
        todo = []
        if packages:
            todo.append('install %s' % ' '.join(packages))
        if self.decl.get('fix') is not None:
            todo.append('run: %s' % shown(self.decl['fix']))
        if not todo:
            steps = list(self.decl.get('manual') or []) or [
                'make `%s` succeed, then re-run the stage' % shown(self.decl['check'])]
            return manual('check failed: %s' % reason, steps)
        finding = needs_fix('would %s (check: %s)' % (', then '.join(todo), reason), reason=reason)
        return self.privileged(finding, 'check failed: %s' % reason) if packages else finding

    def apply(self):
        if self.decl.get('fix') is None:
            return None  # the packages were the fix
        res, cannot, dummy = self._run('fix')
        if cannot:
            return failed('fix failed: %s' % cannot)
        if not res.ok:
            return failed('fix %s failed: %s' % (shown(self.decl['fix']), one_line(res.reason())))
        return None


class PackageCheck(UserCheck):
    """A check with packages: the batch scans it before its one package transaction (as a
    built-in fix that installs) and joins its packages to that transaction. A check without
    packages is scanned in its turn, after what it requires has been fixed."""

    def packages(self):
        return list(self.decl.get('packages') or [])
