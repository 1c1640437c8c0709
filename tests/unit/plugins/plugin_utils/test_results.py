# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report library (plugin_utils/results.py): one import path for every report, and importable
without ansible-core (factiii-summary runs with any python3). Its behaviour is tested through the
callback (tests/unit/plugins/callback), factiii.infra.report, the CLI and factiii-summary."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import sys

from ansible_collections.factiii.infra.plugins.action import report as report_action
from ansible_collections.factiii.infra.plugins.callback import results_by_stage
from ansible_collections.factiii.infra.plugins.lookup import stage_hosts
from ansible_collections.factiii.infra.plugins.plugin_utils import results

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
IMPORT = re.compile(r'^\s*(?:from|import)\s+ansible_collections\.factiii\.infra\.plugins\.(\S+)', re.M)


def _python_files():
    for top in ('plugins', os.path.join('cli', 'src', 'factiii_cli'), 'bin'):
        for directory, dummy, names in os.walk(os.path.join(ROOT, top)):
            for name in names:
                path = os.path.join(directory, name)
                if name.endswith('.py') or top == 'bin':
                    with open(path, errors='replace') as handle:
                        yield os.path.relpath(path, ROOT), handle.read()


def test_nothing_imports_the_report_from_the_callback():
    """The callback is a plugin Ansible loads, not a library: before, the report action, the lookup,
    the CLI and factiii-summary imported their functions from it."""
    found = [(path, what) for path, text in _python_files() for what in IMPORT.findall(text)
             if what.startswith('callback')]
    assert found == []


def test_the_callback_the_report_action_and_the_lookup_use_the_library():
    assert results_by_stage.format_report is results.format_report
    assert report_action.results is results and stage_hosts.results is results
    assert results_by_stage.CallbackModule.CALLBACK_NAME == results.CALLBACK_NAME == 'factiii.infra.results_by_stage'


def test_the_library_imports_without_ansible_core():
    code = ('import sys; sys.path.insert(0, sys.argv[1]); '
            'from ansible_collections.factiii.infra.plugins.plugin_utils import results; '
            'print(sorted(m for m in sys.modules if m == "ansible" or m.startswith("ansible.")))')
    base = results.__file__  # <base>/ansible_collections/factiii/infra/plugins/plugin_utils/results.py
    for dummy in range(6):
        base = os.path.dirname(base)
    proc = subprocess.run([sys.executable, '-I', '-S', '-c', code, base], capture_output=True, text=True, check=False,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == '[]\n'


# --- add_slice: the slices of one fanned-out run (issue 18) ---------------------------------


def _slice(stage, hosts, check_mode=True, status='fixed'):
    """A slice's results file, as the callback writes it (ordered), with one row per host."""
    report = results.new_report()
    for host in hosts:
        results.add_results(report, stage, host, [{'fix_id': '%s-git-missing' % stage, 'status': status,
                                                  'msg': 'git on %s' % host, 'steps': []}], check_mode=check_mode)
    return results.ordered(report)


def test_slices_merge_into_the_report_of_one_run():
    whole = results.new_report()
    for host in ('s1', 's2', 's3'):
        results.add_results(whole, 'staging', host, [{'fix_id': 'staging-git-missing', 'status': 'fixed',
                                                      'msg': 'git on %s' % host, 'steps': []}], check_mode=True)
    merged = results.new_report()
    results.add_slice(merged, _slice('staging', ['s1', 's3']))
    results.add_slice(merged, _slice('staging', ['s2']))
    assert results.ordered(merged) == results.ordered(whole)
    assert results.format_report(merged) == results.format_report(whole)
    assert merged['total']['fixed'] == 3 and merged['check_mode'] is True


def test_a_host_in_two_slices_is_an_error_and_adds_nothing():
    merged = results.new_report()
    results.add_slice(merged, _slice('staging', ['s1', 's2']))
    before = results.ordered(merged)
    try:
        results.add_slice(merged, _slice('staging', ['s3', 's2']))
    except ValueError as exc:
        assert '%s' % exc == 'stage "staging" host "s2" is in another slice\'s results too: each host belongs to one slice'
    else:
        raise AssertionError('a host reported by two slices was merged')
    assert results.ordered(merged) == before, 'half a slice was added'
    # the same host name in another stage is another host of the run
    results.add_slice(merged, _slice('prod', ['s2']))
    assert sorted(merged['stages']) == ['prod', 'staging']


def test_a_scan_slice_and_a_fix_slice_do_not_merge():
    merged = results.new_report()
    results.add_slice(merged, _slice('staging', ['s1'], check_mode=True))
    try:
        results.add_slice(merged, _slice('staging', ['s2'], check_mode=False))
    except ValueError as exc:
        assert '%s' % exc == 'a fix merged with the slices of a scan: slices of one run are all a scan or all a fix'
    else:
        raise AssertionError('a fix slice was merged into a scan')


def test_a_slice_that_is_not_a_results_report_is_a_one_line_error():
    """A slice's file is another job's artifact: anything in it is data, checked before use."""
    for data in (None, [], 'x', {'stages': []}, {'stages': {'staging': {'hosts': {'s1': {'results': [{}]}}}}},
                 {'stages': {'staging': {'hosts': {'s1': {'results': [], 'failed': -1}}}}},
                 {'format': 99, 'stages': {}}, {'stages': {'staging': {'hosts': {'s1': 'x'}}}}):
        merged = results.new_report()
        try:
            results.add_slice(merged, data)
        except ValueError as exc:
            assert '\n' not in '%s' % exc and '%s' % exc
        else:
            raise AssertionError('%r was merged' % (data,))
        assert merged == results.new_report()
