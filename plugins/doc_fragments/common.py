# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Options every factiii fix module takes (plugins/module_utils/options.py COMMON).
    DOCUMENTATION = r'''
options:
  package_lock_timeout:
    description:
      - Seconds to wait in all for the package manager's locks (apt/dpkg) held by another live process
        (an C(apt-get), C(unattended-upgrades), C(dpkg)) before the fix reports C(failed) with the PID
        and command line holding it (read from C(/proc/locks)); a second run after the lock is
        released fixes it. A scan waits the same way, so that it reports what the fix would.
      - While a process holds a lock, dpkg's journal is that process at work, not an interrupted dpkg.
    type: int
    default: 120
  repair_dpkg:
    description:
      - What to do when dpkg was interrupted (a package install killed midway left its journal in
        C(/var/lib/dpkg/updates) and no process holds the package locks) and packages must be installed.
      - V(false) - the package fixes report C(manual) with the exact command, C(sudo dpkg --configure -a).
      - V(true) - run C(dpkg --configure -a) (non-interactive, changed config files kept) before the
        install, once the locks are free (waited for as O(package_lock_timeout) says); that finishes
        the interrupted install, running its packages' configure scripts.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for this host's lock, held by another factiii run on the host (from any
        controller), before the run reports one C(failed) row C(<stage>-host-busy) naming it (PID,
        since when, stage, scan or fix) and changes nothing.
      - A fix holds the lock alone; scans share it (two scans run side by side, a scan waits for a fix
        and a fix for the scans). A scan waits as long as a fix, so that it reports the host as the fix
        left it, not half done.
      - The lock is C(fcntl.flock) on C(/run/factiii/host.lock) (C(/var/run/factiii) on macOS) for root,
        C(~/.cache/factiii/host.lock) for any other user (so a run without become excludes only that
        user's runs); the kernel releases it when its holder dies.
    type: int
    default: 300
  ca_bundle:
    description:
      - CA bundle (PEM) for downloads over HTTPS behind a TLS-intercepting proxy;
        passed to npm as C(NODE_EXTRA_CA_CERTS) and C(npm_config_cafile).
    type: path
notes:
  - Runs where the module runs, on the managed host. Supports Debian/Ubuntu (apt, systemd or the
    C(service) command) and macOS (Homebrew run as the owner of its prefix, launchd).
  - The result is one of C(ok), C(fixed) (in check mode, "would fix"), C(manual) (with the exact
    C(steps) a human must take) or C(failed) (the task fails, with the reason in C(msg)).
'''
