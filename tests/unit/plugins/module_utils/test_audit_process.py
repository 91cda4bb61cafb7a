# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet audit, processes and IPC on systemd hosts, from pg_service_units'
check-mode result (docs/postgres-kernel-facts.md §4-6)."""

from __future__ import annotations

import pytest
from audit_inputs import CONVERGED_UNIT, POLICY, bare_host, by_id, cluster, container_host, live, service, service_entry

from ansible_collections.pghost.hardening.plugins.module_utils import audit_ipc, audit_process


def run(entries_or_service, host=None, clusters=None, concern=audit_process):
    svc = entries_or_service if isinstance(entries_or_service, dict) else service(entries_or_service)
    clusters = clusters if clusters is not None else [e["_cluster"] for e in svc["clusters"] if "_cluster" in e]
    return concern.audit({"host": host or bare_host(), "clusters": clusters, "service": svc}, POLICY)


def entry(item=None, **options):
    item = item or cluster()
    result = service_entry(item, **options)
    result["_cluster"] = item  # for run(); pg_service_units' entries are matched by data directory
    return result


def one(records, check_id):
    [record] = by_id(records, check_id)
    return record


# -- the postmaster's score -------------------------------------------------------

@pytest.mark.parametrize("score, status", [(-900, "finding"), (0, "finding"), (-1000, "pass")])
def test_postmaster_score_on_a_real_host(score, status):
    record = one(run([entry(live_state=live(score=score))]), "process.postmaster_unprotected")
    assert record["status"] == status
    assert record["evidence"] == {"pid": 4242, "oom_score_adj": score, "pg_service_oom_score_adjust": -1000}
    assert record["cluster"]["name"] == "15/main"


def test_a_container_cannot_show_the_protected_score():
    record = one(run([entry(live_state=live(score=0))], host=container_host()), "process.postmaster_unprotected")
    assert record["status"] == "not_verifiable"
    assert "refuse a negative oom_score_adj" in record["reason"]


@pytest.mark.parametrize("options, reason", [
    ({"restart": "not running"}, "the postmaster is not running (not running)"),
    ({"restart": "no unit"}, "no systemd unit is known for this cluster"),
])
def test_no_live_postmaster_is_not_verifiable(options, reason):
    item = cluster(running=False)
    records = run([entry(item, **options)])
    for check_id in ("process.postmaster_unprotected", "process.backends_protected", "process.limits_below_need"):
        assert one(records, check_id)["reason"] == "not verifiable here: " + reason


# -- backends --------------------------------------------------------------------

def test_backends_that_inherited_the_protection():
    # OOMScoreAdjust=-1000 without PG_OOM_ADJUST_FILE: every child keeps -1000 (docs/postgres-kernel-facts.md §4).
    state = live(score=-1000, environ={}, backends={"4250": -1000, "4251": -1000, "4252": 0})
    record = one(run([entry(live_state=state)]), "process.backends_protected")
    assert record["status"] == "finding"
    assert record["evidence"]["protected_backends"] == {"4250": -1000, "4251": -1000}
    assert record["evidence"]["backends"] == 3


def test_backends_that_reset_their_score_pass():
    record = one(run([entry(live_state=live(score=-1000))]), "process.backends_protected")
    assert record["status"] == "pass"


def test_backends_in_a_container_without_the_split_are_not_verifiable():
    state = live(score=0, environ={})
    record = one(run([entry(live_state=state)], host=container_host()), "process.backends_protected")
    assert record["status"] == "not_verifiable"
    assert record["reason"].endswith("PG_OOM_ADJUST_FILE is not set")


# -- shutdown ---------------------------------------------------------------------

def test_debian_unit_stops_with_sigterm_and_control_group():
    record = one(run([entry()]), "process.shutdown_sigterm")
    assert record["status"] == "finding"
    assert record["evidence"] == {"KillMode": "control-group", "KillSignal": "15", "TimeoutStopUSec": "1h"}


def test_fast_shutdown_unit_passes():
    assert one(run([entry(unit_properties=CONVERGED_UNIT)]), "process.shutdown_sigterm")["status"] == "pass"


def test_without_unit_properties_the_shutdown_is_not_verifiable():
    record = one(run([entry(unit_properties={})]), "process.shutdown_sigterm")
    assert record["status"] == "not_verifiable"
    assert "call it with oom, shutdown and limits false" in record["reason"]


# -- limits -----------------------------------------------------------------------

def test_live_limits_below_the_roles_limits():
    record = one(run([entry(cluster(huge_pages="off"))]), "process.limits_below_need")
    assert record["status"] == "finding"
    assert record["evidence"]["below"] == ["LimitNOFILE", "LimitNPROC"]
    assert record["evidence"]["limits"]["LimitNOFILE"] == {"live": "1024:524288", "need": "65536", "unit": "1024:524288"}


def test_memlock_below_the_huge_pages_the_cluster_maps():
    # 72 pages of 2048 kB = 150994944 bytes (hugepages.hugepage_lock_bytes, docs/postgres-kernel-facts.md §3)
    item = cluster(huge_pages="on", shared_memory_size_in_huge_pages=72)
    limits = {"nofile": "65536:65536", "nproc": "65536:65536", "memlock": "8388608:8388608"}
    record = one(run([entry(item, live_state=live(limits=limits), unit_properties=CONVERGED_UNIT)]),
                 "process.limits_below_need")
    assert record["evidence"]["below"] == ["LimitMEMLOCK"]
    assert record["evidence"]["limits"]["LimitMEMLOCK"]["need"] == "150994944"


def test_live_limits_at_the_need_pass():
    limits = {"nofile": "65536:65536", "nproc": "65536:65536", "memlock": "infinity:infinity"}
    item = cluster(huge_pages="on", shared_memory_size_in_huge_pages=72)
    record = one(run([entry(item, live_state=live(limits=limits), unit_properties=CONVERGED_UNIT)]),
                 "process.limits_below_need")
    assert record["status"] == "pass"
    assert record["evidence"]["below"] == []
    assert record["evidence"]["limits"]["LimitMEMLOCK"] == {"live": "infinity:infinity", "need": "150994944",
                                                            "unit": "8388608:8388608"}


def test_a_container_clamping_what_the_unit_gives_is_not_verifiable():
    limits = {"nofile": "20000:20000", "nproc": "32768:32768", "memlock": "8388608:8388608"}
    item = cluster(huge_pages="off")
    record = one(run([entry(item, live_state=live(limits=limits), unit_properties=CONVERGED_UNIT)],
                     host=container_host()), "process.limits_below_need")
    assert record["status"] == "not_verifiable"
    assert "PID 1 grants no more than its own hard limits" in record["reason"]


def test_a_container_whose_unit_gives_too_little_is_a_finding():
    record = one(run([entry()], host=container_host()), "process.limits_below_need")
    assert record["status"] == "finding"
    # huge_pages=try with an estimated pool: memlock is below it too, in the unit as live
    assert record["evidence"]["below"] == ["LimitNOFILE", "LimitNPROC", "LimitMEMLOCK"]


# -- restart ----------------------------------------------------------------------

def test_restart_pending_with_everything_written():
    reasons = ["running postmaster has LimitNOFILE 1024:524288, unit postgresql@15-main.service gives 65536:65536"]
    record = one(run([entry(restart="pending", reasons=reasons, unit_properties=CONVERGED_UNIT,
                            files={"/etc/systemd/system/postgresql@15-main.service.d/60-pghost-limits.conf": "unchanged"})]),
                 "process.restart_pending")
    assert (record["status"], record["severity"]) == ("finding", "low")
    assert record["evidence"] == {"restart": "pending", "reasons": reasons}


def test_restart_pending_against_unwritten_dropins_is_not_verifiable():
    path = "/etc/systemd/system/postgresql@15-main.service.d/60-pghost-oom.conf"
    record = one(run([entry(restart="pending", reasons=["..."], files={path: "changed"})]), "process.restart_pending")
    assert record["status"] == "not_verifiable"
    assert path in record["reason"]


@pytest.mark.parametrize("restart", ["not needed", "not running"])
def test_nothing_pending_passes(restart):
    item = cluster(running=restart == "not needed")
    assert one(run([entry(item, restart=restart)]), "process.restart_pending")["status"] == "pass"


# -- without pg_service_units ---------------------------------------------------------

@pytest.mark.parametrize("host_mgr, svc, reason", [
    ("openrc", None, "the service manager is openrc: pg_service_units reads systemd units only"),
    ("systemd", None, "pg_service_units did not run for this host"),
    # a task skipped by its condition registers this
    ("systemd", {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"},
     "pg_service_units did not run for this host"),
    ("systemd", {"failed": True, "msg": "systemctl show failed"}, "pg_service_units failed: systemctl show failed"),
])
def test_without_a_service_result_every_process_and_ipc_check_is_not_verifiable(host_mgr, svc, reason):
    host = bare_host()
    host["service_mgr"] = host_mgr
    facts = {"host": host, "clusters": [cluster(), cluster(name="15/other")], "service": svc}
    records = audit_process.audit(facts, POLICY) + audit_ipc.audit(facts, POLICY)
    assert len(records) == 2 * len(audit_process.CHECKS) + 1 + 2
    assert set(r["reason"] for r in records) == {"not verifiable here: " + reason}


# -- IPC --------------------------------------------------------------------------

def test_remove_ipc_with_a_non_system_server_user():
    svc = service([entry()], users={"pgipc": {"uid": 1500, "system": False}}, remove_ipc="yes")
    record = one(run(svc, concern=audit_ipc), "ipc.logind_remove_ipc")
    assert (record["status"], record["severity"], record["cluster"]) == ("finding", "high", None)
    assert record["evidence"]["non_system_users"] == ["pgipc"]
    assert record["evidence"]["remove_ipc"] == "yes"


@pytest.mark.parametrize("users, remove_ipc", [
    ({"postgres": {"uid": 105, "system": True}}, "yes"),
    ({"pgipc": {"uid": 1500, "system": False}}, "no"),
    ({"pgipc": {"uid": 1500, "system": False}}, None),
])
def test_remove_ipc_safe(users, remove_ipc):
    record = one(run(service([entry()], users=users, remove_ipc=remove_ipc), concern=audit_ipc), "ipc.logind_remove_ipc")
    assert record["status"] == "pass"


CRASH_REASON = "postmaster.pid is left by PID 4242, which no longer runs: the last stop was unclean"
# pg_service_units' stale_ipc for a crashed cluster (ipc_cleanup_run.survey's shape).
STALE_IPC = {
    "state": "removed", "msg": "would remove 1 SysV segment and 1 DSM file; postmaster.pid stays",
    "objects": [
        {"kind": "sysv_shm", "id": 3, "key": 5432001, "size": 56, "owner": "postgres", "role": "main segment"},
        {"kind": "posix_shm", "path": "/dev/shm/PostgreSQL.2955568080", "handle": 2955568080, "size": 26976,
         "owner": "postgres", "role": "DSM control segment"}],
    "unattributed": [
        {"kind": "posix_shm", "path": "/dev/shm/PostgreSQL.77", "handle": 77, "size": 1048576, "owner": "postgres",
         "role": "dsm segment?", "reason": "cannot be attributed to this data directory exactly; left alone"}],
}


def crashed_entry(**options):
    result = entry(cluster(running=False), restart="crashed", reasons=[CRASH_REASON])
    result.update(options)
    return result


def test_a_crashed_cluster_lists_its_leftovers():
    records = run([crashed_entry(stale_ipc=STALE_IPC), entry(cluster(name="15/other"))], concern=audit_ipc)
    crashed, other = by_id(records, "ipc.stale_leftovers")
    assert (crashed["status"], crashed["cluster"]["name"]) == ("finding", "15/main")
    evidence = crashed["evidence"]
    assert evidence["reasons"] == [CRASH_REASON]
    assert evidence["objects"] == [
        "sysv_shm key 5432001 shmid 3 (main segment, 56 bytes, owner postgres)",
        "posix_shm /dev/shm/PostgreSQL.2955568080 (DSM control segment, 26976 bytes, owner postgres)",
        "left alone by the cleanup: posix_shm /dev/shm/PostgreSQL.77 (dsm segment?, 1048576 bytes, owner postgres): "
        "cannot be attributed to this data directory exactly; left alone"]
    assert (evidence["ipc_state"], evidence["ipc_read"]) == ("removed", STALE_IPC["msg"])
    assert (other["status"], other["cluster"]["name"]) == ("pass", "15/other")


@pytest.mark.parametrize("stale_ipc, objects", [
    # Someone removed the segment by hand: the crash recovery at the next start remains.
    ({"state": "nothing_stale", "objects": [], "unattributed": [], "msg": "nothing is left"}, []),
    ({"state": "unread", "objects": [], "unattributed": [], "msg": "/x/postmaster.pid exists but cannot be read"}, []),
    (None, "not listed: pg_service_units returned no stale_ipc for this cluster"),
])
def test_a_crashed_cluster_is_a_finding_whatever_is_left(stale_ipc, objects):
    options = {} if stale_ipc is None else {"stale_ipc": stale_ipc}
    record = one(run([crashed_entry(**options)], concern=audit_ipc), "ipc.stale_leftovers")
    assert record["status"] == "finding" and record["evidence"]["objects"] == objects
    if stale_ipc:
        assert record["evidence"]["ipc_read"] == stale_ipc["msg"]
