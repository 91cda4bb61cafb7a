# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.jail_isolation_report: what role pg_jail found and did per jail."""

from __future__ import annotations

DOCUMENTATION = r"""
name: jail_isolation_report
short_description: Report per FreeBSD jail its SysV IPC isolation, as role pg_jail publishes it
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Joins the jails acted on, the status the isolation path recorded per jail and the restarts done into one entry
    per jail, with a C(line) and a C(summary) (the line without its C(jail NAME) prefix).
  - What the path did not record comes from the audit; a jail restarted in this run says C(jail restarted,
    running with new) where its line said the restart was pending.
positional: status, restarted, jail_conf, jail_conf_d
extends_documentation_fragment:
  - pghost.hardening.jail_conf
options:
  _input:
    description: The jails acted on (role C(pg_jail)'s C(pg_jail_targets)).
    type: list
    elements: dict
    required: true
  status:
    description: Jail name to the fields the isolation path recorded.
    type: dict
    required: true
  restarted:
    description: Jail name to C(done) for the jails restarted.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Report per jail
  ansible.builtin.set_fact:
    report: >-
      {{ pg_jail_targets | pghost.hardening.jail_isolation_report(pg_jail_status | default({}),
         pg_jail_restarted | default({}), '/etc/jail.conf', '/etc/jail.conf.d') }}
"""

RETURN = r"""
_value:
  description:
    - One entry per jail with C(name), C(jid), C(running), C(path), C(config_file), C(data_directories), C(uid),
      C(gid), C(ipc_before), C(ipc_mode_before), C(ipc_config), C(restart_pending), C(restart), what the path
      recorded, C(line) and C(summary).
  type: list
  elements: dict
"""

from ansible_collections.pghost.hardening.plugins.module_utils.jail_isolation_report import isolation_report


class FilterModule(object):
    def filters(self):
        return {"jail_isolation_report": isolation_report}
