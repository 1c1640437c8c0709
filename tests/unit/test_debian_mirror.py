"""tests/hosts/debian-mirror, the mirror tests/hosts/build-image debootstraps from, read from a
fake apt directory: the machine's Debian mirror, else Debian's public one (an Ubuntu runner has
none), FACTIII_DEBIAN_MIRROR first; a bad value is one line and a non-zero exit."""
import os
import subprocess

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      'tests', 'hosts', 'debian-mirror')
PUBLIC = 'http://deb.debian.org/debian'
UBUNTU = ('Types: deb\nURIs: http://azure.archive.ubuntu.com/ubuntu/\nSuites: noble noble-updates\n'
          'Components: main universe\nSigned-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg\n')


def mirror(apt_dir, files, env=None):
    for name, text in files.items():
        path = apt_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    environ = dict(os.environ)
    environ.pop('FACTIII_DEBIAN_MIRROR', None)
    environ.update(env or {})
    return subprocess.run(['bash', SCRIPT, str(apt_dir)], capture_output=True, text=True, env=environ, check=False)


@pytest.mark.parametrize('files, want', [
    # deb822, as Debian 12 writes it
    ({'sources.list.d/debian.sources': 'Types: deb\nURIs: http://mirror.example.org/debian\nSuites: bookworm\n'},
     'http://mirror.example.org/debian'),
    # one-line, with options, after a deb-src line that is not taken
    ({'sources.list': 'deb-src http://src.example.org/debian bookworm main\n'
                      'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] '
                      'https://mirror.example.org/debian/ bookworm main\n'},
     'https://mirror.example.org/debian/'),
    # GitHub's ubuntu-24.04 runner: only Ubuntu's archive
    ({'sources.list.d/ubuntu.sources': UBUNTU}, PUBLIC),
    ({'sources.list': ''}, PUBLIC),
    ({}, PUBLIC),
])
def test_the_mirror_apt_uses_else_debians_public_one(tmp_path, files, want):
    proc = mirror(tmp_path / 'apt', files)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, want + '\n', '')


def test_the_variable_wins(tmp_path):
    proc = mirror(tmp_path / 'apt', {'sources.list.d/ubuntu.sources': UBUNTU},
                  {'FACTIII_DEBIAN_MIRROR': 'http://cache.example.org:3142/debian'})
    assert (proc.returncode, proc.stdout) == (0, 'http://cache.example.org:3142/debian\n')


@pytest.mark.parametrize('value', ['/srv/debian', 'ftp://x/debian', 'http://x/debian --foreign'])
def test_a_bad_variable_is_one_line(tmp_path, value):
    proc = mirror(tmp_path / 'apt', {}, {'FACTIII_DEBIAN_MIRROR': value})
    assert proc.returncode == 2 and proc.stdout == ''
    assert proc.stderr == 'debian-mirror: FACTIII_DEBIAN_MIRROR is not an http:// or https:// URL: %s\n' % value
