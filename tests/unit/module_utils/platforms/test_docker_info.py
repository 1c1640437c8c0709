# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_info(): only a server version means the engine answers, whatever docker's exit code."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.factiii.infra.plugins.module_utils.platforms.base import UnsupportedPlatform
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner
from ansible_collections.factiii.infra.tests.unit.fake import FakeModule

DOCKER = '/usr/bin/docker'
INFO = [DOCKER, 'info', '--format', '{{.ServerVersion}}']
DOWN = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n'


class UserRunner(Runner):
    euid = 1000  # bare names and no ownership checks: the answer is what is tested


def platform(*answers):
    module = FakeModule([(INFO,) + a for a in answers for dummy in (1, 2)], bins={'docker': DOCKER})
    return UnsupportedPlatform(UserRunner(module)), module


@pytest.mark.parametrize('answer, want', [
    # a running engine
    ((0, '26.1.5+dfsg1\n', ''), ('26.1.5+dfsg1', None)),
    # Docker CLI 23.0 to 28.0.x, engine down: exit 0, an empty line, the error on stderr
    # (docker/cli#5900; cli/command/system/info.go runInfo, v23.0.0 to v28.0.4)
    ((0, '\n', DOWN), (None, DOWN.strip())),
    # Docker CLI 28.1 and later, engine down: exit 1 (docker/cli#5918); seen with 28.2.2
    ((1, '\n', DOWN), (None, DOWN.strip())),
    # Docker CLI 20.10 (Debian 12's docker.io 20.10.24+dfsg1): the format fails on the empty server part
    ((1, '\n', 'template: :1:2: executing "" at <.ServerVersion>: reflect: indirection through nil '
               'pointer to embedded struct field Info\n'), (None, 'docker info could not reach the engine')),
    # nothing at all: still not an answer
    ((0, '', ''), (None, 'docker info printed no server version')),
])
def test_docker_info_needs_a_server_version(answer, want):
    plat, module = platform(answer)
    assert plat.docker_running() is (want[0] is not None)
    assert plat.docker_info() == want
    module.assert_done()


def test_docker_info_without_docker():
    plat = UnsupportedPlatform(UserRunner(FakeModule([], bins={})))
    assert not plat.docker_running()
    assert plat.docker_info() == (None, 'docker is not installed')
