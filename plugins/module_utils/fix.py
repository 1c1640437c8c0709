# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fix contract shared by every fix, the stage runner and the modules.

A fix knows nothing of SSH, Ansible connections or which stage it is in: it runs
where it is, against a platform backend, and answers two questions:

* ``scan()``  -> a Result: OK, NEEDS_FIX (``msg`` says what would be done),
  MANUAL (``steps`` say what a human must do) or FAILED.
* ``apply()`` -> make it right. Called only outside check mode, only after
  ``scan()`` said NEEDS_FIX and after the packages from ``packages()`` were
  installed (in one transaction for the whole stage). It returns None when it
  believes it is done (the caller then verifies with a fresh ``scan()``), or a
  MANUAL / FAILED Result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

OK = 'ok'
FIXED = 'fixed'
MANUAL = 'manual'
FAILED = 'failed'
NEEDS_FIX = 'needs_fix'  # internal: only ever returned by scan(), never reported

STATUSES = (OK, FIXED, MANUAL, FAILED)


class Result:
    """One fix's outcome: the same shape for every fix, module and report."""

    def __init__(self, status, msg, steps=None, details=None):
        self.status = status
        self.msg = msg
        self.steps = list(steps or [])
        self.details = dict(details or {})

    @property
    def needs_fix(self):
        return self.status == NEEDS_FIX

    def as_dict(self, fix_id):
        return {
            'fix_id': fix_id,
            'status': self.status,
            'msg': self.msg,
            'steps': self.steps,
            'details': self.details,
        }

    def __repr__(self):
        return 'Result(%r, %r, steps=%r)' % (self.status, self.msg, self.steps)


def ok(msg, **details):
    return Result(OK, msg, details=details)


def needs_fix(msg, **details):
    return Result(NEEDS_FIX, msg, details=details)


def manual(msg, steps, **details):
    return Result(MANUAL, msg, steps=steps, details=details)


def failed(msg, **details):
    return Result(FAILED, msg, details=details)


class PlatformError(Exception):
    """A platform operation could not be done; carries the Result to report."""

    def __init__(self, result):
        super(PlatformError, self).__init__(result.msg)
        self.result = result


class Fix:
    """Base class of every fix. A subclass declares itself (the attributes below) and
    implements scan(); the run order, each stage's defaults, the ``fixes`` choices, the
    modules' argument specs and the generated docs and role files come from these
    declarations (plugins/module_utils/batch.py, scripts/generate, CONTRIBUTING.md)."""

    name = None          # seed naming without the stage: 'docker-missing'
    requires = ()        # fixes that must end OK/FIXED before this one (also orders)
    after = ()           # fixes that run before this one when they are in the batch (orders only)
    rank = 1000          # ties of the dependency order: lowest first (today's order kept)
    stages = ()          # stages whose default batch has this fix
    # This fix's own options, in the format of a role's meta/argument_specs.yml (with
    # ``description``); each option is declared by one fix, common ones in options.py.
    options = {}
    mutually_exclusive = ()  # groups of this fix's options that cannot be set together (modules only)
    uses = ()            # the Platform methods it calls (checked by tests/unit/test_generated.py)

    def __init__(self, platform, params):
        self.platform = platform
        self.params = params

    def fix_id(self, stage):
        return '%s-%s' % (stage, self.name)

    def packages(self):
        """Packages the platform must install when scan() says NEEDS_FIX."""
        return []

    def input_problem(self):
        """A FAILED Result when this fix's options are wrong (checked before the
        stage runs anything: bad input changes nothing), else None."""
        return None

    def scan(self):
        raise NotImplementedError

    def apply(self):
        return None

    def privileged(self, finding, what):
        """``finding``, or MANUAL when fixing it needs rights this process lacks."""
        problem = self.platform.admin_problem()
        if problem is None:
            return finding
        return manual('%s and %s' % (what, problem.msg), problem.steps)


class PackageFix(Fix):
    """A fix whose remedy is installing packages: the stage batches them into
    one package-manager transaction, then verifies with a fresh scan()."""

    tool = None  # logical tool name, mapped to packages by the platform
    uses = ('tool_version', 'package_names', 'admin_problem')

    def found(self):
        """A description of the installed tool, or None when it is missing."""
        version = self.platform.tool_version(self.tool)
        return '%s is installed (%s)' % (self.tool, version) if version else None

    def packages(self):
        return self.platform.package_names(self.tool)

    def scan(self):
        found = self.found()
        if found:
            return ok(found)
        return self.privileged(needs_fix('would install %s (%s)' % (self.tool, ' '.join(self.packages()))),
                               '%s is missing' % self.tool)
