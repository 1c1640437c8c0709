# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The single-fix modules (plugins/module_utils/options.py FIX).
    DOCUMENTATION = r'''
options:
  stage:
    description:
      - Stage name used as the prefix of the reported C(fix_id), as in C(staging-git-missing).
    type: str
    default: local
'''
