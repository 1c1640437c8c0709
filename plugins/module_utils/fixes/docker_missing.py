# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker-missing: a docker engine and its CLI are installed (docker.io; colima or Docker Desktop)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.factiii.infra.plugins.module_utils.fix import PackageFix


class DockerMissing(PackageFix):
    name = 'docker-missing'
    rank = 30
    stages = ('dev', 'staging', 'prod')
    uses = ('docker_installed', 'tool_version', 'docker_packages', 'admin_problem')
    tool = 'docker'

    def found(self):
        if not self.platform.docker_installed():
            return None
        return 'docker is installed (%s)' % (self.platform.tool_version('docker') or 'engine found')

    def packages(self):
        return self.platform.docker_packages()
