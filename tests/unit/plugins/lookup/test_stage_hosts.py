# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The factiii.infra.stage_hosts lookup: what stops a run before any host is contacted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
from ansible import constants as C
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader

from ansible_collections.factiii.infra.plugins.plugin_utils import results as rbs
from ansible_collections.factiii.infra.plugins.lookup import stage_hosts

GOOD_YAML = 'all:\n  children:\n    staging:\n      hosts:\n        s1:\n    prod:\n      hosts: {}\n'
GROUPS = {'all': ['s1'], 'ungrouped': [], 'staging': ['s1'], 'prod': []}


def lookup(terms, sources, groups=None, limit=None):
    variables = {'ansible_inventory_sources': [str(s) for s in sources], 'groups': groups or GROUPS}
    if limit is not None:
        variables['ansible_limit'] = limit
    return stage_hosts.LookupModule(loader=DataLoader()).run(terms, variables)


def refused(*args, **kwargs):
    with pytest.raises(AnsibleLookupError) as caught:
        lookup(*args, **kwargs)
    message = '%s' % caught.value.message
    assert '\n' not in message
    return message


@pytest.fixture(autouse=True)
def no_results_json(monkeypatch):
    monkeypatch.delenv('FACTIII_RESULTS_JSON', raising=False)


def test_a_good_inventory_gives_the_terms(tmp_path):
    (tmp_path / 'hosts.yml').write_text(GOOD_YAML)
    assert lookup(['staging'], [tmp_path / 'hosts.yml']) == ['staging']
    assert lookup(['staging', 'prod'], [tmp_path / 'hosts.yml']) == ['staging', 'prod']


@pytest.mark.parametrize('name, text, says', [
    ('hosts.yml', 'all:\n  children: [staging\n', 'does not parse: YAML parsing failed'),
    ('hosts.ini', '[staging\ns1\n', 'does not parse: '),
    ('hosts', 'all:\n  hosts: [a, b\n', 'does not parse: '),
    ('hosts.yml', 'all:\n  children:\n    staging:\n      hosts: {}\n', 'has no host'),
    ('hosts.ini', '[staging]\n', 'has no host'),
])
def test_a_broken_or_empty_file_is_refused(tmp_path, name, text, says):
    (tmp_path / name).write_text(text)
    message = refused(['staging'], [tmp_path / name], groups={'all': [], 'staging': []})
    assert message.startswith('inventory %s ' % (tmp_path / name)) and says in message, message


def test_a_second_source_that_does_not_parse_is_refused_too(tmp_path):
    (tmp_path / 'good.yml').write_text(GOOD_YAML)
    (tmp_path / 'bad.yml').write_text('all: [\n')
    assert 'inventory %s does not parse' % (tmp_path / 'bad.yml') in refused(
        ['staging'], [tmp_path / 'good.yml', tmp_path / 'bad.yml'])


def test_a_directory_is_read_as_ansible_reads_it(tmp_path):
    (tmp_path / 'hosts.yml').write_text(GOOD_YAML)
    (tmp_path / 'group_vars').mkdir()
    (tmp_path / 'group_vars' / 'all.yml').write_text('not: [an inventory\n')  # not an inventory file
    (tmp_path / '.hidden').write_text('[broken\n')
    (tmp_path / 'notes.retry').write_text('[broken\n')
    assert lookup(['staging'], [tmp_path]) == ['staging']
    (tmp_path / 'more.yml').write_text('all: [\n')
    assert 'inventory %s does not parse' % (tmp_path / 'more.yml') in refused(['staging'], [tmp_path])


def test_an_inventory_script_or_plugin_is_never_run_again(tmp_path):
    marker = tmp_path / 'ran'
    script = tmp_path / 'inventory.sh'
    script.write_text('#!/bin/sh\ntouch %s\necho "{}"\n' % marker)
    os.chmod(str(script), 0o755)
    (tmp_path / 'aws.yml').write_text('plugin: amazon.aws.aws_ec2\n')
    assert lookup(['staging'], [script, tmp_path / 'aws.yml']) == ['staging']
    assert not marker.exists()


def test_a_missing_source_and_no_inventory(tmp_path, monkeypatch):
    assert refused(['dev'], [tmp_path / 'nope.yml'], groups={'all': []}) == 'inventory %s does not exist' % (
        tmp_path / 'nope.yml')
    monkeypatch.setattr(stage_hosts, 'DEFAULT_SOURCE', str(tmp_path / 'etc-hosts'))
    assert refused(['dev'], [tmp_path / 'etc-hosts'], groups={'all': []}) == \
        'no inventory: pass -i <inventory> (e.g. -i factiii/hosts.yml)'


def test_a_host_list_is_not_a_path():
    assert lookup(['staging'], ['s1,']) == ['staging']


@pytest.mark.parametrize('limit, stage', [('staging,prod', 'prod'), ('staging:prod', 'prod'), ('prod', 'prod'),
                                          ('s1:&prod', 'prod'), ('dev', 'dev')])
def test_a_stage_of_the_limit_without_a_host_is_refused(tmp_path, limit, stage):
    (tmp_path / 'hosts.yml').write_text(GOOD_YAML)
    message = refused(['staging'], [tmp_path / 'hosts.yml'], limit=limit)
    assert message == ('-l %s: the %s group has no host in the inventory (%s): add its server under %s.hosts, '
                       'or leave %s out of -l' % (limit, stage, tmp_path / 'hosts.yml', stage, stage))


@pytest.mark.parametrize('limit', ['staging', 's1', 'staging:!prod', '', 'stag*'])
def test_a_limit_that_asks_no_empty_stage_by_name_runs(tmp_path, limit):
    (tmp_path / 'hosts.yml').write_text(GOOD_YAML)
    assert lookup(['prod'], [tmp_path / 'hosts.yml'], limit=limit) == ['prod']


@pytest.mark.parametrize('enabled', [False, True])
def test_a_results_file_that_cannot_be_written_stops_the_run_without_the_callback(tmp_path, monkeypatch, enabled):
    (tmp_path / 'hosts.yml').write_text(GOOD_YAML)
    monkeypatch.setattr(C, 'CALLBACKS_ENABLED', [rbs.CALLBACK_NAME] if enabled else [])
    monkeypatch.setenv('FACTIII_RESULTS_JSON', str(tmp_path / 'nope' / 'r.json'))
    if enabled:  # the callback checks it itself, at the start of the run
        assert lookup(['staging'], [tmp_path / 'hosts.yml']) == ['staging']
    else:
        assert refused(['staging'], [tmp_path / 'hosts.yml']).startswith(
            'results_json: cannot write %s: directory %s does not exist; nothing was run' % (
                tmp_path / 'nope' / 'r.json', tmp_path / 'nope'))


def test_a_syntax_check_needs_no_inventory(tmp_path, monkeypatch):
    """`ansible-playbook factiii.infra.scan --syntax-check` (the release workflow's check) reads the playbook alone."""
    monkeypatch.setattr(stage_hosts.context, 'CLIARGS', {'syntax': True})
    assert lookup(['dev'], [tmp_path / 'etc-hosts'], groups={'all': []}) == ['dev']
