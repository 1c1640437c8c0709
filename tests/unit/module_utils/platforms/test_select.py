# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which backend a host gets, from its os-release as the distributions ship it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.module_utils import distro
from ansible_collections.factiii.infra.plugins.module_utils.fix import MANUAL
from ansible_collections.factiii.infra.plugins.module_utils.fixes.git_missing import GitMissing
from ansible_collections.factiii.infra.plugins.module_utils.platforms import select
from ansible_collections.factiii.infra.plugins.module_utils.platforms.base import UnsupportedPlatform
from ansible_collections.factiii.infra.plugins.module_utils.platforms.debian import Debian
from ansible_collections.factiii.infra.plugins.module_utils.platforms.macos import MacOS
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner
from ansible_collections.factiii.infra.tests.unit.fake import FakeModule

# The first lines of /etc/os-release (or /usr/lib/os-release) as each release ships them.
BOOKWORM = '''PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
'''
TRIXIE = '''PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
DEBIAN_VERSION_FULL=13.1
ID=debian
'''
NOBLE = '''PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
'''
RASPBIAN = '''PRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"
NAME="Raspbian GNU/Linux"
VERSION_ID="12"
ID=raspbian
ID_LIKE=debian
'''
MINT = '''NAME="Linux Mint"
VERSION="22 (Wilma)"
ID=linuxmint
ID_LIKE="ubuntu debian"
PRETTY_NAME="Linux Mint 22"
'''
FEDORA = '''NAME="Fedora Linux"
VERSION="40 (Workstation Edition)"
ID=fedora
VERSION_ID=40
PRETTY_NAME="Fedora Linux 40 (Workstation Edition)"
'''
ALPINE = '''NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.20.3
PRETTY_NAME="Alpine Linux v3.20"
'''
# a value in shell quoting with an escape, as os-release(5) allows
ESCAPED = '''ID='gentoo'
PRETTY_NAME="Gentoo \\"Linux\\""
'''


@pytest.fixture
def host(monkeypatch, tmp_path):
    """host(system, etc=..., usr_lib=...): this test's host, seen by select through ansible's distro."""
    def make(system, etc=None, usr_lib=None):
        for where, text in (('etc', etc), ('usr/lib', usr_lib)):
            if text is not None:
                (tmp_path / where).mkdir(parents=True, exist_ok=True)
                (tmp_path / where / 'os-release').write_text(text)
        monkeypatch.setattr(select._platform, 'system', lambda: system)
        monkeypatch.setattr(select, 'distro', distro.LinuxDistribution(root_dir=str(tmp_path)))
    return make


@pytest.mark.parametrize('os_release, want', [
    (BOOKWORM, 'debian'),
    (TRIXIE, 'debian'),
    (NOBLE, 'debian'),
    # ID_LIKE: derivatives get the Debian backend
    (RASPBIAN, 'debian'),
    (MINT, 'debian'),
    # any other Linux: no backend, named as the distribution names itself
    (FEDORA, 'Linux (Fedora Linux 40 (Workstation Edition))'),
    (ALPINE, 'Linux (Alpine Linux v3.20)'),
    (ESCAPED, 'Linux (Gentoo "Linux")'),
])
def test_linux_by_os_release(host, os_release, want):
    host('Linux', etc=os_release)
    assert select.detect() == want


def test_os_release_under_usr_lib_when_etc_has_none(host):
    # os-release(5): /etc/os-release may be missing; /usr/lib/os-release is then the one
    host('Linux', usr_lib=TRIXIE)
    assert select.detect() == 'debian'


def test_etc_os_release_wins_over_usr_lib(host):
    host('Linux', etc=FEDORA, usr_lib=BOOKWORM)
    assert select.detect() == 'Linux (Fedora Linux 40 (Workstation Edition))'


def test_linux_without_os_release(host):
    host('Linux')
    assert select.detect() == 'Linux (unknown distribution)'


@pytest.mark.parametrize('system, want', [('Darwin', 'macos'), ('FreeBSD', 'FreeBSD'), ('', 'unknown OS')])
def test_other_systems(host, system, want):
    host(system, etc=BOOKWORM)  # not read: only Linux has os-release
    assert select.detect() == want


@pytest.mark.parametrize('system, os_release, backend', [
    ('Linux', BOOKWORM, Debian), ('Linux', MINT, Debian), ('Darwin', None, MacOS),
    ('Linux', FEDORA, UnsupportedPlatform),
])
def test_select_platform(host, system, os_release, backend):
    host(system, etc=os_release)
    chosen = select.select_platform(Runner(FakeModule([])))
    assert chosen.__class__ is backend  # that class itself, not a subclass


def test_unknown_os_is_one_clear_row_per_fix_not_a_traceback(host):
    host('Linux', etc=ALPINE)
    plat = select.select_platform(Runner(FakeModule([], bins={})), check_mode=True)
    res = GitMissing(plat, {}).scan()
    assert res.status == MANUAL
    assert res.msg == 'git is missing and factiii has no backend for Linux (Alpine Linux v3.20)'
    assert res.steps == ['Fix this by hand, or run factiii on macOS or Debian/Ubuntu.']
