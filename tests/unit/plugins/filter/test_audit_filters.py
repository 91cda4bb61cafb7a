# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet audit's filters: thin shells over audit_findings and audit_report,
fed the recorded-style inputs of tests/unit/audit_inputs.py."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from ansible.errors import AnsibleFilterError
from audit_inputs import POLICY, ROOT, converged_debian, fresh_debian

from ansible_collections.pghost.hardening.plugins.filter import audit_failing, audit_fleet, audit_records, audit_report, audit_stats

records_of = audit_records.FilterModule().filters()["audit_records"]
fleet_of = audit_fleet.FilterModule().filters()["audit_fleet"]
report = audit_report.FilterModule().filters()["audit_report"]
stats_of = audit_stats.FilterModule().filters()["audit_stats"]
failing_of = audit_failing.FilterModule().filters()["audit_failing"]

with open(os.path.join(ROOT, "docs", "audit-report.schema.json")) as handle:
    SCHEMA = json.load(handle)


def fleet():
    return {"db1": records_of(fresh_debian(), POLICY, "db1"), "db2": records_of(converged_debian(), POLICY, "db2")}


@pytest.mark.parametrize("module, name", [
    (audit_records, "audit_records"), (audit_report, "audit_report"), (audit_stats, "audit_stats"),
    (audit_failing, "audit_failing"), (audit_fleet, "audit_fleet"),
])
def test_registered_names(module, name):
    assert set(module.FilterModule().filters()) == {name}


def test_records_carry_the_host_and_find_a_fresh_hosts_hazards():
    records = records_of(fresh_debian(), POLICY, "db1")
    assert set(r["host"] for r in records) == {"db1"}
    assert ("process.postmaster_unprotected", "finding") in [(r["id"], r["status"]) for r in records]
    assert [r for r in records_of(converged_debian(), POLICY, "db2") if r["status"] == "finding"] == []


def test_a_skipped_module_result_makes_its_checks_not_verifiable():
    facts = fresh_debian()
    facts["service"] = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}
    process = [r for r in records_of(facts, POLICY, "db1") if r["id"].startswith("process.")]
    assert process and all(r["reason"] == "not verifiable here: pg_service_units did not run for this host"
                           for r in process)


def test_an_unreachable_host_is_one_high_finding_naming_the_connection_error():
    read = {"changed": False, "unreachable": True, "msg": "Task failed: Failed to connect to the host via ssh"}
    [record] = records_of({"read": read, "host": None, "clusters": None, "kernel": None}, POLICY, "db3")
    assert [record[key] for key in ("host", "id", "severity", "status")] == ["db3", "host.unread", "high", "finding"]
    assert record["evidence"] == {"cause": "unreachable", "message": read["msg"]}


def test_fleet_covers_every_host_the_play_started_with():
    judged = fleet()
    result = fleet_of(["db1", "db2", "db9"], judged)
    assert (result["db1"], result["db2"]) == (judged["db1"], judged["db2"])
    assert [(r["host"], r["id"], r["evidence"]["cause"]) for r in result["db9"]] == [("db9", "host.unread", "not_judged")]
    data = json.loads(report(result, "json"))
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert data["failing_hosts"] == ["db1", "db9"]


def test_fleet_names_a_judged_host_the_play_did_not_start_with():
    with pytest.raises(AnsibleFilterError) as exc:
        fleet_of(["db1"], fleet())
    assert str(exc.value) == "audit_fleet: judged: host(s) db2 are not among the play's hosts db1"


@pytest.mark.parametrize("facts, policy, message", [
    ({"host": {"platform": "aix"}}, POLICY, "audit_records for db1: facts.host.platform: 'aix' is not one of"),
    ({"hosts": {}}, POLICY, "audit_records for db1: facts: unknown key(s) hosts"),
    ("x", POLICY, "audit_records for db1: facts: 'x' is not a mapping"),
    (None, None, "audit_records: policy is None, not a mapping of role variables"),
])
def test_bad_input_is_a_filter_error_naming_it(facts, policy, message):
    with pytest.raises(AnsibleFilterError) as exc:
        records_of(facts, policy, "db1")
    assert str(exc.value).startswith(message)


def test_a_missing_policy_variable_is_named():
    policy = dict(POLICY)
    del policy["pg_service_limit_nofile"]
    with pytest.raises(AnsibleFilterError) as exc:
        records_of(fresh_debian(), policy, "db1")
    assert "policy.pg_service_limit_nofile: missing" in str(exc.value)


def test_json_report_validates_against_the_schema():
    data = json.loads(report(fleet(), "json", "2026-12-06T02:00:00Z"))
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert data["generated_at"] == "2026-12-06T02:00:00Z"
    assert data["failing_hosts"] == ["db1"]


def test_markdown_report_has_the_hosts_and_findings():
    text = report(fleet(), "markdown")
    assert text.startswith("# PostgreSQL fleet audit\n")
    assert "| db1 |" in text and "| db2 |" in text
    assert "### process.postmaster_unprotected (high): 1 host" in text


def test_junit_report_parses_and_fails_only_the_fresh_host():
    root = ET.fromstring(report(fleet(), "junit"))
    suites = dict((suite.get("name"), suite) for suite in root.iter("testsuite"))
    assert set(suites) == {"db1", "db2"}
    assert int(suites["db1"].get("failures")) > 0
    assert suites["db2"].get("failures") == "0"


@pytest.mark.parametrize("format", ["html", "JSON", None])
def test_an_unknown_format_is_named(format):
    with pytest.raises(AnsibleFilterError) as exc:
        report(fleet(), format)
    assert str(exc.value) == "audit_report: format %r is not accepted; expected one of json, junit, markdown" % (format,)


def test_a_fleet_that_is_not_records_per_host_is_an_error():
    with pytest.raises(AnsibleFilterError) as exc:
        report(["db1"], "markdown")
    assert str(exc.value).startswith("audit_report: fleet: expected {host: [records]}")


@pytest.mark.parametrize("fail_on, failing_hosts", [
    ("none", ["db1"]), (None, ["db1"]), ("critical", []), ("high", ["db1"]), ("low", ["db1"]),
])
def test_stats_count_per_severity_and_name_the_failing_hosts(fail_on, failing_hosts):
    figures = stats_of(fleet(), fail_on)
    assert figures["pghost_audit_failing_hosts"] == failing_hosts
    fresh = [r for r in fleet()["db1"] if r["status"] == "finding"]
    assert figures["pghost_audit_counts"]["high"] == len([r for r in fresh if r["severity"] == "high"]) == 1
    assert figures["pghost_audit_counts"]["medium"] == len([r for r in fresh if r["severity"] == "medium"]) == 4


@pytest.mark.parametrize("fail_on, ids", [
    ("none", []),
    ("critical", []),
    ("high", ["process.postmaster_unprotected"]),
    ("medium", ["kernel.hugepages_short_try", "kernel.overcommit_not_strict", "process.limits_below_need",
                "process.postmaster_unprotected", "process.shutdown_sigterm"]),
])
def test_failing_is_the_findings_at_or_above_the_threshold(fail_on, ids):
    records = fleet()["db1"]
    assert sorted(r["id"] for r in failing_of(records, fail_on)) == ids
    assert failing_of(fleet()["db2"], "info") == []


@pytest.mark.parametrize("fail_on", ["severe", "HIGH", ""])
def test_a_bad_threshold_names_the_variable_the_value_and_what_is_accepted(fail_on):
    for call in (lambda: failing_of(fleet()["db1"], fail_on), lambda: stats_of(fleet(), fail_on)):
        with pytest.raises(AnsibleFilterError) as exc:
            call()
        assert "pghost_audit_fail_on: %r is not accepted; expected none or one of critical, high, medium, low, info" \
            % fail_on in str(exc.value)


@pytest.mark.parametrize("records", [None, {"id": "x"}, [{"id": "x"}]])
def test_failing_refuses_what_is_not_records(records):
    with pytest.raises(AnsibleFilterError):
        failing_of(records, "high")
