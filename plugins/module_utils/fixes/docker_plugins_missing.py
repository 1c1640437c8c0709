# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker-plugins-missing: `docker compose` and `docker buildx` work (issue 16 point 6).

Installed with the stage's package transaction where the package manager has them as docker
CLI plugins (Homebrew's docker-compose and docker-buildx, Debian 13's docker-compose and
docker-buildx; Debian 12's docker-compose is Compose v1, no plugin), else MANUAL with Docker's
documented steps.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.factiii.infra.plugins.module_utils.fix import Fix, manual, needs_fix, ok


class DockerPluginsMissing(Fix):
    name = 'docker-plugins-missing'
    requires = ('docker-missing',)
    rank = 75
    # Opt-in (add it to the stage's fixes): on by default it would be MANUAL on every Debian 12
    # server, whose apt has no compose or buildx plugin.
    stages = ()
    uses = ('missing_docker_plugins', 'docker_plugin_packages', 'docker_plugin_steps', 'admin_problem')

    def __init__(self, platform, params):
        super(DockerPluginsMissing, self).__init__(platform, params)
        self._packages = []

    def packages(self):
        return self._packages

    def scan(self):
        missing = self.platform.missing_docker_plugins()
        if not missing:
            return ok('docker compose and docker buildx are installed')
        what = 'docker %s %s missing' % (' and docker '.join(missing), 'is' if len(missing) == 1 else 'are')
        packages = self.platform.docker_plugin_packages(missing)
        if not packages:
            return manual(what, self.platform.docker_plugin_steps(missing))
        self._packages = list(packages)
        return self.privileged(needs_fix('would install %s' % ' '.join(packages)), what)
