# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.audit_fleet: the fleet audit's records of every host the play started with."""

from __future__ import annotations

DOCUMENTATION = r"""
name: audit_fleet
short_description: The fleet audit's records of every host the play started with, none left out
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Returns a mapping of host name to records for every host in the input, the fleet that
    P(pghost.hardening.audit_report#filter) and P(pghost.hardening.audit_stats#filter) take.
  - A host with records in O(judged) keeps them. A host without (it left the play before it was judged - its
    variables refused by the argument checks, or a read the audit cannot go on without failed) gets one record,
    the finding C(host.unread) (severity high) whose evidence has C(cause=not_judged), so that no report leaves
    a host out. Unreachable hosts and failed C(pg_host_facts) reads stay in the play and get C(host.unread) from
    P(pghost.hardening.audit_records#filter) with Ansible's message.
  - Pure; reads and writes nothing.
options:
  _input:
    description: The hosts the play started with, normally C(ansible_play_hosts_all).
    type: list
    elements: str
    required: true
  judged:
    description:
      - The records of the hosts still in the play, a mapping of host name to records as
        P(pghost.hardening.audit_records#filter) returns them; every host must be in the input.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the JSON report of every host the play started with
  ansible.builtin.copy:
    content: "{{ ansible_play_hosts_all | pghost.hardening.audit_fleet(judged) | pghost.hardening.audit_report('json') }}"
    dest: pghost-audit/audit.json
    mode: "0644"
  vars:
    judged: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'records'))) }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
_value:
  description: A mapping of every host in the input to its records; see C(plugins/module_utils/audit_record.py).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pghost.hardening.plugins.module_utils.audit_read import fleet
from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import AuditInputError


def audit_fleet_filter(hosts, judged):
    try:
        return fleet(hosts, judged)
    except AuditInputError as exc:
        raise AnsibleFilterError("audit_fleet: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"audit_fleet": audit_fleet_filter}
