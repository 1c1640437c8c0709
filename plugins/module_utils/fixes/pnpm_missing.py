# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pnpm-missing: pnpm at the app's version is installed, with npm (not corepack,
which Node 25 no longer ships).

The version comes from the app's package.json ``packageManager: pnpm@X`` when
present, else from ``pnpm_version``. Anyone who can push to the app's repository
writes package.json, and the install runs as root: only an exact version or a
major reaches npm (never a path, URL, tag or option), install scripts are off,
and package.json is read as data (no symbolic link followed, regular file, capped).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re

from ansible_collections.factiii.infra.plugins.module_utils.files import RefusedFile, read_json_file
from ansible_collections.factiii.infra.plugins.module_utils.fix import Fix, failed, needs_fix, ok

# An exact semver (prerelease allowed, build metadata not) or a bare major. corepack
# writes packageManager as pnpm@X.Y.Z+sha512.<hex>: the hash is accepted and dropped
# (npm cannot check it; it installs the registry's tarball by its own integrity).
VERSION = re.compile(r'^(?P<version>(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)'
                     r'(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)(?:\+sha(?:1|224|256|384|512)\.[0-9a-fA-F]+)?\Z')
MAX_SHOWN = 80  # characters of a refused value quoted in a row


def _shown(value):
    """``value`` quoted for a one-line row: repr() when it is not a printable string."""
    text = "'%s'" % value if isinstance(value, str) and value.isprintable() else repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + '...'


def exact_version(value):
    """'9.15.0' from '9.15.0' or '9.15.0+sha512.<hex>', '10' from '10'; None for
    anything else (ranges, tags, paths, URLs, git or npm: specs, options)."""
    match = VERSION.match(value) if isinstance(value, str) else None
    return match.group('version') if match else None


def pnpm_version_problem(value):
    """None when the pnpm_version option is usable, else a one-line reason."""
    if value == 'latest' or exact_version(value):
        return None
    return ('pnpm_version %s is not an exact version (such as 10.2.1), a major (such as 10) '
            'or latest' % _shown(value))


def wanted_from_package_json(app_dir):
    """('9.12.0', None) from packageManager 'pnpm@9.12.0+sha512.…'; (None, None) when
    there is no package.json or it names no pnpm; (None, reason) when it is refused."""
    if not app_dir:
        return None, None
    path = os.path.join(app_dir, 'package.json')
    try:
        meta = read_json_file(path)
    except RefusedFile as exc:
        return None, 'refusing %s: it is %s' % (exc.path, exc.reason)
    except (IOError, OSError) as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None, None
        return None, 'cannot read %s: %s' % (path, exc.strerror or exc)
    if not isinstance(meta, dict):
        return None, 'refusing %s: it is not a JSON object' % path
    manager = meta.get('packageManager')
    if manager is None:
        return None, None
    if not isinstance(manager, str):
        return None, 'refusing packageManager %s in %s: not a string' % (_shown(manager), path)
    if manager != 'pnpm' and not manager.startswith('pnpm@'):
        return None, None  # another package manager: the app's business, not pnpm's version
    version = exact_version(manager[len('pnpm@'):])
    if not version:
        return None, ('refusing packageManager %s in %s: not pnpm@ with an exact version (such as '
                      'pnpm@10.2.1) or a major (such as pnpm@10); nothing installed' % (_shown(manager), path))
    return version, None


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
            meta = read_json_file(os.path.join(directory, 'package.json'))
        except (IOError, OSError):
            directory = os.path.dirname(directory)
            continue
        except RefusedFile:
            return None
        if isinstance(meta, dict) and meta.get('name') == name and isinstance(meta.get('version'), str):
            return meta['version']
        return None
    return None


def satisfies(version, spec):
    """pnpm --version against a checked spec: 'latest', a major ('10') or exact ('10.2.1')."""
    if spec == 'latest':
        return True
    if '.' in spec:
        return version == spec
    return version.startswith(spec + '.')


class PnpmMissing(Fix):
    name = 'pnpm-missing'
    requires = ('node-missing',)
    after = ('repo-not-cloned',)  # the version may come from the clone's package.json
    rank = 50
    stages = ('dev', 'staging', 'prod')
    options = {
        'pnpm_version': {
            'description': [
                'pnpm version to install with C(npm install -g --ignore-scripts), which is an exact version such'
                ' as C(10.2.1) (a prerelease such as C(9.0.0-rc.1) too), a major such as C(10), or C(latest).'
                ' Anything else (a range, a tag, a path, a URL) is refused before anything runs.',
                'The app\'s C(package.json) C(packageManager) field (C(pnpm@X)) wins when present. It must'
                ' name an exact version or a major too (corepack\'s C(+sha512.<hex>) suffix is accepted and'
                ' not checked); a path, URL, tag or range there makes the fix C(failed) and installs nothing.'
                ' C(package.json) must be a regular file of at most 1 MiB, not a symbolic link.',
                'Corepack is not used (Node 25 no longer ships it).'],
            'type': 'str',
            'default': '10',
        },
        'app_dir': {
            'description': [
                'Directory of the app\'s C(package.json). Defaults to C(repo_dest) when that is set'
                ' (in M(factiii.infra.stage)).'],
            'type': 'path',
        },
    }
    uses = ('which', 'tool_version', 'npm_install_global', 'admin_problem')

    def input_problem(self):
        problem = pnpm_version_problem(self.params.get('pnpm_version') or 'latest')
        return failed(problem) if problem else None

    def wanted(self):
        """(version, where it comes from, None), or (None, None, reason) when package.json is refused."""
        app_dir = self.params.get('app_dir') or self.params.get('repo_dest')
        from_app, refused = wanted_from_package_json(app_dir)
        if refused:
            return None, None, refused
        if from_app:
            return from_app, 'packageManager in %s' % os.path.join(app_dir, 'package.json'), None
        option = self.params.get('pnpm_version') or 'latest'
        return exact_version(option) or option, 'pnpm_version', None

    def installed_version(self):
        path = self.platform.which('pnpm')
        if not path:
            return None
        return version_beside(path, 'pnpm') or self.platform.tool_version('pnpm')

    def scan(self):
        spec, source, refused = self.wanted()
        if refused:
            return failed(refused)
        version = self.installed_version()
        if version and satisfies(version, spec):
            return ok('pnpm %s is installed (wanted %s from %s)' % (version, spec, source))
        found = ' (found %s)' % version if version else ''
        return self.privileged(needs_fix('would install pnpm@%s with npm%s' % (spec, found)),
                               'pnpm %s is missing' % spec)

    def apply(self):
        spec, source, refused = self.wanted()
        if refused:  # package.json changed since the scan
            return failed(refused)
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
