# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The modules' attributes, as the community collections write them (community.general's
    attributes fragment): the descriptions here, each module's support in the fragment it extends
    (or in its own DOCUMENTATION where it differs)."""

    # Every module: what check_mode and diff_mode mean.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
'''

    # The modules that run on a host (Debian/Ubuntu and macOS servers, or the controller itself for dev).
    HOST = r'''
options: {}
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: [debian, ubuntu, darwin]
    details:
      - POSIX hosts - Debian and Ubuntu (apt, systemd or the C(service) command) and macOS (Homebrew, launchd).
'''

    # The fix modules and the stage module: check mode is the scan. (Not named FIX: the fragment
    # factiii.infra.attributes.fix would load as the fragment factiii.infra.fix.)
    SCAN = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - Check mode is the scan - each fix reports C(fixed) for what it would do, and nothing changes.
  diff_mode:
    support: none
'''

    # The action plugins whose module file is documentation only: they run on the controller.
    CONTROLLER = r'''
options: {}
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: all
    details:
      - Runs on the controller only; it never connects to the host, whatever the host's platform.
  diff_mode:
    support: none
'''

    # The members of the action group (meta/runtime.yml): they all take the common options
    # (factiii.infra.common), which module_defaults sets for the group.
    ACTIONGROUP_INFRA = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/factiii.infra.infra) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - factiii.infra.infra
'''
