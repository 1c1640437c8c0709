# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker-autostart: docker starts at boot, without anyone logging in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.factiii.infra.plugins.module_utils.fix import Fix


class DockerAutostart(Fix):
    name = 'docker-autostart'
    requires = ('docker-missing',)
    rank = 70
    stages = ('staging', 'prod')  # a developer's machine need not start docker at boot
    uses = ('docker_boot', 'enable_docker_at_boot', 'admin_problem')

    def scan(self):
        finding = self.platform.docker_boot()
        if finding.needs_fix:
            return self.privileged(finding, 'docker does not start at boot')
        return finding

    def apply(self):
        self.platform.enable_docker_at_boot()
