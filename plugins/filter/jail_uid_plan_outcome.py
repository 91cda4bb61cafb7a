# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.jail_uid_plan_outcome: the jail UID plan, or why there is none, as data."""

from __future__ import annotations

DOCUMENTATION = r"""
name: jail_uid_plan_outcome
short_description: Plan distinct PostgreSQL UIDs and GIDs for FreeBSD jails, returning a failure as data
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Makes the plan of P(pghost.hardening.jail_uid_plan#filter), but returns a result instead of failing, so a
    role can word the failure from fields rather than from an error message's text.
  - When the range has too few free ids, RV(_value.needed) says how many jails need one.
positional: host_users, reserved_range
extends_documentation_fragment:
  - pghost.hardening.jail_uid_plan
options:
  with_postgresql:
    description: Names of jails to plan as having PostgreSQL whatever their C(has_postgresql) says.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Plan distinct PostgreSQL UIDs for the jails
  ansible.builtin.set_fact:
    outcome: >-
      {{ jails | pghost.hardening.jail_uid_plan_outcome(host_users, [5000, 5999], with_postgresql=['db1']) }}

- name: Fail with the reason
  ansible.builtin.fail:
    msg: "{{ outcome.error }}{{ '; widen the range to %d free ids' % outcome.needed if outcome.needed else '' }}"
  when: not outcome.ok
"""

RETURN = r"""
_value:
  description: The result.
  type: dict
  contains:
    ok:
      description: Whether a plan was made.
      type: bool
    plan:
      description: The plan of P(pghost.hardening.jail_uid_plan#filter); null when RV(_value.ok) is false.
      type: dict
    error:
      description: Why there is no plan, naming the jail or the numbers; null when RV(_value.ok) is true.
      type: str
    needed:
      description: How many jails need a free id of the range, when the range is too small; else null.
      type: int
"""

from ansible_collections.pghost.hardening.plugins.module_utils.jail_uid_outcome import plan_outcome


def jail_uid_plan_outcome_filter(jails, host_users, reserved_range, server_user="postgres", server_group=None,
                                 host_groups=None, with_postgresql=None):
    return plan_outcome(jails, host_users, reserved_range, server_user=server_user, server_group=server_group,
                        host_groups=host_groups, with_postgresql=with_postgresql)


class FilterModule(object):
    def filters(self):
        return {"jail_uid_plan_outcome": jail_uid_plan_outcome_filter}
