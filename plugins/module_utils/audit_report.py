# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit's reports, rendered from {host: [records]} (audit_record.py).

Pure: each function returns text or data and writes nothing.

  json_report(fleet, generated_at)  -> dict: every record, per host, with counts
                                       (its JSON Schema: docs/audit-report.schema.json)
  render_json(fleet, generated_at)  -> the same as JSON text
  render_markdown(fleet)            -> hosts x severity counts (and the hosts not read,
                                       host.unread), then findings grouped by check with
                                       the hosts affected
  render_junit(fleet)               -> JUnit XML: a testsuite per host, a testcase per
                                       host and check; failure = finding, skipped =
                                       not verifiable here
  stats(fleet, fail_on)             -> counts per severity and the failing hosts (set_stats)
  fail_on_threshold(value)          -> the severity a `pghost_audit_fail_on` value names, or None
  failing(records, threshold)       -> the findings at or above it
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from ansible_collections.pghost.hardening.plugins.module_utils.audit_read import UNREAD
from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import (
    FINDING,
    NOT_VERIFIABLE,
    PASS,
    SEVERITIES,
    AuditInputError,
    at_or_above,
)

REPORT_FORMAT = 1
NO_THRESHOLD = "none"


def _check_fleet(fleet):
    if not isinstance(fleet, dict) or not all(isinstance(records, list) for records in fleet.values()):
        raise AuditInputError("fleet: expected {host: [records]} as audit_findings.audit_host returns them")


def fail_on_threshold(value):
    """The severity named by `pghost_audit_fail_on` (None or "none": no threshold)."""
    if value is None or value == NO_THRESHOLD:
        return None
    if value not in SEVERITIES:
        raise AuditInputError("pghost_audit_fail_on: %r is not accepted; expected %s or one of %s"
                              % (value, NO_THRESHOLD, ", ".join(SEVERITIES)))
    return value


def failing(records, threshold):
    """The findings at or above `threshold` (a severity, or None for none)."""
    threshold = fail_on_threshold(threshold)
    if threshold is None:
        return []
    return [r for r in records if r["status"] == FINDING and at_or_above(r["severity"], threshold)]


def counts(records):
    """{severity: findings, ..., "not_verifiable": n, "pass": n} of some records."""
    result = dict((severity, 0) for severity in SEVERITIES)
    result.update({NOT_VERIFIABLE: 0, PASS: 0})
    for record in records:
        result[record["severity"] if record["status"] == FINDING else record["status"]] += 1
    return result


def failing_hosts(fleet, fail_on=None):
    """Hosts with a finding at or above `fail_on`; with no threshold, hosts with any finding."""
    _check_fleet(fleet)
    threshold = fail_on_threshold(fail_on) or SEVERITIES[-1]
    return sorted(host for host, records in fleet.items() if failing(records, threshold))


def stats(fleet, fail_on=None):
    """What the audit hands to set_stats, so an AWX job shows it as artifacts."""
    _check_fleet(fleet)
    return {"pghost_audit_counts": counts([r for records in fleet.values() for r in records]),
            "pghost_audit_failing_hosts": failing_hosts(fleet, fail_on)}


def json_report(fleet, generated_at=None):
    """The JSON report as data: every record of every host."""
    _check_fleet(fleet)
    return {
        "format": REPORT_FORMAT,
        "generated_at": generated_at,
        "severities": list(SEVERITIES),
        "counts": counts([r for records in fleet.values() for r in records]),
        "failing_hosts": failing_hosts(fleet),
        "hosts": dict((host, {"counts": counts(records), "records": records}) for host, records in fleet.items()),
    }


def render_json(fleet, generated_at=None):
    return json.dumps(json_report(fleet, generated_at), indent=2, sort_keys=True) + "\n"


# ---------------------------------------------------------------------------
# Markdown


def _cell(value):
    """A Markdown table cell: one line, pipes escaped."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return " ".join(str(text).split()).replace("|", "\\|")


def _hosts(number):
    return "%d host%s" % (number, "" if number == 1 else "s")


def _where(record):
    return record["cluster"]["name"] if record["cluster"] else "(host)"


def _evidence(record):
    return ", ".join("%s: %s" % (key, _cell(value)) for key, value in sorted(record["evidence"].items()))


def _by_check(fleet, status):
    """[(check id, [records])] of one status, most severe check first, hosts in name order."""
    groups = {}
    for host in sorted(fleet):
        for record in fleet[host]:
            if record["status"] == status:
                groups.setdefault(record["id"], []).append(record)
    return sorted(groups.items(), key=lambda item: (SEVERITIES.index(item[1][0]["severity"]), item[0]))


def render_markdown(fleet):
    _check_fleet(fleet)
    total = counts([r for records in fleet.values() for r in records])
    lines = ["# PostgreSQL fleet audit", "",
             "%s; findings: %s; %d answers not verifiable here." % (
                 _hosts(len(fleet)), ", ".join("%d %s" % (total[s], s) for s in SEVERITIES), total[NOT_VERIFIABLE]), ""]
    # Named before the table: an unread host's row shows a single high finding, easy to take for one hazard
    # on a host that was checked.
    unread = sorted(host for host, records in fleet.items()
                    if any(r["id"] == UNREAD.id and r["status"] == FINDING for r in records))
    if unread:
        lines += ["**%s not read** (%s): none of their checks ran; see %s below." % (
            _hosts(len(unread)), ", ".join(_cell(host) for host in unread), UNREAD.id), ""]
    lines += ["| host | " + " | ".join(SEVERITIES) + " | not verifiable | pass |",
              "|---|" + "---:|" * (len(SEVERITIES) + 2)]
    for host in sorted(fleet):
        row = counts(fleet[host])
        lines.append("| %s | %s |" % (_cell(host), " | ".join(str(row[k]) for k in SEVERITIES + (NOT_VERIFIABLE, PASS))))
    lines += ["", "## Findings", ""]
    findings = _by_check(fleet, FINDING)
    if not findings:
        lines += ["None.", ""]
    for check_id, records in findings:
        hosts = sorted(set(r["host"] for r in records))
        lines += ["### %s (%s): %s" % (check_id, records[0]["severity"], _hosts(len(hosts))), "",
                  "Risk: %s." % records[0]["risk"], "",
                  "| host | cluster | evidence | fix |", "|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s |" % (_cell(r["host"]), _cell(_where(r)), _evidence(r), _cell(r["fix"]))
                  for r in records]
        lines.append("")
    unverified = _by_check(fleet, NOT_VERIFIABLE)
    if unverified:
        lines += ["## Not verifiable here", "", "| check | host | cluster | reason |", "|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s |" % (check_id, _cell(r["host"]), _cell(_where(r)), _cell(r["reason"]))
                  for check_id, records in unverified for r in records]
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# JUnit XML


def _case_lines(records):
    return "\n".join("%s: %s; evidence %s; fix: %s" % (_where(r), r["risk"], json.dumps(r["evidence"], sort_keys=True),
                                                       r["fix"]) for r in records)


def _testcase(suite, host, check_id, records):
    """One testcase for a host and check: failed by a finding, skipped when only not verifiable."""
    case = ET.SubElement(suite, "testcase", name=check_id, classname=host)
    found = [r for r in records if r["status"] == FINDING]
    unverified = [r for r in records if r["status"] == NOT_VERIFIABLE]
    if found:
        failure = ET.SubElement(case, "failure", type=found[0]["severity"],
                                message="%s: %d finding(s)" % (found[0]["severity"], len(found)))
        failure.text = _case_lines(found)
        return "failures"
    if unverified:
        ET.SubElement(case, "skipped", message="; ".join("%s: %s" % (_where(r), r["reason"]) for r in unverified))
        return "skipped"
    return "passed"


def render_junit(fleet, name="pghost.hardening.audit"):
    _check_fleet(fleet)
    root = ET.Element("testsuites", name=name)
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for host in sorted(fleet):
        suite = ET.SubElement(root, "testsuite", name=host)
        tally = {"tests": 0, "failures": 0, "skipped": 0, "passed": 0}
        by_check = {}
        for record in fleet[host]:
            by_check.setdefault(record["id"], []).append(record)
        for check_id, records in by_check.items():
            tally[_testcase(suite, host, check_id, records)] += 1
            tally["tests"] += 1
        for key in totals:
            suite.set(key, str(tally[key]))
            totals[key] += tally[key]
        suite.set("errors", "0")
    for key in totals:
        root.set(key, str(totals[key]))
    root.set("errors", "0")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
