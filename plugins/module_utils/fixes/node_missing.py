# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node-missing: Node.js of at least ``node_min_major`` and npm are installed.

Never a silent old node: when the platform's package is older than asked, the
result is MANUAL with the steps to get a newer one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.factiii.infra.plugins.module_utils.fix import PackageFix, manual, needs_fix, ok


def major(version):
    """18 from 'v18.19.0', '18.19.0+dfsg-6~deb12u2' or '1:20.1.0-1'; None if unparsable."""
    match = re.match(r'^\s*v?(?:\d+:)?(\d+)', version or '')
    return int(match.group(1)) if match else None


class NodeMissing(PackageFix):
    name = 'node-missing'
    rank = 20
    stages = ('dev', 'staging', 'prod')
    options = {
        'node_min_major': {
            'description': [
                'Lowest acceptable Node.js major version. When the platform\'s package is older, the fix'
                ' reports C(manual) with the steps to get a newer Node, never a silently old one.'],
            'type': 'int',
            'default': 20,
        },
    }
    uses = ('tool_version', 'which', 'package_names', 'candidate_version', 'node_upgrade_steps', 'admin_problem')
    tool = 'node'

    def __init__(self, platform, params):
        super(NodeMissing, self).__init__(platform, params)
        self._packages = []

    @property
    def min_major(self):
        return self.params.get('node_min_major') or 20

    def packages(self):
        return self._packages

    def scan(self):
        version = self.platform.tool_version('node')
        has_npm = bool(self.platform.which('npm'))
        current = major(version)
        if current is not None and current >= self.min_major and has_npm:
            return ok('node %s and npm are installed' % version)
        if current is not None and current >= self.min_major:
            self._packages = self.platform.package_names('npm')
            return self.privileged(needs_fix('would install npm (%s)' % ' '.join(self._packages)),
                                   'npm is missing')

        self._packages = self.platform.package_names('node')
        if not has_npm:
            self._packages += [p for p in self.platform.package_names('npm') if p not in self._packages]
        candidate = self.platform.candidate_version(self.platform.package_names('node')[0])
        if candidate is not None and major(candidate) < self.min_major:
            return manual('node %s is required; the package manager offers %s%s'
                          % (self.min_major, candidate, ' (installed: %s)' % version if version else ''),
                          self.platform.node_upgrade_steps(self.min_major))
        what = 'upgrade node from %s' % version if version else 'install node'
        return self.privileged(
            needs_fix('would %s (%s%s)' % (what, ' '.join(self._packages),
                                           ' %s' % candidate if candidate else '')),
            'node is missing' if version is None else 'node %s is older than %d' % (version, self.min_major))
