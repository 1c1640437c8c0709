"""pnpm-missing reads the installed pnpm's version from its package.json (no node
start), and falls back to `pnpm --version` when the bin is not an npm package."""
import json
import os

from ansible_collections.factiii.infra.plugins.module_utils.fixes.pnpm_missing import PnpmMissing, version_beside
from ansible_collections.factiii.infra.plugins.module_utils.platforms.debian import Debian
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner

from fake import FakeModule


def npm_global(prefix, name, version, entry='bin/pnpm.cjs'):
    """<prefix>/bin/pnpm -> ../lib/node_modules/<name>/<entry>, as `npm install -g` links it."""
    package = prefix / 'lib' / 'node_modules' / name
    (package / os.path.dirname(entry)).mkdir(parents=True)
    (package / entry).write_text('#!/usr/bin/env node\n')
    (package / 'package.json').write_text(json.dumps({'name': name, 'version': version}))
    (prefix / 'bin').mkdir(exist_ok=True)
    link = prefix / 'bin' / 'pnpm'
    link.symlink_to(os.path.relpath(package / entry, prefix / 'bin'))
    return str(link)


def scan(bins, commands=()):
    module = FakeModule(commands, bins=bins, check_mode=True)
    platform = Debian(Runner(module), check_mode=True, options={})
    result = PnpmMissing(platform, {'pnpm_version': '9.15.0'}).scan()
    module.assert_done()
    return result, module.calls


def test_version_is_read_from_the_linked_package_without_running_anything(tmp_path):
    link = npm_global(tmp_path, 'pnpm', '9.15.0')
    result, calls = scan({'pnpm': link})
    assert result.status == 'ok'
    assert result.msg == 'pnpm 9.15.0 is installed (wanted 9.15.0 from pnpm_version)'
    assert calls == []


def test_an_older_linked_package_is_a_would_fix(tmp_path):
    link = npm_global(tmp_path, 'pnpm', '8.6.0')
    result, _calls = scan({'pnpm': link, 'sudo': None})
    assert result.status == 'needs_fix'
    assert 'would install pnpm@9.15.0 with npm (found 8.6.0)' in result.msg


def test_a_corepack_shim_falls_back_to_pnpm_version(tmp_path):
    # corepack's pnpm shim lives in the corepack package: its version is not pnpm's
    link = npm_global(tmp_path, 'corepack', '0.29.4', entry='dist/pnpm.js')
    result, calls = scan({'pnpm': link}, [([link, '--version'], 0, '9.15.0\n')])
    assert result.status == 'ok'
    assert calls == [[link, '--version']]


def test_a_standalone_binary_falls_back_to_pnpm_version(tmp_path):
    binary = tmp_path / 'pnpm'
    binary.write_text('ELF')
    result, _calls = scan({'pnpm': str(binary)}, [([str(binary), '--version'], 0, '9.15.0\n')])
    assert result.status == 'ok'


def test_version_beside_refuses_broken_or_foreign_metadata(tmp_path):
    link = npm_global(tmp_path, 'pnpm', '9.15.0')
    package_json = tmp_path / 'lib' / 'node_modules' / 'pnpm' / 'package.json'
    package_json.write_text('{not json')
    assert version_beside(link, 'pnpm') is None
    package_json.write_text(json.dumps({'name': 'pnpm', 'version': 9}))
    assert version_beside(link, 'pnpm') is None
    package_json.write_text(json.dumps(['pnpm']))
    assert version_beside(link, 'pnpm') is None
