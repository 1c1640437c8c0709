"""The built collection as ansible-doc and ansible-playbook see it (issue 18 point 5): every module's
attributes, and common options set once for the action group through module_defaults."""
import glob
import json
import os

import yaml

from support import ROOT, run_reported, tool

SUPPORT = ('full', 'partial', 'none', 'N/A')

GROUP_PLAY = '''
- name: Common options set once for the action group
  hosts: localhost
  gather_facts: false
  tasks:
    - name: A value of the wrong type, set for the group only
      module_defaults:
        group/factiii.infra.infra:
          lock_timeout: not-a-number
      block:
        - name: Reaches a fix module
          factiii.infra.git_missing:
            stage: pk18
          check_mode: true
          register: bad_fix
          ignore_errors: true
        - name: Reaches the stage module
          factiii.infra.stage:
            stage: dev
            fixes: [git-missing]
          check_mode: true
          register: bad_stage
          ignore_errors: true
    - name: Good values, set for the group only
      module_defaults:
        group/factiii.infra.infra:
          lock_timeout: 7
          package_lock_timeout: 9
          repair_dpkg: false
      block:
        - name: Are options of the fix module
          factiii.infra.git_missing:
            stage: pk18
          check_mode: true
          register: good_fix
        - name: Are options of the stage module
          factiii.infra.stage:
            stage: dev
            fixes: [git-missing]
          check_mode: true
          register: good_stage
    - name: Print what each got
      ansible.builtin.debug:
        msg: "{{ item.0 }}: failed={{ item.1.failed | default(false) }} msg={{ item.1.msg | default('') }}"
      loop: "{{ ['bad_fix', 'bad_stage', 'good_fix', 'good_stage'] | zip([bad_fix, bad_stage, good_fix, good_stage]) }}"
'''


def group_members():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as handle:
        return yaml.safe_load(handle)['action_groups']['infra']


def test_every_module_renders_its_attributes(ansible_env):
    """As ansible-doc renders them, fragments merged: check_mode, diff_mode and platform with a
    support level, and the action group's membership on its members only."""
    names = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')))
    proc = run_reported([tool('ansible-doc'), '-t', 'module', '--json'] + ['factiii.infra.%s' % n for n in names],
                        ansible_env, 300)
    assert proc.returncode == 0, proc.report
    docs = json.loads(proc.stdout)
    assert sorted(docs) == ['factiii.infra.%s' % n for n in names], proc.report
    members = group_members()
    for name in names:
        attributes = docs['factiii.infra.%s' % name]['doc'].get('attributes', {})
        for key in ('check_mode', 'diff_mode', 'platform'):
            assert attributes.get(key, {}).get('description'), (name, key, attributes)
            assert attributes[key].get('support') in SUPPORT, (name, key, attributes)
        assert attributes['platform'].get('platforms'), (name, attributes)
        if name in members:
            assert attributes['action_group']['membership'] == ['factiii.infra.infra'], (name, attributes)
            assert attributes['action_group']['support'] == 'full', (name, attributes)
        else:
            assert 'action_group' not in attributes, (name, attributes)


def test_module_defaults_of_the_group_reach_the_modules(ansible_env, tmp_path):
    """group/factiii.infra.infra in module_defaults: a bad value set there fails a fix module and
    the stage module naming the option; good values are accepted by both (a scan of this machine's
    git, nothing changed)."""
    (tmp_path / 'play.yml').write_text(GROUP_PLAY)
    (tmp_path / 'hosts.yml').write_text(
        'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
        '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n')
    proc = run_reported([tool('ansible-playbook'), '-i', str(tmp_path / 'hosts.yml'), str(tmp_path / 'play.yml')],
                        ansible_env, 600)
    assert proc.returncode == 0, proc.report
    wrong_type = ("msg=argument 'lock_timeout' is of type str and we were unable to convert to int: "
                  "\"'not-a-number'\" cannot be converted to an int")
    assert '"bad_fix: failed=True %s"' % wrong_type.replace('"', '\\"') in proc.stdout, proc.report
    assert '"bad_stage: failed=True %s"' % wrong_type.replace('"', '\\"') in proc.stdout, proc.report
    assert '"good_fix: failed=False msg=' in proc.stdout, proc.report
    assert '"good_stage: failed=False msg=dev: would fix ' in proc.stdout, proc.report
