# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platform interface is explicit: a backend that misses an operation is refused where it is
written, not on a host in the middle of a run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.factiii.infra.plugins.module_utils.platforms.base import Platform, UnsupportedPlatform
from ansible_collections.factiii.infra.plugins.module_utils.platforms.debian import Debian
from ansible_collections.factiii.infra.plugins.module_utils.platforms.macos import MacOS
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner
from ansible_collections.factiii.infra.tests.unit.fake import FakeModule

# What a fix or the batch asks a platform that only the backend can answer.
OPERATIONS = {
    'which', 'admin_problem', 'package_names', 'candidate_version', 'install_blocker',
    'install_packages', 'npm_install_global', 'node_upgrade_steps', 'docker_installed',
    'docker_packages', 'docker_state', 'start_docker', 'docker_boot', 'enable_docker_at_boot',
    # issue 16 point 6: a server that comes back unattended
    'sleep_state', 'disable_sleep', 'power_restore_state', 'enable_power_restore', 'update_reboot_state',
    'disable_update_reboot', 'disk_unlock_state', 'remote_login_state', 'passwordless_sudo', 'sudoers_group',
    'missing_docker_plugins', 'docker_plugin_packages', 'docker_plugin_steps',
}


def _backend(without):
    """The body of a backend class implementing every operation but ``without``."""
    return dict((name, lambda self, *args, **kwargs: None) for name in OPERATIONS if name != without)


def test_every_backend_operation_is_abstract():
    assert set(Platform.__abstractmethods__) == OPERATIONS
    for name in OPERATIONS:
        assert getattr(Platform, name).__doc__, '%s has no contract' % name


@pytest.mark.parametrize('missing', sorted(OPERATIONS))
def test_a_backend_missing_an_operation_is_refused_when_defined(missing):
    with pytest.raises(TypeError) as exc:
        type('Partial', (Platform,), _backend(missing))
    assert str(exc.value) == 'platform backend Partial does not implement %s' % missing


def test_a_complete_backend_is_accepted():
    backend = type('Complete', (Platform,), _backend(None))
    # made with type(): pylint cannot see it implements every abstract method
    assert backend(Runner(FakeModule([]))).package_names('git') is None  # pylint: disable=abstract-class-instantiated


@pytest.mark.parametrize('backend', [Debian, MacOS, UnsupportedPlatform])
def test_shipped_backends_implement_every_operation(backend):
    assert not backend.__abstractmethods__
    assert backend(Runner(FakeModule([]))).package_names('git') == ['git']
