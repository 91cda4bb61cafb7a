# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.jail_bad_items: the items of pg_jail_jails that are not accepted."""

from __future__ import annotations

DOCUMENTATION = r"""
name: jail_bad_items
short_description: List the items of pg_jail_jails that are not accepted
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Accepted are a jail name (not blank) and a dict with a C(name) (a string, not blank) and optionally C(path)
    (the jail's root on the host) and C(data_directory) (inside the jail), both absolute paths, and no other key.
  - Returns the other items, in order; an empty list when all are accepted.
options:
  _input:
    description: The items of C(pg_jail_jails).
    type: list
    elements: raw
    required: true
"""

EXAMPLES = r"""
- name: Check pg_jail_jails
  ansible.builtin.assert:
    that: pg_jail_jails | pghost.hardening.jail_bad_items | length == 0
"""

RETURN = r"""
_value:
  description: The items that are not accepted.
  type: list
  elements: raw
"""

from ansible_collections.pghost.hardening.plugins.module_utils.jail_targets import bad_items


class FilterModule(object):
    def filters(self):
        return {"jail_bad_items": bad_items}
