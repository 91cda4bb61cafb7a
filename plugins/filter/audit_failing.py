# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.audit_failing: one host's findings at or above pghost_audit_fail_on."""

from __future__ import annotations

DOCUMENTATION = r"""
name: audit_failing
short_description: The findings of one host at or above the audit's fail_on threshold
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - Returns the records of status C(finding) whose severity is the threshold or more severe; none for the
    threshold C(none).
  - A threshold that is not a severity is an error naming C(pghost_audit_fail_on), the value and what is accepted.
options:
  fail_on:
    description: The threshold, C(pghost_audit_fail_on) - C(none) or a severity (C(audit_record.SEVERITIES)).
    type: str
    required: true
  _input:
    description: One host's records, as P(pghost.hardening.audit_records#filter) returns them.
    type: list
    elements: dict
    required: true
notes:
  - The audit playbook (C(pghost.hardening.audit)) fails a host for which this is not empty, after writing the
    reports.
"""

EXAMPLES = r"""
# As the audit playbook does it, once the reports are written.
- name: Fail the host on a high or critical finding
  ansible.builtin.fail:
    msg: >-
      findings at or above high: {{ records | pghost.hardening.audit_failing('high') | map(attribute='id') | unique
      | join(', ') }}
  when: records | pghost.hardening.audit_failing('high') | length > 0
"""

RETURN = r"""
_value:
  description: The failing records, in the order given.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import AuditInputError
from ansible_collections.pghost.hardening.plugins.module_utils.audit_report import failing


def audit_failing_filter(records, fail_on):
    if not isinstance(records, list):
        raise AnsibleFilterError("audit_failing: %r is not a list of audit records" % (records,))
    try:
        return failing(records, fail_on)
    except AuditInputError as exc:
        raise AnsibleFilterError(str(exc))
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("audit_failing: a record lacks status or severity (%s); pass audit_records' output"
                                 % exc)


class FilterModule(object):
    def filters(self):
        return {"audit_failing": audit_failing_filter}
