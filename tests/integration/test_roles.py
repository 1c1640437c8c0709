"""The roles agree with themselves and with the stage module's contract.

Static checks (no Ansible run): every variable in defaults/main.yml is in
meta/argument_specs.yml with the same default, prefixed with the role's name;
required ones have no default; staging and prod mirror the server role they
run; every option a role passes is an option of factiii.infra.stage.
"""
import os
import re

import pytest
import yaml

from ansible_collections.factiii.infra.plugins.module_utils import batch, options

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = ['dev', 'secrets', 'server', 'staging', 'prod']
STAGE_ROLES = {'dev': 'dev', 'secrets': 'secrets', 'server': None}  # roles with the stage task
WRAPPERS = ['staging', 'prod']  # roles that run the server role


def load(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return yaml.safe_load(f)


def spec(role):
    return load('roles', role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']


def tasks(role):
    return load('roles', role, 'tasks', 'main.yml')


@pytest.mark.parametrize('role', ROLES)
def test_defaults_match_argument_specs(role):
    defaults = load('roles', role, 'defaults', 'main.yml')
    options_ = spec(role)
    for name in list(defaults) + list(options_):
        assert name.startswith(role + '_'), name
    required = {name for name, opt in options_.items() if opt.get('required')}
    assert set(defaults) == set(options_) - required
    for name, value in defaults.items():
        assert options_[name].get('default') == value, name
    for name in required:
        assert 'default' not in options_[name], name
    for name, opt in options_.items():
        assert opt.get('description'), name
        assert opt.get('type'), name


@pytest.mark.parametrize('role', ROLES)
def test_one_task_and_readme(role):
    assert len(tasks(role)) == 1
    with open(os.path.join(ROOT, 'roles', role, 'README.md')) as f:
        readme = f.read()
    assert 'factiii.infra.%s' % role in readme


@pytest.mark.parametrize('role', sorted(STAGE_ROLES))
def test_stage_task_passes_module_options(role):
    task, = tasks(role)
    args = task['factiii.infra.stage']
    module_spec = batch.stage_argument_spec()
    assert set(args) <= set(module_spec), set(args) - set(module_spec)
    role_spec = spec(role)
    for name, value in args.items():
        if name == 'stage':
            continue
        var = re.match(r'\{\{ (\w+)', value).group(1)
        assert var == '%s_%s' % (role, name if name != 'secrets' else 'names'), (name, value)
        assert role_spec[var]['type'] == module_spec[name]['type'], name
    if STAGE_ROLES[role]:
        assert args['stage'] == STAGE_ROLES[role]


def test_fix_lists_match_the_module():
    assert spec('dev')['dev_fixes']['default'] == batch.default_fixes('dev')
    assert spec('server')['server_fixes']['default'] == batch.default_fixes('staging')
    assert batch.default_fixes('staging') == batch.default_fixes('prod')
    for role in ['server', 'staging', 'prod']:
        assert spec(role)[role + '_fixes']['choices'] == batch.fix_names()
        assert spec(role)[role + '_fixes']['default'] == batch.default_fixes(role if role != 'server' else 'staging')
    # the developer's clone is their own: dev has no repository variables
    assert spec('dev')['dev_fixes']['choices'] == [name for name in batch.fix_names() if name != 'repo-not-cloned']
    assert not [name for name in spec('dev') if name.startswith('dev_repo_')]
    # the secrets role's own defaults (not generated) are the module's
    assert spec('secrets')['secrets_names']['default'] == options.SECRETS['secrets']['default']
    assert spec('server')['server_stage']['choices'] == ['staging', 'prod']


# What users set today (main before issue 17): every name, type and default stays.
PUBLIC = {
    'fixes': ('list', None), 'repo_url': ('str', 'required'), 'repo_dest': ('path', 'required'),
    'repo_version': ('str', None), 'repo_key_file': ('path', None), 'repo_key': ('str', None),
    'repo_known_hosts': ('list', []), 'repo_timeout': ('int', 300), 'node_min_major': ('int', 20),
    'pnpm_version': ('str', '10'), 'app_dir': ('path', None), 'docker_start_timeout': ('int', 60),
    'package_lock_timeout': ('int', 120), 'lock_timeout': ('int', 300), 'repair_dpkg': ('bool', False),
    'ca_bundle': ('path', None), 'become': ('bool', True),
}
DEV_PUBLIC = dict((k, v) for k, v in PUBLIC.items() if not k.startswith('repo_') and k != 'repair_dpkg')
DEV_PUBLIC['become'] = ('bool', False)


@pytest.mark.parametrize('role', ['dev', 'server', 'staging', 'prod'])
def test_public_variables_kept(role):
    public = DEV_PUBLIC if role == 'dev' else PUBLIC
    options_ = spec(role)
    expected = set('%s_%s' % (role, name) for name in public) | ({'server_stage'} if role == 'server' else set())
    assert set(options_) >= expected  # a new fix's options may come on top
    for name, (type_, default) in public.items():
        opt = options_['%s_%s' % (role, name)]
        assert opt['type'] == type_, name
        if default == 'required':
            assert opt['required'] is True and 'default' not in opt, name
        elif default is not None:
            assert opt['default'] == default, name
        elif type_ != 'list':
            assert 'default' not in opt, name
    assert options_[role + '_repo_key']['no_log'] is True if role != 'dev' else True


@pytest.mark.parametrize('role', WRAPPERS)
def test_wrapper_mirrors_server(role):
    server = {name[len('server_'):]: opt for name, opt in spec('server').items()}
    del server['stage']
    own = {name[len(role) + 1:]: opt for name, opt in spec(role).items()}
    assert own.keys() == server.keys()
    for suffix, opt in server.items():
        mine = own[suffix]
        for key in ('type', 'elements', 'default', 'required', 'choices', 'no_log'):
            assert mine.get(key) == opt.get(key), (suffix, key)

    task, = tasks(role)
    # its own argument spec (checked above to mirror the server's) has validated the values:
    # the server role does not validate them a second time on every host
    assert task['ansible.builtin.import_role'] == {'name': 'factiii.infra.server', 'rolespec_validate': False}
    expected = {'server_' + suffix: '{{ %s_%s }}' % (role, suffix) for suffix in server}
    expected['server_stage'] = role
    assert task['vars'] == expected


def test_playbooks_share_the_stage_plays():
    *plays, report = load('playbooks', 'stages.yml')
    assert [p['vars']['factiii__stage'] for p in plays] == ['dev', 'secrets', 'staging', 'prod']
    for play in plays:
        stage = play['vars']['factiii__stage']
        # the stage's group, once the inventory and the limit are checked (no ansible.cfg needed)
        assert play['hosts'] == "{{ lookup('factiii.infra.stage_hosts', '%s') }}" % stage
        assert play['gather_facts'] is False
        assert play['check_mode'] == '{{ (factiii_scan | default(false) | bool) or ansible_check_mode }}'
        assert play['tasks'] == [{'name': 'Run the %s stage' % stage, 'ansible.builtin.import_tasks': 'tasks/stage.yml'}]
    block, = load('playbooks', 'tasks', 'stage.yml')
    # the stage's variables checked by name on the controller, then its role
    assert block['block'][0]['factiii.infra.check_vars'] == {'stage': '{{ factiii__stage }}'}
    assert block['block'][0]['delegate_to'] == 'localhost'
    # check_vars runs the role's own argument check (same spec, same validator; test_stage_vars shows the
    # refusals): Ansible's would be a second worker per host with the whole spec templated
    assert block['block'][1]['ansible.builtin.import_role'] == {'name': 'factiii.infra.{{ factiii__stage }}',
                                                                'rolespec_validate': False}
    assert report['hosts'] == 'all'
    task, = report['tasks']
    assert 'factiii.infra.report' in task and task['run_once'] is True
    for name, scan in [('fix.yml', False), ('scan.yml', True)]:
        imported, = load('playbooks', name)
        assert imported['ansible.builtin.import_playbook'] == 'stages.yml'
        assert imported['vars'] == {'factiii_scan': scan}
