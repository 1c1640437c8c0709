# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""git-missing: git is installed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.factiii.infra.plugins.module_utils.fix import PackageFix


class GitMissing(PackageFix):
    name = 'git-missing'
    rank = 10
    stages = ('dev', 'staging', 'prod')
    tool = 'git'
