"""The host lock (issue 14 point 2) with real processes and real flock: a fix alone, scans
side by side, a bounded wait that names the holder, a killed holder, a symlink refused."""
import json
import multiprocessing
import os
import signal
import threading
import time

import pytest

from ansible_collections.factiii.infra.plugins.module_utils import host_lock
from ansible_collections.factiii.infra.plugins.module_utils.host_lock import (
    HostBusy, LockError, default_dir, host_lock as lock, read_holders,
)
from ansible_collections.factiii.infra.plugins.module_utils.module import locked_rows

CTX = multiprocessing.get_context('fork')


def _hold(directory, stage, check_mode, ready, release):
    with lock(stage, check_mode, 0, directory=directory):
        ready.set()
        release.wait(60)


class Holder:
    """Another process holding the lock until release() (or kill())."""

    def __init__(self, directory, stage='staging', check_mode=False):
        self.ready, self.release_event = CTX.Event(), CTX.Event()
        args = (str(directory), stage, check_mode, self.ready, self.release_event)
        self.proc = CTX.Process(target=_hold, args=args)
        self.proc.start()
        assert self.ready.wait(10), 'the holder never got the lock'

    @property
    def pid(self):
        return self.proc.pid

    def release(self):
        self.release_event.set()
        self.proc.join(10)

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.join(10)


def _seconds(directory, check_mode, timeout, progress=None):
    start = time.monotonic()
    with lock('staging', check_mode, timeout, progress=progress, directory=str(directory)):
        return time.monotonic() - start


def test_a_fix_during_a_fix_waits_then_names_the_holder(tmp_path):
    holder = Holder(tmp_path)
    try:
        start = time.monotonic()
        with pytest.raises(HostBusy) as busy:
            _seconds(tmp_path, False, 2)
        waited = time.monotonic() - start
        assert 2 <= waited < 4, waited
        msg = str(busy.value)
        since = read_holders(str(tmp_path))[0]['since']
        user = host_lock._user()
        assert msg == ('another factiii fix of staging holds this host: PID %d (user %s) since %s (waited 2 s)'
                       % (holder.pid, user, since)), msg
        assert since.endswith('Z') and time.strptime(since, '%Y-%m-%dT%H:%M:%SZ')
    finally:
        holder.release()


def test_a_waiting_fix_gets_the_lock_once_the_holder_ends(tmp_path):
    holder = Holder(tmp_path)
    threading.Timer(1, holder.release_event.set).start()
    assert 0.5 < _seconds(tmp_path, False, 30) < 10
    holder.proc.join(10)


def test_two_scans_share_it_a_fix_waits_for_them_and_a_scan_for_a_fix(tmp_path):
    scan = Holder(tmp_path, check_mode=True)
    other = Holder(tmp_path, stage='prod', check_mode=True)  # a second scan beside the first
    try:
        assert _seconds(tmp_path, True, 0) < 1  # and a third, at once
        with pytest.raises(HostBusy) as busy:
            _seconds(tmp_path, False, 0)
        msg = str(busy.value)
        assert msg.startswith('other factiii runs hold this host: scan of '), msg
        assert 'scan of staging: PID %d' % scan.pid in msg and 'scan of prod: PID %d' % other.pid in msg, msg
        assert msg.endswith('(waited 0 s)'), msg
    finally:
        scan.release()
        other.release()
    fix = Holder(tmp_path)
    try:
        with pytest.raises(HostBusy, match='another factiii fix of staging holds this host: PID %d' % fix.pid):
            _seconds(tmp_path, True, 0)
    finally:
        fix.release()


def test_a_killed_holder_leaves_no_lock_and_its_record_is_ignored(tmp_path):
    holder = Holder(tmp_path)
    holder.kill()
    assert os.path.exists(str(tmp_path / ('holder.%d.json' % holder.pid)))  # left behind by SIGKILL
    assert read_holders(str(tmp_path)) == []
    assert _seconds(tmp_path, False, 0) < 1
    assert not os.path.exists(str(tmp_path / ('holder.%d.json' % holder.pid)))  # removed by the next fix


def test_progress_is_called_every_few_seconds_while_waiting(tmp_path):
    holder = Holder(tmp_path)
    now = [0.0]
    lines = []
    try:
        with pytest.raises(HostBusy):
            with lock('prod', False, 12, progress=lines.append, directory=str(tmp_path),
                      clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s)):
                pass
    finally:
        holder.release()
    assert len(lines) == 2, lines  # at 5 s and 10 s of a 12 s wait
    for line in lines:
        assert line.startswith('waiting for the fix of staging that holds this host (PID %d, since 20' % holder.pid), line


def test_a_record_written_by_someone_else_is_data(tmp_path):
    holder = Holder(tmp_path)
    try:
        path = tmp_path / ('holder.%d.json' % holder.pid)
        path.write_text(json.dumps({'pid': 1, 'stage': 'staging\x1b[2J\nrm -rf /' + 'x' * 500,
                                    'mode': 'fix', 'user': 'eve\r', 'since': 'now'}))
        with pytest.raises(HostBusy) as busy:
            _seconds(tmp_path, False, 0)
        msg = str(busy.value)
        assert '\x1b' not in msg and '\n' not in msg and '\r' not in msg, msg
        assert 'PID %d' % holder.pid in msg and len(msg) < 250, msg  # the PID from the file name, fields cut
        path.write_text('not json')
        with pytest.raises(HostBusy, match=r'another factiii run of an unknown stage holds this host: PID %d'
                           % holder.pid):
            _seconds(tmp_path, False, 0)
    finally:
        holder.release()


def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / 'target'
    target.write_text('keep')
    lockdir = tmp_path / 'lock'
    lockdir.mkdir(mode=0o700)
    os.symlink(str(target), str(lockdir / 'host.lock'))
    with pytest.raises(LockError, match='it is a symlink'):
        _seconds(lockdir, False, 0)
    assert target.read_text() == 'keep'


def test_a_symlinked_record_is_not_followed(tmp_path):
    target = tmp_path / 'target'
    target.write_text('keep')
    lockdir = tmp_path / 'lock'
    lockdir.mkdir(mode=0o700)
    os.symlink(str(target), str(lockdir / ('holder.%d.json' % os.getpid())))
    with pytest.raises(LockError, match='it is a symlink'):
        _seconds(lockdir, False, 0)
    assert target.read_text() == 'keep'


@pytest.mark.parametrize('make', ['symlink', 'writable', 'theirs'])
def test_a_lock_directory_others_could_use_is_refused(tmp_path, make):
    real = tmp_path / 'real'
    real.mkdir(mode=0o700)
    lockdir = tmp_path / 'lock'
    if make == 'symlink':
        os.symlink(str(real), str(lockdir))
    elif make == 'writable':
        lockdir.mkdir()
        os.chmod(str(lockdir), 0o777)
    else:
        if os.geteuid() != 0:
            pytest.skip('giving a directory to another user needs root')
        lockdir.mkdir(mode=0o700)
        os.chown(str(lockdir), 65534, 65534)
        real = lockdir
    with pytest.raises(LockError, match='refusing the lock directory'):
        _seconds(lockdir, False, 0)
    assert os.listdir(str(real)) == []


def test_the_lock_directory_is_made_private(tmp_path):
    lockdir = tmp_path / 'a' / 'factiii'
    _seconds(lockdir, False, 0)
    assert oct(os.stat(str(lockdir)).st_mode & 0o777) == '0o700'
    assert oct(os.stat(str(lockdir / 'host.lock')).st_mode & 0o777) == '0o600'


def test_where_the_lock_lives():
    assert default_dir(0) in ('/run/factiii', '/var/run/factiii')
    assert default_dir(os.getuid() or 65534).endswith('/.cache/factiii')


class Module:
    def __init__(self, check_mode, timeout):
        self.check_mode = check_mode
        self.params = {'lock_timeout': timeout}


def test_a_busy_host_is_one_failed_row_and_nothing_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(host_lock, 'default_dir', lambda euid=None: str(tmp_path))
    holder = Holder(tmp_path)
    ran = []
    try:
        rows = locked_rows(Module(False, 0), 'staging', lambda: ran.append(1) or [])
    finally:
        holder.release()
    assert ran == []
    assert [(r['fix_id'], r['status']) for r in rows] == [('staging-host-busy', 'failed')], rows
    assert rows[0]['msg'].startswith('another factiii fix of staging holds this host: PID %d' % holder.pid)
    rows = locked_rows(Module(True, 0), 'staging', lambda: ran.append(1) or ['done'])
    assert (ran, rows) == ([1], ['done'])
