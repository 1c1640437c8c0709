# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  docker_start_timeout:
    description:
      - Seconds to wait, polling C(docker info), for the engine to answer after starting it.
    type: int
    default: 60
'''
