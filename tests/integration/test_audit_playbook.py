"""The fleet audit playbook (pghost.hardening.audit), run for real against the
FreeBSD stand-in host of test_freebsd_branches.py (its README says what the
test doubles are): in check mode and in a real run it changes no file of the
host and asks the stand-ins only read-only questions, reads the host with two
module calls, writes the three reports on the controller, and fails the host
at pghost_audit_fail_on after the reports are written. The FreeBSD checks
judge what pg_host_facts read from the stand-ins' ps and pw and the tree's
login.conf: a finding or a pass, none "not verifiable"."""

import json
import os
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from test_freebsd_branches import ROOT, Host, Play

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the tree's files the server's uid")

REPORTS = ("audit.json", "audit.md", "audit-junit.xml")


def audit(base, ansible_env, check=True, host_options=None, prepare=None, **extra_vars):
    """One audit run against a fresh stand-in host; prepare(host) may change it first."""
    host = Host(base, **(host_options or {}))
    try:
        if prepare:
            prepare(host)
        play = Play(host, ansible_env, extra_vars, check=check, playbook="pghost.hardening.audit")
    finally:
        host.close()
    play.reports = os.path.join(str(base), "pghost-audit")
    return play


def module_calls(play):
    """Names of the modules that ran on the host (not delegated, not skipped)."""
    return [name for name, result in play.results()
            if not result.get("skipped") and not result.get("_ansible_delegated_vars") and "invocation" in result]


@pytest.fixture(scope="module")
def checked(tmp_path_factory, ansible_env):
    return audit(tmp_path_factory.mktemp("audit-check"), ansible_env)


def test_check_mode_writes_the_reports_and_nothing_on_the_host(checked):
    assert checked.rc == 0 and not checked.failures(), (checked.failures(), checked.stderr[-2000:])
    assert checked.changed_files == []
    assert sorted(os.listdir(checked.reports)) == sorted(REPORTS)
    for name in REPORTS:
        assert oct(os.stat(os.path.join(checked.reports, name)).st_mode & 0o777) == "0o644"


def test_the_host_is_read_by_two_module_calls_and_only_asked_read_only_questions(checked):
    assert module_calls(checked) == ["Read the host and its PostgreSQL clusters",
                                     "pghost.hardening.pg_jail : Read the jails, their IPC and their PostgreSQL servers"]
    for tool in ("cap_mkdb", "protect", "service", "jexec", "sysrc"):
        assert checked.calls_of(tool) == [], checked.calls
    assert all("=" not in c for c in checked.calls_of("sysctl")), checked.calls_of("sysctl")
    # pg_host_facts' FreeBSD reads for the login class and protect(1): one each
    assert checked.calls_of("pw") == ["pw usershow -n postgres"]
    assert checked.calls_of("ps") == ["ps -o flags= -p %d" % checked.sleeper.pid]


def test_reports_parse_and_carry_the_hosts_findings(checked):
    with open(os.path.join(ROOT, "docs", "audit-report.schema.json")) as handle:
        schema = json.load(handle)
    with open(os.path.join(checked.reports, "audit.json")) as handle:
        report = json.load(handle)
    jsonschema.Draft202012Validator(schema).validate(report)
    records = report["hosts"]["localhost"]["records"]
    found = sorted(set((r["id"], r["severity"]) for r in records if r["status"] == "finding"))
    # three jails share the host's IPC as the server's UID; kern.ipc is below what the sysv cluster needs
    assert ("freebsd.jail_ipc_collision", "critical") in found
    assert ("kernel.sysv_below_need", "high") in found
    # the release pg_host_facts read from pg_settings reaches the fsync checks
    [minor] = [r for r in records if r["id"] == "fsync.minor_unfixed"]
    assert (minor["status"], minor["evidence"]["server_version"]) == ("pass", "16.4")
    # pg_host_facts' ps read: the recorded flags 10004002 lack P_PROTECTED
    [protect] = [r for r in records if r["id"] == "freebsd.postmaster_unprotected"]
    assert (protect["status"], protect["severity"], protect["cluster"]["name"]) == ("finding", "high", "postgresql")
    assert protect["evidence"] == {"pid": checked.sleeper.pid, "state": "unprotected", "flags": "10004002"}
    # postgres has no class in master.passwd: default, whose unlimited open files and processes are enough
    [login] = [r for r in records if r["id"] == "freebsd.login_class_missing"]
    assert login["status"] == "pass", login
    assert (login["evidence"]["class"], login["evidence"]["found"], login["evidence"]["below"]) == ("default", True, [])
    assert not [r for r in records if r["id"].startswith("freebsd.") and r["status"] == "not_verifiable"]
    junit = ET.parse(os.path.join(checked.reports, "audit-junit.xml")).getroot()
    assert int(junit.get("failures")) == len(set(r["id"] for r in records if r["status"] == "finding"))
    with open(os.path.join(checked.reports, "audit.md")) as handle:
        assert "### freebsd.jail_ipc_collision (critical): 1 host" in handle.read()


def test_set_stats_carries_the_counts_and_the_failing_hosts(checked):
    [stats] = [r for n, r in checked.results() if n == "Hand the counts per severity and the failing hosts to the job"]
    data = stats["ansible_stats"]["data"]
    assert data["pghost_audit_failing_hosts"] == ["localhost"]
    assert data["pghost_audit_counts"]["critical"] >= 1


def protected_in_the_hand_made_class(host):
    """The postmaster already protected; postgres in the hand-made class postgres (openfiles 8192/16384)."""
    with open(os.path.join(host.recorded, "ps-flags.txt"), "w") as handle:
        handle.write("10104002\n")
    path = os.path.join(host.tree, "etc", "master.passwd")
    with open(path) as handle:
        text = handle.read()
    with open(path, "w") as handle:
        handle.write(text.replace("postgres:*:770:770::", "postgres:*:770:770:postgres:"))


def test_a_protected_postmaster_passes_and_a_class_below_the_limits_is_a_finding(tmp_path, ansible_env):
    play = audit(tmp_path, ansible_env, check=False, host_options={"login_conf": "login.conf-postgres"},
                 prepare=protected_in_the_hand_made_class)
    assert play.rc == 0 and not play.failures(), (play.failures(), play.stderr[-2000:])
    assert play.changed_files == []
    with open(os.path.join(play.reports, "audit.json")) as handle:
        records = json.load(handle)["hosts"]["localhost"]["records"]
    [protect] = [r for r in records if r["id"] == "freebsd.postmaster_unprotected"]
    assert (protect["status"], protect["evidence"]["flags"]) == ("pass", "10104002")
    [login] = [r for r in records if r["id"] == "freebsd.login_class_missing"]
    assert (login["status"], login["evidence"]["class"], login["evidence"]["effective"]) == (
        "finding", "postgres", "postgres")
    assert [(b["capability"], b["limit"], b["has"], b["wants"]) for b in login["evidence"]["below"]] == [
        ("openfiles", "soft", "8192", "65536"), ("openfiles", "hard", "16384", "65536")]
    with open(os.path.join(play.reports, "audit.md")) as handle:
        assert "### freebsd.login_class_missing (medium): 1 host" in handle.read()


def test_fail_on_fails_the_host_after_the_reports_naming_the_ids(tmp_path, ansible_env):
    play = audit(tmp_path, ansible_env, check=False, pghost_audit_fail_on="critical")
    assert play.rc != 0
    [(name, message)] = play.failures()
    assert name == "Fail the hosts with a finding at or above pghost_audit_fail_on"
    assert message.startswith("findings at or above critical: freebsd.jail_ipc_collision ")
    assert sorted(os.listdir(play.reports)) == sorted(REPORTS)
    assert play.changed_files == []
    assert play.calls_of("sysrc") == [] and play.calls_of("protect") == []


def test_a_bad_fail_on_fails_before_the_host_is_read(tmp_path, ansible_env):
    play = audit(tmp_path, ansible_env, pghost_audit_fail_on="severe")
    [(name, message)] = play.failures()
    assert "value of pghost_audit_fail_on must be one of: none, critical, high, medium, low, info, got: severe" \
        in message
    assert play.calls == [] and not os.path.exists(play.reports)
