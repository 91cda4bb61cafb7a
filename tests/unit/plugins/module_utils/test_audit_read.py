# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host.unread: a host the audit could not read is one high finding carrying
Ansible's message, in every report; a host that was read never shows it.

The registered results are shaped as ansible-core 2.19 registers them with
ignore_unreachable / ignore_errors (recorded from a run against a closed SSH
port, a pghost_clusters item that does not exist, and a host without the
module's interpreter)."""

from __future__ import annotations

import copy
import json
import os
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from audit_inputs import POLICY, ROOT, converged_debian, fresh_debian

from ansible_collections.pghost.hardening.plugins.module_utils import audit_read, audit_report
from ansible_collections.pghost.hardening.plugins.module_utils.audit_findings import audit_host, platform_checks
from ansible_collections.pghost.hardening.plugins.module_utils.audit_record import AuditInputError, result_problem

with open(os.path.join(ROOT, "docs", "audit-report.schema.json")) as handle:
    SCHEMA = json.load(handle)

UNREACHABLE = {"changed": False, "unreachable": True,
               "msg": "Task failed: Failed to connect to the host via ssh: ssh: connect to host 192.0.2.1 port 22: "
                      "Connection timed out"}
FAILED = {"changed": False, "failed": True,
          "msg": "pghost_clusters[0] (data_directory /var/lib/postgresql/99/main): data directory "
                 "/var/lib/postgresql/99/main does not exist"}
NO_PYTHON = {"changed": False, "failed": True, "rc": 127, "module_stdout": "",
             "module_stderr": "/bin/sh: 1: /usr/bin/python3: not found\n",
             "msg": "Module result deserialization failed: No start of json char found"}


def good_read(facts):
    """pg_host_facts' registered result for a host it read."""
    return {"changed": False, "ansible_facts": {"pghost_host": facts["host"], "pghost_clusters_found": facts["clusters"]}}


def unread_facts(read):
    """What the audit playbook passes for a host that was not read: the read, and whatever ansible_facts still
    holds - here a fresh host's facts, as fact caching could keep them from an earlier run."""
    facts = fresh_debian()
    facts["read"] = read
    return facts


@pytest.mark.parametrize("read, cause, message", [
    (UNREACHABLE, "unreachable", UNREACHABLE["msg"]),
    (FAILED, "read_failed", FAILED["msg"]),
    (NO_PYTHON, "read_failed", NO_PYTHON["msg"]),
    ({"changed": False, "unreachable": True}, "unreachable", "unreachable (Ansible gave no message)"),
    ({"changed": False, "failed": True}, "read_failed", "pg_host_facts failed (Ansible gave no message)"),
    ({"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}, "read_failed",
     "pg_host_facts did not run for this host (Conditional result was False)"),
])
def test_a_host_not_read_is_one_high_finding_with_the_reason(read, cause, message):
    [record] = audit_host("db3", unread_facts(read), POLICY)
    assert [record[key] for key in ("host", "id", "severity", "status")] == ["db3", "host.unread", "high", "finding"]
    assert (record["cluster"], record["verifiable"], record["reason"]) == (None, True, None)
    assert (record["evidence"]["cause"], record["evidence"]["message"]) == (cause, message)
    assert record["fix"] == audit_read.FIXES[cause]


def test_a_module_that_did_not_start_keeps_its_stderr():
    [record] = audit_host("db3", unread_facts(NO_PYTHON), POLICY)
    assert record["evidence"]["module_stderr"] == "/bin/sh: 1: /usr/bin/python3: not found"
    long = dict(NO_PYTHON, module_stderr="x" * 5000 + "Traceback end\n")
    [record] = audit_host("db3", unread_facts(long), POLICY)
    assert len(record["evidence"]["module_stderr"]) == audit_read.STDERR_TAIL
    assert record["evidence"]["module_stderr"].endswith("Traceback end")


@pytest.mark.parametrize("make_facts", [fresh_debian, converged_debian])
def test_a_good_read_gives_no_unread_record_and_the_same_records(make_facts):
    without = audit_host("db1", make_facts(), POLICY)
    facts = make_facts()
    facts["read"] = good_read(facts)
    records = audit_host("db1", facts, POLICY)
    assert records == without
    assert "host.unread" not in [r["id"] for r in records]


@pytest.mark.parametrize("platform", ["linux", "freebsd"])
def test_no_platform_answers_host_unread(platform):
    assert "host.unread" not in platform_checks(platform)


def test_a_read_that_is_not_a_result_is_named():
    with pytest.raises(AuditInputError, match="facts.read: 'ok' is not pg_host_facts' registered result"):
        audit_host("db1", {"read": "ok"}, POLICY)


@pytest.mark.parametrize("result, module, expected", [
    (UNREACHABLE, "pg_service_units", "pg_service_units could not reach the host: " + UNREACHABLE["msg"]),
    (FAILED, "pg_jail_facts", "pg_jail_facts failed: " + FAILED["msg"]),
    ({"changed": False, "skipped": True}, "pg_service_units", "pg_service_units did not run for this host"),
    ({"changed": False}, "pg_service_units", None),
])
def test_result_problem_names_an_unreachable_host(result, module, expected):
    assert result_problem(result, module) == expected


def test_a_host_lost_after_its_first_read_says_so_in_its_process_checks():
    facts = fresh_debian()
    facts["service"] = UNREACHABLE
    process = [r for r in audit_host("db1", facts, POLICY) if r["id"].startswith("process.")]
    assert process and all(r["reason"] == "not verifiable here: pg_service_units could not reach the host: "
                           + UNREACHABLE["msg"] for r in process)


# -- every host the play started with -------------------------------------------------

def test_fleet_gives_a_host_that_left_the_play_host_unread():
    judged = {"db1": audit_host("db1", fresh_debian(), POLICY)}
    result = audit_read.fleet(["db1", "db2"], judged)
    assert list(result) == ["db1", "db2"]
    assert result["db1"] == judged["db1"]
    [record] = result["db2"]
    assert (record["host"], record["id"], record["status"]) == ("db2", "host.unread", "finding")
    assert record["evidence"] == {"cause": "not_judged", "message": audit_read.NOT_JUDGED_MESSAGE}
    assert record["fix"] == audit_read.FIXES["not_judged"]


def test_fleet_of_hosts_all_judged_is_the_judged_records():
    judged = {"db1": audit_host("db1", fresh_debian(), POLICY), "db2": audit_host("db2", converged_debian(), POLICY)}
    assert audit_read.fleet(["db2", "db1"], copy.deepcopy(judged)) == judged


@pytest.mark.parametrize("hosts, judged, message", [
    (["db1"], {"db1": [], "db9": []}, "judged: host(s) db9 are not among the play's hosts db1"),
    ("db1", {}, "hosts: 'db1' is not a list of host names"),
    ([1], {}, "hosts: [1] is not a list of host names"),
    (["db1"], [], "judged: [] is not a mapping of host to records"),
])
def test_fleet_refuses_input_it_cannot_use(hosts, judged, message):
    with pytest.raises(AuditInputError) as error:
        audit_read.fleet(hosts, judged)
    assert str(error.value).startswith(message)


# -- the reports ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def fleet():
    """db1 read, db3 unreachable, db4 whose read failed, db5 that left the play before it was judged."""
    judged = {"db1": audit_host("db1", fresh_debian(), POLICY),
              "db3": audit_host("db3", unread_facts(UNREACHABLE), POLICY),
              "db4": audit_host("db4", unread_facts(FAILED), POLICY)}
    return audit_read.fleet(["db1", "db3", "db4", "db5"], judged)


def test_the_json_report_validates_and_lists_the_unread_hosts_as_failing(fleet):
    report = audit_report.json_report(fleet)
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert report["failing_hosts"] == ["db1", "db3", "db4", "db5"]
    assert report["hosts"]["db3"]["counts"] == {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0,
                                                "not_verifiable": 0, "pass": 0}
    assert report["hosts"]["db3"]["records"][0]["evidence"]["message"] == UNREACHABLE["msg"]


@pytest.mark.parametrize("change, value", [
    ("cluster", {"name": "15/main", "version": "15", "data_directory": "/var/lib/postgresql/15/main"}),
    ("status", "pass"),
    ("severity", "medium"),
    ("evidence", {"cause": "offline", "message": "x"}),
    ("evidence", {"cause": "unreachable"}),
])
def test_the_schema_refuses_a_host_unread_record_of_another_shape(fleet, change, value):
    report = audit_report.json_report(copy.deepcopy(fleet))
    report["hosts"]["db3"]["records"][0][change] = value
    if change == "status" and value == "pass":
        report["hosts"]["db3"]["records"][0]["verifiable"] = True
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(report)


def test_markdown_names_the_unread_hosts_before_the_table_and_under_findings(fleet):
    text = audit_report.render_markdown(fleet)
    lines = text.splitlines()
    assert lines[2].startswith("4 hosts; findings: 0 critical, 4 high, ")
    assert lines[4] == "**3 hosts not read** (db3, db4, db5): none of their checks ran; see host.unread below."
    assert "| db3 | 0 | 1 | 0 | 0 | 0 | 0 | 0 |" in lines
    assert "### host.unread (high): 3 hosts" in lines
    [row] = [line for line in lines if line.startswith("| db3 | (host) | ")]
    assert "cause: unreachable, message: Task failed: Failed to connect to the host via ssh" in row
    assert row.endswith("| %s |" % audit_read.FIXES["unreachable"])


def test_markdown_of_a_fleet_all_read_has_no_unread_line():
    text = audit_report.render_markdown({"db1": audit_host("db1", fresh_debian(), POLICY)})
    assert "not read" not in text and "host.unread" not in text


def test_junit_fails_the_unread_hosts_with_the_reason(fleet):
    root = ET.fromstring(audit_report.render_junit(fleet))
    for host, cause in (("db3", "unreachable"), ("db4", "read_failed"), ("db5", "not_judged")):
        suite = root.find("testsuite[@name='%s']" % host)
        assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("1", "1", "0")
        failure = suite.find("testcase[@name='host.unread']/failure")
        assert failure.get("type") == "high"
        assert '"cause": "%s"' % cause in failure.text
    assert FAILED["msg"] in root.find("testsuite[@name='db4']/testcase/failure").text


@pytest.mark.parametrize("threshold, hosts", [
    ("critical", []),
    ("high", ["db1", "db3", "db4", "db5"]),
    ("info", ["db1", "db3", "db4", "db5"]),
])
def test_fail_on_high_fails_the_unread_hosts(fleet, threshold, hosts):
    assert audit_report.stats(fleet, threshold)["pghost_audit_failing_hosts"] == hosts
    for host in ("db3", "db4", "db5"):
        assert [r["id"] for r in audit_report.failing(fleet[host], threshold)] == (["host.unread"] if hosts else [])
