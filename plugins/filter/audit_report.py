# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pghost.hardening.audit_report: a fleet audit report as text (JSON, Markdown or JUnit XML)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: audit_report
short_description: Render the fleet audit's records as a JSON, Markdown or JUnit XML report
version_added: 0.2.0
author:
  - pghost.hardening developers (!UNKNOWN)
description:
  - C(json) - every record of every host with counts; its JSON Schema is C(docs/audit-report.schema.json).
  - C(markdown) - hosts by severity counts, then the findings grouped by check with the hosts affected, then what
    was not verifiable here.
  - C(junit) - a test suite per host, a test case per host and check; a finding fails it, a check only
    "not verifiable here" skips it.
  - Pure; writes nothing (the audit playbook writes the text with M(ansible.builtin.copy)).
options:
  _input:
    description: The fleet, a mapping of host name to records, each host's records as P(pghost.hardening.audit_records#filter) returns them.
    type: dict
    required: true
  format:
    description: The report to render.
    type: str
    choices: [json, markdown, junit]
    required: true
  generated_at:
    description: When the audit ran (ISO 8601), written into the JSON report only.
    type: str
"""

EXAMPLES = r"""
- name: Write the Markdown report
  ansible.builtin.copy:
    content: "{{ fleet | pghost.hardening.audit_report('markdown') }}"
    dest: pghost-audit/audit.md
    mode: "0644"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
_value:
  description: The report's text, ending with a newline for JSON and JUnit.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pghost.hardening.plugins.module_utils import audit_report
from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import AuditInputError

RENDERERS = {
    "json": audit_report.render_json,
    "markdown": lambda fleet, generated_at: audit_report.render_markdown(fleet),
    "junit": lambda fleet, generated_at: audit_report.render_junit(fleet),
}


def audit_report_filter(fleet, format, generated_at=None):  # pylint: disable=redefined-builtin
    if format not in RENDERERS:
        raise AnsibleFilterError("audit_report: format %r is not accepted; expected one of %s"
                                 % (format, ", ".join(sorted(RENDERERS))))
    try:
        return RENDERERS[format](fleet, generated_at)
    except AuditInputError as exc:
        raise AnsibleFilterError("audit_report: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"audit_report": audit_report_filter}
