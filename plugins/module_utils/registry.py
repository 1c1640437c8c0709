# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every host-side fix by name. Imported explicitly so AnsiballZ ships them all."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.factiii.infra.plugins.module_utils.fixes.docker_autostart import DockerAutostart
from ansible_collections.factiii.infra.plugins.module_utils.fixes.docker_missing import DockerMissing
from ansible_collections.factiii.infra.plugins.module_utils.fixes.docker_not_running import DockerNotRunning
from ansible_collections.factiii.infra.plugins.module_utils.fixes.git_missing import GitMissing
from ansible_collections.factiii.infra.plugins.module_utils.fixes.node_missing import NodeMissing
from ansible_collections.factiii.infra.plugins.module_utils.fixes.pnpm_missing import PnpmMissing
from ansible_collections.factiii.infra.plugins.module_utils.fixes.repo_not_cloned import RepoNotCloned

FIXES = dict((cls.name, cls) for cls in (
    GitMissing, NodeMissing, PnpmMissing, DockerMissing, DockerNotRunning, DockerAutostart, RepoNotCloned,
))
