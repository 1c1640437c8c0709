# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One lock per host around a whole stage run: a fix exclusive, a scan shared.

Two operators (or a scheduled scan during a fix) reach the same host from different
controllers, so the lock lives on the host: ``fcntl.flock`` on ``host.lock`` in a
directory only the running user can write. The kernel releases it when its holder
dies, so a killed run never leaves a stale lock.

Each holder also writes a record, ``holder.<pid>.json`` beside the lock (PID, since,
stage, scan or fix, user), which a waiting run quotes. A record is data from another
process: read capped, printable characters only, cut; a record whose PID is dead is
ignored (and removed by the next holder).

Where: root uses ``/run/factiii`` (``/var/run/factiii`` where there is no /run, as on
macOS); any other user ``~/.cache/factiii`` (home from the password database), so a run
without become excludes the same user's runs, not root's: root's lock is not lockable
by other users on purpose (any local user could otherwise hold every fix off).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import pwd
import re
import stat
import time
from contextlib import contextmanager

LOCK_NAME = 'host.lock'
RECORD = re.compile(r'^holder\.([0-9]{1,10})\.json$')
RECORD_MAX = 1024  # bytes read of a record
FIELD_MAX = 64  # characters kept of each field of a record
POLL = 0.5  # seconds between tries
PROGRESS_EVERY = 5  # seconds between progress lines while waiting


class LockError(Exception):
    """The lock cannot be used at all (a symlink, a directory others can write...)."""


class HostBusy(Exception):
    """Another run held the lock for the whole wait; str() is the one-line reason."""


def default_dir(euid=None):
    euid = os.geteuid() if euid is None else euid
    if euid == 0:
        return os.path.join('/run' if os.path.isdir('/run') else '/var/run', 'factiii')
    return os.path.join(pwd.getpwuid(euid).pw_dir, '.cache', 'factiii')


def _user():
    """Who started the run: the login user behind sudo, else the user it runs as."""
    name = os.environ.get('SUDO_USER')
    if name:
        return name
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _utc():
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def _clean(value):
    """A field of someone else's record, safe to print on one line."""
    text = ''.join(ch for ch in str(value) if ch.isprintable())
    return text[:FIELD_MAX]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _safe_dir(path):
    """Create ``path`` (0700) if needed; refuse one that is not a real directory of ours
    that only we can write: a lock there could be held or faked by someone else."""
    try:
        os.makedirs(path, 0o700)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise LockError('cannot create the lock directory %s: %s' % (path, exc.strerror))
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise LockError('refusing the lock directory %s: not a directory (a symlink?)' % path)
    if info.st_uid != os.geteuid():
        raise LockError('refusing the lock directory %s: owned by uid %d, not %d' % (path, info.st_uid, os.geteuid()))
    if info.st_mode & 0o022:
        raise LockError('refusing the lock directory %s: others can write it (mode %o)' % (
            path, stat.S_IMODE(info.st_mode)))


def _open_nofollow(path, flags):
    try:
        return os.open(path, flags | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0), 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LockError('refusing %s: it is a symlink' % path)
        raise LockError('cannot open %s: %s' % (path, exc.strerror))


def read_holders(directory, skip_pid=None):
    """The live holders' records, oldest first: dicts of printable, cut fields."""
    found = []
    try:
        names = os.listdir(directory)
    except OSError:
        return found
    for name in names:
        match = RECORD.match(name)
        if not match:
            continue
        pid = int(match.group(1))
        if pid == skip_pid or not _alive(pid):
            continue
        try:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            data = json.loads(os.read(fd, RECORD_MAX).decode('utf-8', 'replace'))
        except ValueError:
            data = {}  # being written, or not ours: still a live holder, of unknown kind
        finally:
            os.close(fd)
        if not isinstance(data, dict):
            data = {}
        record = dict((key, _clean(data.get(key, ''))) for key in ('since', 'stage', 'mode', 'user'))
        record['pid'] = pid  # from the file name: the record's own 'pid' is not trusted
        found.append(record)
    return sorted(found, key=lambda rec: (rec['since'], rec['pid']))


def _who(record):
    """('fix of staging', 'PID 1234 (user admin) since 2026-12-01T20:31:02Z')."""
    what = '%s of %s' % (record['mode'] or 'run', record['stage'] or 'an unknown stage')
    text = 'PID %d' % record['pid']
    if record['user']:
        text += ' (user %s)' % record['user']
    if record['since']:
        text += ' since %s' % record['since']
    return what, text


def describe(holders):
    """'another factiii fix of staging holds this host: PID 1234 (user admin) since ...'."""
    if not holders:
        return 'another factiii run holds this host (it left no record)'
    if len(holders) == 1:
        return 'another factiii %s holds this host: %s' % _who(holders[0])
    return 'other factiii runs hold this host: %s' % '; '.join('%s: %s' % _who(rec) for rec in holders)


def _waiting(holders):
    """'waiting for the fix of staging that holds this host (PID 1234, since ...)'."""
    if len(holders) != 1:
        return 'waiting: %s' % describe(holders)
    rec = holders[0]
    return 'waiting for the %s of %s that holds this host (PID %d%s)' % (
        rec['mode'] or 'run', rec['stage'] or 'an unknown stage', rec['pid'],
        ', since %s' % rec['since'] if rec['since'] else '')


def _remove_records(directory, keep):
    """Remove the records of holders that are gone (all others when we hold it alone)."""
    for name in os.listdir(directory):
        match = RECORD.match(name)
        if match and int(match.group(1)) != os.getpid() and not keep(int(match.group(1))):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


@contextmanager
def host_lock(stage, check_mode, timeout, progress=None, directory=None,
              clock=time.monotonic, sleep=time.sleep):
    """Hold this host's lock around the block: shared for a scan (``check_mode``), exclusive
    for a fix. Waits up to ``timeout`` seconds, calling ``progress(msg)`` every few seconds
    if given; then raises HostBusy naming the holder(s). LockError if it cannot be used."""
    directory = directory or default_dir()
    _safe_dir(directory)
    path = os.path.join(directory, LOCK_NAME)
    fd = _open_nofollow(path, os.O_RDWR | os.O_CREAT)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            raise LockError('refusing %s: not a regular file of uid %d' % (path, os.geteuid()))
        kind = fcntl.LOCK_SH if check_mode else fcntl.LOCK_EX
        start = clock()
        told = start
        timeout = max(0, timeout or 0)
        while True:
            try:
                fcntl.flock(fd, kind | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise LockError('cannot lock %s: %s' % (path, exc.strerror))
            now = clock()
            if now - start >= timeout:
                holders = read_holders(directory, os.getpid())
                raise HostBusy('%s (waited %d s)' % (describe(holders), int(round(now - start))))
            if progress is not None and now - told >= PROGRESS_EVERY:
                told = now
                progress(_waiting(read_holders(directory, os.getpid())))
            sleep(POLL)
        # We hold it: records of other PIDs are stale when we hold it alone (exclusive),
        # of dead PIDs otherwise.
        _remove_records(directory, (lambda pid: False) if kind == fcntl.LOCK_EX else _alive)
        record = os.path.join(directory, 'holder.%d.json' % os.getpid())
        _write_record(record, {'pid': os.getpid(), 'since': _utc(), 'stage': stage,
                               'mode': 'scan' if check_mode else 'fix', 'user': _user()})
        try:
            yield
        finally:
            try:
                os.unlink(record)
            except OSError:
                pass
    finally:
        os.close(fd)  # releases the flock


def _write_record(path, record):
    fd = _open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        os.write(fd, json.dumps(record, sort_keys=True).encode('utf-8'))
    finally:
        os.close(fd)
