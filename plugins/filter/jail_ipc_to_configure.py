# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.jail_ipc_to_configure: the FreeBSD jails whose configuration lacks sysvshm/sysvsem/sysvmsg = new."""

from __future__ import annotations

DOCUMENTATION = r"""
name: jail_ipc_to_configure
short_description: Name the FreeBSD jails whose configuration does not give them their own SysV IPC yet
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - For role C(pg_jail)'s C(sysvipc_new) path, the jails to pass to M(pghost.hardening.pg_jail_ipc).
  - A jail is named when it has a stanza to write to (C(config_file)) and its configured modes (C(ipc_config)) are
    not C(new) for every one of C(sysvshm), C(sysvsem) and C(sysvmsg).
options:
  _input:
    description: The jails acted on, each with C(name), C(config_file) and C(ipc_config).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Find the jails whose configuration does not give them their own SysV IPC yet
  ansible.builtin.set_fact:
    to_configure: "{{ pg_jail_targets | pghost.hardening.jail_ipc_to_configure }}"
"""

RETURN = r"""
_value:
  description: The jails' names, in the order of the input.
  type: list
  elements: str
"""

from ansible_collections.pghost.hardening.plugins.module_utils.jail_ipc_status import to_configure


def jail_ipc_to_configure_filter(targets):
    return to_configure(targets)


class FilterModule(object):
    def filters(self):
        return {"jail_ipc_to_configure": jail_ipc_to_configure_filter}
