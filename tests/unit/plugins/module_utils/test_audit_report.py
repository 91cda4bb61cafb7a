# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit's reports: JSON valid against docs/audit-report.schema.json,
JUnit XML that parses with one testcase per host and check, the Markdown
summary, set_stats and the fail_on threshold.

The fleet: a fresh Debian host, the same host converged, a converged
container (global values not verifiable) and a FreeBSD host whose jails
collide."""

from __future__ import annotations

import copy
import json
import os
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from audit_inputs import POLICY, ROOT, cluster, container_host, converged_debian, fresh_debian

from ansible_collections.pghost.hardening.plugins.module_utils import audit_report
from ansible_collections.pghost.hardening.plugins.module_utils.audit_findings import audit_host
from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import SEVERITIES, AuditInputError

with open(os.path.join(ROOT, "docs", "audit-report.schema.json")) as handle:
    SCHEMA = json.load(handle)


def freebsd_facts():
    jails = {"freebsd_release": "13.2-RELEASE-p4", "supports_sysvshm_new": True, "isolation_default": "new",
             "host": {"server_user": "postgres", "uid": 770, "gid": 770, "has_postgresql": False}, "jails": [],
             "collisions": [{"jails": ["pg3", "pg5"], "uid": 770, "message": "jails pg3, pg5 share ... | UID 770"}]}
    host = {"platform": "freebsd", "sysctl": {}, "container": {"is_container": False, "type": None}}
    return {"host": host, "clusters": [cluster(version="16", name="/var/db/postgres/data16")], "jails": jails}


def container_facts():
    facts = converged_debian()
    facts["host"] = container_host(**facts["host"]["sysctl"])
    return facts


@pytest.fixture(scope="module")
def fleet():
    return {"db1": audit_host("db1", fresh_debian(), POLICY), "db2": audit_host("db2", converged_debian(), POLICY),
            "ct1": audit_host("ct1", container_facts(), POLICY), "bsd1": audit_host("bsd1", freebsd_facts(), POLICY)}


def findings(records):
    return [r for r in records if r["status"] == "finding"]


# -- JSON -----------------------------------------------------------------------

def test_json_report_validates_against_the_shipped_schema(fleet):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    report = json.loads(audit_report.render_json(fleet, generated_at="2026-12-06T02:00:00Z"))
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert report["generated_at"] == "2026-12-06T02:00:00Z"
    assert sum(len(host["records"]) for host in report["hosts"].values()) == sum(len(r) for r in fleet.values())


def test_the_schema_refuses_a_record_that_contradicts_itself(fleet):
    report = audit_report.json_report(copy.deepcopy(fleet))
    record = next(r for r in report["hosts"]["ct1"]["records"] if r["status"] == "not_verifiable")
    record["verifiable"] = True
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_the_schema_names_the_severities_of_the_code():
    assert tuple(SCHEMA["properties"]["severities"]["const"]) == SEVERITIES
    assert tuple(SCHEMA["$defs"]["severity"]["enum"]) == SEVERITIES


def test_counts_and_failing_hosts(fleet):
    report = audit_report.json_report(fleet)
    assert report["failing_hosts"] == ["bsd1", "db1"]
    assert report["hosts"]["db1"]["counts"] == {"critical": 0, "high": 1, "medium": 4, "low": 2, "info": 0,
                                                "not_verifiable": 1, "pass": len(fleet["db1"]) - 8}
    assert report["hosts"]["bsd1"]["counts"]["critical"] == 1
    for key in report["counts"]:
        assert report["counts"][key] == sum(host["counts"][key] for host in report["hosts"].values())


# -- JUnit ------------------------------------------------------------------------

def test_junit_has_one_testcase_per_host_and_check(fleet):
    root = ET.fromstring(audit_report.render_junit(fleet))
    assert root.tag == "testsuites"
    suites = dict((suite.get("name"), suite) for suite in root.findall("testsuite"))
    assert sorted(suites) == sorted(fleet)
    for host, records in fleet.items():
        cases = suites[host].findall("testcase")
        assert sorted(c.get("name") for c in cases) == sorted(set(r["id"] for r in records))
        assert all(c.get("classname") == host for c in cases)
        failed = [c for c in cases if c.find("failure") is not None]
        skipped = [c for c in cases if c.find("skipped") is not None]
        assert suites[host].get("tests") == str(len(cases))
        assert suites[host].get("failures") == str(len(failed))
        assert suites[host].get("skipped") == str(len(skipped))
    assert root.get("tests") == str(sum(len(s.findall("testcase")) for s in suites.values()))


def test_junit_failures_and_skips_of_the_fresh_and_the_container_host(fleet):
    root = ET.fromstring(audit_report.render_junit(fleet))
    db1 = root.find("testsuite[@name='db1']")
    assert db1.get("failures") == "7"
    assert db1.get("skipped") == "1"  # data_sync_retry: pg_host_facts does not read it
    failure = db1.find("testcase[@name='process.postmaster_unprotected']/failure")
    assert failure.get("type") == "high"
    assert '"oom_score_adj": -900' in failure.text
    ct1 = root.find("testsuite[@name='ct1']")
    assert ct1.get("failures") == "0"
    skipped = ct1.find("testcase[@name='kernel.overcommit_not_strict']/skipped")
    assert "not verifiable here: vm.overcommit_memory is global to the kernel" in skipped.get("message")
    assert root.find("testsuite[@name='db2']").get("failures") == "0"
    assert root.find("testsuite[@name='db2']").get("skipped") == "0"


# -- Markdown ------------------------------------------------------------------------

def test_markdown_table_then_findings_by_check(fleet):
    text = audit_report.render_markdown(fleet)
    lines = text.splitlines()
    assert lines[0] == "# PostgreSQL fleet audit"
    assert lines[2].startswith("4 hosts; findings: 1 critical, 1 high, ")
    assert "| host | critical | high | medium | low | info | not verifiable | pass |" in lines
    db1 = audit_report.counts(fleet["db1"])
    assert "| db1 | 0 | 1 | 4 | 2 | 0 | 1 | %d |" % db1["pass"] in lines
    headings = [line for line in lines if line.startswith("### ")]
    assert headings[0] == "### freebsd.jail_ipc_collision (critical): 1 host"
    assert "### process.postmaster_unprotected (high): 1 host" in headings
    # most severe first
    order = [SEVERITIES.index(h.split("(")[1].split(")")[0]) for h in headings]
    assert order == sorted(order)
    assert "share ... \\| UID 770" in text  # a pipe in evidence does not break the table
    assert "## Not verifiable here" in lines


def test_markdown_of_a_clean_fleet_says_none():
    clean = {"db2": audit_host("db2", converged_debian(), POLICY)}
    text = audit_report.render_markdown(clean)
    assert "## Findings\n\nNone.\n" in text
    assert "Not verifiable" not in text


# -- set_stats and fail_on ------------------------------------------------------------

@pytest.mark.parametrize("threshold, hosts", [
    (None, ["bsd1", "db1"]),
    ("none", ["bsd1", "db1"]),
    ("critical", ["bsd1"]),
    ("high", ["bsd1", "db1"]),
    ("info", ["bsd1", "db1"]),
])
def test_stats_for_set_stats(fleet, threshold, hosts):
    result = audit_report.stats(fleet, threshold)
    assert result["pghost_audit_failing_hosts"] == hosts
    assert result["pghost_audit_counts"]["critical"] == 1
    assert result["pghost_audit_counts"]["high"] == 1


@pytest.mark.parametrize("threshold, expected", [
    (None, []),
    ("none", []),
    ("critical", []),
    ("high", ["process.postmaster_unprotected"]),
    ("medium", ["kernel.hugepages_short_try", "kernel.overcommit_not_strict", "process.limits_below_need",
                "process.postmaster_unprotected", "process.shutdown_sigterm"]),
    ("low", sorted(r["id"] for r in findings(audit_host("db1", fresh_debian(), POLICY)))),
])
def test_fail_on(fleet, threshold, expected):
    assert sorted(r["id"] for r in audit_report.failing(fleet["db1"], threshold)) == expected


@pytest.mark.parametrize("value", ["severe", "HIGH", ""])
def test_fail_on_refuses_an_unknown_severity(value):
    wanted = "pghost_audit_fail_on: .* is not accepted; expected none or one of critical, high, medium, low, info"
    with pytest.raises(AuditInputError, match=wanted):
        audit_report.fail_on_threshold(value)


def test_a_fleet_that_is_not_a_mapping_of_lists_is_refused():
    with pytest.raises(AuditInputError, match="fleet: expected"):
        audit_report.render_junit({"db1": {}})
