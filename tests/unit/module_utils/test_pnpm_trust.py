"""Issue 12, finding 1: the app's package.json is data. Only an exact pnpm version or a major
reaches `npm install -g` (as root), with install scripts off; package.json is read without
following a symbolic link, only as a regular file, and capped. A refused value is a FAILED row
in the scan and in the fix alike, and npm never runs."""
import json
import os
import threading

import pytest

from ansible_collections.factiii.infra.plugins.module_utils.files import (
    MAX_BYTES, RefusedFile, read_json_file, read_regular_file,
)
from ansible_collections.factiii.infra.plugins.module_utils.fixes.pnpm_missing import (
    PnpmMissing, exact_version, pnpm_version_problem, version_beside, wanted_from_package_json,
)
from ansible_collections.factiii.infra.plugins.module_utils.platforms.debian import Debian
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner
from ansible_collections.factiii.infra.plugins.module_utils.batch import run_fixes

from fake import FakeModule

HASH = '+sha512.' + 'ab12' * 32

GOOD = [('9.15.0', '9.15.0'), ('10', '10'), ('0.0.1', '0.0.1'), ('9.0.0-rc.1', '9.0.0-rc.1'),
        ('10.0.0-alpha-2.beta', '10.0.0-alpha-2.beta'), ('9.15.0' + HASH, '9.15.0'),
        ('9.15.0+sha256.DEADbeef', '9.15.0'), ('10+sha1.00', '10')]
BAD = ['file:/srv/app/vendor/evil.tgz', '/srv/app/vendor/evil.tgz', './evil.tgz', '../x', 'npm:evil@1.0.0',
       'https://evil.example/pnpm.tgz', 'http://evil.example/x.tgz', 'github:evil/pnpm', 'git+ssh://git@x/y.git',
       'evil/pnpm', 'latest', 'next-10', '^10', '~9.1.0', '>=9 <11', '10.x', '10.2', '9.15', '*', '',
       '--foo', '-g', '--prefix=/tmp/x', '9.15.0 --foo', '9.15.0\n', ' 9.15.0', '9.15.0+build.1', '9.15.0+sha512.',
       '9.15.0+sha512.xyz', '010', '9.15.0-', 'v9.15.0', '=9.15.0', '9.15.0-rc..1', '9.15.0 || 10', '1e3',
       '\uff11\uff10']  # fullwidth digits: \d would take them, npm would not


@pytest.mark.parametrize('value, version', GOOD)
def test_exact_versions_and_majors_are_accepted_without_the_hash(value, version):
    assert exact_version(value) == version
    assert pnpm_version_problem(value) is None


@pytest.mark.parametrize('value', BAD)
def test_paths_urls_tags_ranges_and_options_are_refused(value):
    assert exact_version(value) is None
    if value != 'latest':
        problem = pnpm_version_problem(value)
        assert problem.startswith('pnpm_version ') and 'is not an exact version' in problem


@pytest.mark.parametrize('value', [None, 10, 9.15, ['9.15.0'], {'v': 1}, True])
def test_what_is_not_a_string_is_refused(value):
    assert exact_version(value) is None
    assert pnpm_version_problem(value)


def test_latest_is_accepted_for_the_operators_option_only(tmp_path):
    assert pnpm_version_problem('latest') is None  # documented for pnpm_version
    (tmp_path / 'package.json').write_text(json.dumps({'packageManager': 'pnpm@latest'}))
    version, refused = wanted_from_package_json(str(tmp_path))
    assert version is None and "refusing packageManager 'pnpm@latest'" in refused


# -- the reader ---------------------------------------------------------------------------------------

def test_reader_reads_a_regular_file(tmp_path):
    path = tmp_path / 'package.json'
    path.write_bytes(b'{"a": 1}')
    assert read_regular_file(str(path)) == b'{"a": 1}'
    assert read_json_file(str(path)) == {'a': 1}


def test_reader_does_not_follow_a_symbolic_link_to_dev_zero(tmp_path):
    path = tmp_path / 'package.json'
    path.symlink_to('/dev/zero')
    with pytest.raises(RefusedFile, match='is a symbolic link$'):
        read_regular_file(str(path))


def test_reader_does_not_follow_a_symbolic_link_to_a_regular_file(tmp_path):
    (tmp_path / 'secret').write_text('{"packageManager": "pnpm@9.15.0"}')
    (tmp_path / 'package.json').symlink_to(tmp_path / 'secret')
    with pytest.raises(RefusedFile, match='is a symbolic link$'):
        read_json_file(str(tmp_path / 'package.json'))


def test_reader_refuses_a_fifo_without_hanging(tmp_path):
    path = tmp_path / 'package.json'
    os.mkfifo(str(path))
    outcome = []

    def read():
        try:
            read_regular_file(str(path))
        except RefusedFile as exc:
            outcome.append(str(exc))
    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # unblock the reader so pytest can end, then fail
        with open(str(path), 'w'):
            pass
        pytest.fail('reading a FIFO hung')
    assert outcome == ['%s is a FIFO, not a regular file' % path]


@pytest.mark.parametrize('target, kind', [('/dev/zero', 'a character device'), ('.', 'a directory')])
def test_reader_refuses_devices_and_directories(tmp_path, target, kind):
    path = str(tmp_path) if target == '.' else target
    with pytest.raises(RefusedFile, match='is %s, not a regular file$' % kind):
        read_regular_file(path)


def test_reader_caps_the_size(tmp_path):
    path = tmp_path / 'package.json'
    path.write_bytes(b' ' * MAX_BYTES)
    assert len(read_regular_file(str(path))) == MAX_BYTES
    path.write_bytes(b' ' * (MAX_BYTES + 1))
    with pytest.raises(RefusedFile, match='is larger than %d bytes$' % MAX_BYTES):
        read_regular_file(str(path))
    with pytest.raises(RefusedFile, match='larger than 10 bytes'):
        read_regular_file(str(path), limit=10)


def test_reader_passes_a_missing_file_on_as_oserror(tmp_path):
    with pytest.raises(OSError) as exc:
        read_regular_file(str(tmp_path / 'package.json'))
    assert not isinstance(exc.value, RefusedFile)


@pytest.mark.parametrize('data', [b'{not json', b'\xff\xfe\xfa', b'[' * 200000 + b']' * 200000])
def test_json_that_does_not_parse_is_refused_in_one_line(tmp_path, data):
    path = tmp_path / 'package.json'
    path.write_bytes(data)
    with pytest.raises(RefusedFile) as exc:
        read_json_file(str(path))
    assert str(exc.value).startswith('%s is not valid JSON (' % path) and '\n' not in str(exc.value)


# -- the fix --------------------------------------------------------------------------------------------

def app(tmp_path, manager=None, raw=None):
    data = raw if raw is not None else json.dumps(dict({'name': 'app'}, **(
        {'packageManager': manager} if manager is not None else {}))).encode()
    (tmp_path / 'package.json').write_bytes(data)
    return str(tmp_path)


def stage(app_dir, commands=(), check_mode=False, pnpm_version='10'):
    """pnpm-missing through the stage runner on a Debian host with node/npm and no pnpm, as root."""
    module = FakeModule(commands, bins={'npm': '/usr/bin/npm', 'node': '/usr/bin/node'}, check_mode=check_mode)
    platform = Debian(Runner(module), check_mode=check_mode, options={})
    platform._sudo = []  # root
    fix = PnpmMissing(platform, {'pnpm_version': pnpm_version, 'app_dir': app_dir})
    row, = run_fixes([fix], 'staging', check_mode)
    module.assert_done()
    return row, module


@pytest.mark.parametrize('manager', ['pnpm@file:/srv/app/vendor/evil.tgz', 'pnpm@npm:evil@1.0.0',
                                     'pnpm@https://evil.example/pnpm.tgz', 'pnpm@github:evil/pnpm',
                                     'pnpm@/srv/app/vendor/evil.tgz', 'pnpm@latest', 'pnpm@^9', 'pnpm@9 --foo',
                                     'pnpm@--prefix=/tmp', 'pnpm@', 'pnpm'])
@pytest.mark.parametrize('check_mode', [True, False])
def test_a_refused_package_manager_is_failed_in_scan_and_fix_and_npm_never_runs(tmp_path, manager, check_mode):
    row, module = stage(app(tmp_path, manager), check_mode=check_mode)
    assert row['status'] == 'failed', row
    assert row['msg'] == ("refusing packageManager '%s' in %s/package.json: not pnpm@ with an exact version "
                          "(such as pnpm@10.2.1) or a major (such as pnpm@10); nothing installed" % (manager, tmp_path)), row
    assert module.calls == []


@pytest.mark.parametrize('setup, why', [
    (lambda p: (p / 'package.json').symlink_to('/dev/zero'), 'is a symbolic link'),
    (lambda p: os.mkfifo(str(p / 'package.json')), 'is a FIFO, not a regular file'),
    (lambda p: (p / 'package.json').write_bytes(b'{"packageManager": "pnpm@9.15.0", "x": "%s"}' % (
        b'a' * MAX_BYTES)), 'is larger than %d bytes' % MAX_BYTES),
    (lambda p: (p / 'package.json').write_text('{"packageManager": "pnpm@9.15.0",'), 'is not valid JSON ('),
    (lambda p: (p / 'package.json').write_text('["pnpm@9.15.0"]'), 'it is not a JSON object'),
])
@pytest.mark.parametrize('check_mode', [True, False])
def test_a_refused_package_json_is_failed_and_installs_nothing(tmp_path, setup, why, check_mode):
    setup(tmp_path)
    row, module = stage(str(tmp_path), check_mode=check_mode)
    assert row['status'] == 'failed', row
    assert row['msg'].startswith('refusing %s/package.json' % tmp_path) and why in row['msg'], row
    assert '\n' not in row['msg']
    assert module.calls == []


def test_a_package_manager_that_is_not_a_string_is_failed(tmp_path):
    row, module = stage(app(tmp_path, ['pnpm@9.15.0']))
    assert (row['status'], row['msg']) == ('failed', "refusing packageManager ['pnpm@9.15.0'] in %s/package.json: "
                                                     "not a string" % tmp_path)
    assert module.calls == []


def test_an_exact_version_is_installed_with_install_scripts_off(tmp_path):
    pnpm = '/usr/local/bin/pnpm'
    install = ['/usr/bin/npm', 'install', '-g', '--ignore-scripts', '--no-fund', '--no-audit', 'pnpm@9.15.0']
    module_commands = [(install, 0, 'added 1 package\n'), ([pnpm, '--version'], 0, '9.15.0\n'),
                       ([pnpm, '--version'], 0, '9.15.0\n')]
    module = FakeModule(module_commands, bins={'npm': '/usr/bin/npm'})
    platform = Debian(Runner(module), options={})
    platform._sudo = []
    fix = PnpmMissing(platform, {'pnpm_version': '10', 'app_dir': app(tmp_path, 'pnpm@9.15.0' + HASH)})
    # no pnpm yet; after npm install, the bin appears
    module.get_bin_path = lambda name, required=False, opt_dirs=None: (
        pnpm if name == 'pnpm' and module.calls else module.bins.get(name))
    row, = run_fixes([fix], 'staging', False)
    assert row['status'] == 'fixed', row
    assert module.calls[0] == install
    module.assert_done()


@pytest.mark.parametrize('content', [None, b'{"name": "app"}', b'{"packageManager": null}',
                                     b'{"packageManager": "yarn@4.1.0"}'])
def test_without_a_pnpm_package_manager_pnpm_version_is_used(tmp_path, content):
    if content is not None:
        (tmp_path / 'package.json').write_bytes(content)
    row, module = stage(str(tmp_path), check_mode=True, pnpm_version='9.15.0')
    assert (row['status'], row['msg']) == ('fixed', 'would install pnpm@9.15.0 with npm'), row


@pytest.mark.parametrize('value', ['^9', 'file:/tmp/x.tgz', '--foo', 'next'])
def test_a_bad_pnpm_version_stops_the_stage_before_anything_runs(tmp_path, value):
    row, module = stage(None, pnpm_version=value)
    assert (row['status'], row['msg']) == ('failed', "pnpm_version '%s' is not an exact version (such as 10.2.1), "
                                                     "a major (such as 10) or latest" % value), row
    assert module.calls == []


def test_version_beside_does_not_follow_a_linked_package_json(tmp_path):
    package = tmp_path / 'lib' / 'node_modules' / 'pnpm'
    (package / 'bin').mkdir(parents=True)
    (package / 'bin' / 'pnpm.cjs').write_text('')
    (package / 'package.json').symlink_to('/dev/zero')
    assert version_beside(str(package / 'bin' / 'pnpm.cjs'), 'pnpm') is None
    (package / 'package.json').unlink()
    os.mkfifo(str(package / 'package.json'))
    assert version_beside(str(package / 'bin' / 'pnpm.cjs'), 'pnpm') is None


def test_a_refused_value_is_quoted_on_one_line_and_shortened(tmp_path):
    row, module = stage(app(tmp_path, 'pnpm@9.15.0\n--foo'))
    assert row['msg'].startswith("refusing packageManager 'pnpm@9.15.0\\n--foo' in "), row
    row, module = stage(app(tmp_path, 'pnpm@file:' + 'x' * 500))
    assert "'pnpm@file:%s..." % ('x' * 69) in row['msg'] and len(row['msg']) < 300, row
    assert module.calls == []
