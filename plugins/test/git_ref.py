# -*- coding: utf-8 -*-
# Copyright (c) factiii contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: git_ref
short_description: Test whether a string is a branch, tag or commit id factiii accepts
version_added: 1.0.0
author: factiii contributors (@factiii)
description:
  - The one rule for the refs factiii passes to git (C(repo_version), C(deploy_ref)) - letters, digits and
    C(. _ / -), not starting with C(-) or C(.), no C(..), C(//) or C(/.), not ending with C(/), C(.) or C(.lock).
  - So a ref is never an option to git (C(--upload-pack=...)), a path trick or a revision expression.
options:
  _input:
    description: The ref to test.
    type: string
    required: true
'''

EXAMPLES = r'''
- name: Refuse a deploy_ref that is not a ref
  ansible.builtin.assert:
    that: deploy_ref is factiii.infra.git_ref
'''

RETURN = r'''
_value:
  description: Whether the input is an acceptable branch, tag or commit id.
  type: boolean
'''

from ansible_collections.factiii.infra.plugins.module_utils.git import ref_problem


def git_ref(value):
    return ref_problem(value) is None


class TestModule(object):

    def tests(self):
        return {'git_ref': git_ref}
