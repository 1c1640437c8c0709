# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs, defined once; each matches a doc fragment in plugins/doc_fragments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.factiii.infra.plugins.module_utils.stage import FIX_ORDER
from ansible_collections.factiii.infra.plugins.module_utils.user_checks import OPTIONS as CHECKS

STAGE_CHOICES = ['dev', 'secrets', 'staging', 'prod']

# doc fragment: factiii.infra.fix (the single-fix modules; the stage module requires stage)
FIX = {
    'stage': {'type': 'str', 'default': 'local'},
}

# doc fragment: factiii.infra.common
COMMON = {
    'package_lock_timeout': {'type': 'int', 'default': 120},
    'repair_dpkg': {'type': 'bool', 'default': False},
    'ca_bundle': {'type': 'path'},
    'lock_timeout': {'type': 'int', 'default': 300},
}

# doc fragment: factiii.infra.node
NODE = {
    'node_min_major': {'type': 'int', 'default': 20},
}

# doc fragment: factiii.infra.pnpm
PNPM = {
    'pnpm_version': {'type': 'str', 'default': '10'},
    'app_dir': {'type': 'path'},
}

# doc fragment: factiii.infra.docker
DOCKER = {
    'docker_start_timeout': {'type': 'int', 'default': 60},
}

# doc fragment: factiii.infra.repo
REPO = {
    'repo_url': {'type': 'str'},
    'repo_dest': {'type': 'path'},
    'repo_version': {'type': 'str'},
    'repo_key_file': {'type': 'path'},
    'repo_key': {'type': 'str', 'no_log': True},
    'repo_known_hosts': {'type': 'list', 'elements': 'str', 'default': []},
    'repo_timeout': {'type': 'int', 'default': 300},
}
REPO_MUTUALLY_EXCLUSIVE = [['repo_key', 'repo_key_file']]

# doc fragment: factiii.infra.secrets
SECRETS = {
    # names of secrets, not secret values
    'secrets': {'type': 'list', 'elements': 'str', 'default': ['STAGING_SSH', 'PROD_SSH'], 'no_log': False},
    'github_repo': {'type': 'str'},
    # no default: unset, the API URL comes from the environment (plugin_utils/github_api.py)
    'github_api_url': {'type': 'str'},
}


# The variables of each stage role (roles/<stage>/meta/argument_specs.yml), by module
# option: <stage>_<option>, except those below. Steps that tell the operator what to set
# name these (tests/unit/module_utils/test_manual_steps.py checks them against the specs).
_SERVER_OPTIONS = sorted(set(COMMON) | set(NODE) | set(PNPM) | set(DOCKER) | set(REPO) | {'fixes', 'become'})
ROLE_OPTIONS = {
    'dev': sorted(set(COMMON) - {'repair_dpkg'} | set(NODE) | set(PNPM) | set(DOCKER) | {'fixes', 'become'}),
    'staging': _SERVER_OPTIONS,
    'prod': _SERVER_OPTIONS,
    'secrets': sorted(SECRETS),
}
ROLE_VARIABLE_EXCEPTIONS = {('secrets', 'secrets'): 'secrets_names'}


def variable(stage, option):
    """The name the operator sets ``option`` by for ``stage``: the stage role's variable
    ('staging_repo_dest'), or the option itself when ``stage`` is not a role's stage (a
    single-fix module on a task); None when that stage's role has no such variable."""
    if stage not in ROLE_OPTIONS:
        return option
    if option not in ROLE_OPTIONS[stage]:
        return None
    return ROLE_VARIABLE_EXCEPTIONS.get((stage, option), '%s_%s' % (stage, option))


def setting(stage, option, value):
    """'set staging_repo_dest: /srv/app.new in the inventory' (a stage role's variable) or
    'set repo_dest: /srv/app.new on the task'; None when the stage's role has no such variable."""
    name = variable(stage, option)
    if name is None:
        return None
    return 'set %s: %s %s' % (name, value, 'in the inventory' if stage in ROLE_OPTIONS else 'on the task')


def spec(*parts):
    merged = {}
    for part in (COMMON,) + parts:
        merged.update(copy.deepcopy(part))
    return merged


def argument_spec(declared):
    """A module argument spec from declared options: the same, without their descriptions."""
    spec_ = {}
    for name, option in declared.items():
        spec_[name] = dict((key, argument_spec(value) if key == 'options' else copy.deepcopy(value))
                           for key, value in option.items() if key != 'description')
    return spec_


def stage_argument_spec():
    """Options of the factiii.infra.stage module and action plugin."""
    merged = spec(NODE, PNPM, DOCKER, REPO, SECRETS)
    merged['stage'] = {'type': 'str', 'required': True, 'choices': STAGE_CHOICES}
    merged['fixes'] = {'type': 'list', 'elements': 'str', 'choices': list(FIX_ORDER)}
    merged.update(argument_spec(CHECKS))
    return merged
