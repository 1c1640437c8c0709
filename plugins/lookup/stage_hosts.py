# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: stage_hosts
short_description: The host pattern of a stage play, once the inventory and the limit are checked
version_added: 1.0.0
description:
  - Returns its terms (the stage groups) unchanged, for a play's C(hosts) keyword, after checking what
    an C(ansible.cfg) with C([inventory] unparsed_is_failed) would, and more; any problem stops the
    playbook before anything runs (exit code 4) with one line saying what and how to fix it.
  - An inventory source that does not exist, or a static inventory file (YAML, INI, TOML) that does not
    parse or gives no host. Only static files are parsed again here - an executable inventory script
    or an inventory plugin's configuration file is never run a second time, so for those only
    "no host at all" is caught.
  - No host in the inventory at all (no C(-i) given, or every source empty).
  - A stage named in C(-l) (also with others, C(-l dev,prod)) whose group has no host; Ansible itself
    only refuses a limit that matches nothing at all.
  - When the P(factiii.infra.results_by_stage#callback) callback is not enabled, a E(FACTIII_RESULTS_JSON)
    that could not be written at the end (the callback checks the same when it is enabled).
  - Templated by Ansible for every play, even one whose hosts the limit excludes, so the first play of
    C(factiii.infra.scan) and C(factiii.infra.fix) checks before any host is contacted, with or
    without an C(ansible.cfg).
options:
  _terms:
    description: The stage groups of the play (C(dev), C(secrets), C(staging), C(prod)).
    required: true
    type: list
    elements: str
'''

EXAMPLES = r'''
- name: Staging stage
  hosts: "{{ lookup('factiii.infra.stage_hosts', 'staging') }}"
  tasks: []
'''

RETURN = r'''
_raw:
  description: The terms, unchanged (a list of group names; C(lookup) joins them with commas).
  type: list
  elements: str
'''

import os

from ansible import context
from ansible.errors import AnsibleLookupError
from ansible.inventory.data import InventoryData
from ansible.inventory.manager import IGNORED, split_host_pattern
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.loader import inventory_loader
from ansible.plugins.lookup import LookupBase

from ansible_collections.factiii.infra.plugins.module_utils.batch import STAGES
from ansible_collections.factiii.infra.plugins.plugin_utils import reasons, results

# Ansible's plugins for inventory files that are data: parsing them again runs nothing.
# Short names, as Ansible's own default list (inventory enabled) names them.
STATIC_PLUGINS = ('yaml', 'ini', 'toml')
# What the yaml plugin says of an inventory plugin's configuration (auto would run that plugin).
PLUGIN_CONFIG = 'Plugin configuration YAML file'
DEFAULT_SOURCE = '/etc/ansible/hosts'
HOW_TO_GIVE = 'pass -i <inventory> (e.g. -i factiii/hosts.yml)'


def parse_static(path, loader):
    """(hosts, problem) of the inventory file ``path`` read by Ansible's static plugins.

    hosts is None when the file is not static data (an executable script, an inventory plugin's
    configuration): it is not run again here. problem is None, or why no plugin could read it.
    """
    if os.access(path, os.X_OK):
        return None, None
    failures = []
    for name in STATIC_PLUGINS:
        plugin = inventory_loader.get(name)
        try:
            wanted = plugin is not None and plugin.verify_file(path)
        except Exception:  # pylint: disable=broad-exception-caught
            wanted = False  # as Ansible does: a plugin that cannot tell does not parse it
        if not wanted:
            continue
        data = InventoryData()
        try:
            plugin.parse(data, loader, path, cache=False)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if PLUGIN_CONFIG in '%s' % exc:
                return None, None
            failures.append(reasons.first_line('%s' % exc, type(exc).__name__))
            continue
        return len(data.hosts), None
    return 0, failures[0] if failures else 'no static inventory plugin reads it'


def source_problem(source, loader):
    """None, or why the inventory source ``source`` (as ansible_inventory_sources has it) is wrong."""
    if ',' in source:
        return None  # a host list (-i host1,host2): its hosts are the words themselves
    if not os.path.exists(to_bytes(source)):
        return 'inventory %s does not exist' % source
    hosts, unknown = 0, False
    paths = [source]
    while paths:
        path = paths.pop(0)
        if os.path.isdir(to_bytes(path)):
            # as Ansible reads a directory: each entry, without hidden, group_vars/host_vars, ignored names
            paths.extend(os.path.join(path, name) for name in sorted(os.listdir(path))
                         if not IGNORED.search(to_bytes(name)))
            continue
        found, problem = parse_static(path, loader)
        if problem:
            return 'inventory %s does not parse: %s' % (path, problem)
        if found is None:
            unknown = True
        else:
            hosts += found
    if not hosts and not unknown:
        return 'inventory %s has no host' % source
    return None


def given(sources):
    """True when an inventory was given (-i, ANSIBLE_INVENTORY, ansible.cfg) or Ansible's default exists."""
    return list(sources) != [DEFAULT_SOURCE] or os.path.exists(DEFAULT_SOURCE)


def limit_stages(limit):
    """The stages a --limit asks for by name (also after &; not those excluded with !)."""
    if not isinstance(limit, str) or not limit.strip():
        return []
    named = []
    for pattern in split_host_pattern(limit):
        pattern = pattern[1:] if pattern.startswith('&') else pattern
        if pattern in STAGES and pattern not in named:
            named.append(pattern)
    return named


def run_problem(variables, loader):
    """None, or one line: what stops the run and how to fix it."""
    sources = [s for s in variables.get('ansible_inventory_sources') or [] if isinstance(s, str)]
    groups = variables.get('groups') or {}
    if given(sources):
        for source in sources:
            why = source_problem(source, loader)
            if why:
                return why
    if not groups.get('all'):
        if not given(sources):
            return 'no inventory: %s' % HOW_TO_GIVE
        return 'the inventory (%s) gives no host' % ', '.join(sources)
    for stage in limit_stages(variables.get('ansible_limit')):
        if not groups.get(stage):
            return ('-l %s: the %s group has no host in the inventory (%s): add its server under %s.hosts, '
                    'or leave %s out of -l' % (variables['ansible_limit'], stage, ', '.join(sources), stage, stage))
    path = os.environ.get('FACTIII_RESULTS_JSON')
    if path and not results.enabled():
        why = results.path_problem(path)
        if why:
            return '%s; nothing was run (set FACTIII_RESULTS_JSON to a file in an existing, writable directory)' % why
    return None


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        if context.CLIARGS.get('syntax'):
            return list(terms)  # --syntax-check reads the playbook alone, with or without an inventory
        why = run_problem(variables or {}, self._loader)
        if why:
            raise AnsibleLookupError(why)
        return list(terms)
