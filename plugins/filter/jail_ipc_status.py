# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.jail_ipc_status: per FreeBSD jail, what was written and whether it waits for a restart."""

from __future__ import annotations

DOCUMENTATION = r"""
name: jail_ipc_status
short_description: Say per FreeBSD jail what was written for its own SysV IPC and whether it waits for a restart
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - For role C(pg_jail)'s C(sysvipc_new) path. A running jail with a stanza whose live modes (C(jls)) are not all
    C(new) waits for a restart, since C(jail(8)) reads the modes when it creates the jail.
positional: written, jail_conf, jail_conf_d
extends_documentation_fragment:
  - pghost.hardening.jail_conf
options:
  _input:
    description: The jails acted on, each with C(name), C(config_file), C(running), C(ipc), C(ipc_mode) and C(ipc_config).
    type: list
    elements: dict
    required: true
  written:
    description: RV(pghost.hardening.pg_jail_ipc#module:jails), empty when the module did not run.
    type: list
    elements: dict
    required: true
  check_mode:
    description: Whether the run is in check mode (the file would be written).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Work out which running jails wait for a restart
  ansible.builtin.set_fact:
    status: >-
      {{ pg_jail_targets | pghost.hardening.jail_ipc_status(pg_jail_ipc.jails | default([]), '/etc/jail.conf',
         '/etc/jail.conf.d', check_mode=ansible_check_mode) }}
"""

RETURN = r"""
_value:
  description:
    - Jail name to C(file), C(written), C(ipc_config) (after), C(ipc_config_before), C(restart_pending),
      C(restart) (C(pending) or C(not needed)) and C(line).
  type: dict
"""

from ansible_collections.pghost.hardening.plugins.module_utils.jail_ipc_status import ipc_status


def jail_ipc_status_filter(targets, written, jail_conf, jail_conf_d, check_mode=False):
    return ipc_status(targets, written, jail_conf, jail_conf_d, bool(check_mode))


class FilterModule(object):
    def filters(self):
        return {"jail_ipc_status": jail_ipc_status_filter}
