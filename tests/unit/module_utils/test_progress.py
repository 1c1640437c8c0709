"""Progress of a fix: run_fixes says each step before it starts; the file it is written to."""
import json
import os

import pytest

from ansible_collections.factiii.infra.plugins.module_utils.platforms import debian as debian_mod
from ansible_collections.factiii.infra.plugins.module_utils.platforms.debian import Debian
from ansible_collections.factiii.infra.plugins.module_utils.progress import MSG_MAX, Progress, read_progress
from ansible_collections.factiii.infra.plugins.module_utils.registry import FIXES
from ansible_collections.factiii.infra.plugins.module_utils.runner import Runner
from ansible_collections.factiii.infra.plugins.module_utils.batch import default_fixes, run_fixes

from sim_debian import SimDebian

PARAMS = {'node_min_major': 18, 'pnpm_version': '10', 'package_lock_timeout': 30,
          'docker_start_timeout': 5, 'repo_known_hosts': []}
SERVER = [n for n in default_fixes('staging') if n != 'repo-not-cloned']


@pytest.fixture
def host(monkeypatch):
    sim = SimDebian(())
    monkeypatch.setattr(Debian, '_systemd', lambda self: True)
    monkeypatch.setattr(Debian, '_lists_age', lambda self: 10)
    monkeypatch.setattr(debian_mod.os, 'geteuid', lambda: sim.euid)
    return sim


def run(host, check_mode):
    """run_fixes of the server fixes on ``host``; [(message, packages installed so far)]."""
    platform = Debian(Runner(host), check_mode=check_mode, options=dict(PARAMS))
    platform.clock, platform.sleep = host.clock, host.sleep
    platform.lock_holders = host.lock_holders
    host.attach(platform)
    said = []
    rows = run_fixes([FIXES[n](platform, dict(PARAMS)) for n in SERVER], 'staging', check_mode,
                     progress=lambda msg: said.append((msg, len(host.installs()))))
    return rows, said


def test_a_fix_says_each_step_before_it_starts_in_order(host):
    rows, said = run(host, check_mode=False)
    fixed = [r for r in rows if r['status'] == 'fixed']
    # the packages' fixes and pnpm are fixed; docker, installed by apt, already runs (ok: no step)
    assert [r['fix_id'] for r in fixed] == ['staging-%s' % n for n in SERVER[:4]], rows
    assert set(r['status'] for r in rows) == {'fixed', 'ok'}, rows
    messages = [msg for msg, _installed in said]
    assert messages[0] == 'checking %s' % ', '.join('staging-' + n for n in SERVER)
    # the one transaction, named with its packages and manager, said before it ran
    assert said[1] == ('installing git nodejs npm docker.io (one apt transaction)', 0)
    assert host.installs(), 'the sim installed nothing'
    # then each fix it applies: what it does, then its verification, in the stage's order
    expected = []
    for row in fixed:
        what = row['msg'][len('done: '):]
        expected += ['%s: %s' % (row['fix_id'], what), '%s: verifying' % row['fix_id']]
    assert messages[2:] == expected


def test_a_scan_says_nothing_it_does_not_do(host):
    rows, said = run(host, check_mode=True)
    assert 'fixed' in [r['status'] for r in rows]  # would fix
    assert [msg for msg, _installed in said] == ['checking %s' % ', '.join('staging-' + n for n in SERVER)]
    assert not host.installs()


def test_the_progress_file_holds_the_last_step_as_one_json_object(tmp_path):
    path = str(tmp_path / 'progress')
    progress = Progress(path, mask=lambda text: text.replace('s3cret', '********'))
    progress('installing git')
    assert read_progress(open(path).read()) == (1, 'installing git')
    progress('cloning https://u:s3cret@example.invalid/app.git\ninto /srv/app \x1b[31m')
    with open(path) as handle:
        data = json.load(handle)
    assert data == {'seq': 2, 'msg': 'cloning https://u:********@example.invalid/app.git into /srv/app [31m'}
    progress('x' * 1000)
    assert len(read_progress(open(path).read())[1]) == MSG_MAX
    assert sorted(os.listdir(str(tmp_path))) == ['progress']  # no temporary file left behind
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)


def test_a_symlink_at_the_progress_path_is_replaced_never_written_through(tmp_path):
    target = tmp_path / 'target'
    target.write_text('keep')
    os.symlink(str(target), str(tmp_path / 'progress'))
    Progress(str(tmp_path / 'progress'))('installing git')
    assert target.read_text() == 'keep'
    assert not os.path.islink(str(tmp_path / 'progress'))
    assert read_progress((tmp_path / 'progress').read_text()) == (1, 'installing git')


def test_progress_that_cannot_be_written_turns_itself_off_and_never_fails_the_fix(tmp_path):
    progress = Progress(str(tmp_path / 'missing-dir' / 'progress'))
    progress('installing git')
    progress('verifying')
    assert progress.path is None
    Progress(None)('a scan writes nothing')


@pytest.mark.parametrize('text', ['', '{', '[]', '{"seq": "1", "msg": "x"}', '{"seq": true, "msg": "x"}',
                                  '{"seq": 1}', '{"seq": 1, "msg": 2}', 'null'])
def test_anything_but_a_progress_object_is_no_step(text):
    assert read_progress(text) is None
