# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# The same options as OPTIONS in plugins/module_utils/user_checks.py (tests/unit/module_utils/test_user_checks.py
# compares them) until scripts/generate writes this file from that declaration.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  checks:
    description:
    - 'Checks of your own, run in the same module execution as the built-in fixes (one SSH login, one round trip
      for a scan) and reported like them, as C(<stage>-<name>): C(ok), would fix / C(fixed), C(manual) or C(failed),
      with the command''s one-line reason.'
    - A scan runs only the C(check) commands; a fix runs a failing check's C(fix) command (after its C(packages)
      are installed, in the stage's one package transaction), then runs the check again to verify.
    - 'They always run: O(fixes) selects built-in fixes only. They run after the built-in fixes, and after the checks
      and fixes they name in C(requires) or C(after).'
    - Commands run as the module's user (root with become) without a shell, unless C(shell) is true. Output that
      holds a secret given in a C(no_log) option (O(repo_key), a token in O(repo_url)) is masked.
    - A bad declaration (a name that clashes, an unknown or circular C(requires), a missing C(check), a string command
      without C(shell)) is a C(failed) row, and the stage runs nothing.
    type: list
    elements: dict
    default: []
    options:
      name:
        description:
        - Lower-case letters, digits and C(-), starting with a letter or digit; the row is C(<stage>-<name>). Must
          not be the name of a built-in fix or of another check.
        type: str
        required: true
      check:
        description:
        - 'Required. The read-only command that tells whether all is right: exit code 0 is C(ok) (its first output
          line is the message), any other is something to fix.'
        - A list of strings (program and arguments, run without a shell; a bare program name is looked up in the
          system's directories), or a string run by C(/bin/sh -c), allowed only when C(shell) is true. Commands
          run from C(/), with C(LANG=C).
        type: raw
      fix:
        description:
        - The command that makes it right, in the same form as C(check); run only in a fix, only when the check
          failed. Without C(fix) and C(packages), a failing check is C(manual), with the C(manual) steps.
        type: raw
      shell:
        description:
        - Allow C(check) and C(fix) as strings, run by C(/bin/sh -c). A list stays an argv, run without a shell.
        type: bool
        default: false
      packages:
        description:
        - Package names installed when the check fails, in the same single package-manager transaction as the built-in
          fixes' packages (apt on Debian/Ubuntu, Homebrew on macOS). Literal names, not options.
        type: list
        elements: str
        default: []
      requires:
        description:
        - 'Names of built-in fixes of this stage or of other checks that must end C(ok) or C(fixed) first: when
          one is C(manual) or C(failed), this check is not attempted.'
        type: list
        elements: str
        default: []
      after:
        description:
        - Names of fixes or checks this one runs after, when they run (order only).
        type: list
        elements: str
        default: []
      manual:
        description:
        - The steps a human must take, reported when the check fails and there is no C(fix) and no C(packages).
        type: list
        elements: str
        default: []
      timeout:
        description:
        - Seconds each command (check, fix) may take; then it is killed with its child processes, and the row is
          C(failed).
        type: int
        default: 30
'''
