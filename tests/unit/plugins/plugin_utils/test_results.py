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
