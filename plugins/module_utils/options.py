# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options that are no fix's own, declared once, and the stage roles' table.

Declarations are in the format of a role's meta/argument_specs.yml (``description`` a list
of str); a module's argument spec is the same without descriptions (argument_spec()). Each
fix declares its own options (plugins/module_utils/fixes/*.py); scripts/generate writes the
doc fragments and the stage roles' files from these and those.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

STAGE_CHOICES = ['dev', 'secrets', 'staging', 'prod']

# The single-fix modules (doc fragment factiii.infra.fix; the stage module requires stage).
FIX = {
    'stage': {
        'description': ['Stage name used as the prefix of the reported C(fix_id), as in C(staging-git-missing).'],
        'type': 'str',
        'default': 'local',
    },
}

# Options of every fix module and of the stage module (doc fragment factiii.infra.common).
COMMON = {
    'package_lock_timeout': {
        'description': [
            'Seconds to wait in all for the package manager\'s locks (apt/dpkg) held by another live process'
            ' (an C(apt-get), C(unattended-upgrades), C(dpkg)) before the fix reports C(failed) with the PID'
            ' and command line holding it (read from C(/proc/locks)); a second run after the lock is'
            ' released fixes it. A scan waits the same way, so that it reports what the fix would.',
            'While a process holds a lock, dpkg\'s journal is that process at work, not an interrupted dpkg.'],
        'type': 'int',
        'default': 120,
    },
    'repair_dpkg': {
        'description': [
            'What to do when dpkg was interrupted (a package install killed midway left its journal in'
            ' C(/var/lib/dpkg/updates) and no process holds the package locks) and packages must be installed.',
            'V(false) - the package fixes report C(manual) with the exact command, C(sudo dpkg --configure -a).',
            'V(true) - run C(dpkg --configure -a) (non-interactive, changed config files kept) before the'
            ' install, once the locks are free (waited for as O(package_lock_timeout) says); that finishes'
            ' the interrupted install, running its packages\' configure scripts.'],
        'type': 'bool',
        'default': False,
    },
    'lock_timeout': {
        'description': [
            'Seconds to wait for this host\'s lock, held by another factiii run on the host (from any'
            ' controller), before the run reports one C(failed) row C(<stage>-host-busy) naming it (PID,'
            ' since when, stage, scan or fix) and changes nothing.',
            'A fix holds the lock alone; scans share it (two scans run side by side, a scan waits for a fix'
            ' and a fix for the scans). A scan waits as long as a fix, so that it reports the host as the fix'
            ' left it, not half done.',
            'The lock is C(fcntl.flock) on C(/run/factiii/host.lock) (C(/var/run/factiii) on macOS) for root,'
            ' C(~/.cache/factiii/host.lock) for any other user (so a run without become excludes only that'
            ' user\'s runs); the kernel releases it when its holder dies.'],
        'type': 'int',
        'default': 300,
    },
    'ca_bundle': {
        'description': [
            'CA bundle (PEM) for downloads over HTTPS behind a TLS-intercepting proxy;'
            ' passed to npm as C(NODE_EXTRA_CA_CERTS) and C(npm_config_cafile).'],
        'type': 'path',
    },
}
COMMON_NOTES = [
    'Runs where the module runs, on the managed host. Supports Debian/Ubuntu (apt, systemd or the'
    ' C(service) command) and macOS (Homebrew run as the owner of its prefix, launchd).',
    'The result is one of C(ok), C(fixed) (in check mode, "would fix"), C(manual) (with the exact'
    ' C(steps) a human must take) or C(failed) (the task fails, with the reason in C(msg)).',
]

# The secrets stage, checked on the controller (doc fragment factiii.infra.secrets).
SECRETS = {
    'secrets': {
        'description': [
            'Names of the GitHub Actions secrets the C(secrets) stage requires.',
            'A stage\'s SSH key, C(<STAGE>_SSH), must be a secret of the GitHub environment C(<stage>)'
            ' (C(STAGING_SSH) of C(staging), C(PROD_SSH) of C(prod)), the environment the workflow jobs that use'
            ' it run in. The key missing from its environment is C(manual); the key as a repository secret'
            ' (readable by every workflow of every branch) is C(failed), with the steps to move it.',
            'Other names are checked as repository secrets.'],
        'type': 'list',
        'elements': 'str',
        'default': ['STAGING_SSH', 'PROD_SSH'],
        'no_log': False,  # names of secrets, not secret values
    },
    'github_repo': {
        'description': [
            'Repository (C(owner/name)) whose secrets are checked. Defaults to the environment variable'
            ' C(GITHUB_REPOSITORY). The token comes from C(GITHUB_TOKEN) or C(GH_TOKEN) on the controller.',
            'A fine-grained token needs the repository permissions "Secrets: read" and "Environments: read".'],
        'type': 'str',
    },
    'github_api_url': {
        'description': [
            'Base URL of the GitHub REST API (GitHub Enterprise Server, or a test server).',
            'When unset, the first set of the controller\'s environment variables E(FACTIII_GITHUB_API_URL) and'
            ' E(GITHUB_API_URL) (set by GitHub Actions, also on GitHub Enterprise Server), else'
            ' V(https://api.github.com). The factiii CLI uses the same variables in the same order.',
            'The API\'s TLS certificate is checked against the usual CAs plus those of the PEM file named by'
            ' E(FACTIII_GITHUB_CA_BUNDLE), when set.'],
        # no default: unset, the API URL comes from the environment (plugin_utils/github_api.py)
        'type': 'str',
    },
}

# The stage roles scripts/generate writes (defaults/main.yml, meta/argument_specs.yml,
# tasks/main.yml). A role's variables are <role>_<option>: its own (``variables``, over
# ROLE_VARIABLES), then the options of the fixes it offers (every fix but those in ``without``)
# and of batch.STAGE_OPTION_GROUPS (COMMON, ...; but ``without``). The server role runs the stage module; staging and prod
# (``runs: server``) have the server's variables but its stage, and pass them on.
ROLE_VARIABLES = {
    'fixes': {
        'description': ['Fixes to run; the module orders them by their dependencies.'],
        'type': 'list',
        'elements': 'str',
    },
    'become': {
        'description': ['Run the stage as root through become.'],
        'type': 'bool',
        'default': True,
    },
}
ROLES = {
    'dev': {
        'stage': 'dev',
        'short_description': 'Scan and fix a developer\'s machine',
        'description': [
            'Runs the dev stage\'s fixes in one execution of M(factiii.infra.stage) on each host of the play.',
            'The play decides scan or fix with its C(check_mode) keyword.'],
        # the developer's clone is their own: no repository variables
        'without': ('repo-not-cloned', 'repair_dpkg'),
        'variables': {
            'become': {
                'description': ['Run the stage as root through become.',
                                'Off by default; the module calls C(sudo -n) itself when it needs root.'],
                'default': False,
            },
        },
    },
    'server': {
        'stage': None,  # its variable server_stage
        'short_description': 'Scan and fix a server stage',
        'description': [
            'Runs a server stage\'s fixes in one execution of M(factiii.infra.stage) on each host of the play.',
            'The body of the P(factiii.infra.staging#role) and P(factiii.infra.prod#role) roles, which set'
            ' its variables.',
            'The play decides scan or fix with its C(check_mode) keyword.'],
        'required': ('repo_url', 'repo_dest'),
        'variables': {
            'stage': {'description': ['The stage.'], 'type': 'str', 'required': True, 'choices': ['staging', 'prod']},
        },
    },
    'staging': {'stage': 'staging', 'runs': 'server', 'short_description': 'Scan and fix the staging stage'},
    'prod': {'stage': 'prod', 'runs': 'server', 'short_description': 'Scan and fix the prod stage'},
}
for _stage in ('staging', 'prod'):
    ROLES[_stage]['description'] = [
        'Runs the %s stage\'s fixes in one execution of M(factiii.infra.stage) on each host of the play,'
        ' through the P(factiii.infra.server#role) role.' % _stage,
        'The play decides scan or fix with its C(check_mode) keyword.']

# Role variables not named <role>_<option>.
ROLE_VARIABLE_EXCEPTIONS = {('secrets', 'secrets'): 'secrets_names'}


def argument_spec(declared):
    """A module's argument spec from declared options: the same, without descriptions."""
    spec = {}
    for name, option in declared.items():
        option = dict((key, copy.deepcopy(value)) for key, value in option.items() if key != 'description')
        if 'options' in option:
            option['options'] = argument_spec(option['options'])
        spec[name] = option
    return spec


def role_variables(role):
    """{option: declaration} of a stage role's variables (each <role>_<option>), in the order its
    files list them: its own, its fixes' options in run order, the common ones."""
    # Imported here: the fixes import this module for variable() and setting().
    from ansible_collections.factiii.infra.plugins.module_utils.batch import STAGE_OPTION_GROUPS, default_fixes, ordered
    from ansible_collections.factiii.infra.plugins.module_utils.registry import FIXES

    table = ROLES[role]
    body = ROLES[table.get('runs', role)]
    without = body.get('without', ())
    fixes = [fix for fix in ordered(FIXES.values()) if fix.name not in without]
    own = dict((name, dict(ROLE_VARIABLES.get(name, {}), **option)) for name, option in body.get('variables', {}).items())
    if table.get('runs'):
        own.pop('stage')  # the wrapper's own stage
    stages = [table['stage']] if table['stage'] else [s for s in STAGE_CHOICES if ROLES.get(s, {}).get('runs') == role]
    defaults = []
    for stage in stages:
        defaults += [name for name in default_fixes(stage) if name not in defaults]
    found = {}
    if 'stage' in own:
        found['stage'] = own['stage']
    found['fixes'] = dict(ROLE_VARIABLES['fixes'], choices=[fix.name for fix in fixes],
                          default=[fix.name for fix in fixes if fix.name in defaults])
    for source in [fix.options for fix in fixes] + list(STAGE_OPTION_GROUPS.values()):
        for name, option in source.items():
            if name not in without:
                found[name] = dict(option, required=True) if name in body.get('required', ()) else dict(option)
    found['become'] = dict(own.get('become', ROLE_VARIABLES['become']))
    for option in found.values():
        if option.get('required'):
            option.pop('default', None)
    return found


def _role_options(stage):
    if stage == 'secrets':
        return SECRETS
    return role_variables(stage)


def variable(stage, option):
    """The name the operator sets ``option`` by for ``stage``: the stage role's variable
    ('staging_repo_dest'), or the option itself when ``stage`` is not a role's stage (a
    single-fix module on a task); None when that stage's role has no such variable."""
    if stage not in STAGE_CHOICES:
        return option
    if option not in _role_options(stage):
        return None
    return ROLE_VARIABLE_EXCEPTIONS.get((stage, option), '%s_%s' % (stage, option))


def setting(stage, option, value):
    """'set staging_repo_dest: /srv/app.new in the inventory' (a stage role's variable) or
    'set repo_dest: /srv/app.new on the task'; None when the stage's role has no such variable."""
    name = variable(stage, option)
    if name is None:
        return None
    return 'set %s: %s %s' % (name, value, 'in the inventory' if stage in STAGE_CHOICES else 'on the task')
