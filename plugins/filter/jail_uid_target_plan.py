# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.jail_uid_target_plan: the UID plan of the jails acted on, one line each."""

from __future__ import annotations

DOCUMENTATION = r"""
name: jail_uid_target_plan
short_description: Keep the UID plan of the FreeBSD jails acted on, with one line each
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Takes a plan of P(pghost.hardening.jail_uid_plan#filter) and the jails role C(pg_jail) acts on, and returns
    the plan of those jails with where each one is, a line saying what happens to its ids, the fields the role's
    report shows per jail, and the jails to change whose files cannot be found.
positional: targets, apply, check_mode
options:
  _input:
    description: The plan.
    type: dict
    required: true
  targets:
    description: The jails acted on, each with C(name), C(path), C(jid), C(running) and C(data_directories).
    type: list
    elements: dict
    required: true
  apply:
    description: Whether the plan is applied in this run.
    type: bool
    required: true
  check_mode:
    description: Whether the run is in check mode, to say why a plan is not applied.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Keep the plan of the jails acted on
  ansible.builtin.set_fact:
    uid_plan: "{{ outcome.plan | pghost.hardening.jail_uid_target_plan(pg_jail_targets, false, ansible_check_mode) }}"
"""

RETURN = r"""
_value:
  description: The plan of the jails acted on.
  type: dict
  contains:
    range:
      description: The range ids were taken from.
      type: list
      elements: int
    changed:
      description: Whether any id of these jails moves.
      type: bool
    apply:
      description: O(apply).
      type: bool
    jails:
      description: The plan entries with C(path), C(jid), C(running), C(data_directories), C(change) and C(line).
      type: list
      elements: dict
    lines:
      description: The C(line) of each jail.
      type: list
      elements: str
    status:
      description: Jail name to C(uid_target), C(gid_target), C(uid_reason), C(gid_reason), C(restart_pending),
        C(restart) and C(line), for the report.
      type: dict
    blocked:
      description: The jails to change with no known root or no data directory, each C(name) and C(missing).
      type: list
      elements: dict
"""

from ansible_collections.pghost.hardening.plugins.module_utils.jail_uid_outcome import target_plan


def jail_uid_target_plan_filter(plan, targets, apply, check_mode=False):
    return target_plan(plan, targets, bool(apply), bool(check_mode))


class FilterModule(object):
    def filters(self):
        return {"jail_uid_target_plan": jail_uid_target_plan_filter}
