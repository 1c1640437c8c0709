# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Choose the platform backend once per run, explicitly (no __new__ tricks)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import platform as _platform

from ansible_collections.factiii.infra.plugins.module_utils.platforms.base import UnsupportedPlatform
from ansible_collections.factiii.infra.plugins.module_utils.platforms.debian import Debian
from ansible_collections.factiii.infra.plugins.module_utils.platforms.macos import MacOS

OS_RELEASE = '/etc/os-release'


def read_os_release(path=OS_RELEASE):
    info = {}
    try:
        with open(path) as handle:
            for line in handle:
                key, sep, value = line.strip().partition('=')
                if sep:
                    info[key] = value.strip('"\'')
    except (IOError, OSError):
        pass
    return info


def detect(system=None, os_release=None):
    """'macos', 'debian' or a description of an unsupported system."""
    system = system or _platform.system()
    if system == 'Darwin':
        return 'macos'
    if system == 'Linux':
        info = read_os_release() if os_release is None else os_release
        family = [info.get('ID', '')] + info.get('ID_LIKE', '').split()
        if 'debian' in family or 'ubuntu' in family:
            return 'debian'
        return 'Linux (%s)' % (info.get('PRETTY_NAME') or info.get('ID') or 'unknown distribution')
    return system or 'unknown OS'


def select_platform(runner, check_mode=False, options=None, system=None, os_release=None):
    kind = detect(system, os_release)
    if kind == 'macos':
        return MacOS(runner, check_mode, options)
    if kind == 'debian':
        return Debian(runner, check_mode, options)
    return UnsupportedPlatform(runner, check_mode, options, description=kind)
