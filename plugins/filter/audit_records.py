# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.audit_records: the fleet audit's records of one host."""

from __future__ import annotations

DOCUMENTATION = r"""
name: audit_records
short_description: Judge one host's read-only facts against the roles' settings, as fleet audit records
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Runs every check of the host's platform (fsync, kernel, processes, IPC, FreeBSD jails) on what the read-only
    modules returned for it, and returns one record per check and subject - a finding, a pass, or "not verifiable
    here" with the reason. Pure; runs on the controller and reads nothing.
  - A module result that is missing, skipped or failed makes the checks that need it not verifiable, naming why.
  - A host the audit could not read - C(read) says it was unreachable or M(pghost.hardening.pg_host_facts)
    failed - gets one record instead, the finding C(host.unread) (severity high, no cluster) with Ansible's message
    in its evidence; the other facts are then ignored. A good read gives no such record.
  - The record shape is documented in C(plugins/module_utils/audit_record.py) and typed by
    C(docs/audit-report.schema.json).
options:
  _input:
    description:
      - The host's facts - C(read) (the registered result of M(pghost.hardening.pg_host_facts), kept with
        C(ignore_unreachable) and C(ignore_errors) when the host is unreachable or the read fails), C(host) (the
        C(pghost_host) fact of M(pghost.hardening.pg_host_facts)), C(clusters)
        (C(pghost_clusters_found)), C(kernel) (the registered result of M(pghost.hardening.pg_kernel_params)),
        C(service) (of M(pghost.hardening.pg_service_units) in check mode with C(oom), C(shutdown) and C(limits)
        false) and C(jails) (of M(pghost.hardening.pg_jail_facts)). Leave out what did not run.
    type: dict
    required: true
  policy:
    description:
      - The role variables the checks compare with, as the roles would apply them - C(pg_kernel_swappiness_value),
        C(pg_kernel_commit_headroom_pct), C(pg_service_oom_score_adjust), C(pg_service_limit_nofile),
        C(pg_service_limit_nproc), C(pg_service_limit_memlock).
    type: dict
    required: true
  host:
    description: The host's name in the records (normally C(inventory_hostname)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Judge the host
  ansible.builtin.set_fact:
    audit_of_host: >-
      {{ {'read': host_read, 'host': ansible_facts.pghost_host | default(none),
          'clusters': ansible_facts.pghost_clusters_found | default(none),
          'kernel': kernel_plan | default(none), 'service': service_read | default(none)}
         | pghost.hardening.audit_records(policy, inventory_hostname) }}
"""

RETURN = r"""
_value:
  description: One record per check and subject, with C(host) set; see C(plugins/module_utils/audit_record.py).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pghost.hardening.plugins.module_utils.audit_findings import audit_host
from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import AuditInputError


def audit_records_filter(facts, policy, host):
    if not isinstance(policy, dict):
        raise AnsibleFilterError("audit_records: policy is %r, not a mapping of role variables" % (policy,))
    try:
        return audit_host(host, facts, policy)
    except AuditInputError as exc:
        raise AnsibleFilterError("audit_records for %s: %s" % (host, exc))


class FilterModule(object):
    def filters(self):
        return {"audit_records": audit_records_filter}
