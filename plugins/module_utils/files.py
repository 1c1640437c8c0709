# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading files that someone else controls (the app's repository, a tool's package), as root.

Such a file is data: a symbolic link is not followed (``package.json -> /dev/zero``
made a scan as root run out of memory), only a regular file is read (opening a FIFO
without O_NONBLOCK would hang the run), and never more than a cap.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import stat

MAX_BYTES = 1024 * 1024  # a package.json is a few KiB; 1 MiB leaves room and bounds memory

_KINDS = ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a FIFO'), (stat.S_ISCHR, 'a character device'),
          (stat.S_ISBLK, 'a block device'), (stat.S_ISSOCK, 'a socket'))


class RefusedFile(Exception):
    """A file that exists but is not read: ``path`` is ``reason`` ('a symbolic link', ...)."""

    def __init__(self, path, reason):
        super(RefusedFile, self).__init__('%s is %s' % (path, reason))
        self.path = path
        self.reason = reason


def read_regular_file(path, limit=MAX_BYTES):
    """The bytes of ``path``, a regular file of at most ``limit`` bytes.

    The last component of ``path`` is not followed when it is a symbolic link (the
    directories above it are the caller's: an operator's option, not the app's).
    Raises RefusedFile for a link, anything but a regular file, or a larger file;
    OSError (errno ENOENT, EACCES, ...) when it cannot be opened at all.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NOCTTY', 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        # O_NOFOLLOW on a link: ELOOP (Linux, macOS); EMLINK on FreeBSD
        if exc.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):
            raise RefusedFile(path, 'a symbolic link')
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), 'something else')
            raise RefusedFile(path, '%s, not a regular file' % kind)
        if info.st_size > limit:
            raise RefusedFile(path, 'larger than %d bytes' % limit)
        chunks, size = [], 0
        while size <= limit:  # the size may grow after fstat: read at most limit + 1 bytes
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise RefusedFile(path, 'larger than %d bytes' % limit)
        return b''.join(chunks)
    finally:
        os.close(fd)


def read_json_file(path):
    """``path`` read as read_regular_file does, parsed as JSON. Raises RefusedFile also
    when it is not JSON (or nested too deep for the parser); OSError as above."""
    data = read_regular_file(path)
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise RefusedFile(path, 'not valid JSON (%s)' % str(exc).splitlines()[0][:120])
