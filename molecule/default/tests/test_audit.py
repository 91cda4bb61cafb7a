"""The fleet audit (pghost.hardening.audit) of this scenario's containers.

side_effect audit_fresh.yml audited the hosts as Debian ships them, and
audit_converged.yml audited them again after the site playbook; both wrote
their reports on the controller, in the scenario's ephemeral directory,
where this reads them. That neither audit changed anything on a host (/etc
with modes, owners and link targets, live values, units, postmaster PIDs and
start times) is proven by the check_unchanged_* step that follows each one
(../shared/files/host_state.sh).

What a container cannot show (vm.* and THP are the CI machine's, a negative
oom_score_adj is refused, PID 1 caps the limits) must be reported "not
verifiable here", never passed: those ids are pinned below. The scenario's
restart policy is `never`, so after converge the running postmaster still
has Debian's limits and the audit says a restart is pending.
"""

import json
import os

import jsonschema
import junitparser
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "..", "docs", "audit-report.schema.json")
CONTAINER_CANNOT_SHOW = {"kernel.commit_limit_short", "kernel.overcommit_not_strict", "kernel.swappiness_high",
                         "kernel.thp_always", "kernel.hugepages_short_try", "process.postmaster_unprotected"}
EXPECTED = {
    # Debian's unit: SIGTERM with KillMode=control-group; nofile 1024, nproc and memlock below the need.
    "fresh": {"finding": {"process.shutdown_sigterm", "process.limits_below_need"},
              "not_verifiable": CONTAINER_CANNOT_SHOW},
    # The drop-ins are in place; the postmaster started before them (restart policy never).
    "converged": {"finding": {"process.restart_pending"},
                  "not_verifiable": CONTAINER_CANNOT_SHOW | {"process.limits_below_need"}},
}


def report_dir(phase):
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "audit-" + phase)


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def audit(request):
    with open(os.path.join(report_dir(request.param), "audit.json")) as handle:
        return request.param, json.load(handle)


def ids(records, status):
    return {record["id"] for record in records if record["status"] == status}


def test_the_report_validates_against_the_shipped_schema(audit):
    phase, report = audit
    with open(SCHEMA) as handle:
        jsonschema.validate(report, json.load(handle))


def test_findings_are_the_pinned_ones(host, audit):
    phase, report = audit
    records = report["hosts"][host.backend.get_hostname()]["records"]
    for record in records:
        print("OBSERVED: audit %s %s %s %s %s" % (phase, host.backend.get_hostname(), record["id"], record["status"],
                                                  record["reason"] or json.dumps(record["evidence"], sort_keys=True)))
    assert ids(records, "finding") == EXPECTED[phase]["finding"]
    assert ids(records, "not_verifiable") == EXPECTED[phase]["not_verifiable"]
    assert all(record["reason"].startswith("not verifiable here: ") for record in records
               if record["status"] == "not_verifiable")


def test_the_fresh_hosts_findings_name_the_live_numbers(host):
    with open(os.path.join(report_dir("fresh"), "audit.json")) as handle:
        records = json.load(handle)["hosts"][host.backend.get_hostname()]["records"]
    shutdown = [r for r in records if r["id"] == "process.shutdown_sigterm"][0]["evidence"]
    assert shutdown["KillMode"] == "control-group" and str(shutdown["KillSignal"]) == "15"
    limits = [r for r in records if r["id"] == "process.limits_below_need"][0]["evidence"]
    assert "LimitNOFILE" in limits["below"]
    assert limits["limits"]["LimitNOFILE"]["live"].startswith("1024:")


def test_junit_report_has_one_case_per_host_and_check(host, audit):
    phase, report = audit
    name = host.backend.get_hostname()
    suites = {suite.name: suite for suite in junitparser.JUnitXml.fromfile(
        os.path.join(report_dir(phase), "audit-junit.xml"))}
    cases = list(suites[name])
    records = report["hosts"][name]["records"]
    assert {case.name for case in cases} == {record["id"] for record in records}
    failed = {case.name for case in cases if any(isinstance(r, junitparser.Failure) for r in case.result)}
    skipped = {case.name for case in cases if any(isinstance(r, junitparser.Skipped) for r in case.result)}
    assert failed == EXPECTED[phase]["finding"]
    assert skipped == EXPECTED[phase]["not_verifiable"]


def test_markdown_summary_counts_this_host(host, audit):
    phase, report = audit
    name = host.backend.get_hostname()
    with open(os.path.join(report_dir(phase), "audit.md")) as handle:
        summary = handle.read().partition("## Findings")[0]   # the hosts x severity table
    row = [line for line in summary.splitlines() if line.startswith("| %s |" % name)]
    assert len(row) == 1
    counts = report["hosts"][name]["counts"]
    assert row[0].split("|")[2:9] == [" %d " % counts[key] for key in
                                      ("critical", "high", "medium", "low", "info", "not_verifiable", "pass")]
