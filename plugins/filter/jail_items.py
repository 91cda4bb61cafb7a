# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.jail_items: pg_jail_jails in one shape, dicts with a name."""

from __future__ import annotations

DOCUMENTATION = r"""
name: jail_items
short_description: Put the items of pg_jail_jails in one shape, dicts with a trimmed name
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - An item of role C(pg_jail)'s C(pg_jail_jails) is a jail name or a dict with C(name) (and optionally C(path)
    and C(data_directory)); returns every item as a dict, its name trimmed.
  - P(pghost.hardening.jail_bad_items#filter) refuses other items first.
options:
  _input:
    description: The items.
    type: list
    elements: raw
    required: true
"""

EXAMPLES = r"""
- name: Put pg_jail_jails in one shape
  ansible.builtin.set_fact:
    items: "{{ ['db1 ', {'name': 'db2', 'data_directory': '/var/db/postgres/data15'}] | pghost.hardening.jail_items }}"
    # [{name: db1}, {name: db2, data_directory: /var/db/postgres/data15}]
"""

RETURN = r"""
_value:
  description: One dict per item, in order.
  type: list
  elements: dict
"""

from ansible_collections.pghost.hardening.plugins.module_utils.jail_targets import jail_items


class FilterModule(object):
    def filters(self):
        return {"jail_items": jail_items}
