# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The variables of a stage, checked by name on the controller before its role runs.

A variable named with a stage's prefix (``staging_`` ...) that the stage's role does not declare
in meta/argument_specs.yml is a typo Ansible would ignore (``staging_repo_verison``: the scan then
plans the default branch); a required one that is missing makes the role's own argument check
fail with its whole spec dumped per host. Both are one line here, naming the variable, and so is a
value the role's spec refuses (value_problem, given the templated values).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import os

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'roles')

# The prefix of each stage's variables, and of the deploy role's (checked by the deploy playbook).
# server_ (the server role's own variables, which the staging and prod roles set themselves) is
# not checked: it is no stage's setting, and a common name in other roles' inventories.
PREFIXES = {'dev': 'dev_', 'secrets': 'secrets_', 'staging': 'staging_', 'prod': 'prod_', 'deploy': 'deploy_'}

# Names with a stage's prefix that are not the stage role's options but legitimately share an
# inventory with it: the variables of playbooks/dev_sync.yml (documented there; often kept in
# group_vars). Names with a double underscore (dev__result) are the roles' own internals.
ALLOWED = {
    'dev': frozenset([
        'dev_sync_tarball', 'dev_sync_rollback', 'dev_sync_run', 'dev_sync_root', 'dev_sync_keep',
        'dev_sync_ansible_bin', 'dev_sync_results_dir', 'dev_sync_become',
    ]),
}

_SPECS = {}
SAFE_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


def role_options(stage):
    """The options {name: spec} of the stage role's main entry point (read once per process)."""
    if stage not in _SPECS:
        with open(os.path.join(ROLES, stage, 'meta', 'argument_specs.yml'), encoding='utf-8') as handle:
            # read in each worker (once per host and stage): libyaml's loader is ten times faster
            _SPECS[stage] = yaml.load(handle, Loader=SAFE_LOADER)['argument_specs']['main']['options']
    return _SPECS[stage]


def problem(stage, names):
    """None, or one line: the variables among ``names`` (a host's) the role of ``stage`` would
    ignore (each with the closest known name) or misses (required ones)."""
    options = role_options(stage)
    prefix = PREFIXES[stage]
    known = sorted(set(options) | ALLOWED.get(stage, frozenset()))
    names = [n for n in names if isinstance(n, str)]
    unknown = sorted(n for n in names if n.startswith(prefix) and not n.startswith(prefix + '_') and n not in known)
    missing = sorted(n for n, o in options.items() if o.get('required') and n not in names)
    parts, meant = [], set()
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        if close:
            meant.add(close[0])
            parts.append('unknown variable %s: did you mean %s?' % (name, close[0]))
        else:
            parts.append('unknown variable %s' % name)
    missing = [n for n in missing if n not in meant]
    if missing:
        parts.append('missing required variable%s %s' % ('s' if len(missing) > 1 else '', ', '.join(missing)))
    if not parts:
        return None
    return '%s (ansible-doc -t role factiii.infra.%s lists its variables); nothing was run' % (
        '; '.join(parts), stage)


def _entry_problems(name, option, value):
    """For a list of mappings with declared keys (``<stage>_checks``): each entry that is no mapping,
    or has a key the spec does not know, by its index and name, with the closest known key. The
    role's own check would name neither the entry nor the key meant."""
    known = sorted(option.get('options') or {})
    if option.get('type') != 'list' or option.get('elements') != 'dict' or not known or not isinstance(value, list):
        return []
    found = []
    for index, entry in enumerate(value):
        where = '%s[%d]' % (name, index)
        if not isinstance(entry, dict):
            found.append('%s is not a mapping (%s)' % (where, ', '.join('%s: ...' % k for k in known[:3])))
            continue
        if isinstance(entry.get('name'), str):
            where += ' (%s)' % entry['name']
        for key in sorted(k for k in entry if k not in known):
            close = difflib.get_close_matches('%s' % key, known, n=1, cutoff=0.6)
            hint = ': did you mean %s?' % close[0] if close else ' (known: %s)' % ', '.join(known)
            found.append('%s: unknown key %s%s' % (where, key, hint))
    return found


def value_problem(stage, values):
    """None, or one line: what the role's own argument check would refuse in ``values`` (templated,
    only the role's options), as that check would say it, without its spec dumped."""
    options = role_options(stage)
    entries = [line for name in sorted(values) if name in options
               for line in _entry_problems(name, options[name], values[name])]
    if entries:
        return 'role factiii.infra.%s: %s; nothing was run' % (stage, '; '.join(entries))
    errors = ArgumentSpecValidator(options).validate(values).error_messages
    lines = [' '.join(str(e).split()) for e in errors if str(e).strip()]
    if not lines:
        return None
    return 'role factiii.infra.%s: %s; nothing was run' % (stage, '; '.join(lines))
