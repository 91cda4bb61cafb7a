# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.login_class_users: the FreeBSD users who get the PostgreSQL login class."""

from __future__ import annotations

DOCUMENTATION = r"""
name: login_class_users
short_description: Choose the FreeBSD users who get the PostgreSQL login class
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - The owner of every cluster found, then the users of O(users), each once; with neither, the port's default
    server user C(postgres), which may not exist yet on a host without PostgreSQL.
positional: users
extends_documentation_fragment:
  - pghost.hardening.clusters.filter_input
options:
  users:
    description: More users to give the class (role C(pg_limits)' C(pg_limits_users)).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Choose the users who get the class
  ansible.builtin.set_fact:
    class_users: "{{ ansible_facts.pghost_clusters_found | default([]) | pghost.hardening.login_class_users(['backup']) }}"
"""

RETURN = r"""
_value:
  description: One dict per user, with C(user) and C(from) (why the user is chosen).
  type: list
  elements: dict
"""

from ansible_collections.pghost.hardening.plugins.module_utils.login_class_plan import class_users


def login_class_users_filter(clusters, users=None):
    return class_users(clusters, users)


class FilterModule(object):
    def filters(self):
        return {"login_class_users": login_class_users_filter}
