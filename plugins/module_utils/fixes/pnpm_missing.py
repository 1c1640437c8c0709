# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pnpm-missing: pnpm at the app's version is installed, with npm (not corepack,
which Node 25 no longer ships).

The version comes from the app's package.json ``packageManager: pnpm@X`` when
present, else from ``pnpm_version``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.factiii.infra.plugins.module_utils.fix import Fix, failed, needs_fix, ok
from ansible_collections.factiii.infra.plugins.module_utils.options import PNPM


def wanted_from_package_json(app_dir):
    """'9.12.0' from packageManager 'pnpm@9.12.0+sha512.…'; None when not set."""
    if not app_dir:
        return None
    try:
        with open(os.path.join(app_dir, 'package.json')) as handle:
            manager = json.load(handle).get('packageManager') or ''
    except (IOError, OSError, ValueError, AttributeError):
        return None
    match = re.match(r'^pnpm@([^+\s]+)', manager)
    return match.group(1) if match else None


def version_beside(path, name):
    """The version in the package.json of the npm package that ``path`` runs.

    npm links a global package's bin (``<prefix>/bin/pnpm``) to a file inside
    the package (``<prefix>/lib/node_modules/pnpm/bin/pnpm.cjs``): its own
    package.json says the version without starting node, which costs about
    0.3 s per scan. None when ``path`` is not inside a package called ``name``
    (corepack's shims, a standalone binary, a wrapper script).
    """
    directory = os.path.dirname(os.path.realpath(path))
    for _level in range(3):
        try:
            with open(os.path.join(directory, 'package.json')) as handle:
                meta = json.load(handle)
        except (IOError, OSError, ValueError):
            directory = os.path.dirname(directory)
            continue
        if isinstance(meta, dict) and meta.get('name') == name and isinstance(meta.get('version'), str):
            return meta['version']
        return None
    return None


def satisfies(version, spec):
    """pnpm --version against a spec: 'latest', '10', '10.2', '^10', '10.2.1'."""
    spec = spec.lstrip('^~=v')
    if spec in ('', 'latest', '*'):
        return True
    if spec.count('.') >= 2:
        return version == spec
    return version == spec or version.startswith(spec + '.')


class PnpmMissing(Fix):
    name = 'pnpm-missing'
    requires = ('node-missing',)
    option_groups = (PNPM,)

    def wanted(self):
        app_dir = self.params.get('app_dir') or self.params.get('repo_dest')
        from_app = wanted_from_package_json(app_dir)
        if from_app:
            return from_app, 'packageManager in %s' % os.path.join(app_dir, 'package.json')
        return self.params.get('pnpm_version') or 'latest', 'pnpm_version'

    def installed_version(self):
        path = self.platform.which('pnpm')
        if not path:
            return None
        return version_beside(path, 'pnpm') or self.platform.tool_version('pnpm')

    def scan(self):
        spec, source = self.wanted()
        version = self.installed_version()
        if version and satisfies(version, spec):
            return ok('pnpm %s is installed (wanted %s from %s)' % (version, spec, source))
        found = ' (found %s)' % version if version else ''
        return self.privileged(needs_fix('would install pnpm@%s with npm%s' % (spec, found)),
                               'pnpm %s is missing' % spec)

    def apply(self):
        spec, source = self.wanted()
        self.platform.npm_install_global('pnpm@%s' % spec, self.params.get('ca_bundle'))
        self.platform.runner.forget('pnpm')
        version = self.platform.tool_version('pnpm')
        if not version:
            return failed('npm installed pnpm@%s but `pnpm --version` does not answer (is npm\'s bin dir on PATH?)'
                          % spec)
        if not satisfies(version, spec):
            return failed('pnpm --version says %s, wanted %s (from %s): another pnpm comes first on PATH?'
                          % (version, spec, source))
        return None
