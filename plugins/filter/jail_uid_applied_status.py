# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.jail_uid_applied_status: the report fields of a jail whose server ids were changed."""

from __future__ import annotations

DOCUMENTATION = r"""
name: jail_uid_applied_status
short_description: Say what changed in a FreeBSD jail whose PostgreSQL server UID/GID were applied
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - For role C(pg_jail)'s C(distinct_uid) path, once a jail's files and accounts have their new ids. Returns the
    fields the role's report shows for the jail, with one line naming the ids, the number of owner and group
    changes, whether PostgreSQL was restarted, and the processes still running as the old uid.
positional: reown, others
options:
  _input:
    description:
      - The jail, an entry of RV(pghost.hardening.jail_uid_target_plan#filter:_value.jails) with C(name), C(user),
        C(uid), C(gid), C(target_uid), C(target_gid), C(change_uid), C(change_gid) and C(running).
    type: dict
    required: true
  reown:
    description: The registered result of M(pghost.hardening.pg_reown) for the jail; its C(totals) are used.
    type: dict
    required: true
  others:
    description:
      - The registered result of C(pgrep -l) for processes of the old uid in the jail; a skipped result, or none,
        means there are none.
    type: dict
"""

EXAMPLES = r"""
- name: Record the change
  ansible.builtin.set_fact:
    status: "{{ {jail.name: jail | pghost.hardening.jail_uid_applied_status(reown_result, pgrep_result)} }}"
"""

RETURN = r"""
_value:
  description: The jail's report fields.
  type: dict
  contains:
    restart_pending:
      description: Always false; the change is applied.
      type: bool
    restart:
      description: C(done) when the jail runs (PostgreSQL was restarted), else C(not needed).
      type: str
    reowned:
      description: The C(totals) of O(reown).
      type: dict
    line:
      description: One line saying what was applied.
      type: str
"""

from ansible_collections.pghost.hardening.plugins.module_utils.jail_uid_outcome import applied_status


def jail_uid_applied_status_filter(jail, reown, others=None):
    return applied_status(jail, reown, others)


class FilterModule(object):
    def filters(self):
        return {"jail_uid_applied_status": jail_uid_applied_status_filter}
