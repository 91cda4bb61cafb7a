# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.pg_size_bytes: PostgreSQL memory setting -> bytes."""

from __future__ import annotations

DOCUMENTATION = r"""
name: pg_size_bytes
short_description: Convert a PostgreSQL memory setting to bytes
version_added: 0.1.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Parses a memory size the way PostgreSQL does, with its case-sensitive
    units C(B), C(kB), C(MB), C(GB) and C(TB).
  - A number without a unit is a count of the setting's base unit, C(8kB)
    pages unless O(base_unit) says otherwise (C(kB) for C(work_mem),
    C(MB) for C(shared_memory_size)).
  - Anything PostgreSQL would reject (C(128mb), C(1 GiB), a negative number)
    is an error naming the value.
positional: base_unit
options:
  _input:
    description: The setting's value, for example C(128MB) or C(16384).
    type: raw
    required: true
  base_unit:
    description: Unit of a bare number, optionally with a count (C(8kB), C(kB), C(MB)).
    type: str
    default: 8kB
"""

EXAMPLES = r"""
- name: Bytes in shared_buffers
  ansible.builtin.debug:
    msg: "{{ '128MB' | pghost.hardening.pg_size_bytes }}"   # 134217728

- name: A bare work_mem value is in kB
  ansible.builtin.debug:
    msg: "{{ '4096' | pghost.hardening.pg_size_bytes('kB') }}"   # 4194304
"""

RETURN = r"""
_value:
  description: The size in bytes.
  type: int
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pghost.hardening.plugins.module_utils.units import UnitError, pg_size_bytes


def pg_size_bytes_filter(value, base_unit="8kB"):
    try:
        return pg_size_bytes(value, base_unit, name="pg_size_bytes input")
    except UnitError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"pg_size_bytes": pg_size_bytes_filter}
