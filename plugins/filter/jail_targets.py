# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.jail_targets: the PostgreSQL jails role pg_jail acts on."""

from __future__ import annotations

DOCUMENTATION = r"""
name: jail_targets
short_description: Choose the FreeBSD jails with PostgreSQL that role pg_jail acts on
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Returns the jails of the audit that have PostgreSQL, or whose item in O(items) gives a C(data_directory); an
    item's C(path) and C(data_directory) override what the audit found. A later item for the same name wins.
positional: items
options:
  _input:
    description: RV(pghost.hardening.pg_jail_facts#module:jails).
    type: list
    elements: dict
    required: true
  items:
    description: The items of C(pg_jail_jails), as P(pghost.hardening.jail_items#filter) returns them.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Choose the PostgreSQL jails to act on
  ansible.builtin.set_fact:
    targets: "{{ pg_jail_audit.jails | pghost.hardening.jail_targets(pg_jail_items) }}"
"""

RETURN = r"""
_value:
  description:
    - One dict per jail acted on, in the audit's order, with C(name), C(jid), C(running), C(path),
      C(data_directories), C(ipc), C(ipc_config), C(ipc_mode), C(uid), C(gid) and C(config_file).
  type: list
  elements: dict
"""

from ansible_collections.pghost.hardening.plugins.module_utils.jail_targets import jail_targets


class FilterModule(object):
    def filters(self):
        return {"jail_targets": jail_targets}
