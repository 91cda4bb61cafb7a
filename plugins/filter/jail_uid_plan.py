# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.jail_uid_plan: distinct PostgreSQL UIDs/GIDs across FreeBSD jails."""

from __future__ import annotations

DOCUMENTATION = r"""
name: jail_uid_plan
short_description: Plan a distinct PostgreSQL server UID and GID for every FreeBSD jail
version_added: 0.1.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - For FreeBSD jails that share the host's SysV IPC (releases before 11.0, or
    C(pg_jail_isolation=distinct_uid) in role C(pg_jail)), computes for every jail
    with PostgreSQL a UID for the server user and a GID for its group that no
    other jail and no host account uses.
  - An id that is already unique is kept. When PostgreSQL jails share one, the
    first by name keeps it. Every other jail gets the lowest free id of
    O(reserved_range), in jail name order, so the plan is the same whatever
    the order of the input, and planning again after applying it changes nothing.
  - Fails, naming the jail or the numbers, when a jail with PostgreSQL has no
    server user or group, or the range has fewer free ids than jails that need one.
positional: host_users, reserved_range
extends_documentation_fragment:
  - pghost.hardening.jail_uid_plan
"""

EXAMPLES = r"""
- name: Plan distinct PostgreSQL UIDs for the jails
  ansible.builtin.set_fact:
    pg_jail_uid_plan: >-
      {{ pg_jail_jails | pghost.hardening.jail_uid_plan(host_users, [5000, 5999],
         host_groups=host_groups) }}

- name: Jails whose server user moves
  ansible.builtin.debug:
    msg: "{{ pg_jail_uid_plan.jails | selectattr('change_uid') | map(attribute='name') | list }}"
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    jails:
      description:
        - One entry per jail with PostgreSQL, in name order, with C(name), C(path),
          C(user), C(group), the current C(uid) and C(gid), C(target_uid),
          C(target_gid), C(change_uid), C(change_gid), and C(reason_uid) and
          C(reason_gid) saying why an id is kept or moved.
      type: list
      elements: dict
    changed:
      description: Whether any id moves.
      type: bool
    range:
      description: The range ids were taken from, C([low, high]).
      type: list
      elements: int
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pghost.hardening.plugins.module_utils.jail_uids import PlanError, plan


def jail_uid_plan_filter(jails, host_users, reserved_range, server_user="postgres", server_group=None, host_groups=None):
    try:
        return plan(jails, host_users, reserved_range, server_user=server_user,
                    server_group=server_group, host_groups=host_groups)
    except PlanError as exc:
        raise AnsibleFilterError("jail_uid_plan: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"jail_uid_plan": jail_uid_plan_filter}
