# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.login_class_plan: each FreeBSD server user's login class, and whether to assign ours."""

from __future__ import annotations

DOCUMENTATION = r"""
name: login_class_plan
short_description: Compare each FreeBSD server user's login class with the PostgreSQL class
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Reads the results of a looped C(pw usershow -n USER) over the users of
    P(pghost.hardening.login_class_users#filter) (the master.passwd line
    C(name:password:uid:gid:class:change:expire:gecos:home:shell); an empty class means C(default)).
positional: login_class
options:
  _input:
    description: The registered results of the loop, each with C(item) (the user), C(rc), C(stdout) and C(stderr).
    type: list
    elements: dict
    required: true
  login_class:
    description: The class the users get.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Compare each user's class
  ansible.builtin.set_fact:
    class_plan: "{{ usershow.results | pghost.hardening.login_class_plan('postgres') }}"
"""

RETURN = r"""
_value:
  description:
    - Each user's item with C(exists) (the user was found), C(now) (its class; empty for C(default)), C(assign)
      (it exists and has another class) and C(error) (what pw said).
  type: list
  elements: dict
"""

from ansible_collections.pghost.hardening.plugins.module_utils.login_class_plan import class_plan


class FilterModule(object):
    def filters(self):
        return {"login_class_plan": class_plan}
