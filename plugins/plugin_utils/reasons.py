# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One-line reasons for a row of the report, from Ansible's multi-line errors.

Ansible hands over ssh's whole stderr when a host cannot be reached (a host key
warning is a 15-line banner of '@') and a bare 'Incorrect sudo password' when
become fails. A row of RESULTS BY STAGE needs one line that says what happened
and what to do; these functions make it, and never raise. Also the one way a
controller plugin masks secrets in what it reports (MASK, scrub, join_lines).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

TASK_FAILED = 'Task failed: '
# What a secret is replaced with in a message or a result.
MASK = '********'
SSH_PREFIX = 'Failed to connect to the host via ssh: '

_HOST_KEY_CHANGED = re.compile(r'Host key for (\S+) has changed and you have requested strict checking')
_OFFENDING = re.compile(r'Offending \S+ key in (\S+?):(\d+)')
_HOST_KEY_UNKNOWN = re.compile(r'No \S+ host key is known for (\S+) and you have requested strict checking')
_DENIED = re.compile(r'(\S+@\S+): Permission denied \(([^)]*)\)')
_DATA_NOT_SENT = re.compile(r'^Data could not be sent to remote host "?([^"\s]+?)"?\. '
                            r'Make sure this host can be reached over ssh[:.]?\s*(.*)$', re.I)
_CLOSED = re.compile(r'(?:Shared connection|Connection) to (\S+) closed(?: by remote host)?\.?$')
# a multiplexed session whose master connection died under it
_MUX_BROKEN = re.compile(r'\bmux_client_\w+: .*(?:Broken pipe|Connection reset by peer|failed)')
_BECOME = re.compile(r'\b(Incorrect|Missing) (\w+) password\b')


def meaningful_lines(text):
    """The lines of ``text`` that say something: no blanks, no '@@@@' banners, no CRs."""
    lines = []
    for line in ('%s' % (text if text is not None else '')).replace('\r', '\n').splitlines():
        line = line.strip()
        if line and line.strip('@ '):
            lines.append(line)
    return lines


def _strip_task_failed(text):
    text = ('%s' % (text if text is not None else '')).strip()
    while text.startswith(TASK_FAILED):
        text = text[len(TASK_FAILED):].lstrip()
    return text


def first_line(msg, default):
    """The first line that says something, without ansible-core 2.19's 'Task failed: ' prefix."""
    lines = meaningful_lines(_strip_task_failed(msg))
    return lines[0] if lines else default


def task_reason(msg, default):
    """One line for a failed task's message: what to do when become failed, else its first line."""
    return become_reason(msg) or first_line(msg, default)


def join_lines(text):
    """The non-blank lines of ``text``, stripped, joined by one space (a multi-line error as one line)."""
    return ' '.join(line.strip() for line in ('%s' % (text,)).splitlines() if line.strip())


def scrub(value, secrets):
    """``value`` (text, or lists, tuples and dicts of it, nested) with every copy of each secret masked.

    ``secrets``: one secret or several; longer ones are masked first, so that a secret containing
    another is masked whole. Nothing to mask (None, '') leaves ``value`` as it is.
    """
    if isinstance(secrets, str):
        secrets = [secrets]
    secrets = sorted((s for s in secrets or () if s), key=len, reverse=True)
    return _masked(value, secrets) if secrets else value


def _masked(value, secrets):
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return dict((_masked(k, secrets), _masked(v, secrets)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_masked(v, secrets) for v in value]
    return value


def unreachable_reason(msg):
    """One line for a host Ansible could not reach (or lost), from its 'unreachable' message."""
    text = _strip_task_failed(msg)
    body = text[len(SSH_PREFIX):] if text.startswith(SSH_PREFIX) else text
    lines = meaningful_lines(body)
    joined = '\n'.join(lines)

    changed = _HOST_KEY_CHANGED.search(joined)
    if changed or 'REMOTE HOST IDENTIFICATION HAS CHANGED' in joined:
        where = _OFFENDING.search(joined)
        pinned = ' (pinned at %s line %s)' % where.groups() if where else ''
        return ('host key changed, ssh refused to connect (REMOTE HOST IDENTIFICATION HAS CHANGED; '
                'Host key verification failed): %s no longer shows the key pinned for it%s; if the server '
                'was really rebuilt, check its new key out of band, then pin it in place of the old one'
                % (changed.group(1) if changed else 'the host', pinned))
    unknown = _HOST_KEY_UNKNOWN.search(joined)
    if unknown or 'Host key verification failed' in joined:
        return ('host key not pinned, ssh refused to connect (Host key verification failed): no known_hosts '
                'entry for %s; add its key, checked out of band, to the known_hosts file the inventory names'
                % (unknown.group(1) if unknown else 'the host'))
    denied = _DENIED.search(joined)
    if denied:
        return ('ssh login refused: %s: Permission denied (%s): the SSH key used is not in the '
                "authorized_keys of %s there" % (denied.group(1), denied.group(2), denied.group(1).split('@')[0]))
    lost = _DATA_NOT_SENT.match(lines[0]) if lines else None
    said = ' '.join(([lost.group(2)] if lost else []) + lines[1 if lost else 0:]).strip()
    closed = _CLOSED.search(lines[-1]) if lines else None
    if (lost and not said) or closed or _MUX_BROKEN.search(said):
        return lost_reason((lost or closed).group(1) if (lost or closed) else 'the host', said)
    if lines:
        return (SSH_PREFIX + lines[0]) if text.startswith(SSH_PREFIX) else lines[0]
    return 'host unreachable'


def lost_reason(where, said):
    """One line for a connection lost while a stage ran on the host."""
    return ('connection to %s lost while the task ran (%s): the host went down, rebooted or left the '
            'network mid-run; its fixes may be half done: check it, then run the stage again'
            % (where, said or 'ssh ended without a reason'))


def become_reason(msg, user=None):
    """One line for a failed privilege escalation, or None when ``msg`` is not one."""
    text = _strip_task_failed(msg)
    found = _BECOME.search(text)
    if not found:
        return None
    kind, method = found.groups()
    who = user or 'the connecting user'
    grant = ('or grant %s passwordless %s (for sudo: "%s ALL=(ALL) NOPASSWD: ALL" in /etc/sudoers.d/factiii, '
             'mode 0440)' % (who, method, user or 'USER'))
    if kind == 'Incorrect':
        return ('become failed: %s rejected the become password of %s (Incorrect %s password): '
                'give the right one (ansible_become_password, or --ask-become-pass), %s'
                % (method, who, method, grant))
    return ('become failed: %s asks %s for a password and none was given (Missing %s password): '
            'set ansible_become_password (or pass --ask-become-pass), %s' % (method, who, method, grant))
