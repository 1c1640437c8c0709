# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host key checking of a task's connection, checked before anything is sent to the host.

Without this repository's ansible.cfg nothing pins host_key_checking, and ansible-runner (so
ansible-navigator and AWX) sets ANSIBLE_HOST_KEY_CHECKING=False unless told otherwise: Ansible
then passes StrictHostKeyChecking=no first, and ssh keeps the first value. The connection's own
resolved options say what ssh will do, whatever set them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible import constants as C

# What turns checking off when it reaches ssh's command line (ssh keeps the first value given).
_STRICT_OFF = re.compile(r'StrictHostKeyChecking\s*[= ]\s*["\']?(no|off)\b', re.I)
ARG_OPTIONS = ('ssh_args', 'ssh_common_args', 'ssh_extra_args')
FIX = ('set ansible_host_key_checking: true for it in the inventory, pin its key in a known_hosts file, '
       'and do not turn checking off (ANSIBLE_HOST_KEY_CHECKING=False, host_key_checking = False, '
       'StrictHostKeyChecking=no)')


def _option(connection, name):
    """(value, origin) of the connection's option ``name``, or (None, None) when it has none.

    The value is the one the connection was set up with (get_option). Some ansible-core
    releases (2.16.19 and 2.19.0 seen; not 2.18.19, 2.19.14, 2.21.5) re-read
    get_option_and_origin's answer without the host's variables, so an inventory's
    ``ansible_host_key_checking: false`` came back as the ansible.cfg value: when the two
    differ, the value came from one of the option's connection variables.
    """
    try:
        if not connection.has_option(name):
            return None, None
        value = connection.get_option(name)
        seen, origin = connection.get_option_and_origin(name)
    except (KeyError, AttributeError):
        return None, None
    if seen != value:
        names = [entry['name'] for entry in C.config.get_configuration_definition(
            name, plugin_type='connection', plugin_name=connection._load_name).get('vars') or ()]
        origin = ' or '.join('var: %s' % var for var in names) or 'a connection variable'
    return value, origin


def host_key_problem(connection, host):
    """None, or one line when ``connection`` to ``host`` would accept any host key."""
    value, origin = _option(connection, 'host_key_checking')
    if value is not None and not value:
        return 'host key checking is off for %s (host_key_checking is false, from %s): refused; %s' % (
            host, origin, FIX)
    for name in ARG_OPTIONS:
        value, origin = _option(connection, name)
        if isinstance(value, str) and _STRICT_OFF.search(value):
            return 'host key checking is off for %s (StrictHostKeyChecking=no in %s, from %s): refused; %s' % (
                host, name, origin, FIX)
    return None
