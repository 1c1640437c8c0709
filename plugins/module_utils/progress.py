# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The step a fix is on, written where the controller can poll it.

During a fix the stage module runs as an async job (plugins/action/stage.py); the
controller reads this file every few seconds over the same connection and prints a
line when the step changes. The file holds one JSON object, ``{"seq": n, "msg": ...}``,
replaced atomically (a reader never sees half of it). A scan passes no file: every
call is then a no-op.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

# Characters of one step kept: a line on the operator's terminal, not a log.
MSG_MAX = 200
OPTION = '_progress_file'  # the stage module's hidden option, set only by its action plugin


def one_line(msg, limit=MSG_MAX):
    """Printable characters only (no terminal escapes, no newlines), cut to ``limit``."""
    text = ' '.join(''.join(ch if ch.isprintable() else ' ' for ch in str(msg)).split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def no_progress(msg):  # pylint: disable=unused-argument
    """The default: a scan, a single-fix module, a unit test."""


class Progress:
    """``progress(msg)``: record ``msg`` as the current step in ``path`` (None: do nothing).

    ``mask`` hides secrets (the module's no_log values) before anything is written.
    Progress is best effort: a write that fails turns it off, never fails the fix.
    """

    def __init__(self, path, mask=None):
        self.path = path
        self.mask = mask or (lambda text: text)
        self.seq = 0

    def __call__(self, msg):
        if not self.path:
            return
        self.seq += 1
        data = json.dumps({'seq': self.seq, 'msg': one_line(self.mask(one_line(msg, 4 * MSG_MAX)))})
        directory = os.path.dirname(self.path) or '.'
        try:
            # mkstemp: a new name, O_EXCL (never an existing file or a symlink planted there),
            # mode 0600; os.replace swaps the name itself, never a symlink's target.
            handle, tmp = tempfile.mkstemp(prefix='.progress.', dir=directory)
            try:
                with os.fdopen(handle, 'w') as out:
                    out.write(data)
                os.replace(tmp, self.path)
            except Exception:
                os.unlink(tmp)
                raise
        except (OSError, ValueError):
            self.path = None  # the fix matters more than its progress lines


def read_progress(text):
    """(seq, msg) of a progress file's content, or None for anything else (absent, partial,
    not ours): the controller then keeps the step it had."""
    try:
        data = json.loads(text)
        seq, msg = data['seq'], data['msg']
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(msg, str):
        return None
    return seq, one_line(msg)
