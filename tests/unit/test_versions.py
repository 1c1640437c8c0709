"""requires_ansible (meta/runtime.yml) claims exactly what scripts/test-versions tests: its lowest
ansible-core is the claim's lower bound, its highest is of the last minor release below the claim's
upper bound; the roles say the same minimum, and CI's workflow runs both ends."""
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(*path):
    with open(os.path.join(ROOT, *path)) as handle:
        return handle.read()


def script_versions():
    script = read('scripts', 'test-versions')
    return dict((name.lower(), value) for name, value in re.findall(r'^(LOWEST|HIGHEST)=(\S+)$', script, re.M))


def test_requires_ansible_is_the_tested_range():
    versions = script_versions()
    major, minor = versions['highest'].split('.')[:2]
    claim = yaml.safe_load(read('meta', 'runtime.yml'))['requires_ansible']
    assert claim == '>=%s,<%s.%d.0' % (versions['lowest'], major, int(minor) + 1)


def test_the_roles_say_the_same_minimum():
    lowest = '.'.join(script_versions()['lowest'].split('.')[:2])
    for role in sorted(os.listdir(os.path.join(ROOT, 'roles'))):
        meta = yaml.safe_load(read('roles', role, 'meta', 'main.yml'))
        assert meta['galaxy_info']['min_ansible_version'] == lowest, role


def test_ci_runs_both_ends():
    jobs = yaml.safe_load(read('.github', 'workflows', 'ci.yml'))['jobs']
    runs = [step.get('run', '') for job in jobs.values() for step in job.get('steps', [])]
    matrix = [job.get('strategy', {}).get('matrix', {}) for job in jobs.values()]
    assert any('scripts/test-versions ${{ matrix.ansible }}' in run for run in runs), runs
    ends = [m.get('ansible') for m in matrix]
    assert ['lowest', 'highest'] in ends, matrix
