# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.audit_stats: the fleet audit's figures for ansible.builtin.set_stats."""

from __future__ import annotations

DOCUMENTATION = r"""
name: audit_stats
short_description: The fleet audit's counts per severity and its failing hosts, for set_stats
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Returns C(pghost_audit_counts) (findings per severity, and how many answers were a pass or not verifiable
    here) and C(pghost_audit_failing_hosts), ready for M(ansible.builtin.set_stats), so that an AWX job shows
    them as artifacts.
  - Pure; reads and writes nothing.
options:
  _input:
    description: The fleet, a mapping of host name to records, as P(pghost.hardening.audit_report#filter) takes it.
    type: dict
    required: true
  fail_on:
    description:
      - The C(pghost_audit_fail_on) threshold, C(none) or a severity; the failing hosts are those with a finding at or above it.
      - C(none) (or null) lists every host with a finding of any severity.
    type: str
    default: none
"""

EXAMPLES = r"""
- name: Show the audit's figures in the AWX job
  ansible.builtin.set_stats:
    data: "{{ fleet | pghost.hardening.audit_stats(pghost_audit_fail_on) }}"
    per_host: false
  run_once: true
"""

RETURN = r"""
_value:
  description: C(pghost_audit_counts) and C(pghost_audit_failing_hosts).
  type: dict
  sample: {"pghost_audit_counts": {"critical": 0, "high": 1, "medium": 3, "low": 2, "info": 0,
                                   "not_verifiable": 4, "pass": 20},
           "pghost_audit_failing_hosts": ["db1"]}
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import AuditInputError
from ansible_collections.pghost.hardening.plugins.module_utils.audit_report import stats


def audit_stats_filter(fleet, fail_on=None):
    try:
        return stats(fleet, fail_on)
    except AuditInputError as exc:
        raise AnsibleFilterError("audit_stats: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"audit_stats": audit_stats_filter}
