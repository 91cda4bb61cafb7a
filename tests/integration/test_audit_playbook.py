"""The fleet audit playbook (pghost.hardening.audit), run for real against the
FreeBSD stand-in host of test_freebsd_branches.py (its README says what the
test doubles are): in check mode and in a real run it changes no file of the
host and asks the stand-ins only read-only questions, reads the host with two
module calls, writes the three reports on the controller, and fails the host
at pghost_audit_fail_on after the reports are written. The FreeBSD checks
judge what pg_host_facts read from the stand-ins' ps and pw and the tree's
login.conf: a finding or a pass, none "not verifiable".

Hosts the audit cannot read are in the reports too, as host.unread with
Ansible's message: beside the stand-in, a fleet run has a host that is
unreachable (SSH to a closed port: refused at once) and one whose
pg_host_facts read fails (a pghost_clusters item that does not exist in the
stand-in's tree); a last run has no reachable host at all."""

import json
import os
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from test_freebsd_branches import ROOT, Host, Play

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the tree's files the server's uid")

REPORTS = ("audit.json", "audit.md", "audit-junit.xml")
with open(os.path.join(ROOT, "docs", "audit-report.schema.json")) as handle:
    SCHEMA = json.load(handle)

# Connection refused at once, so the run waits on no timeout (the timeout guards a port that drops instead).
UNREACHABLE = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1,
               "ansible_ssh_common_args": "-o ConnectTimeout=2 -o BatchMode=yes"}
MISSING_CLUSTER = "/var/db/postgres/data99"
READ_FAILS = {"ansible_connection": "local", "pghost_clusters": [{"data_directory": MISSING_CLUSTER}]}
STATS_TASK = "Hand the counts per severity and the failing hosts to the job"
JUDGE_STEPS = ("Read the units, the postmasters and logind's RemoveIPC without writing",
               "Read the jails, their IPC and their PostgreSQL servers", "Compute what the clusters need of the kernel")


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


def audit_fleet(host, ansible_env, name, hosts, **extra_vars):
    """A check-mode audit of the inventory `hosts` ({name: variables}) against the stand-in `host`, its
    reports in their own directory."""
    inventory = os.path.join(host.base, name + "-inventory.yml")
    with open(inventory, "w") as handle:
        json.dump({"all": {"hosts": hosts}}, handle)  # JSON is YAML
    reports = os.path.join(host.base, "pghost-audit-" + name)
    extra_vars["pghost_audit_dir"] = reports
    play = Play(host, ansible_env, extra_vars, name=name, playbook="pghost.hardening.audit", inventory=inventory)
    play.reports = reports
    return play


def module_calls(play, host="localhost"):
    """Names of the modules that ran on the host (not delegated, not skipped)."""
    return [name for name, result in play.results(host)
            if not result.get("skipped") and not result.get("_ansible_delegated_vars") and "invocation" in result]


def reports(play):
    """The three reports of a run: JSON (checked against the schema), Markdown text, JUnit root."""
    with open(os.path.join(play.reports, "audit.json")) as handle:
        report = json.load(handle)
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    with open(os.path.join(play.reports, "audit.md")) as handle:
        markdown = handle.read()
    return report, markdown, ET.parse(os.path.join(play.reports, "audit-junit.xml")).getroot()


def stats_of(play):
    """The set_stats data, from whichever host run_once ran the task on."""
    [stats] = [result for task in play.tasks if task["task"]["name"] == STATS_TASK for result in task["hosts"].values()]
    return stats["ansible_stats"]["data"]


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """One stand-in host for the check-mode runs, so that the fleet run reads exactly what the single-host run
    read (same tree, same postmaster pid)."""
    host = Host(tmp_path_factory.mktemp("audit-check"))
    yield host
    host.close()


@pytest.fixture(scope="module")
def checked(standin, ansible_env):
    play = Play(standin, ansible_env, playbook="pghost.hardening.audit")
    play.reports = os.path.join(standin.base, "pghost-audit")
    return play


@pytest.fixture(scope="module")
def fleet(standin, ansible_env):
    """The unreachable host first: run_once writes the reports from the first host, here one never read."""
    return audit_fleet(standin, ansible_env, "fleet",
                       {"unreachable": UNREACHABLE, "localhost": {"ansible_connection": "local"}, "badread": READ_FAILS},
                       pghost_audit_fail_on="high")


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
    report, dummy, dummy = reports(checked)
    records = report["hosts"]["localhost"]["records"]
    assert "host.unread" not in [r["id"] for r in records]  # a host that was read
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
    data = stats_of(checked)
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


# -- hosts the audit could not read ------------------------------------------------

def unread(report, host):
    """(cause, message) of the host's one record, which must be host.unread."""
    [record] = report["hosts"][host]["records"]
    assert [record[key] for key in ("id", "severity", "status", "cluster")] == ["host.unread", "high", "finding", None]
    return record["evidence"]["cause"], record["evidence"]["message"]


def test_unread_hosts_are_in_every_report_with_the_reason(fleet):
    report, markdown, junit = reports(fleet)
    assert sorted(report["hosts"]) == ["badread", "localhost", "unreachable"]
    cause, message = unread(report, "unreachable")
    assert cause == "unreachable"
    assert "Failed to connect to the host via ssh" in message and "port 1" in message
    cause, message = unread(report, "badread")
    assert cause == "read_failed"
    assert message.startswith("pghost_clusters[0] (data_directory %s): data directory %s does not exist"
                              % (MISSING_CLUSTER, MISSING_CLUSTER))
    assert report["failing_hosts"] == ["badread", "localhost", "unreachable"]
    assert "**2 hosts not read** (badread, unreachable): none of their checks ran; see host.unread below." in markdown
    assert "### host.unread (high): 2 hosts" in markdown
    assert "| unreachable | 0 | 1 | 0 | 0 | 0 | 0 | 0 |" in markdown
    [row] = [line for line in markdown.splitlines() if line.startswith("| badread | (host) | ")]
    assert "cause: read_failed, message: pghost_clusters[0] (data_directory %s)" % MISSING_CLUSTER in row
    for host, words in (("unreachable", "Failed to connect to the host via ssh"), ("badread", MISSING_CLUSTER)):
        suite = junit.find("testsuite[@name='%s']" % host)
        assert (suite.get("tests"), suite.get("failures")) == ("1", "1")
        failure = suite.find("testcase[@name='host.unread']/failure")
        assert failure.get("type") == "high" and words in failure.text
    assert stats_of(fleet)["pghost_audit_failing_hosts"] == ["badread", "localhost", "unreachable"]


def test_unread_hosts_are_not_touched_again_and_fail_on_high_fails_them(fleet):
    assert fleet.rc != 0
    for host in ("unreachable", "badread"):
        skipped = [name for name, result in fleet.results(host) if result.get("skipped")]
        assert set(JUDGE_STEPS) <= set(skipped), skipped
        assert fleet.failures(host)[-1] == ("Fail the hosts with a finding at or above pghost_audit_fail_on",
                                            "findings at or above high: host.unread (see %s/audit.md)" % fleet.reports)
    assert module_calls(fleet, "unreachable") == []
    assert module_calls(fleet, "badread") == ["Read the host and its PostgreSQL clusters"]
    [(name, message)] = fleet.failures("localhost")
    assert message.startswith("findings at or above high: ") and "host.unread" not in message
    assert fleet.changed_files == []
    for tool in ("cap_mkdb", "protect", "service", "jexec", "sysrc"):
        assert fleet.calls_of(tool) == [], fleet.calls


def test_the_read_hosts_records_are_the_same_beside_unread_hosts(checked, fleet):
    alone, dummy, dummy = reports(checked)
    beside, dummy, dummy = reports(fleet)
    assert beside["hosts"]["localhost"] == alone["hosts"]["localhost"]


def test_with_no_host_reachable_the_reports_are_still_written(standin, ansible_env):
    play = audit_fleet(standin, ansible_env, "down", {"down1": UNREACHABLE, "down2": UNREACHABLE})
    # Without pghost_audit_fail_on an unread host still fails the run, after the reports.
    assert play.rc != 0
    for host in ("down1", "down2"):
        [(name, message)] = play.failures(host)
        assert name == "Fail the hosts the audit could not read", (name, message)
        assert message.startswith("the audit could not read this host, so none of its checks ran: "), message
    report, markdown, junit = reports(play)
    assert [unread(report, host)[0] for host in ("down1", "down2")] == ["unreachable", "unreachable"]
    assert report["counts"]["high"] == 2 and report["failing_hosts"] == ["down1", "down2"]
    assert "**2 hosts not read** (down1, down2)" in markdown
    assert junit.get("failures") == "2"
    assert play.calls == []
