# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker-not-running: the docker engine answers `docker info`."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.factiii.infra.plugins.module_utils.fix import Fix, needs_fix, ok


class DockerNotRunning(Fix):
    name = 'docker-not-running'
    requires = ('docker-missing',)
    rank = 60
    stages = ('dev', 'staging', 'prod')
    options = {
        'docker_start_timeout': {
            'description': ['Seconds to wait, polling C(docker info), for the engine to answer after starting it.'],
            'type': 'int',
            'default': 60,
        },
    }
    uses = ('docker_state', 'start_docker', 'admin_problem')

    def scan(self):
        version, reason = self.platform.docker_state()
        if version is not None:
            return ok('docker is running (server %s)' % version)
        return self.privileged(needs_fix('would start docker (%s)' % reason),
                               'docker is not running (%s)' % reason)

    def apply(self):
        self.platform.start_docker()
