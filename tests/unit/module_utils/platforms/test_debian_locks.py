"""debian.lock_holders(): who holds a package lock, read from this machine's real /proc/locks
(the holders here take real fcntl locks, as apt and dpkg do)."""
import subprocess
import sys

from ansible_collections.factiii.infra.plugins.module_utils.platforms import debian

HOLDER = '''import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print('locked', flush=True)
sys.stdin.read()
'''


def hold(workdir, name, *more):
    """A process holding a lock on ``workdir/name`` until release(); its argv is relative to workdir."""
    proc = subprocess.Popen([sys.executable, 'holder.py', name] + list(more), cwd=str(workdir),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == 'locked\n'
    return proc


def release(proc):
    proc.stdin.close()
    proc.wait(10)


def test_live_holders_are_named_with_pid_and_command_line_in_the_order_asked(tmp_path):
    (tmp_path / 'holder.py').write_text(HOLDER)
    names = ('lock-frontend', 'lists-lock', 'archives-lock')
    for name in names:
        (tmp_path / name).write_text('')
    paths = [str(tmp_path / name) for name in names] + [str(tmp_path / 'no-such-lock')]
    lists = hold(tmp_path, 'lists-lock', 'https://user:secret@example.invalid/x')  # credentials redacted
    frontend = hold(tmp_path, 'lock-frontend', '\x1b[2J', 'x' * 300)  # escapes made harmless, cut
    try:
        got = debian.lock_holders(paths)
    finally:
        release(lists)
        release(frontend)
    long_command = '%s holder.py lock-frontend ?[2J %s' % (sys.executable, 'x' * 300)
    assert got == [
        (paths[0], str(frontend.pid), long_command[:debian.COMMAND_MAX - 3] + '...'),
        (paths[1], str(lists.pid), '%s holder.py lists-lock https://***@example.invalid/x' % sys.executable),
    ]
    # released: nobody holds anything
    assert debian.lock_holders(paths) == []


def test_a_waiter_is_not_a_holder_and_an_unreadable_proc_is_nobody(tmp_path, monkeypatch):
    lock = tmp_path / 'lock'
    lock.write_text('')
    info = lock.stat()
    proc = tmp_path / 'proc'
    (proc / '77').mkdir(parents=True)
    (proc / '77' / 'cmdline').write_bytes(b'')
    (proc / '77' / 'comm').write_bytes(b'unattended-upgr\n')
    key = '%02x:%02x:%d' % (debian.os.major(info.st_dev), debian.os.minor(info.st_dev), info.st_ino)
    (proc / 'locks').write_text('1: -> POSIX  ADVISORY  WRITE 99 %s 0 EOF\n'   # waiting, not holding
                                '2: OFDLCK ADVISORY  WRITE -1 00:06:3 0 EOF\n'  # another file
                                '3: POSIX  ADVISORY  WRITE 88 %s 0 EOF\n'      # gone since (no /proc/88)
                                '4: POSIX  ADVISORY  WRITE 77 %s 0 EOF\n' % (key, key, key))
    monkeypatch.setattr(debian, 'PROC', str(proc))
    assert debian.lock_holders([str(lock)]) == [(str(lock), '77', 'unattended-upgr')]  # no cmdline: its name
    (proc / 'locks').write_text('1: OFDLCK ADVISORY  WRITE -1 %s 0 EOF\n' % key)  # an owner we cannot see
    assert debian.lock_holders([str(lock)]) == [(str(lock), None, None)]
    (proc / 'locks').unlink()
    assert debian.lock_holders([str(lock)]) == []


def test_a_lock_on_another_device_counts_only_when_its_holder_has_the_file_open(tmp_path, monkeypatch):
    # btrfs: /proc/locks gives the file system's device, stat() the subvolume's
    lock = tmp_path / 'lock'
    lock.write_text('')
    other = tmp_path / 'other'
    other.write_text('')
    proc = tmp_path / 'proc'
    for pid, target in (('77', lock), ('78', other)):
        (proc / pid / 'fd').mkdir(parents=True)
        (proc / pid / 'cmdline').write_bytes(b'apt-get\0install\0git\0')
        (proc / pid / 'fd' / '3').symlink_to(target)
    inode = lock.stat().st_ino
    (proc / 'locks').write_text('1: POSIX  ADVISORY  WRITE 78 fe:ff:%d 0 EOF\n' % inode)  # another file
    monkeypatch.setattr(debian, 'PROC', str(proc))
    assert debian.lock_holders([str(lock)]) == []
    (proc / 'locks').write_text('1: POSIX  ADVISORY  WRITE 77 fe:ff:%d 0 EOF\n' % inode)
    assert debian.lock_holders([str(lock)]) == [(str(lock), '77', 'apt-get install git')]
