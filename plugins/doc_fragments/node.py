# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  node_min_major:
    description:
      - Lowest acceptable Node.js major version. When the platform's package is older, the fix
        reports C(manual) with the steps to get a newer Node, never a silently old one.
    type: int
    default: 20
'''
