# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One-line reasons from the messages ansible-core 2.19 really gives (copied from real runs
against the test hosts of tests/molecule/test_faults_ssh.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.factiii.infra.plugins.plugin_utils import reasons

HOST_KEY_CHANGED = (
    'Task failed: Failed to connect to the host via ssh: @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n'
    '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n'
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n'
    'IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\r\n'
    'Someone could be eavesdropping on you right now (man-in-the-middle attack)!\r\n'
    'It is also possible that a host key has just been changed.\r\n'
    'The fingerprint for the ED25519 key sent by the remote host is\n'
    'SHA256:+UP9EF+Lr70YWpV//ZTvfU1PjUoVhxnIFgQnlw3ioyY.\r\n'
    'Please contact your system administrator.\r\n'
    'Add correct host key in /tmp/x/known_hosts to get rid of this message.\r\n'
    'Offending ED25519 key in /tmp/x/known_hosts:5\r\n'
    '  remove with:\r\n'
    '  ssh-keygen -f "/tmp/x/known_hosts" -R "[127.0.0.1]:23454"\r\n'
    'Host key for [127.0.0.1]:23454 has changed and you have requested strict checking.\r\n'
    'Host key verification failed.')


@pytest.mark.parametrize('msg, reason', [
    (HOST_KEY_CHANGED,
     'host key changed, ssh refused to connect (REMOTE HOST IDENTIFICATION HAS CHANGED; Host key verification '
     'failed): [127.0.0.1]:23454 no longer shows the key pinned for it (pinned at /tmp/x/known_hosts line 5); '
     'if the server was really rebuilt, check its new key out of band, then pin it in place of the old one'),
    ('Task failed: Failed to connect to the host via ssh: No ED25519 host key is known for [127.0.0.1]:2222 and you '
     'have requested strict checking.\r\nHost key verification failed.',
     'host key not pinned, ssh refused to connect (Host key verification failed): no known_hosts entry for '
     '[127.0.0.1]:2222; add its key, checked out of band, to the known_hosts file the inventory names'),
    ('Task failed: Failed to connect to the host via ssh: root@127.0.0.1: Permission denied (publickey,password).',
     'ssh login refused: root@127.0.0.1: Permission denied (publickey,password): the SSH key used is not in the '
     'authorized_keys of root there'),
    ('Task failed: Data could not be sent to remote host "127.0.0.1". Make sure this host can be reached over ssh:',
     'connection to 127.0.0.1 lost while the task ran (ssh ended without a reason): the host went down, rebooted '
     'or left the network mid-run; its fixes may be half done: check it, then run the stage again'),
    ('Failed to connect to the host via ssh: Shared connection to 10.1.2.3 closed.',
     'connection to 10.1.2.3 lost while the task ran (Shared connection to 10.1.2.3 closed.): the host went down, '
     'rebooted or left the network mid-run; its fixes may be half done: check it, then run the stage again'),
    ('Data could not be sent to remote host "h". Make sure this host can be reached over ssh: '
     'mux_client_read_packet: read header failed: Broken pipe',
     'connection to h lost while the task ran (mux_client_read_packet: read header failed: Broken pipe): the host '
     'went down, rebooted or left the network mid-run; its fixes may be half done: check it, then run the stage '
     'again'),
    ('Data could not be sent to remote host "h". Make sure this host can be reached over SSH.',
     'connection to h lost while the task ran (ssh ended without a reason): the host went down, rebooted '
     'or left the network mid-run; its fixes may be half done: check it, then run the stage again'),
    ('Task failed: Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 23452: '
     'Connection refused',
     'Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 23452: Connection refused'),
    ('Failed to connect to the host via ssh: kex_exchange_identification: Connection closed by remote host\r\n'
     'Connection closed by 127.0.0.1 port 2222',
     'Failed to connect to the host via ssh: kex_exchange_identification: Connection closed by remote host'),
    ('', 'host unreachable'),
    (None, 'host unreachable'),
])
def test_unreachable_reason(msg, reason):
    assert reasons.unreachable_reason(msg) == reason


@pytest.mark.parametrize('msg, user, start', [
    ('Incorrect sudo password', 'deployer',
     'become failed: sudo rejected the become password of deployer (Incorrect sudo password): give the right one '
     '(ansible_become_password, or --ask-become-pass), or grant deployer passwordless sudo (for sudo: '
     '"deployer ALL=(ALL) NOPASSWD: ALL" in /etc/sudoers.d/factiii, mode 0440)'),
    ('Task failed: Missing sudo password', None,
     'become failed: sudo asks the connecting user for a password and none was given (Missing sudo password): '
     'set ansible_become_password (or pass --ask-become-pass), or grant the connecting user passwordless sudo '
     '(for sudo: "USER ALL=(ALL) NOPASSWD: ALL" in /etc/sudoers.d/factiii, mode 0440)'),
    ('Incorrect su password', 'ops', 'become failed: su rejected the become password of ops (Incorrect su password)'),
])
def test_become_reason(msg, user, start):
    assert reasons.become_reason(msg, user).startswith(start)


@pytest.mark.parametrize('msg', ['MODULE FAILURE', 'password is wrong somewhere', '', None])
def test_not_a_become_failure(msg):
    assert reasons.become_reason(msg) is None


def test_first_line():
    assert reasons.first_line('Task failed: Module failed: x\nmore', 'd') == 'Module failed: x'
    assert reasons.first_line('\r\n@@@@\r\n  real line  \n', 'd') == 'real line'
    assert reasons.first_line('', 'd') == 'd'


def test_task_reason_says_what_to_do_when_become_failed_else_the_first_line():
    assert reasons.task_reason('Task failed: Incorrect sudo password', 'd').startswith('become failed: sudo rejected')
    assert reasons.task_reason('Task failed: boom\nmore', 'd') == 'boom'
    assert reasons.task_reason(None, 'task failed') == 'task failed'


def test_join_lines():
    assert reasons.join_lines('  one\n\n two  \r\nthree\n') == 'one two three'
    assert reasons.join_lines(ValueError('a\nb')) == 'a b'
    assert reasons.join_lines('') == ''


def test_scrub_masks_a_secret_that_contains_another_whole_in_any_order():
    """One masking for the secrets stage (a token) and the stage action (every no_log value)."""
    text = 'key abcdefgh-long, short abc'
    assert reasons.scrub(text, ['abc', 'abcdefgh-long']) == 'key %s, short %s' % (reasons.MASK, reasons.MASK)
    assert reasons.scrub(text, 'abcdefgh-long') == 'key %s, short abc' % reasons.MASK


def test_scrub_nested_values_and_nothing_to_mask():
    value = {'msg': 'tok', 'steps': ['a tok', ('tok',)], 'tok': 3, 'n': None}
    assert reasons.scrub(value, 'tok') == {'msg': reasons.MASK, 'steps': ['a ' + reasons.MASK, [reasons.MASK]],
                                           reasons.MASK: 3, 'n': None}
    for nothing in (None, '', [], ['']):
        assert reasons.scrub('tok', nothing) == 'tok'


def test_the_secrets_stage_and_the_stage_action_mask_with_the_same_function():
    from ansible_collections.factiii.infra.plugins.action import check_vars, stage
    from ansible_collections.factiii.infra.plugins.plugin_utils import github_secrets
    assert github_secrets.scrub is reasons.scrub and check_vars.scrub is reasons.scrub
    assert not hasattr(stage, 'scrub') and not hasattr(stage, 'MASK') and not hasattr(github_secrets, 'MASK')
