# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sudo-needs-password: the deploy user may sudo without a password (issue 16 point 6).

Only reported: a sudoers rule is the owner's decision, so MANUAL with a /etc/sudoers.d file
checked by `visudo -cf` before it is installed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.factiii.infra.plugins.module_utils.fix import Fix, failed, manual, ok

# a user name that goes into a sudoers rule and a shell step as it is
USER_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_.-]{0,31}\Z')


class SudoNeedsPassword(Fix):
    name = 'sudo-needs-password'
    rank = 85
    stages = ('staging', 'prod')
    options = {
        'deploy_user': {
            'description': [
                'The user who deploys on the server and must run C(sudo) without a password. Default: the'
                ' user Ansible connected as when it became root (C(SUDO_USER)); when it connects as root'
                ' and this is not set, the check is skipped.'],
            'type': 'str',
        },
    }
    uses = ('passwordless_sudo', 'sudoers_group', 'setting')

    def user(self):
        # become from root to root (Ansible connected as root) leaves SUDO_USER=root: no deploy user
        sudo_user = os.environ.get('SUDO_USER')
        return self.params.get('deploy_user') or (sudo_user if sudo_user != 'root' else None)

    def input_problem(self):
        user = self.params.get('deploy_user')
        if user and not USER_NAME.match(user):
            return failed('deploy_user %r is not a user name (letters, digits, _ . and -)' % user[:40])
        return None

    def scan(self):
        user = self.user()
        if not user:
            hint = self.platform.setting('deploy_user', '<user>')
            return ok('runs as root with no deploy user to check' + (' (%s)' % hint if hint else ''))
        if not USER_NAME.match(user):
            return failed('SUDO_USER %r is not a user name this check can write a rule for' % user[:40])
        allowed, why = self.platform.passwordless_sudo(user)
        if allowed:
            return ok('%s may sudo without a password' % user)
        # sudo skips files of /etc/sudoers.d whose name has a '.' (sudoers(5), #includedir)
        target = '/etc/sudoers.d/factiii-%s' % user.replace('.', '_')
        if allowed is None:
            reason = 'cannot tell whether %s may sudo without a password: %s' % (user, why)
        else:
            reason = '%s cannot sudo without a password (%s)' % (user, why)
        return manual(reason, [
            # mktemp: a fixed name in /tmp could be a link someone else planted
            "rule=$(mktemp) && printf '%%s\\n' '%s ALL=(ALL) NOPASSWD: ALL' > \"$rule\"  # as root" % user,
            'visudo -cf "$rule"  # checks it: must say "parsed OK"',
            'install -m 0440 -o root -g %s "$rule" %s && rm -f "$rule"' % (self.platform.sudoers_group(), target),
        ])
