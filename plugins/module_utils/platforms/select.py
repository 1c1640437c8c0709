# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Choose the platform backend once per run, explicitly (no __new__ tricks)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import platform as _platform

# ansible-core's own reading of os-release (the one its distribution facts use, already
# loaded by every module): shell quoting and escapes, and /usr/lib/os-release when
# /etc/os-release is missing (os-release(5)).
from ansible.module_utils import distro
from ansible_collections.factiii.infra.plugins.module_utils.platforms.base import UnsupportedPlatform
from ansible_collections.factiii.infra.plugins.module_utils.platforms.debian import Debian
from ansible_collections.factiii.infra.plugins.module_utils.platforms.macos import MacOS

# Debian, Ubuntu and their derivatives (ID_LIKE names one of them: Raspberry Pi OS,
# Linux Mint, Pop!_OS, ...) share apt, dpkg and systemd
DEBIAN_FAMILY = ('debian', 'ubuntu')


def detect():
    """'macos', 'debian' or a description of an unsupported system."""
    system = _platform.system()
    if system == 'Darwin':
        return 'macos'
    if system == 'Linux':
        if set([distro.id()] + distro.like().split()) & set(DEBIAN_FAMILY):
            return 'debian'
        return 'Linux (%s)' % (distro.name(pretty=True) or distro.id() or 'unknown distribution')
    return system or 'unknown OS'


def select_platform(runner, check_mode=False, options=None):
    kind = detect()
    if kind == 'macos':
        return MacOS(runner, check_mode, options)
    if kind == 'debian':
        return Debian(runner, check_mode, options)
    return UnsupportedPlatform(runner, check_mode, options, description=kind)
