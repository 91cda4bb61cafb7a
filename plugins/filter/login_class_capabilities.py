# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.login_class_capabilities: the limits of the PostgreSQL login class."""

from __future__ import annotations

DOCUMENTATION = r"""
name: login_class_capabilities
short_description: Turn role pg_limits' limits into FreeBSD login.conf capabilities
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - C(openfiles) and C(maxproc) from the input and O(nproc); 0 leaves a limit alone, as on Linux.
  - C(memorylocked) from O(memlock) in KiB (the unit of C(limits.conf)), written with login.conf's C(k) suffix, or
    C(unlimited); C(auto) and 0 leave it alone - PostgreSQL has no huge pages on FreeBSD and does not lock its
    shared memory there.
positional: nproc, memlock
options:
  _input:
    description: The open files limit (C(pg_limits_nofile)).
    type: raw
    required: true
  nproc:
    description: The process limit (C(pg_limits_nproc)).
    type: raw
    required: true
  memlock:
    description: The locked memory limit in KiB, C(unlimited) or C(auto) (C(pg_limits_memlock)).
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: The class's capabilities
  ansible.builtin.debug:
    msg: "{{ 65536 | pghost.hardening.login_class_capabilities(0, 'auto') }}"   # {openfiles: 65536}
"""

RETURN = r"""
_value:
  description: Capability name to value, only for the limits to raise.
  type: dict
"""

from ansible_collections.pghost.hardening.plugins.module_utils.login_class_plan import class_capabilities


class FilterModule(object):
    def filters(self):
        return {"login_class_capabilities": class_capabilities}
