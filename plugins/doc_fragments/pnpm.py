# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  pnpm_version:
    description:
      - pnpm version to install with C(npm install -g --ignore-scripts), which is an exact version such
        as C(10.2.1) (a prerelease such as C(9.0.0-rc.1) too), a major such as C(10), or C(latest).
        Anything else (a range, a tag, a path, a URL) is refused before anything runs.
      - The app's C(package.json) C(packageManager) field (C(pnpm@X)) wins when present. It must
        name an exact version or a major too (corepack's C(+sha512.<hex>) suffix is accepted and
        not checked); a path, URL, tag or range there makes the fix C(failed) and installs nothing.
        C(package.json) must be a regular file of at most 1 MiB, not a symbolic link.
      - Corepack is not used (Node 25 no longer ships it).
    type: str
    default: '10'
  app_dir:
    description:
      - Directory of the app's C(package.json). Defaults to C(repo_dest) when that is set (in M(factiii.infra.stage)).
    type: path
'''
