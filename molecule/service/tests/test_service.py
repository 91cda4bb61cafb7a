"""Role pg_service read back from the live units and processes.

What systemd was told (`systemctl show`) is compared with what the
processes got (/proc/<pid>/environ, oom_score_adj, limits). Two things this
sandbox does not allow are reported as seen instead of claimed: negative
oom_score_adj values are refused (no CAP_SYS_RESOURCE), and no process gets
a limit above PID 1's hard limit. Such observations are emitted as pytest
warnings (the run's "warnings summary"); they never pass a value that was
not there.

All live state is read in one round trip per host by ../shared/files/pghost_probe.py
--verify (testinfra's Ansible backend costs about a second per command).
It also returns the evidence the scenario's playbooks left in /root:
  service-before         prepare, before any role ran
  service-never          first converge, pg_service_restart never
  service-if_needed      first converge, pg_service_restart if_needed
  service-*-last         the same runs again, in the idempotence step
  fault3                 fault3.yml (+ its server log and pgbench output)
"""

import os
import re
import sys

import pytest
import yaml

# Helpers shared with the other container verifiers (molecule/shared/verify_common.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
from verify_common import INF, observe, number, run_probe, seconds  # noqa: E402  pylint: disable=wrong-import-position

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE_DEFAULTS = os.path.join(HERE, "..", "..", "..", "roles", "pg_service", "defaults", "main.yml")
DROPINS = ("60-pghost-oom.conf", "60-pghost-shutdown.conf", "60-pghost-limits.conf")
# systemctl show suffix -> /proc/<pid>/limits row, and the role variable
LIMITS = {
    "NOFILE": ("Max open files", "pg_service_limit_nofile"),
    "NPROC": ("Max processes", "pg_service_limit_nproc"),
    "MEMLOCK": ("Max locked memory", "pg_service_limit_memlock"),
}
OOM_FILE = "PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj"


@pytest.fixture(scope="module")
def state(host):
    return run_probe(host, "--verify")


@pytest.fixture(scope="module")
def role_vars(host):
    with open(ROLE_DEFAULTS) as handle:
        values = yaml.safe_load(handle) or {}
    inventory = host.ansible.get_variables()
    values.update({k: v for k, v in inventory.items() if k.startswith("pg_service_")})
    values["major"] = str(inventory["pghost_expected_major"])
    return values


@pytest.fixture(scope="module")
def clusters(state, role_vars):
    found = state["clusters"]
    assert [c["name"] for c in found] == ["main", "second"], [c["unit"] for c in found]
    assert {c["version"] for c in found} == {role_vars["major"]}
    return found


@pytest.fixture(scope="module")
def evidence(state):
    return state["evidence"]


@pytest.fixture(scope="module")
def before(evidence):
    return {c["unit"]: c for c in evidence["service-before"]["clusters"]}


def role_entry(report, unit):
    entries = [c for c in report["pghost_service"]["clusters"] if c["unit"] == unit]
    assert len(entries) == 1, "pghost_service has %d entries for %s" % (len(entries), unit)
    return entries[0]


def live_entry(report, unit):
    return next(c for c in report["live"]["clusters"] if c["unit"] == unit)["postmaster"]


# --- the unit as systemd sees it ------------------------------------------


def test_drop_ins_are_loaded_and_carry_the_collections_header(clusters):
    for cluster in clusters:
        for name in DROPINS:
            paths = [p for p in cluster["drop_ins"] if os.path.basename(p) == name]
            assert paths == ["/etc/systemd/system/%s.d/%s" % (cluster["unit"], name)], cluster["drop_ins"].keys()
            assert "pghost.hardening" in cluster["drop_ins"][paths[0]].splitlines()[0]


def test_systemd_reports_oom_score_and_fast_shutdown(clusters, role_vars, before):
    for cluster in clusters:
        props = cluster["show"]
        assert int(props["OOMScoreAdjust"]) == role_vars["pg_service_oom_score_adjust"]
        # A backend's OOM kill is the postmaster's to handle, not a reason to stop
        # the unit (what it does under OOM is proven in molecule/realkernel).
        assert props["OOMPolicy"] == "continue"
        assert before[cluster["unit"]]["show"]["OOMPolicy"] == "stop"
        assert props["KillMode"] == "mixed"
        assert props["KillSignal"] == "2"  # SIGINT: fast shutdown
        # Never shorter than the unit's own TimeoutStopSec (Debian: 1h).
        old = seconds(before[cluster["unit"]]["show"]["TimeoutStopUSec"])
        assert seconds(props["TimeoutStopUSec"]) == max(role_vars["pg_service_timeout_stop_sec"], old)


def test_pg_oom_adjust_variables_are_given_where_the_start_path_reads_them(clusters, role_vars):
    value = "PG_OOM_ADJUST_VALUE=%d" % role_vars["pg_service_backend_oom_score_adjust"]
    for cluster in clusters:
        env = cluster["show"]["Environment"].split()
        if env:
            assert OOM_FILE in env and value in env, env
        else:
            # Debian: pg_ctlcluster replaces its whole environment with the
            # cluster's `environment` file, so the variables must be there.
            settings = dict(
                (k.strip(), v.strip().strip("'"))
                for k, dummy, v in (line.partition("=") for line in cluster["environment_file"].splitlines())
                if not k.strip().startswith("#") and v
            )
            assert "%s=%s" % ("PG_OOM_ADJUST_FILE", settings.get("PG_OOM_ADJUST_FILE")) == OOM_FILE
            assert "%s=%s" % ("PG_OOM_ADJUST_VALUE", settings.get("PG_OOM_ADJUST_VALUE")) == value


def test_systemd_reports_limits_never_below_what_the_unit_had(clusters, role_vars, before):
    for cluster in clusters:
        props, old = cluster["show"], before[cluster["unit"]]["show"]
        for key, (dummy, var) in LIMITS.items():
            soft, hard = number(props["Limit%sSoft" % key]), number(props["Limit" + key])
            was_soft, was_hard = number(old["Limit%sSoft" % key]), number(old["Limit" + key])
            assert soft >= was_soft and hard >= was_hard, "%s Limit%s lowered: %s:%s -> %s:%s" % (
                cluster["unit"], key, was_soft, was_hard, soft, hard)
            wanted = role_vars[var]
            if str(wanted) != "auto":
                wanted = number(wanted)
                assert (soft, hard) == (max(wanted, was_soft), max(wanted, was_hard)), (key, soft, hard)


# --- what the processes got ------------------------------------------------


def test_postmaster_environment_holds_both_oom_variables(clusters, role_vars):
    value = "PG_OOM_ADJUST_VALUE=%d" % role_vars["pg_service_backend_oom_score_adjust"]
    for cluster in clusters:
        assert cluster["postmaster"]["environ_pg_oom"] == [OOM_FILE, value], cluster["unit"]


def test_every_backend_has_pg_oom_adjust_value(clusters, role_vars):
    value = role_vars["pg_service_backend_oom_score_adjust"]
    for cluster in clusters:
        kids = cluster["children"]
        assert len(kids) >= 4, kids
        assert [k for k in kids if k["oom_score_adj"] != value] == [], cluster["unit"]
        # A client backend read its own /proc/self/oom_score_adj.
        assert cluster["client_backend_oom_score_adj"] == value


def test_every_backend_under_load_had_pg_oom_adjust_value(evidence, role_vars):
    value = role_vars["pg_service_backend_oom_score_adjust"]
    main = next(c for c in evidence["fault3"]["under_load"]["clusters"] if c["name"] == "main")
    clients = [k for k in main["children"] if "postgres pghost_bench [local]" in k["cmdline"]]
    assert len(clients) == 4, main["children"]
    assert [k for k in main["children"] if k["oom_score_adj"] != value] == []


def test_postmaster_oom_score_adj_as_seen(state, clusters, role_vars):
    asked = role_vars["pg_service_oom_score_adjust"]
    value = role_vars["pg_service_backend_oom_score_adjust"]
    pid1 = state["pid1_oom_score_adj"]
    for cluster in clusters:
        seen = cluster["postmaster"]["oom_score_adj"]
        if seen != asked:
            assert state["negative_oom_refused"] and asked < pid1 and seen == pid1, (
                "%s: postmaster oom_score_adj %d, unit asks %d" % (cluster["unit"], seen, asked))
            observe("%s: postmaster oom_score_adj is %d, the unit asks %d: this sandbox refuses negative values "
                    "(no CAP_SYS_RESOURCE), so it stays at PID 1's %d" % (cluster["unit"], seen, asked, pid1))
        # Whatever the postmaster got, the OOM killer prefers a backend.
        assert value >= seen


def rendered(pair):
    return ":".join("infinity" if value == INF else "%d" % value for value in pair)


def test_limits_reach_the_postmaster_up_to_the_sandbox_cap(state, clusters, evidence):
    cap = state["pid1_limits"]
    for cluster in clusters:
        got, props = cluster["postmaster"]["limits"], cluster["show"]
        # The role's report of what this host cannot grant, checked against /proc below.
        reported = role_entry(evidence["service-if_needed-last"], cluster["unit"])["clamped"]
        for key, (row, dummy) in LIMITS.items():
            unit = (number(props["Limit%sSoft" % key]), number(props["Limit" + key]))
            cap_hard = number(cap[row][1])
            expected = (min(unit[0], cap_hard), min(unit[1], cap_hard))
            seen = tuple(number(v) for v in got[row])
            assert seen == expected, "%s %s: unit %s, PID 1 hard %s, postmaster %s" % (
                cluster["unit"], row, unit, cap_hard, seen)
            if expected == unit:
                assert key.lower() not in reported, (cluster["unit"], key, reported)
            else:
                assert reported.get(key.lower()) == [rendered(unit), rendered(seen)], (cluster["unit"], key, reported)
                observe("%s: Limit%s=%s:%s reached the postmaster as %s:%s, clamped to PID 1's hard limit %s "
                        "in this sandbox" % ((cluster["unit"], key) + unit + seen + (cap_hard,)))


# --- restart policy, idempotence and the summary ---------------------------


def test_policy_never_leaves_the_restart_pending_with_a_reason(clusters, evidence, before):
    report = evidence["service-never"]
    for cluster in clusters:
        entry = role_entry(report, cluster["unit"])
        assert entry["changed"], entry
        assert entry["restart"] == "pending", entry
        assert entry["reasons"] and all(r.startswith("running postmaster has ") for r in entry["reasons"]), entry
        # Not restarted: the postmaster from before any role ran, with only
        # what Debian's pg_ctlcluster exports.
        live, old = live_entry(report, cluster["unit"]), before[cluster["unit"]]["postmaster"]
        assert (live["pid"], live["starttime"]) == (old["pid"], old["starttime"])
        assert live["environ_pg_oom"] == [OOM_FILE]


def test_policy_if_needed_restarts_what_was_pending(clusters, evidence, role_vars):
    value = "PG_OOM_ADJUST_VALUE=%d" % role_vars["pg_service_backend_oom_score_adjust"]
    for cluster in clusters:
        entry = role_entry(evidence["service-if_needed"], cluster["unit"])
        assert entry["restart"] == "done", entry
        old = live_entry(evidence["service-never"], cluster["unit"])
        new = live_entry(evidence["service-if_needed"], cluster["unit"])
        assert new["starttime"] != old["starttime"]
        assert new["environ_pg_oom"] == [OOM_FILE, value]
        # The role read the restarted server back and found nothing missing.
        assert entry["live"]["pid"] == new["pid"] and entry["still_pending"] == [], entry


def test_restarts_are_one_cluster_at_a_time(state, clusters, evidence):
    start, end = evidence["service-never"]["live"]["time"], evidence["service-if_needed"]["live"]["time"]
    windows = {}
    for event in state["journal"]:
        if not start <= event["time"] <= end:
            continue
        if event["job_type"] == "stop" and event["job_result"] is None:  # "Stopping ..."
            windows.setdefault(event["unit"], [event["time"], None])
        elif event["job_type"] == "start" and event["job_result"] == "done":  # "Started ..."
            windows.setdefault(event["unit"], [event["time"], None])[1] = event["time"]
    assert set(windows) == {c["unit"] for c in clusters}, windows
    ordered = sorted(windows.values())
    for (dummy, first_up), (next_down, dummy2) in zip(ordered, ordered[1:]):
        assert first_up is not None and first_up <= next_down, "restarts overlap: %s" % windows


def test_second_run_changes_and_restarts_nothing(clusters, evidence):
    for run in ("service-never-last", "service-if_needed-last"):
        for cluster in clusters:
            entry = role_entry(evidence[run], cluster["unit"])
            assert entry["changed"] == [] and entry["restart"] == "not needed", (run, entry)
            live = live_entry(evidence[run], cluster["unit"])
            done = live_entry(evidence["service-if_needed"], cluster["unit"])
            assert (live["pid"], live["starttime"]) == (done["pid"], done["starttime"]), run


def test_summary_has_a_line_per_cluster(clusters, evidence):
    for run, restart in (("service-never", "restart pending: running postmaster has"),
                         ("service-if_needed", "no change; restart done"),
                         ("service-if_needed-last", "no change; restart not needed")):
        computed = evidence[run]["pghost_computed"]
        for cluster in clusters:
            lines = [v for v in computed.values() if isinstance(v, str) and v.startswith(cluster["unit"] + ": ")]
            assert len(lines) == 1 and restart in lines[0], (run, computed)


def test_logind_keeps_ipc_or_says_why_it_need_not(host, state, evidence):
    # Pinned per image by the scenario: on trixie prepare.yml makes postgres a
    # regular user (SYS_UID_MAX 99), so RemoveIPC=no must be written; on
    # bookworm postgres is a system user and logind must be left alone.
    regular = bool(host.ansible.get_variables().get("pghost_test_postgres_regular_user"))
    logind = evidence["service-never"]["pghost_service"]["logind"]
    files = state["logind_drop_ins"]
    assert logind["needs_remove_ipc_no"] is regular, logind
    if regular:
        assert any("RemoveIPC=no" in text for text in files.values()), files
        assert state["logind_remove_ipc"] == "false"
        observe("postgres a regular user: RemoveIPC=no written, logind reports RemoveIPC=false live")
    else:
        assert "already safe" in logind["verdict"] and files == {}, logind
        observe("logind left alone (RemoveIPC=%s live): %s" % (state["logind_remove_ipc"], logind["verdict"]))


# --- Fault 3: clean stop under load ----------------------------------------


def test_fault3_stop_went_through_sigint_not_sigkill(evidence):
    fault3 = evidence["fault3"]
    after = fault3["after_stop"]
    assert after["KillMode"] == "mixed" and after["KillSignal"] == "2"
    assert after["ActiveState"] == "inactive" and after["Result"] == "success", after
    # TimeoutStopSec is an hour or more: a stop that needs minutes is not a fast shutdown.
    assert fault3["stop_seconds"] < 60, fault3["stop_seconds"]
    journal = "\n".join(fault3["journal"])
    for bad in ("SIGKILL", "Killing process", "timed out", "Failed with result"):
        assert bad not in journal, journal


def test_fault3_server_logged_fast_shutdown_and_a_clean_start(state):
    log = state["evidence_text"]["pghost-fault3-server.log"]
    order = [log.find(s) for s in ("received fast shutdown request", "aborting any active transactions",
                                   "database system is shut down", "database system was shut down at",
                                   "database system is ready to accept connections")]
    assert -1 not in order and order == sorted(order), log
    for crash in ("was interrupted", "not properly shut down", "automatic recovery in progress", "redo starts at",
                  "terminating any other active server processes"):
        assert crash not in log, log


def test_fault3_every_acknowledged_commit_survived(state, evidence):
    fault3 = evidence["fault3"]
    pgbench = state["evidence_text"]["pghost-fault3-pgbench.out"]
    processed = int(re.search(r"number of transactions actually processed: (\d+)", pgbench).group(1))
    assert processed > 0 and fault3["committed_before_stop"] > 0
    # Each pgbench transaction inserts one pgbench_history row.
    assert fault3["committed_after_start"] >= max(processed, fault3["committed_before_stop"]), fault3


def test_clusters_are_running_at_the_end(clusters):
    for cluster in clusters:
        assert (cluster["show"]["ActiveState"], cluster["show"]["SubState"]) == ("active", "running")
        assert cluster["pg_isready"] == 0
