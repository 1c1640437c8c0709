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
      - pnpm version to install with C(npm install -g) (an exact version, a major such as C(10),
        or C(latest)). The app's C(package.json) C(packageManager) field (C(pnpm@X)) wins when present.
      - Corepack is not used (Node 25 no longer ships it).
    type: str
    default: '10'
  app_dir:
    description:
      - Directory of the app's C(package.json). Defaults to C(repo_dest) when that is set (in M(factiii.infra.stage)).
    type: path
'''
